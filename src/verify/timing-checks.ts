import { portOf } from '../analysis/socket-timeline.js';
import type { AgentEvent } from '../agent/protocol.js';
import { deferredRequestOf } from '../analysis/accept-queue.js';
import { analyzeRun, hostAnalysisOf, type RunAnalysis } from '../analysis/analyze-run.js';
import { missingSettings, readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { connTimerOptions } from '../analysis/conn-timer-options.js';
import { hostOf, isAddressOf, type RunHost, type RunRecord } from '../analysis/run-record.js';
import { findConnTuple, firstConnectConn, firstListenPort, segmentEndpoints, type SocketTuple } from '../analysis/run-sockets.js';
import { listenStepBacklog, sampledDisappearance, synAckDropLimits, synQueueReadings, type ObservedGiveUp } from '../analysis/sampled-reads.js';
import { isPureSyn, isSynAck, requestDropIcmp } from '../analysis/syn-ack-replies.js';
import { fitOverRtos, fitRetransmissions } from '../analysis/timing-fit.js';
import { answerToSend } from '../analysis/timing-series.js';
import { fastLine, sentRetransmissions, type SentSeries } from './sent-series.js';
import { queuedFiresOf } from '../analysis/traced-fires.js';
import { carriesStart } from '../analysis/rto-copies.js';
import { rtoSeriesOf, type RtoSeries } from '../analysis/icmp-during-series.js';
import { splitSocketAddress } from '../observe/socket-address.js';
import { assertNever } from '../assert-never.js';
import type { Expectation } from '../lab/model.js';
import { acknowledges, TcpFlag, type IcmpMessage, type TcpSegment } from '../observe/packet.js';
import { icmpText } from '../messages/icmp-words.js';
import { resolveKernelSettings } from '../tcp/kernel-settings.js';
import { parseTcpState, type TcpState } from '../tcp/state.js';
import {
  predictEstablishedSchedule,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  USERSPACE_ERROR_LATENCY_MS,
} from '../tcp/timing-model.js';
import { exactTransitionsOf } from './exact-conformance.js';
import {
  dueSends,
  describeItems,
  fitRefs,
  extraLines,
  rtoLine,
  icmpLines,
  missingSettingsCheck,
  noSendsCheck,
  hzOf,
  settingsLine,
  seconds,
  formatOffsets,
  observedSends,
} from './timing-lines.js';
import { segmentRefs, textCheck, type Check } from './verdict.js';
import { timingText, type TimingWords } from '../messages/check-words/timing-words.js';
import type { Lang } from '../messages/catalog.js';
import type { Text } from '../messages/text.js';

/*
 * Timing checks: observed retransmissions against the Linux timing model (src/tcp/timing-model.ts).
 *
 * How it works. Each check collects the observed transmissions of one socket from the sending host's
 * own capture (a segment a firewall drops on the receiver was still sent, and the sender's capture
 * stamps it when it left), plus the moment the socket gave up: the agent's ETIMEDOUT for connect() (an
 * event, one instant), or the disappearance of the socket row for a request or an orphan. A row's
 * disappearance is *sampled*: the agent reads /proc/net/tcp every 5 ms (plus its scheduling latency)
 * and reports only changes, so the events prove an interval, not an instant — the row was still there
 * at the last read before the one that found it gone (the latest sampler event of that host from an
 * earlier read, or the socket's last transmission in the capture), and gone by that read
 * (sampledDisappearance()). The give-up passes when that interval overlaps the model's window; the
 * evidence gives both ends. It predicts the schedule from the *host's own* recorded sysctls and
 * compares item by item with compareSchedule(): each observed send must fall in a window anchored at
 * the previous observed send (a timer may be early by timerEarlyMs() and late by its wheel granularity
 * plus a jiffy). Give-up is a time test at a timer fire, so a schedule whose timers all ran late can
 * give up one fire earlier than the nominal one: both predictions (timers on time, timers as late as
 * the wheel allows) are tried and the check passes if the observation fits either.
 *
 * HZ is not recorded in a run folder; the model's default (250, CONFIG_HZ of the project's machines)
 * is used and named in the evidence.
 */

type TimingExpectation = Extract<Expectation, { kind: 'syn-retransmits' | 'synack-retransmits' | 'fin-retransmits' | 'data-retransmits' }>;

/** Checks a timing expectation (syn-retransmits, synack-retransmits, fin-retransmits) against the run. */
export function checkTimingExpectation(expectation: TimingExpectation, run: RunRecord, analysis: RunAnalysis = analyzeRun(run)): Check {
  switch (expectation.kind) {
    case 'syn-retransmits':
      return checkSynRetransmits(expectation, run, analysis);
    case 'synack-retransmits':
      return checkSynAckRetransmits(expectation, run, analysis);
    case 'fin-retransmits':
      return checkFinRetransmits(expectation, run, analysis);
    case 'data-retransmits':
      return checkDataRetransmits(expectation, run, analysis);
    default:
      return assertNever(expectation);
  }
}

const SYN_REFERENCE = 'tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout(), retransmits_timed_out(); kernel/time/timer.c calc_index()';
const SYNACK_REFERENCE = 'inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc(), reqsk_timeout()';
const FIN_REFERENCE = 'tcp_timer.c tcp_write_timeout(), tcp_orphan_retries(), tcp_write_err() (no RST)';

/** SYN retransmissions of an active open and the moment connect() fails, vs predictSynSchedule(host settings). */
export function checkSynRetransmits(
  expectation: Extract<Expectation, { kind: 'syn-retransmits' }>,
  run: RunRecord,
  analysis: RunAnalysis = analyzeRun(run),
): Check {
  const host = hostOf(run, expectation.host);
  const conn = expectation.conn ?? firstConnectConn(run.lab, host.name);
  const who = `${host.name}${conn === undefined ? '' : `/${conn}`}`;
  const name = timingText((w) => w.synName(who));
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, SYN_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const syns = sentRetransmissions(run, analysis, host, tuple, isPureSyn);
  if (syns.sends.length === 0) {
    return noSendsCheck(name, host, tuple, 'SYN', SYN_REFERENCE);
  }
  const failure = conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  const failOffsetMs = failure === undefined ? undefined : (failure.timeUs - syns.firstUs) / 1000;
  const giveUp = synGiveUp(host, tuple, failure, failOffsetMs, syns.firstUs);
  // TCP_USER_TIMEOUT bounds SYN_SENT too: tcp_write_timeout() tests retransmits_timed_out() after the count (since v5.4).
  const options = conn === undefined ? undefined : connTimerOptions(run, host.name, conn, tuple === undefined ? undefined : portOf(tuple.local));
  const userTimeoutMs = options?.userTimeoutMs;
  const settings = { ...recorded.settings, userTimeoutMs };
  const answer = answeredAt(run, analysis, host, syns);
  const outcome = fitRetransmissions((options) => predictSynSchedule(settings, options), syns.sends, giveUp, hzOf(settings), {
    ...answer?.fit,
    rearmedAtMs: syns.restartsMs,
  });
  const { schedule } = outcome;
  const problems = [...outcome.departures];
  // An answering RST makes connect() fail with ECONNREFUSED (tcp_reset()); only an unanswered series must end in ETIMEDOUT.
  if (failure !== undefined && failure.code !== 'ETIMEDOUT' && answer === undefined) problems.push(timingText((w) => w.connectNotTimedOut(failure.code)));
  const evidence = describeItems(outcome, host.name, 'SYN', giveUp, (w) => w.connectFailsLabel);
  evidence.push(...extraLines(outcome, host.name, 'SYN'), settingsLine(settings, ['tcp_syn_retries', 'tcp_syn_linear_timeouts', 'tcp_rto_max_ms']));
  if (userTimeoutMs !== undefined) {
    evidence.push(
      timingText((w) =>
        w.synUserTimeout(
          userTimeoutMs,
          (options?.sources ?? []).map((s) => w.optionSource(s)),
        ),
      ),
    );
  }
  if (answer !== undefined) evidence.push(answer.line);
  evidence.push(...syns.held);
  const failedAt = seconds(failOffsetMs ?? 0);
  return textCheck({
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: timingText((w, lang) =>
      answer === undefined
        ? w.sends('SYN', schedule.sends.length, formatOffsets(schedule.sends)) + w.clause + w.connectTimesOut(seconds(schedule.failAtMs), schedule.failReason)
        : w.stoppedBy(w.sends('SYN', dueSends(outcome).length, formatOffsets(dueSends(outcome))), untilStopped(w, lang, answer)),
    ),
    observed: timingText(
      (w, lang) =>
        observedSends(w, 'SYN', syns.sends) +
        w.clause +
        (failure !== undefined ? w.connectFailedAt(failure.code, failedAt) : answer !== undefined ? answer.observed[lang] : w.connectNeverFailed) +
        w.departures(inLang(problems, lang)),
    ),
    evidence,
    refs: fitRefs(host.name, syns.firstUs, outcome, 'SYN'),
    reference: SYN_REFERENCE,
  });
}

/**
 * When connect() gave up: the kernel's own SYN_SENT → CLOSED (tcp_write_err(); µs-exact) when the host has
 * one; with samples only, the agent's ETIMEDOUT, which user space sees after the kernel gave up — so the
 * give-up lies in [error − USERSPACE_ERROR_LATENCY_MS, error] (a documented bound, not the capture allowance).
 */
function synGiveUp(
  host: RunHost,
  tuple: { local: string; remote: string } | undefined,
  failure: Extract<AgentEvent, { type: 'error' }> | undefined,
  failOffsetMs: number | undefined,
  firstUs: number,
): ObservedGiveUp<Text> | undefined {
  const exact = tuple === undefined ? undefined : exactClose(host, tuple, ['SYN_SENT'], firstUs);
  if (exact !== undefined) return exact;
  if (failure === undefined || failOffsetMs === undefined) return undefined;
  return {
    afterMs: Math.max(0, failOffsetMs - USERSPACE_ERROR_LATENCY_MS),
    byMs: failOffsetMs,
    source: timingText((w) => w.agentError(failure.code)),
    afterSource: timingText((w) => w.latencyBefore(USERSPACE_ERROR_LATENCY_MS, true)),
    why: timingText((w) => w.latencyWhy),
  };
}

/** The kernel's own close of the socket from one of `from` (inet_sock_set_state; µs-exact), as a give-up instant. */
function exactClose(host: RunHost, tuple: SocketTuple, from: readonly TcpState[], firstUs: number): (ObservedGiveUp<Text> & { from: TcpState }) | undefined {
  const exact = exactTransitionsOf(host, tuple.local, tuple.remote).find((t) => t.to === 'CLOSED' && from.includes(t.from));
  if (exact === undefined) return undefined;
  const atMs = (exact.timeUs - firstUs) / 1000;
  return { afterMs: atMs, byMs: atMs, from: exact.from, source: timingText((w) => w.kernelClose(exact.from, exact.line, true)) };
}

/** SYN-ACK retransmissions of a request socket and its silent drop, vs predictSynAckSchedule(host settings). */
export function checkSynAckRetransmits(
  expectation: Extract<Expectation, { kind: 'synack-retransmits' }>,
  run: RunRecord,
  analysis: RunAnalysis = analyzeRun(run),
): Check {
  const host = hostOf(run, expectation.host);
  const port = expectation.port ?? firstListenPort(run.lab, host.name);
  const name = timingText((w) => w.synAckName(host.name, port));
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_synack_retries']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, SYNACK_REFERENCE);
  const first = host.segments.find((s) => isSynAck(s) && isAddressOf(host, s.src) && (port === undefined || s.srcPort === port));
  if (first === undefined) return noSendsCheck(name, host, undefined, 'SYN-ACK', SYNACK_REFERENCE);
  const { src, dst } = segmentEndpoints(first);
  const tuple: SocketTuple = { local: src, remote: dst };
  // A retransmitted SYN from the peer that reached TCP makes the request answer at once (tcp_minisocks.c
  // tcp_check_req() → inet_rtx_syn_ack()): such SYN-ACKs are replies, not timer fires (the run analysis
  // decides, analysis/syn-ack-replies.ts), and are left out of the schedule.
  const synAckReplies = hostAnalysisOf(analysis, host.name).synAckReplies;
  const all = sentRetransmissions(run, analysis, host, tuple, isSynAck);
  const replies = all.sends.filter((send) => synAckReplies.has(send.frame));
  const timerSends = all.sends.filter((send) => !synAckReplies.has(send.frame));
  const gone = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket-gone' }> =>
      e.type === 'socket-gone' && e.local === tuple.local && e.remote === tuple.remote && parseTcpState(e.state) === 'SYN_RECEIVED',
  );
  const settings = recorded.settings;
  // reqsk_timer_handler() may cut the limit while the listener's queue is more than half full of old requests.
  const backlog = listenStepBacklog(run, host, port);
  const readingsOf = backlog === undefined ? undefined : synQueueReadings(host, tuple.local, backlog);
  const candidates = synAckDropLimits(resolveKernelSettings(settings), all.firstUs, timerSends.length - 1, readingsOf, tuple.remote);
  // The timer stops at the peer's answer, or at an ICMP error that dropped the request: whichever came first.
  const stops = [answeredAt(run, analysis, host, all), requestDroppedByIcmp(analysis, host, tuple, first.seq, all.firstUs)].filter(
    (stop): stop is TimerStop => stop !== undefined,
  );
  const answer = stops.length === 0 ? undefined : stops.reduce((a, b) => (b.atMs < a.atMs ? b : a));
  // A row gone after the timer stopped (the request a child, or dropped by ICMP) is another request's, a retransmitted SYN's.
  const goneAfterStop = answer !== undefined && gone !== undefined && gone.timeUs > all.firstUs + answer.atMs * 1000;
  const giveUp = gone === undefined || goneAfterStop ? undefined : sampledDisappearance(host, gone, all.sends, all.firstUs);
  const deferred = deferredRequestOf(run, host, first.srcPort, tuple.remote);
  const deferAccept = deferred === undefined ? undefined : { retrans: deferred.retrans, ackedAtMs: (deferred.ackedAtUs - all.firstUs) / 1000 };
  const judged = candidates.map((candidate) => ({
    candidate,
    outcome: fitRetransmissions(
      (options) => predictSynAckSchedule(settings, { ...options, retriesLimit: candidate.k, ...(deferAccept !== undefined && { deferAccept }) }),
      timerSends,
      giveUp,
      hzOf(settings),
      { ...answer?.fit, rearmedAtMs: replies.map((reply) => reply.offsetMs) },
    ),
  }));
  const best = judged.reduce((a, b) => (b.outcome.departures.length < a.outcome.departures.length ? b : a));
  const { outcome } = best;
  const { schedule } = outcome;
  const evidence = describeItems(outcome, host.name, 'SYN-ACK', giveUp, (w) => w.requestDroppedLabel);
  for (const reply of replies) evidence.push(timingText((w) => w.synAckReply(host.name, reply.frame)));
  evidence.push(...extraLines(outcome, host.name, 'SYN-ACK'), settingsLine(settings, ['tcp_synack_retries']));
  if (answer !== undefined) evidence.push(answer.line);
  evidence.push(...all.held);
  if (candidates.length > 1) {
    const limits = candidates.map((c) => c.words);
    evidence.push(timingText((w, lang) => w.limitsUndecided(inLang(limits, lang), best.candidate.words[lang])));
  } else if (readingsOf !== undefined) {
    evidence.push(timingText((w, lang) => w.limitFromQueue(best.candidate.words[lang])));
  }
  return textCheck({
    name,
    status: outcome.departures.length === 0 ? 'pass' : 'fail',
    expected: timingText((w, lang) =>
      answer === undefined
        ? w.sends('SYN-ACK', schedule.sends.length, formatOffsets(dueSends(outcome))) +
          w.clause +
          w.requestDroppedSilently(seconds(outcome.items.at(-1)?.expectedMs ?? schedule.failAtMs))
        : w.stoppedBy(w.sends('SYN-ACK', dueSends(outcome).length, formatOffsets(dueSends(outcome))), untilStopped(w, lang, answer)),
    ),
    observed: timingText(
      (w, lang) =>
        observedSends(w, 'SYN-ACK', timerSends) +
        w.clause +
        (giveUp !== undefined ? w.synRecvGone(giveUpTime(w, giveUp)) : answer !== undefined ? answer.observed[lang] : w.synRecvNeverGone) +
        w.departures(inLang(outcome.departures, lang)),
    ),
    evidence,
    refs: [
      ...fitRefs(host.name, first.timeUs, outcome, 'SYN-ACK'),
      ...segmentRefs(
        host.name,
        replies.map((r) => r.frame),
      ),
    ],
    reference: SYNACK_REFERENCE,
  });
}

