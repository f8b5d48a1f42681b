import type { Lang } from '../catalog.js';
import { CAPTURE_FRAME, say, type Text } from '../text.js';
import type { FailReason, ScheduleVerdict } from '../../tcp/timing-model.js';
import { PROBE_WORDS, type ProbeWords } from './probe-words.js';

/*
 * The words of the timing checks (src/verify/timing-checks.ts, probe-checks.ts, timer-checks.ts) and of
 * the fits and estimates they report (src/analysis/timing-fit.ts, sampled-reads.ts, probe-series.ts), one
 * table per language; the probe and timer words are in probe-words.ts. Values that read the same in every
 * language (times like `1.019`, states, flags, addresses, sysctls, kernel functions, errno names) come in
 * as arguments already written; times in seconds come without their unit.
 */

/** The retransmitted segment a timing check follows. */
export type SentKind = 'SYN' | 'SYN-ACK' | 'FIN' | 'data';
/** What dates a held copy's send: a traced retransmission, a listener's SYN arrival, or the application's write. */
export type HeldDating = { readonly kind: 'retransmit' } | { readonly kind: 'syn-arrival'; readonly frame: number } | { readonly kind: 'write' };

export interface RetransmissionWords {
  synName(who: string): string;
  synAckName(host: string, port: number | undefined): string;
  finName(who: string): string;
  dataName(who: string): string;

  /** `SYN`, `data segment`: one of the series, in the evidence. */
  segment(kind: SentKind): string;
  /** `3 SYNs at 0, 1.02, 3.06 s`. */
  sends(kind: SentKind, count: number, offsets: string): string;
  /** After `sends`: how many of them were timer fires that found the last copy still queued in the host. */
  queuedNote(count: number): string;
  /** Between the parts of an expected or observed line. */
  clause: string;
  /** The departures from the model after an observed line (empty when none). */
  departures(problems: readonly string[]): string;
  /** `… s, until the answer at 1.2 s stopped the timer` (SYN, SYN-ACK). */
  stoppedBy(sends: string, until: string): string;
  untilStopped(what: string, at: string): string;
  theAnswer: string;
  requestDroppedOn(icmp: string): string;
  answeredAt(at: string): string;
  requestDroppedAt(icmp: string, at: string): string;
  answerLine(at: string, host: string, frame: number | undefined): string;
  /** The first copy waited in the host's held queue: when TCP sent it, and when the capture shows it. */
  heldFirstCopy(host: string, holdStep: number, sentAt: string, state: string, capturedAt: string, releaseStep: number, frame: number): string;
  /** `dated`: a traced retransmission, the received SYN whose arrival dates a listener's first SYN-ACK, or the application's write. */
  heldCopy(host: string, copy: number, frame: number, holdStep: number, releaseStep: number, sentAt: string, capturedAt: string, dated: HeldDating): string;
  /** Copy `copy` belongs to a timer fire that found the copy before still queued in the host; TCP sent it as that one left. */
  releasedCopy(host: string, copy: number, frame: number, fireAt: string, sentAt: string): string;
  /** Timer fires that found the last copy still queued in the host: counted, nothing sent. */
  queuedFires(host: string, fires: string): string;
  icmpDropLine(host: string, frame: number, at: string, icmp: string): string;

  connectTimesOut(at: string, reason: FailReason): string;
  connectFailedAt(code: string, at: string): string;
  connectNeverFailed: string;
  connectNotTimedOut(code: string): string;
  connectFailsLabel: string;

  requestDroppedSilently(at: string): string;
  synRecvGone(time: string): string;
  synRecvNeverGone: string;
  requestDroppedLabel: string;
  synAckReply(host: string, frame: number): string;
  limitsUndecided(limits: readonly string[], best: string): string;
  limitFromQueue(best: string): string;
  /** One SYN-ACK limit a request may have had, with the queue the sampler saw at that fire. */
  synAckLimit(k: number, retries: number, readings: readonly { requests: number; young: number }[], backlog: number | undefined): string;

  destroyedWithoutRst(state: string, at: string): string;
  finStopped(sends: string, state: string, until: string): string;
  socketNeverGone(lastState: string | undefined): string;
  socketGoneFrom(state: string | undefined, time: string): string;
  leftOtherState(gone: string, state: string, reason: string): string;
  leftNotOrphan(gone: string, state: string): string;
  rstsAfterFin(count: number): string;
  destroyedLabel(state: string): string;
  rstAt(host: string, frame: number, at: string): string;
  noRst: string;
  rsts(count: number): string;
  orphanState(state: string, reason: string): string;
  passiveClose(host: string, frame: number, peerFrame: number): string;
  simultaneousClose(host: string, frame: number, peerFrame: number): string;
  activeClose(host: string): string;