/**
 * FIN retransmissions of an orphaned socket — FIN_WAIT_1 after the active close(), LAST_ACK after the
 * passive closer's close(), CLOSING after a simultaneous one — and its silent destruction without a RST,
 * or the peer's ACK of the FIN that stops the timer first. All three are orphans once close() has run, so
 * tcp_orphan_retries applies (tcp_write_timeout()).
 */
export function checkFinRetransmits(
  expectation: Extract<Expectation, { kind: 'fin-retransmits' }>,
  run: RunRecord,
  analysis: RunAnalysis = analyzeRun(run),
): Check {
  const host = hostOf(run, expectation.host);
  const conn = expectation.conn ?? firstConnectConn(run.lab, host.name);
  const who = `${host.name}${conn === undefined ? '' : `/${conn}`}`;
  const name = timingText((w) => w.finName(who));
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_orphan_retries']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, FIN_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const isFin = (s: TcpSegment): boolean => (s.flags & (TcpFlag.FIN | TcpFlag.RST)) === TcpFlag.FIN;
  const fins = sentRetransmissions(run, analysis, host, tuple, isFin);
  if (fins.sends.length === 0) return noSendsCheck(name, host, tuple, 'FIN', FIN_REFERENCE);
  const finTuple = fins.tuple;
  const answer = answeredAt(run, analysis, host, fins);
  const orphan = orphanFinState(host, finTuple, fins, answer);
  const settings = recorded.settings;
  const hz = hzOf(settings);
  const { estimate, icmp, options: rtoOptions } = rtoSeriesOfSends(hostAnalysisOf(analysis, host.name).icmp, fins, recorded.rtoMinMs, hz);
  const gone = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket-gone' }> => e.type === 'socket-gone' && e.local === finTuple.local && e.remote === finTuple.remote,
  );
  // The kernel's own close when traced (an orphan's tcp_write_err(): no error report, no RST); else the sampled disappearance.
  const closed = exactClose(host, finTuple, ORPHAN_FIN_STATES, fins.firstUs);
  // Answered, the socket lives on (FIN_WAIT_2, TIME_WAIT, CLOSED): its later end is no give-up.
  const giveUp = answer !== undefined ? undefined : (closed ?? (gone === undefined ? undefined : sampledDisappearance(host, gone, fins.sends, fins.firstUs)));
  const { fit: outcome, rtoMs } = fitOverRtos(estimate, hz, (rto) =>
    fitRetransmissions((options) => predictOrphanFinSchedule(settings, rto, { ...options, ...rtoOptions }), fins.sends, giveUp, hz, {
      ...answer?.fit,
      rearmedAtMs: fins.restartsMs,
    }),
  );
  const { schedule } = outcome;
  const problems = [...outcome.departures];
  const goneState = answer !== undefined ? undefined : (closed?.from ?? (gone === undefined ? undefined : (parseTcpState(gone.state) ?? gone.state)));
  if (goneState !== undefined && goneState !== orphan.state) {
    problems.push(
      timingText((w, lang) =>
        ORPHAN_FIN_STATES.includes(goneState as TcpState)
          ? w.leftOtherState(goneState, orphan.state, orphan.reason[lang])
          : w.leftNotOrphan(goneState, orphan.state),
      ),
    );
  }
  const rsts = host.segments.filter(
    (s) =>
      s.timeUs >= fins.firstUs && (s.flags & TcpFlag.RST) !== 0 && segmentEndpoints(s).src === finTuple.local && segmentEndpoints(s).dst === finTuple.remote,
  );
  if (rsts.length > 0) problems.push(timingText((w) => w.rstsAfterFin(rsts.length)));
  const evidence = describeItems(outcome, host.name, 'FIN', giveUp, (w) => w.destroyedLabel(orphan.state));
  for (const rst of rsts) evidence.push(timingText((w) => w.rstAt(host.name, rst.frame, seconds((rst.timeUs - fins.firstUs) / 1000))));
  evidence.push(
    timingText((w, lang) => w.orphanState(orphan.state, orphan.reason[lang])),
    ...extraLines(outcome, host.name, 'FIN'),
    rtoLine(rtoMs, estimate),
    settingsLine(settings, ['tcp_orphan_retries', 'tcp_rto_max_ms']),
    ...icmpLines(icmp, false),
  );
  if (answer !== undefined) evidence.push(answer.line);
  evidence.push(...fins.held);
  const lastState = lastSampledState(host, finTuple);
  return textCheck({
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: timingText((w, lang) =>
      answer === undefined
        ? w.sends('FIN', schedule.sends.length, formatOffsets(schedule.sends)) + w.clause + w.destroyedWithoutRst(orphan.state, seconds(schedule.failAtMs))
        : w.finStopped(w.sends('FIN', dueSends(outcome).length, formatOffsets(dueSends(outcome))), orphan.state, untilStopped(w, lang, answer)),
    ),
    observed: timingText(
      (w, lang) =>
        observedSends(w, 'FIN', fins.sends) +
        w.clause +
        (answer !== undefined
          ? w.answeredAt(seconds(answer.atMs))
          : giveUp === undefined
            ? w.socketNeverGone(lastState)
            : w.socketGoneFrom(goneState, giveUpTime(w, giveUp))) +
        w.clause +
        (rsts.length === 0 ? w.noRst : w.rsts(rsts.length)) +
        w.departures(inLang(problems, lang)),
    ),
    evidence,
    refs: [
      ...fitRefs(host.name, fins.firstUs, outcome, 'FIN'),
      ...segmentRefs(
        host.name,
        rsts.map((r) => r.frame),
      ),
    ],
    reference: FIN_REFERENCE,
  });
}

const DATA_REFERENCE =
  'tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout(), retransmits_timed_out(), tcp_model_timeout(); tcp_write_err() (ETIMEDOUT, no RST)';

/**
 * Retransmissions of a connection's first unacknowledged (or retransmitted) data segment and the give-up — or the ACK that stops them — vs
 * predictEstablishedSchedule(host settings): RTO estimated from the copies (at least tcp_rto_min, a tail-loss
 * probe first: estimateFinRto()), doubling; the give-up when the time since the first retransmission reaches
 * tcp_model_timeout(tcp_retries2, TCP_RTO_MIN). The give-up is the kernel's exact ESTABLISHED/CLOSE_WAIT → CLOSED
 * when the host has it, else the agent's ETIMEDOUT with the user-space delivery bound (synGiveUp()).
 */
export function checkDataRetransmits(
  expectation: Extract<Expectation, { kind: 'data-retransmits' }>,
  run: RunRecord,
  analysis: RunAnalysis = analyzeRun(run),
): Check {
  const host = hostOf(run, expectation.host);
  const conn = expectation.conn ?? firstConnectConn(run.lab, host.name);
  const who = `${host.name}${conn === undefined ? '' : `/${conn}`}`;
  const name = timingText((w) => w.dataName(who));
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_retries2']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, DATA_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const received = host.segments.filter((r) => isAddressOf(host, r.dst) && (r.flags & TcpFlag.ACK) !== 0);
  // Data, with a FIN or without: a copy may carry the FIN queued behind it (tcp_retrans_try_collapse(), rto-copies.ts).
  const carriesData = (s: TcpSegment): boolean => s.payloadLength > 0 && (s.flags & (TcpFlag.SYN | TcpFlag.RST)) === 0;
  const sentData = host.segments.filter((s) => isAddressOf(host, s.src) && carriesData(s));
  const sameSocket = (a: TcpSegment, b: TcpSegment): boolean => a.srcPort === b.srcPort && a.dstPort === b.dstPort && a.dst === b.dst;
  const { heldSends, tracedFires } = hostAnalysisOf(analysis, host.name);
  const tupleOfSent = (s: TcpSegment): SocketTuple => {
    const ends = segmentEndpoints(s);
    return { local: ends.src, remote: ends.dst };
  };
  const ackOf = (s: TcpSegment): TcpSegment | undefined => received.find((r) => r.srcPort === s.dstPort && r.dstPort === s.srcPort && acknowledges(r, s));
  // Data never acknowledged, or resent later (whole, merged or cut to the MSS: carriesStart()) and acknowledged in the end,
  // or whose timer fired while it was still queued in the host (traced-fires.ts).
  const isRetransmittedData = (s: TcpSegment): boolean => {
    if (!carriesData(s)) return false;
    if (sentData.some((c) => c.timeUs >= s.timeUs && c !== s && sameSocket(c, s) && carriesStart(c, s))) return true;
    const ack = ackOf(s);
    return ack === undefined || queuedFiresOf(tracedFires, tupleOfSent(s), heldSends.get(s.frame)?.sentUs ?? s.timeUs, ack.timeUs).length > 0;
  };
  const data = sentRetransmissions(run, analysis, host, tuple, isRetransmittedData);
  if (data.sends.length === 0) return noSendsCheck(name, host, tuple, 'data', DATA_REFERENCE);
  // TCP_USER_TIMEOUT set by the lab replaces tcp_model_timeout() and clamps the last RTO (retransmits_timed_out()).
  const options = conn === undefined ? undefined : connTimerOptions(run, host.name, conn, portOf(data.tuple.local));
  const userTimeoutMs = options?.userTimeoutMs;
  const settings = { ...recorded.settings, userTimeoutMs };
  const hz = hzOf(settings);
  const { estimate, icmp, options: rtoOptions } = rtoSeriesOfSends(hostAnalysisOf(analysis, host.name).icmp, data, recorded.rtoMinMs, hz);
  // The error the give-up reports: the last ICMP error's (a soft error, tcp_write_err()), else ETIMEDOUT.
  const giveUpError = icmp.softError ?? 'ETIMEDOUT';
  const failure = conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  const failOffsetMs = failure === undefined ? undefined : (failure.timeUs - data.firstUs) / 1000;
  const answer = answeredAt(run, analysis, host, data);
  // close()d before its first retransmission, the socket is an orphan: tcp_orphan_retries bounds it (tcp_write_timeout(),
  // SOCK_DEAD), it ends from its closing state, and no application is left to see an error.
  const orphan = closedBefore(run, host.name, conn, data.sends[1]?.timeUs ?? Infinity);
  const orphanClose = orphan && answer === undefined ? exactClose(host, data.tuple, ORPHAN_FIN_STATES, data.firstUs) : undefined;
  const orphanState = orphanClose?.from ?? 'FIN_WAIT_1';
  const giveUp =
    answer !== undefined
      ? undefined
      : orphan
        ? orphanClose
        : (exactClose(host, data.tuple, ['ESTABLISHED', 'CLOSE_WAIT'], data.firstUs) ?? synGiveUp(host, undefined, failure, failOffsetMs, data.firstUs));
  const predict = orphan ? predictOrphanFinSchedule : predictEstablishedSchedule;
  const { fit: outcome, rtoMs } = fitOverRtos(estimate, hz, (rto) =>
    fitRetransmissions((options) => predict(settings, rto, { ...options, ...rtoOptions }), data.sends, giveUp, hz, {
      ...answer?.fit,
      rearmedAtMs: data.restartsMs,
    }),
  );
  const { schedule } = outcome;
  const problems = [...outcome.departures];
  // Acknowledged in the end, the data was delivered: no give-up, and ETIMEDOUT would be wrong.
  if (answer !== undefined) {
    if (failure?.code === giveUpError) problems.push(timingText((w) => w.sawAlthoughAcked(giveUpError)));
  } else if (orphan) {
    if (failure !== undefined) problems.push(timingText((w) => w.sawInstead(failure.code, 'none')));
  } else if (failure === undefined) problems.push(timingText((w) => w.sawNoError(giveUpError)));
  else if (failure.code !== giveUpError) problems.push(timingText((w) => w.sawInstead(failure.code, giveUpError)));
  const rsts = host.segments.filter((r) => r.timeUs >= data.firstUs && (r.flags & TcpFlag.RST) !== 0 && segmentEndpoints(r).src === data.tuple.local);
  if (rsts.length > 0) problems.push(timingText((w) => w.dataRsts(rsts.length)));
  const evidence = describeItems(outcome, host.name, 'data', giveUp, (w) => (orphan ? w.destroyedLabel(orphanState) : w.givesUpLabel(giveUpError)));
  evidence.push(
    ...extraLines(outcome, host.name, 'data'),
    ...data.held,
    ...fastLine(run, host.name, data.fast),
    rtoLine(rtoMs, estimate),
    settingsLine(settings, [orphan ? 'tcp_orphan_retries' : 'tcp_retries2', 'tcp_rto_max_ms']),
    ...icmpLines(icmp, true),
    timingText((w) =>
      userTimeoutMs === undefined
        ? w.noUserTimeout
        : w.userTimeout(
            userTimeoutMs,
            (options?.sources ?? []).map((s) => w.optionSource(s)),
          ),
    ),
  );
  if (answer !== undefined) evidence.push(answer.line);
  return textCheck({
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: timingText((w, lang) =>
      answer === undefined
        ? w.sends('data', schedule.sends.length, formatOffsets(schedule.sends)) +
          w.clause +
          (orphan
            ? w.destroyedWithoutRst(orphanState, seconds(schedule.failAtMs))
            : w.givesUpWith(giveUpError, seconds(schedule.failAtMs), schedule.failReason))
        : w.dataStopped(w.sends('data', dueSends(outcome).length, formatOffsets(dueSends(outcome))), untilStopped(w, lang, answer)),
    ),
    observed: timingText(
      (w, lang) =>
        observedSends(w, 'data', data.sends) +
        w.clause +
        (answer !== undefined ? w.acknowledgedAt(seconds(answer.atMs)) : giveUp === undefined ? w.neverGaveUp : w.gaveUp(giveUpTime(w, giveUp))) +
        (failure === undefined ? '' : w.withError(failure.code)) +
        w.departures(inLang(problems, lang)),
    ),
    evidence,
    refs: [
      ...fitRefs(host.name, data.firstUs, outcome, 'data'),
      ...segmentRefs(
        host.name,
        rsts.map((r) => r.frame),
      ),
    ],
    reference: DATA_REFERENCE,
  });
}