  givesUpWith(error: string, at: string, reason: FailReason): string;
  dataStopped(sends: string, until: string): string;
  acknowledgedAt(at: string): string;
  neverGaveUp: string;
  gaveUp(time: string): string;
  withError(code: string): string;
  sawAlthoughAcked(error: string): string;
  sawNoError(expected: string): string;
  sawInstead(code: string, expected: string): string;
  dataRsts(count: number): string;
  givesUpLabel(error: string): string;
  rtoLine(rtoMs: number, source: string, tlpAt: string | undefined): string;
  /** Copy 2 was sent by loss recovery on the peer's duplicate ACKs (sack: one SACKed data above it; else the `reordering`-th). */
  fastRetransmitLine(host: string, frame: number, at: string, triggerFrame: number, sack: boolean, reordering: number): string;
  noUserTimeout: string;
  synUserTimeout(ms: number, sources: readonly string[]): string;
  userTimeout(ms: number, sources: readonly string[]): string;

  /** When a give-up was seen: an instant, or an interval known from samples or from user space. */
  giveUpAt(at: string): string;
  giveUpSampled(after: string, by: string): string;
  giveUpInUserSpace(after: string, by: string): string;
  agentError(code: string): string;
  latencyBefore(ms: number, noKernelEvent: boolean): string;
  latencyWhy: string;
  kernelClose(from: string, line: number, namesTracepoint: boolean): string;
  rstGiveUp(host: string, frame: number): string;
  lastRead: string;
  lastSend(host: string, frame: number): string;
  goneOnly: string;
  goneSample: string;
  sampledWhy: string;
  lastEvidence: string;

  segmentItem(kind: SentKind, index: number): string;
  window(earliest: string, latest: string): string;
  verdict(verdict: ScheduleVerdict): string;
  itemLine(label: string, expected: string, window: string, observed: string | undefined, where: string, verdict: ScheduleVerdict): string;
  intervalItemLine(
    label: string,
    expected: string,
    window: string,
    giveUp: { after: string; afterSource: string; by: string; source: string; why: string },
    verdict: ScheduleVerdict,
  ): string;
  notObserved: string;
  notInCapture: string;
  /** Where a fire that sent nothing is observed: the trace, the last copy still queued. */
  fireOnly: string;
  /** After where a send is observed: its timer softirq ran `ms` late, traced (the window closes that much later). */
  timerRanLate(ms: number): string;
  captureFrame(host: string, frame: number): string;
  extraLine(host: string, frame: number, kind: SentKind, at: string, modelSends: number): string;
  /** The model's inputs: each sysctl as recorded, else its default (`fallback`). */
  settingsLine(values: readonly { name: string; recorded: string | undefined; fallback: string }[], hz: number): string;
  missingExpected(names: readonly string[]): string;
  missingObserved(host: string, names: readonly string[]): string;
  missingFix: string;
  noSendsExpected(kind: SentKind, host: string, tuple: { local: string; remote: string } | undefined): string;
  noSendsObserved(kind: SentKind, host: string, addresses: readonly string[], segments: number): string;

  afterAnswer(count: number, at: string): string;
  missingSends(missing: number, due: number): string;
  transmission(index: number): string;
  theGiveUp: string;
  between(after: string, by: string): string;
  mistimed(what: string, verdict: ScheduleVerdict, when: string, earliest: string, latest: string): string;
  giveUpUnobserved: string;
  extraSends(count: number): string;
  probe(index: number): string;
  probeUnobserved(what: string, at: string): string;
  probeUnexpected(what: string, at: string): string;

  rtoNoRetransmission: string;
  rtoRange(fitting: number, latest: number): string;
  rtoFromGaps: string;
  gapsBelowRtoMin(rtoMinMs: number): string;
  persistNoGap: string;
  persistFromGaps: string;
}

export type TimingWords = RetransmissionWords & ProbeWords;

const SENT_EN: Readonly<Record<SentKind, { one: string; many: string; missing: string }>> = {
  SYN: { one: 'SYN', many: 'SYNs', missing: 'SYN' },
  'SYN-ACK': { one: 'SYN-ACK', many: 'SYN-ACKs', missing: 'SYN-ACK' },
  FIN: { one: 'FIN', many: 'FINs', missing: 'FIN' },
  data: { one: 'data segment', many: 'copies', missing: 'unacknowledged data' },
};