/** The RTO series of a host's sent copies, with the ICMP errors from the peer that reached its TCP (`icmp`; rtoSeriesOf()). */
function rtoSeriesOfSends(icmp: readonly IcmpMessage[], series: SentSeries, rtoMinMs: number | undefined, hz: number): RtoSeries {
  const peer = splitSocketAddress(series.tuple.remote)?.address ?? '';
  return rtoSeriesOf(
    series.sends.map((s) => series.firstUs + s.offsetMs * 1000), // TCP's send times (a held first copy's, not its release)
    icmp,
    peer,
    rtoMinMs,
    hz,
    series.firstRepeat,
    series.restartsMs,
  );
}

/** States in which an orphan retransmits its FIN (tcp_write_timeout() with SOCK_DEAD). */
const ORPHAN_FIN_STATES: readonly TcpState[] = ['FIN_WAIT_1', 'CLOSING', 'LAST_ACK'];

/**
 * The state an orphan retransmitting its FIN is in, from what its own segments acknowledge (what TCP
 * itself received, whatever a firewall did): our FIN acknowledging the peer's FIN is a passive close
 * (LAST_ACK); an ACK of the peer's FIN sent after ours is a simultaneous close (CLOSING); else FIN_WAIT_1.
 */
function orphanFinState(host: RunHost, tuple: SocketTuple, fins: SentSeries, answer: { atMs: number } | undefined): { state: TcpState; reason: Text } {
  const ours = host.segments.filter((s) => segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote);
  const peerFin = host.segments.find(
    (s) => segmentEndpoints(s).src === tuple.remote && segmentEndpoints(s).dst === tuple.local && (s.flags & TcpFlag.FIN) !== 0,
  );
  const firstFin = ours.find((s) => s.frame === fins.sends[0]?.frame);
  if (peerFin !== undefined && firstFin !== undefined) {
    const peerFinEnd = (peerFin.seq + peerFin.payloadLength + 1) >>> 0;
    const acks = (s: TcpSegment): boolean => (s.flags & TcpFlag.ACK) !== 0 && ((s.ack - peerFinEnd) | 0) >= 0;
    if (acks(firstFin)) {
      return { state: 'LAST_ACK', reason: timingText((w) => w.passiveClose(host.name, firstFin.frame, peerFin.frame)) };
    }
    // Simultaneous only when the peer's FIN came before ours was acknowledged: else FIN_WAIT_2 got it.
    const beforeAnswer = answer === undefined || peerFin.timeUs < fins.firstUs + answer.atMs * 1000;
    const later = ours.find((s) => s.timeUs > firstFin.timeUs && (s.flags & TcpFlag.RST) === 0 && acks(s));
    if (later !== undefined && beforeAnswer) {
      return { state: 'CLOSING', reason: timingText((w) => w.simultaneousClose(host.name, later.frame, peerFin.frame)) };
    }
  }
  return { state: 'FIN_WAIT_1', reason: timingText((w) => w.activeClose(host.name)) };
}

/** Whether the application close()d `conn` of `host` (not shutdown(): that leaves a socket with an owner) before `beforeUs`. */
function closedBefore(run: RunRecord, host: string, conn: string | undefined, beforeUs: number): boolean {
  return run.steps.some((s) => {
    const step = run.lab.steps[s.index];
    return step?.kind === 'close' && step.host === host && conn !== undefined && s.conn === conn && s.startUs < beforeUs;
  });
}

function lastSampledState(host: RunHost, tuple: SocketTuple): string | undefined {
  return host.events.findLast((e): e is Extract<AgentEvent, { type: 'socket' }> => e.type === 'socket' && e.local === tuple.local && e.remote === tuple.remote)
    ?.state;
}

/** `at 6.828 s` or `between 3.500 and 6.828 s (sampled)`, in the words `w`. */
function giveUpTime(w: TimingWords, giveUp: ObservedGiveUp): string {
  return giveUp.afterMs === giveUp.byMs ? w.giveUpAt(seconds(giveUp.byMs)) : w.giveUpSampled(seconds(giveUp.afterMs), seconds(giveUp.byMs));
}

// ---- shared machinery

/**
 * The peer's answer to a series (the run analysis decides: timing-series.ts findAnswer()), as a fit option and an
 * evidence line. A SYN-ACK, the ACK that completes a request, or a RST stops the sender's retransmission timer.
 */