const en: RetransmissionWords = {
  synName: (who) => `SYN retransmissions of ${who} follow the Linux timing model`,
  synAckName: (host, port) => `SYN-ACK retransmissions of ${host}${port === undefined ? '' : ` port ${port}`} follow the Linux timing model`,
  finName: (who) => `FIN retransmissions of orphaned ${who} follow the Linux timing model`,
  dataName: (who) => `data retransmissions of ${who} follow the Linux timing model`,

  segment: (kind) => SENT_EN[kind].one,
  sends: (kind, count, offsets) => `${count} ${SENT_EN[kind].many} at ${offsets} s`,
  queuedNote: (count) => ` (${count} of them timer fires that found the last copy still queued: nothing sent)`,
  clause: '; ',
  departures: (problems) => (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
  stoppedBy: (sends, until) => `${sends}, ${until}`,
  untilStopped: (what, at) => `until ${what} at ${at} s stopped the timer`,
  theAnswer: 'the answer',
  requestDroppedOn: (icmp) => `the request dropped on ${icmp}`,
  answeredAt: (at) => `answered at ${at} s`,
  requestDroppedAt: (icmp, at) => `request dropped on ${icmp} at ${at} s`,
  heldFirstCopy: (host, holdStep, sentAt, state, capturedAt, releaseStep, frame) =>
    `the first copy waited in ${host}'s held queue (step ${holdStep}): TCP sent it at ${sentAt} (entering ${state}, traced), ` +
    `and ${host}'s capture shows it (#${frame}) at ${capturedAt}, when step ${releaseStep} released the queue; times count from TCP's send`,
  heldCopy: (host, copy, frame, holdStep, releaseStep, sentAt, capturedAt, dated) =>
    `copy ${copy} (#${frame}) waited in ${host}'s held queue (steps ${holdStep}–${releaseStep}): TCP sent it at ${sentAt} ` +
    `(${dated.kind === 'retransmit' ? 'traced retransmission' : dated.kind === 'write' ? `the application's write` : `on the SYN's arrival, ${host} capture #${dated.frame}`}), ` +
    `captured at ${capturedAt} on release; times count from TCP's send`,
  releasedCopy: (host, copy, frame, fireAt, sentAt) =>
    `copy ${copy} (#${frame}) belongs to the timer's fire at ${fireAt}, which found the copy before still queued in ${host} ` +
    `(tcp_retransmit_skb err -EBUSY, skb_still_in_host_queue()); TCP sent it at ${sentAt}, as that copy left ` +
    `(TSQ: tcp_tsq_write() → tcp_xmit_retransmit_queue()), and restarted the timer there; the schedule counts the fire`,
  queuedFires: (host, fires) =>
    `the timer fired at ${fires} and found the last copy still queued in ${host} (tcp_retransmit_skb err -EBUSY, ` +
    `skb_still_in_host_queue()): each fire counts (backoff, retransmission count), nothing was sent`,
  answerLine: (at, host, frame) =>
    `answered at ${at} s${frame === undefined ? '' : ` (${host} capture #${frame})`}: the answer stops the retransmission timer, so later transmissions and the give-up were not due`,
  icmpDropLine: (host, frame, at, icmp) =>
    `${host} capture #${frame} at ${at} s: ${icmp} quoting the SYN-ACK — tcp_v4_err() → tcp_req_err() drops the request silently, so later SYN-ACKs and the timer's give-up were not due`,

  connectTimesOut: (at, reason) => `connect() fails with ETIMEDOUT at ${at} s (${reason} limit)`,
  connectFailedAt: (code, at) => `connect() failed with ${code} at ${at} s`,
  connectNeverFailed: 'connect() never failed',
  connectNotTimedOut: (code) => `connect() failed with ${code}, expected ETIMEDOUT`,
  connectFailsLabel: 'connect() fails (ETIMEDOUT)',

  requestDroppedSilently: (at) => `the request is dropped silently at ${at} s`,
  synRecvGone: (time) => `SYN_RECV socket gone ${time}`,
  synRecvNeverGone: 'the SYN_RECV socket never disappeared',
  requestDroppedLabel: 'request dropped (SYN_RECV row gone)',
  synAckReply: (host, frame) =>
    `${host} capture #${frame}: SYN-ACK answering a retransmitted SYN (tcp_check_req()), not a timer fire; it restarts the request's timer`,
  limitsUndecided: (limits, best) =>
    `the sampled queue cannot tell which SYN-ACK limit reqsk_timer_handler() applied; each is accepted: ${limits.join('; or ')} — this run fits: ${best}`,
  limitFromQueue: (best) => `SYN-ACK limit from the listener's queue (reqsk_timer_handler()): ${best}`,
  synAckLimit: (k, retries, readings, backlog) => {
    const limit = k < retries ? `limit cut to ${k} from tcp_synack_retries=${retries}` : `limit tcp_synack_retries=${retries}`;
    const seen = readings.map((r) => `${r.requests} requests, ${r.young} young`).join(' / ');
    return `${limit}${seen === '' ? '' : ` (queue sampled at that fire: ${seen}${backlog === undefined ? '' : `, backlog ${backlog}`})`}`;
  },

  destroyedWithoutRst: (state, at) => `destroyed from ${state} without a RST at ${at} s`,
  finStopped: (sends, state, until) => `${sends} from ${state}, ${until}; no RST`,
  socketNeverGone: (lastState) => `the socket never disappeared (last sampled in ${lastState ?? 'no state'})`,
  socketGoneFrom: (state, time) => `socket gone from ${state} ${time}`,
  leftOtherState: (gone, state, reason) => `the socket left ${gone}, expected ${state} (${reason})`,
  leftNotOrphan: (gone, state) => `the socket left ${gone}, not ${state} (it was not an orphan retransmitting its FIN)`,
  rstsAfterFin: (count) => `${count} RST sent after the FIN (an orphan that gives up sends none)`,
  destroyedLabel: (state) => `socket destroyed from ${state} (row gone)`,
  rstAt: (host, frame, at) => `${host} capture #${frame}: RST at ${at} s`,
  noRst: 'no RST',
  rsts: (count) => `${count} RST`,
  orphanState: (state, reason) => `${state}: ${reason}`,
  passiveClose: (host, frame, peerFrame) => `passive close: the FIN (${host} capture #${frame}) acknowledges the peer's FIN (#${peerFrame})`,
  simultaneousClose: (host, frame, peerFrame) =>
    `simultaneous close: ${host} capture #${frame} acknowledges the peer's FIN (#${peerFrame}) while its own FIN is unacknowledged`,
  activeClose: (host) => `active close: no FIN from the peer was acknowledged by ${host}`,

  givesUpWith: (error, at, reason) => `gives up with ${error} at ${at} s (${reason} limit), no RST`,
  dataStopped: (sends, until) => `${sends}, ${until}; no RST`,
  acknowledgedAt: (at) => `acknowledged at ${at} s`,
  neverGaveUp: 'never gave up',
  gaveUp: (time) => `gave up ${time}`,
  withError: (code) => ` (${code})`,
  sawAlthoughAcked: (error) => `the application saw ${error} although the data was acknowledged`,
  sawNoError: (expected) => `the application saw no error (expected ${expected})`,
  sawInstead: (code, expected) => `the application saw ${code}, expected ${expected}`,
  dataRsts: (count) => `${count} RST sent (a socket that gives up on its data sends none)`,
  givesUpLabel: (error) => `gives up (${error}, CLOSED)`,
  rtoLine: (rtoMs, source, tlpAt) => `RTO ${rtoMs} ms (${source})${tlpAt === undefined ? '' : `; tail-loss probe at ${tlpAt} s`}`,
  fastRetransmitLine: (host, frame, at, triggerFrame, sack, reordering) =>
    `copy 2 (${host} capture #${frame}, ${at}) is a fast retransmission, not the timer's: ${sack ? `the peer's duplicate ACK #${triggerFrame} SACKs data above it` : `the peer's duplicate ACK #${triggerFrame} is number ${reordering} (tcp_reordering)`} (tcp_fastretrans_alert(), RFC 6675, RFC 8985); the RTO is re-armed from it`,
  noUserTimeout: 'TCP_USER_TIMEOUT not set by the lab: the give-up is tcp_model_timeout(tcp_retries2, TCP_RTO_MIN) after the first RTO retransmission',
  userTimeout: (ms, sources) =>
    `TCP_USER_TIMEOUT ${ms} ms (${sources.join('; ')}): the give-up comes that long after the first RTO retransmission, the last RTO clamped to what is left (tcp_clamp_rto_to_user_timeout())`,
  synUserTimeout: (ms, sources) =>
    `TCP_USER_TIMEOUT ${ms} ms (${sources.join('; ')}): connect() gives up at the first timer fire that long after the first SYN, each RTO clamped to what is left (tcp_write_timeout(), tcp_clamp_rto_to_user_timeout())`,

  giveUpAt: (at) => `at ${at} s`,
  giveUpSampled: (after, by) => `between ${after} and ${by} s (sampled)`,
  giveUpInUserSpace: (after, by) => `between ${after} and ${by} s (seen in user space)`,
  agentError: (code) => `agent error event ${code}`,
  latencyBefore: (ms, noKernelEvent) => `${ms} ms before it (user-space delivery latency bound${noKernelEvent ? '; no exact kernel event' : ''})`,
  latencyWhy: 'an error seen in user space comes after the kernel gave up, by at most the user-space delivery latency bound',
  kernelClose: (from, line, namesTracepoint) => `kernel ${from} → CLOSED (${namesTracepoint ? 'inet_sock_set_state, ' : ''}kernel-trace.txt line ${line})`,
  rstGiveUp: (host, frame) => `${host} capture #${frame} (RST)`,
  lastRead: `the agent's last earlier read of /proc/net/tcp, which still had the row`,
  lastSend: (host, frame) => `its last transmission (${host} capture #${frame}), the latest proof it existed`,
  goneOnly: 'the sample that found it gone (no earlier evidence)',
  goneSample: 'the socket-gone sample',
  sampledWhy: "a sampled disappearance is known only to within the gap between reads (5 ms plus the agent's latency; the agent reports only changes)",
  lastEvidence: 'last evidence',

  segmentItem: (kind, index) => `${SENT_EN[kind].one} ${index + 1}${index === 0 ? ' (original)' : ''}`,
  window: (earliest, latest) => `, window ${earliest}–${latest} s`,
  verdict: (verdict) => verdict,
  itemLine: (label, expected, window, observed, where, verdict) =>
    `${label}: expected ${expected} s${window}; observed ${observed === undefined ? 'unobserved' : `${observed} s`} (${where}) — ${verdict}`,
  intervalItemLine: (label, expected, window, g, verdict) =>
    `${label}: expected ${expected} s${window}; observed between ${g.after} s (${g.afterSource}) ` +
    `and ${g.by} s (${g.source}) — ${g.why}, so it is judged by overlap — ${verdict}`,
  notObserved: 'not observed',
  notInCapture: 'not in the capture',
  fireOnly: 'traced, nothing sent: the last copy was still queued in the host',
  timerRanLate: (ms) => `; its timer ran ${ms} ms after its wheel bucket (traced: timer_expire_entry now − baseclk), so the window closes ${ms} ms later`,
  captureFrame: CAPTURE_FRAME.en,
  extraLine: (host, frame, kind, at, modelSends) =>
    `${host} capture #${frame}: ${SENT_EN[kind].one} at ${at} s — unexpected: the model stops after ${modelSends}`,
  settingsLine: (values, hz) =>
    `model inputs from the host's kernel-settings.json: ${values.map((v) => `${v.name}=${v.recorded ?? `${v.fallback} (not recorded, default)`}`).join(', ')}; HZ=${hz} (not recorded, model default)`,
  missingExpected: (names) => `the host's kernel settings ${names.join(', ')} (the model's inputs)`,
  missingObserved: (host, names) => `${host}/kernel-settings.json has no ${names.join(', ')}`,
  missingFix: `re-run the lab with a tcplab that records these sysctls; the model never falls back to constants`,
  noSendsExpected: (kind, host, tuple) =>
    `${SENT_EN[kind].missing} segments sent by ${host}${tuple === undefined ? '' : ` on ${tuple.local} → ${tuple.remote}`}`,
  noSendsObserved: (kind, host, addresses, segments) =>
    `no ${SENT_EN[kind].missing} from ${host} (${addresses.join(', ')}) in its capture (${segments} TCP segments)`,

  afterAnswer: (count, at) => `${count} transmission(s) after the answer at ${at} s stopped the timer`,
  missingSends: (missing, due) => `${missing} of ${due} transmissions missing`,
  transmission: (index) => `transmission ${index + 1}`,
  theGiveUp: 'the give-up',
  between: (after, by) => `between ${after} and ${by} s`,
  mistimed: (what, verdict, when, earliest, latest) => `${what} ${verdict} (${when}, window ${earliest}–${latest} s)`,
  giveUpUnobserved: 'the give-up was not observed',
  extraSends: (count) => `${count} transmission(s) more than the model allows`,
  probe: (index) => `probe ${index + 1}`,
  probeUnobserved: (what, at) => `${what} expected at ${at} s was not observed`,
  probeUnexpected: (what, at) => `${what} at ${at} s is not in the model`,

  rtoNoRetransmission: 'tcp_rto_min: no retransmission to measure',
  rtoRange: (fitting, latest) =>
    `${latest > fitting ? `${fitting}–${latest} ms in whole jiffies fit every gap` : `${fitting} ms is the one RTO in whole jiffies that fits every gap`}: each is tried (rtoCandidates())`,
  rtoFromGaps: 'from the observed gaps (each RTO gap / 2^k, whole jiffies)',
  gapsBelowRtoMin: (rtoMinMs) => `tcp_rto_min (${rtoMinMs} ms): the observed gaps are shorter`,
  persistNoGap: `tcp_rto_min: no probe gap below tcp_rto_max to measure`,
  persistFromGaps: 'from the observed probe gaps (each gap / 2^k, whole jiffies)',
};

/** `named`, `segments` and `missing` follow Chinese: they begin with a space where they begin with a letter. */
const SENT_ZH: Readonly<Record<SentKind, { one: string; named: string; many: (count: number) => string; segments: string; missing: string }>> = {
  SYN: { one: 'SYN', named: ' SYN', many: (n) => `${n} 个 SYN`, segments: ' SYN 报文段', missing: ' SYN' },
  'SYN-ACK': { one: 'SYN-ACK', named: ' SYN-ACK', many: (n) => `${n} 个 SYN-ACK`, segments: ' SYN-ACK 报文段', missing: ' SYN-ACK' },
  FIN: { one: 'FIN', named: ' FIN', many: (n) => `${n} 个 FIN`, segments: ' FIN 报文段', missing: ' FIN' },
  data: { one: '数据报文段', named: '数据报文段', many: (n) => `${n} 份数据副本`, segments: '未确认的数据报文段', missing: '未确认的数据' },
};

const FAIL_LIMIT_ZH: Readonly<Record<FailReason, string>> = { count: '次数上限', time: '时间上限', 'user-timeout': 'TCP_USER_TIMEOUT 上限' };

const VERDICT_ZH: Readonly<Record<ScheduleVerdict, string>> = {
  ok: '符合',
  early: '过早',
  late: '过晚',
  unobserved: '未观察到',
  unexpected: '模型之外',
  'not-due': '未到期',
};

const zh: RetransmissionWords = {
  synName: (who) => `${who} 的 SYN 重传符合 Linux 时间模型`,
  synAckName: (host, port) => `${host}${port === undefined ? '' : ` 端口 ${port}`} 的 SYN-ACK 重传符合 Linux 时间模型`,
  finName: (who) => `孤儿套接字 ${who} 的 FIN 重传符合 Linux 时间模型`,
  dataName: (who) => `${who} 的数据重传符合 Linux 时间模型`,

  segment: (kind) => SENT_ZH[kind].one,
  sends: (kind, count, offsets) => `${SENT_ZH[kind].many(count)}，时刻 ${offsets} s`,
  queuedNote: (count) => `（其中 ${count} 次是定时器到期时上一份副本仍在队列中：未发出）`,
  clause: '；',
  departures: (problems) => (problems.length > 0 ? `——${problems.join('；')}` : ''),
  stoppedBy: (sends, until) => `${sends}，${until}`,
  untilStopped: (what, at) => `直到 ${at} s ${what}，定时器停止`,
  theAnswer: '收到应答',
  requestDroppedOn: (icmp) => `请求因 ${icmp} 被丢弃`,
  answeredAt: (at) => `${at} s 收到应答`,
  requestDroppedAt: (icmp, at) => `请求在 ${at} s 因 ${icmp} 被丢弃`,
  heldFirstCopy: (host, holdStep, sentAt, state, capturedAt, releaseStep, frame) =>
    `第一份副本曾在 ${host} 被扣住的队列中等待（第 ${holdStep} 步）：TCP 在 ${sentAt} 发出它（进入 ${state}，tracepoint 记录），` +
    `${host} 的抓包在 ${capturedAt} 才看到它（#${frame}），即第 ${releaseStep} 步放行队列之时；时间从 TCP 发出时算起`,
  heldCopy: (host, copy, frame, holdStep, releaseStep, sentAt, capturedAt, dated) =>
    `第 ${copy} 份副本（#${frame}）曾在 ${host} 被扣住的队列中等待（第 ${holdStep}–${releaseStep} 步）：TCP 在 ${sentAt} 发出它` +
    `（${dated.kind === 'retransmit' ? 'tracepoint 记录的重传' : dated.kind === 'write' ? '应用的写入' : `SYN 到达之时，${host} 抓包 #${dated.frame}`}），放行时才在 ${capturedAt} 被抓到；时间从 TCP 发出时算起`,
  releasedCopy: (host, copy, frame, fireAt, sentAt) =>
    `第 ${copy} 份副本（#${frame}）属于定时器在 ${fireAt} 的到期，那时前一份副本仍在 ${host} 的队列中` +
    `（tcp_retransmit_skb 返回 -EBUSY，skb_still_in_host_queue()）；TCP 在 ${sentAt} 前一份离开时发出它` +
    `（TSQ：tcp_tsq_write() → tcp_xmit_retransmit_queue()），并从那时重启定时器；时间表按定时器到期计`,
  queuedFires: (host, fires) =>
    `定时器在 ${fires} 到期，发现上一份副本仍在 ${host} 的队列中（tcp_retransmit_skb 返回 -EBUSY，` +
    `skb_still_in_host_queue()）：每次到期都计入（退避、重传次数），但没有发出报文`,
  answerLine: (at, host, frame) =>
    `${at} s 收到应答${frame === undefined ? '' : `（${host} 抓包 #${frame}）`}：应答停止了重传定时器，因此之后的发送和放弃都不再到期`,
  icmpDropLine: (host, frame, at, icmp) =>
    `${host} 抓包 #${frame}（${at} s）：引用该 SYN-ACK 的 ${icmp}——tcp_v4_err() → tcp_req_err() 悄悄丢弃了这个请求，因此之后的 SYN-ACK 和定时器的放弃都不再到期`,

  connectTimesOut: (at, reason) => `connect() 在 ${at} s 以 ETIMEDOUT 失败（${FAIL_LIMIT_ZH[reason]}）`,
  connectFailedAt: (code, at) => `connect() 在 ${at} s 以 ${code} 失败`,
  connectNeverFailed: 'connect() 从未失败',
  connectNotTimedOut: (code) => `connect() 以 ${code} 失败，预期为 ETIMEDOUT`,
  connectFailsLabel: 'connect() 失败（ETIMEDOUT）',

  requestDroppedSilently: (at) => `请求在 ${at} s 被悄悄丢弃`,
  synRecvGone: (time) => `SYN_RECV 套接字在 ${time}消失`,
  synRecvNeverGone: 'SYN_RECV 套接字一直没有消失',
  requestDroppedLabel: '请求被丢弃（SYN_RECV 行消失）',
  synAckReply: (host, frame) => `${host} 抓包 #${frame}：应答重传 SYN 的 SYN-ACK（tcp_check_req()），不是定时器触发；它重启了该请求的定时器`,
  limitsUndecided: (limits, best) =>
    `从采样到的队列无法判断 reqsk_timer_handler() 采用了哪个 SYN-ACK 上限，以下每个都接受：${limits.join('；或 ')}——本次运行符合：${best}`,
  limitFromQueue: (best) => `根据监听套接字的队列得出的 SYN-ACK 上限（reqsk_timer_handler()）：${best}`,
  synAckLimit: (k, retries, readings, backlog) => {
    const limit = k < retries ? `上限由 tcp_synack_retries=${retries} 降为 ${k}` : `上限 tcp_synack_retries=${retries}`;
    const seen = readings.map((r) => `${r.requests} 个请求（${r.young} 个未重传）`).join(' / ');
    return `${limit}${seen === '' ? '' : `（该次触发时采样到的队列：${seen}${backlog === undefined ? '' : `，backlog ${backlog}`}）`}`;
  },

  destroyedWithoutRst: (state, at) => `在 ${at} s 从 ${state} 被销毁，不发 RST`,
  finStopped: (sends, state, until) => `${sends}，状态 ${state}，${until}；不发 RST`,
  socketNeverGone: (lastState) => `套接字一直没有消失（最后采样到的状态：${lastState ?? '无'}）`,
  socketGoneFrom: (state, time) => `套接字在 ${time}从 ${state} 消失`,
  leftOtherState: (gone, state, reason) => `套接字离开的是 ${gone}，预期为 ${state}（${reason}）`,
  leftNotOrphan: (gone, state) => `套接字离开的是 ${gone}，不是 ${state}（它不是在重传 FIN 的孤儿套接字）`,
  rstsAfterFin: (count) => `FIN 之后发出了 ${count} 个 RST（放弃的孤儿套接字不发 RST）`,
  destroyedLabel: (state) => `套接字从 ${state} 被销毁（行消失）`,
  rstAt: (host, frame, at) => `${host} 抓包 #${frame}：${at} s 的 RST`,
  noRst: '没有 RST',
  rsts: (count) => `${count} 个 RST`,
  orphanState: (state, reason) => `${state}（${reason}）`,
  passiveClose: (host, frame, peerFrame) => `被动关闭：这个 FIN（${host} 抓包 #${frame}）确认了对端的 FIN（#${peerFrame}）`,
  simultaneousClose: (host, frame, peerFrame) => `同时关闭：${host} 抓包 #${frame} 确认了对端的 FIN（#${peerFrame}），而自己的 FIN 尚未被确认`,
  activeClose: (host) => `主动关闭：${host} 没有确认过对端的 FIN`,

  givesUpWith: (error, at, reason) => `在 ${at} s 以 ${error} 放弃（${FAIL_LIMIT_ZH[reason]}），不发 RST`,
  dataStopped: (sends, until) => `${sends}，${until}；不发 RST`,
  acknowledgedAt: (at) => `在 ${at} s 被确认`,
  neverGaveUp: '从未放弃',
  gaveUp: (time) => `在 ${time}放弃`,
  withError: (code) => `（${code}）`,
  sawAlthoughAcked: (error) => `数据已被确认，应用程序却看到 ${error}`,
  sawNoError: (expected) => `应用程序没有看到错误（预期为 ${expected}）`,
  sawInstead: (code, expected) => `应用程序看到的是 ${code}，预期为 ${expected}`,
  dataRsts: (count) => `发出了 ${count} 个 RST（放弃数据的套接字不发 RST）`,
  givesUpLabel: (error) => `放弃（${error}，CLOSED）`,
  rtoLine: (rtoMs, source, tlpAt) => `RTO ${rtoMs} ms（${source}）${tlpAt === undefined ? '' : `；${tlpAt} s 为尾部丢失探测（TLP）`}`,
  fastRetransmitLine: (host, frame, at, triggerFrame, sack, reordering) =>
    `第 2 份副本（${host} 抓包 #${frame}，${at}）是快速重传，不是定时器重传：${sack ? `对端的重复 ACK #${triggerFrame} 以 SACK 确认了其后的数据` : `对端的重复 ACK #${triggerFrame} 是第 ${reordering} 个（tcp_reordering）`}（tcp_fastretrans_alert()，RFC 6675、RFC 8985）；RTO 从它重新计时`,
  noUserTimeout: '实验没有设置 TCP_USER_TIMEOUT：放弃发生在第一次 RTO 重传之后 tcp_model_timeout(tcp_retries2, TCP_RTO_MIN) 时',
  userTimeout: (ms, sources) =>
    `TCP_USER_TIMEOUT ${ms} ms（${sources.join('；')}）：放弃发生在第一次 RTO 重传之后这么长的时间，最后一个 RTO 被截短为剩余的时间（tcp_clamp_rto_to_user_timeout()）`,
  synUserTimeout: (ms, sources) =>
    `TCP_USER_TIMEOUT ${ms} ms（${sources.join('；')}）：connect() 在第一个 SYN 之后这么长时间的第一次定时器触发时放弃，每个 RTO 被截短为剩余的时间（tcp_write_timeout()、tcp_clamp_rto_to_user_timeout()）`,

  giveUpAt: (at) => `${at} s 时`,
  giveUpSampled: (after, by) => `${after} 至 ${by} s 之间（采样）`,
  giveUpInUserSpace: (after, by) => `${after} 至 ${by} s 之间（在用户空间看到）`,
  agentError: (code) => `代理的 error 事件 ${code}`,
  latencyBefore: (ms, noKernelEvent) => `它之前 ${ms} ms（用户空间投递延迟上限${noKernelEvent ? '；没有精确的内核事件' : ''}）`,
  latencyWhy: '用户空间看到的错误晚于内核放弃，最多晚一个用户空间投递延迟上限',
  kernelClose: (from, line, namesTracepoint) => `内核 ${from} → CLOSED（${namesTracepoint ? 'inet_sock_set_state，' : ''}kernel-trace.txt 第 ${line} 行）`,
  rstGiveUp: (host, frame) => `${host} 抓包 #${frame}（RST）`,
  lastRead: '代理更早的最后一次 /proc/net/tcp 读取，当时该行仍在',
  lastSend: (host, frame) => `它的最后一次发送（${host} 抓包 #${frame}），这是它存在的最晚证据`,
  goneOnly: '发现它消失的那次采样（没有更早的证据）',
  goneSample: 'socket-gone 采样',
  sampledWhy: '采样得到的消失时刻只能精确到两次读取之间的间隔（5 ms 加上代理的延迟；代理只报告变化）',
  lastEvidence: '最后的证据',

  segmentItem: (kind, index) => `${SENT_ZH[kind].one} ${index + 1}${index === 0 ? '（原始）' : ''}`,
  window: (earliest, latest) => `，时间窗 ${earliest}–${latest} s`,
  verdict: (verdict) => VERDICT_ZH[verdict],
  itemLine: (label, expected, window, observed, where, verdict) =>
    `${label}：预期 ${expected} s${window}；${observed === undefined ? '未观察到' : `观察到 ${observed} s`}（${where}）——${VERDICT_ZH[verdict]}`,
  intervalItemLine: (label, expected, window, g, verdict) =>
    `${label}：预期 ${expected} s${window}；观察到在 ${g.after} s（${g.afterSource}）与 ${g.by} s（${g.source}）之间——${g.why}，` +
    `因此按区间是否重叠判断——${VERDICT_ZH[verdict]}`,
  notObserved: '无记录',
  notInCapture: '抓包中没有',
  fireOnly: 'tracepoint 记录，未发出：上一份副本仍在主机队列中',
  timerRanLate: (ms) => `；其定时器比时间轮槽晚 ${ms} ms 才运行（tracepoint：timer_expire_entry 的 now − baseclk），窗口相应推后 ${ms} ms`,
  captureFrame: CAPTURE_FRAME.zh,
  extraLine: (host, frame, kind, at, modelSends) => `${host} 抓包 #${frame}：${at} s 的${SENT_ZH[kind].named}——意外：模型在 ${modelSends} 次发送后即停止`,
  settingsLine: (values, hz) =>
    `模型输入取自该主机的 kernel-settings.json：${values.map((v) => `${v.name}=${v.recorded ?? `${v.fallback}（未记录，默认值）`}`).join('，')}；HZ=${hz}（未记录，模型默认值）`,
  missingExpected: (names) => `该主机的内核参数 ${names.join('、')}（模型的输入）`,
  missingObserved: (host, names) => `${host}/kernel-settings.json 中没有 ${names.join('、')}`,
  missingFix: '请用会记录这些 sysctl 的 tcplab 重新运行实验；模型从不退回使用常量',
  noSendsExpected: (kind, host, tuple) => `${host} ${tuple === undefined ? '' : `在 ${tuple.local} → ${tuple.remote} 上`}发出的${SENT_ZH[kind].segments}`,
  noSendsObserved: (kind, host, addresses, segments) =>
    `${host}（${addresses.join('、')}）的抓包中没有${SENT_ZH[kind].missing}（共 ${segments} 个 TCP 报文段）`,

  afterAnswer: (count, at) => `${at} s 的应答停止定时器之后仍有 ${count} 次发送`,
  missingSends: (missing, due) => `${due} 次发送中缺少 ${missing} 次`,
  transmission: (index) => `第 ${index + 1} 次发送`,
  theGiveUp: '放弃',
  between: (after, by) => `${after} 至 ${by} s 之间`,
  mistimed: (what, verdict, when, earliest, latest) => `${what}${VERDICT_ZH[verdict]}（${when}，时间窗 ${earliest}–${latest} s）`,
  giveUpUnobserved: '没有观察到放弃',
  extraSends: (count) => `比模型允许的多出 ${count} 次发送`,
  probe: (index) => `第 ${index + 1} 个探测`,
  probeUnobserved: (what, at) => `没有观察到预期在 ${at} s 的${what}`,
  probeUnexpected: (what, at) => `${at} s 的${what}不在模型中`,

  rtoNoRetransmission: 'tcp_rto_min：没有可供测量的重传',
  rtoRange: (fitting, latest) =>
    latest > fitting
      ? `以整 jiffy 计，${fitting}–${latest} ms 都与每个间隔相符，逐一尝试（rtoCandidates()）`
      : `以整 jiffy 计，与每个间隔都相符的 RTO 只有 ${fitting} ms（rtoCandidates()）`,
  rtoFromGaps: '由观察到的间隔推算（每个 RTO 间隔 / 2^k，取整 jiffy）',
  gapsBelowRtoMin: (rtoMinMs) => `tcp_rto_min（${rtoMinMs} ms）：观察到的间隔比它短`,
  persistNoGap: 'tcp_rto_min：没有低于 tcp_rto_max 的探测间隔可供测量',
  persistFromGaps: '由观察到的探测间隔推算（每个间隔 / 2^k，取整 jiffy）',
};

export const TIMING_WORDS: Readonly<Record<Lang, TimingWords>> = {
  en: { ...en, ...PROBE_WORDS.en },
  zh: { ...zh, ...PROBE_WORDS.zh },
};

/** The sentence in every language, from the timing words: `timingText((w) => w.answeredAt(seconds(ms)))`. */
export function timingText(sentence: (w: TimingWords, lang: Lang) => string): Text {
  return say(TIMING_WORDS, sentence);
}