/** What stopped a series' timer, ms from its first send: the peer's answer, or an ICMP error that dropped a request. */
interface TimerStop {
  readonly atMs: number;
  /** `the answer`, for "until … stopped the timer". */
  readonly what: Text;
  /** `answered at 1.2 s`, for the observed line. */
  readonly observed: Text;
  readonly fit: { readonly answeredAtMs: number };
  readonly line: Text;
}

/** Texts in one language. */
function inLang(texts: readonly Text[], lang: Lang): string[] {
  return texts.map((text) => text[lang]);
}

/** `until the answer at 1.2 s stopped the timer`, in the words `w`. */
function untilStopped(w: TimingWords, lang: Lang, stop: TimerStop): string {
  return w.untilStopped(stop.what[lang], seconds(stop.atMs));
}

/** The stop of a request's SYN-ACK timer by an ICMP error that reached `host`'s TCP and dropped it (requestDropIcmp()). */
function requestDroppedByIcmp(analysis: RunAnalysis, host: RunHost, tuple: SocketTuple, isn: number, firstUs: number): TimerStop | undefined {
  const drop = requestDropIcmp(hostAnalysisOf(analysis, host.name).icmp, tuple, isn, firstUs);
  if (drop === undefined) return undefined;
  const atMs = (drop.timeUs - firstUs) / 1000;
  const icmp = icmpText(drop.type, drop.code, drop.family);
  return {
    atMs,
    what: timingText((w, lang) => w.requestDroppedOn(icmp[lang])),
    observed: timingText((w, lang) => w.requestDroppedAt(icmp[lang], seconds(atMs))),
    fit: { answeredAtMs: atMs },
    line: timingText((w, lang) => w.icmpDropLine(host.name, drop.frame, seconds(atMs), icmp[lang])),
  };
}

function answeredAt(run: RunRecord, analysis: RunAnalysis, host: RunHost, series: SentSeries): TimerStop | undefined {
  const first = series.sends[0];
  const answer = first === undefined ? undefined : answerToSend(run, analysis.series, host.name, first.frame);
  if (answer === undefined) return undefined;
  const atMs = (answer.timeUs - series.firstUs) / 1000;
  return {
    atMs,
    what: timingText((w) => w.theAnswer),
    observed: timingText((w) => w.answeredAt(seconds(atMs))),
    fit: { answeredAtMs: atMs },
    line: timingText((w) => w.answerLine(seconds(atMs), host.name, answer.frame)),
  };
}

/** The model's sends the fit still expects (not stopped by an answer), ms from the first; moved by any re-arm (compareSchedule()). */
