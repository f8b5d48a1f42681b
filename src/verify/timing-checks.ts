import type { AgentEvent } from '../agent/protocol.js';
import { deferredRequestOf } from '../analysis/accept-queue.js';
import { analyzeRun, hostAnalysisOf, type RunAnalysis } from '../analysis/analyze-run.js';
import { missingSettings, readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { connTimerOptions } from '../analysis/conn-timer-options.js';
import { hostOf, isAddressOf, type RunHost, type RunRecord } from '../analysis/run-record.js';
import { findConnTuple, firstConnectConn, firstListenPort, segmentEndpoints, type SocketTuple } from '../analysis/run-sockets.js';
import { listenStepBacklog, sampledDisappearance, synAckDropLimits, synQueueReadings, type ObservedGiveUp } from '../analysis/sampled-reads.js';
import { isPureSyn, isSynAck, requestDropIcmp } from '../analysis/syn-ack-replies.js';
import { fitOverRtos, fitRetransmissions, type ObservedSend, type ScheduleFit } from '../analysis/timing-fit.js';
import { answerToSend } from '../analysis/timing-series.js';
import { rtoSeriesOf, type RtoSeries } from '../analysis/icmp-during-series.js';
import { splitSocketAddress } from '../observe/socket-address.js';
import { assertNever } from '../assert-never.js';
import type { Expectation } from '../lab/model.js';
import { acknowledges, isDataOnly, TcpFlag, type IcmpMessage, type TcpSegment } from '../observe/packet.js';
import { describeIcmp } from '../tcp/icmp-errors.js';
import { DEFAULT_KERNEL_SETTINGS, resolveKernelSettings, type KernelSettings } from '../tcp/kernel-settings.js';
import { parseTcpState, type TcpState } from '../tcp/state.js';
import {
  predictEstablishedSchedule,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  USERSPACE_ERROR_LATENCY_MS,
} from '../tcp/timing-model.js';
import { exactTransitionsOf } from './exact-conformance.js';
import { segmentRefs, type Check, type Evidence } from './verdict.js';

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
  const name = `SYN retransmissions of ${host.name}${conn === undefined ? '' : `/${conn}`} follow the Linux timing model`;
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, SYN_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const syns = sentRetransmissions(host, tuple, isPureSyn);
  if (syns.sends.length === 0) {
    return noSendsCheck(name, host, tuple, 'SYN', SYN_REFERENCE);
  }
  const failure = conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  const failOffsetMs = failure === undefined ? undefined : (failure.timeUs - syns.firstUs) / 1000;
  const giveUp = synGiveUp(host, tuple, failure, failOffsetMs, syns.firstUs);
  const settings = recorded.settings;
  const answer = answeredAt(run, analysis, host, syns);
  const outcome = fitRetransmissions((options) => predictSynSchedule(settings, options), syns.sends, giveUp, hzOf(settings), answer?.fit);
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  // An answering RST makes connect() fail with ECONNREFUSED (tcp_reset()); only an unanswered series must end in ETIMEDOUT.
  if (failure !== undefined && failure.code !== 'ETIMEDOUT' && answer === undefined) problems.push(`connect() failed with ${failure.code}, expected ETIMEDOUT`);
  const evidence = describeItems(outcome, host.name, 'SYN', 'connect() fails (ETIMEDOUT)', giveUp);
  evidence.push(...extraLines(outcome, host.name, 'SYN'), settingsLine(settings, ['tcp_syn_retries', 'tcp_syn_linear_timeouts', 'tcp_rto_max_ms']));
  if (answer !== undefined) evidence.push(answer.line);
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected:
      answer === undefined
        ? `${schedule.sends.length} SYNs at ${formatOffsets(schedule.sends)} s; connect() fails with ETIMEDOUT at ${seconds(schedule.failAtMs)} s (${schedule.failReason} limit)`
        : `${dueSends(outcome).length} SYNs at ${formatOffsets(dueSends(outcome))} s, until the answer at ${seconds(answer.atMs)} s stopped the timer`,
    observed:
      `${syns.sends.length} SYNs at ${formatOffsets(syns.sends.map((s) => s.offsetMs))} s; ` +
      (failure !== undefined
        ? `connect() failed with ${failure.code} at ${seconds(failOffsetMs ?? 0)} s`
        : answer !== undefined
          ? `answered at ${seconds(answer.atMs)} s`
          : 'connect() never failed') +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    refs: fitRefs(host.name, syns.firstUs, outcome, 'SYN'),
    reference: SYN_REFERENCE,
  };
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
): ObservedGiveUp | undefined {
  const exact = tuple === undefined ? undefined : exactClose(host, tuple, ['SYN_SENT'], firstUs);
  if (exact !== undefined) return exact;
  if (failure === undefined || failOffsetMs === undefined) return undefined;
  return {
    afterMs: Math.max(0, failOffsetMs - USERSPACE_ERROR_LATENCY_MS),
    byMs: failOffsetMs,
    source: `agent error event ${failure.code}`,
    afterSource: `${USERSPACE_ERROR_LATENCY_MS} ms before it (user-space delivery latency bound; no exact kernel event)`,
    why: 'an error seen in user space comes after the kernel gave up, by at most the user-space delivery latency bound',
  };
}

/** The kernel's own close of the socket from one of `from` (inet_sock_set_state; µs-exact), as a give-up instant. */
function exactClose(host: RunHost, tuple: SocketTuple, from: readonly TcpState[], firstUs: number): (ObservedGiveUp & { from: TcpState }) | undefined {
  const exact = exactTransitionsOf(host, tuple.local, tuple.remote).find((t) => t.to === 'CLOSED' && from.includes(t.from));
  if (exact === undefined) return undefined;
  const atMs = (exact.timeUs - firstUs) / 1000;
  return { afterMs: atMs, byMs: atMs, from: exact.from, source: `kernel ${exact.from} → CLOSED (inet_sock_set_state, kernel-trace.txt line ${exact.line})` };
}

/** SYN-ACK retransmissions of a request socket and its silent drop, vs predictSynAckSchedule(host settings). */
export function checkSynAckRetransmits(
  expectation: Extract<Expectation, { kind: 'synack-retransmits' }>,
  run: RunRecord,
  analysis: RunAnalysis = analyzeRun(run),
): Check {
  const host = hostOf(run, expectation.host);
  const port = expectation.port ?? firstListenPort(run.lab, host.name);
  const name = `SYN-ACK retransmissions of ${host.name}${port === undefined ? '' : ` port ${port}`} follow the Linux timing model`;
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
  const all = sentRetransmissions(host, tuple, isSynAck);
  const replies = all.sends.filter((send) => synAckReplies.has(send.frame));
  const timerSends = all.sends.filter((send) => !synAckReplies.has(send.frame));
  const gone = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket-gone' }> =>
      e.type === 'socket-gone' && e.local === tuple.local && e.remote === tuple.remote && parseTcpState(e.state) === 'SYN_RECEIVED',
  );
  const giveUp = gone === undefined ? undefined : sampledDisappearance(host, gone, all.sends, all.firstUs);
  const settings = recorded.settings;
  // reqsk_timer_handler() may cut the limit while the listener's queue is more than half full of old requests.
  const backlog = listenStepBacklog(run, host, port);
  const readingsOf = backlog === undefined ? undefined : synQueueReadings(host, tuple.local, backlog);
  const candidates = synAckDropLimits(resolveKernelSettings(settings), first.timeUs, timerSends.length - 1, readingsOf, tuple.remote);
  // The timer stops at the peer's answer, or at an ICMP error that dropped the request: whichever came first.
  const stops = [answeredAt(run, analysis, host, all), requestDroppedByIcmp(analysis, host, tuple, first.seq, all.firstUs)].filter(
    (stop): stop is TimerStop => stop !== undefined,
  );
  const answer = stops.length === 0 ? undefined : stops.reduce((a, b) => (b.atMs < a.atMs ? b : a));
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
  const best = judged.reduce((a, b) => (b.outcome.problems.length < a.outcome.problems.length ? b : a));
  const { outcome } = best;
  const { schedule } = outcome;
  const evidence = describeItems(outcome, host.name, 'SYN-ACK', 'request dropped (SYN_RECV row gone)', giveUp);
  for (const reply of replies) {
    evidence.push(
      `${host.name} capture #${reply.frame}: SYN-ACK answering a retransmitted SYN (tcp_check_req()), not a timer fire; it restarts the request's timer`,
    );
  }
  evidence.push(...extraLines(outcome, host.name, 'SYN-ACK'), settingsLine(settings, ['tcp_synack_retries']));
  if (answer !== undefined) evidence.push(answer.line);
  if (candidates.length > 1) {
    evidence.push(
      `the sampled queue cannot tell which SYN-ACK limit reqsk_timer_handler() applied; each is accepted: ${candidates.map((c) => c.description).join('; or ')} — this run fits: ${best.candidate.description}`,
    );
  } else if (readingsOf !== undefined) {
    evidence.push(`SYN-ACK limit from the listener's queue (reqsk_timer_handler()): ${best.candidate.description}`);
  }
  return {
    name,
    status: outcome.problems.length === 0 ? 'pass' : 'fail',
    expected:
      answer === undefined
        ? `${schedule.sends.length} SYN-ACKs at ${formatOffsets(dueSends(outcome))} s; the request is dropped silently at ${seconds(outcome.items.at(-1)?.expectedMs ?? schedule.failAtMs)} s`
        : `${dueSends(outcome).length} SYN-ACKs at ${formatOffsets(dueSends(outcome))} s, until ${answer.what} at ${seconds(answer.atMs)} s stopped the timer`,
    observed:
      `${timerSends.length} SYN-ACKs at ${formatOffsets(timerSends.map((s) => s.offsetMs))} s; ` +
      (giveUp !== undefined
        ? `SYN_RECV socket gone ${describeGiveUpTime(giveUp)}`
        : answer !== undefined
          ? answer.observed
          : 'the SYN_RECV socket never disappeared') +
      (outcome.problems.length > 0 ? ` — ${outcome.problems.join('; ')}` : ''),
    evidence,
    refs: [
      ...fitRefs(host.name, first.timeUs, outcome, 'SYN-ACK'),
      ...segmentRefs(
        host.name,
        replies.map((r) => r.frame),
      ),
    ],
    reference: SYNACK_REFERENCE,
  };
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
  const name = `FIN retransmissions of orphaned ${host.name}${conn === undefined ? '' : `/${conn}`} follow the Linux timing model`;
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_orphan_retries']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, FIN_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const isFin = (s: TcpSegment): boolean => (s.flags & (TcpFlag.FIN | TcpFlag.RST)) === TcpFlag.FIN;
  const fins = sentRetransmissions(host, tuple, isFin);
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
    fitRetransmissions((options) => predictOrphanFinSchedule(settings, rto, { ...options, ...rtoOptions }), fins.sends, giveUp, hz, answer?.fit),
  );
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  const goneState = answer !== undefined ? undefined : (closed?.from ?? (gone === undefined ? undefined : (parseTcpState(gone.state) ?? gone.state)));
  if (goneState !== undefined && goneState !== orphan.state) {
    problems.push(
      ORPHAN_FIN_STATES.includes(goneState as TcpState)
        ? `the socket left ${goneState}, expected ${orphan.state} (${orphan.reason})`
        : `the socket left ${goneState}, not ${orphan.state} (it was not an orphan retransmitting its FIN)`,
    );
  }
  const rsts = host.segments.filter(
    (s) =>
      s.timeUs >= fins.firstUs && (s.flags & TcpFlag.RST) !== 0 && segmentEndpoints(s).src === finTuple.local && segmentEndpoints(s).dst === finTuple.remote,
  );
  if (rsts.length > 0) problems.push(`${rsts.length} RST sent after the FIN (an orphan that gives up sends none)`);
  const evidence = describeItems(outcome, host.name, 'FIN', `socket destroyed from ${orphan.state} (row gone)`, giveUp);
  for (const rst of rsts) evidence.push(`${host.name} capture #${rst.frame}: RST at ${seconds((rst.timeUs - fins.firstUs) / 1000)} s`);
  evidence.push(
    `${orphan.state}: ${orphan.reason}`,
    ...extraLines(outcome, host.name, 'FIN'),
    `RTO ${rtoMs} ms (${estimate.source})${estimate.tlpAtMs === undefined ? '' : `; tail-loss probe at ${seconds(estimate.tlpAtMs)} s`}`,
    settingsLine(settings, ['tcp_orphan_retries', 'tcp_rto_max_ms']),
    ...(icmp.revertLine === undefined ? [] : [icmp.revertLine]),
  );
  if (answer !== undefined) evidence.push(answer.line);
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected:
      answer === undefined
        ? `${schedule.sends.length} FINs at ${formatOffsets(schedule.sends)} s; destroyed from ${orphan.state} without a RST at ${seconds(schedule.failAtMs)} s`
        : `${dueSends(outcome).length} FINs at ${formatOffsets(dueSends(outcome))} s from ${orphan.state}, until the answer at ${seconds(answer.atMs)} s stopped the timer; no RST`,
    observed:
      `${fins.sends.length} FINs at ${formatOffsets(fins.sends.map((s) => s.offsetMs))} s; ` +
      (answer !== undefined
        ? `answered at ${seconds(answer.atMs)} s`
        : giveUp === undefined
          ? `the socket never disappeared (last sampled in ${lastSampledState(host, finTuple) ?? 'no state'})`
          : `socket gone from ${goneState} ${describeGiveUpTime(giveUp)}`) +
      `; ${rsts.length === 0 ? 'no RST' : `${rsts.length} RST`}` +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    refs: [
      ...fitRefs(host.name, fins.firstUs, outcome, 'FIN'),
      ...segmentRefs(
        host.name,
        rsts.map((r) => r.frame),
      ),
    ],
    reference: FIN_REFERENCE,
  };
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
  const name = `data retransmissions of ${host.name}${conn === undefined ? '' : `/${conn}`} follow the Linux timing model`;
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_retries2']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, DATA_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const received = host.segments.filter((r) => isAddressOf(host, r.dst) && (r.flags & TcpFlag.ACK) !== 0);
  const copyKey = (s: TcpSegment): string => `${s.srcPort}>${s.dstPort}|${s.seq}|${s.payloadLength}`;
  const sentKeys = host.segments.filter((s) => isAddressOf(host, s.src) && isDataOnly(s)).map(copyKey);
  const repeated = new Set(sentKeys.filter((k, i) => sentKeys.indexOf(k) !== i));
  // Data never acknowledged, or retransmitted and acknowledged in the end (the answer stops the timer).
  const isRetransmittedData = (s: TcpSegment): boolean =>
    isDataOnly(s) && (repeated.has(copyKey(s)) || !received.some((r) => r.srcPort === s.dstPort && r.dstPort === s.srcPort && acknowledges(r, s)));
  const data = sentRetransmissions(host, tuple, isRetransmittedData);
  if (data.sends.length === 0) return noSendsCheck(name, host, tuple, 'unacknowledged data', DATA_REFERENCE);
  // TCP_USER_TIMEOUT set by the lab replaces tcp_model_timeout() and clamps the last RTO (retransmits_timed_out()).
  const options =
    conn === undefined ? undefined : connTimerOptions(run, host.name, conn, Number(data.tuple.local.slice(data.tuple.local.lastIndexOf(':') + 1)));
  const userTimeoutMs = options?.userTimeoutMs;
  const settings = { ...recorded.settings, userTimeoutMs };
  const hz = hzOf(settings);
  const { estimate, icmp, options: rtoOptions } = rtoSeriesOfSends(hostAnalysisOf(analysis, host.name).icmp, data, recorded.rtoMinMs, hz);
  // The error the give-up reports: the last ICMP error's (a soft error, tcp_write_err()), else ETIMEDOUT.
  const giveUpError = icmp.softError ?? 'ETIMEDOUT';
  const failure = conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  const failOffsetMs = failure === undefined ? undefined : (failure.timeUs - data.firstUs) / 1000;
  const answer = answeredAt(run, analysis, host, data);
  const giveUp =
    answer !== undefined
      ? undefined
      : (exactClose(host, data.tuple, ['ESTABLISHED', 'CLOSE_WAIT'], data.firstUs) ?? synGiveUp(host, undefined, failure, failOffsetMs, data.firstUs));
  const { fit: outcome, rtoMs } = fitOverRtos(estimate, hz, (rto) =>
    fitRetransmissions((options) => predictEstablishedSchedule(settings, rto, { ...options, ...rtoOptions }), data.sends, giveUp, hz, answer?.fit),
  );
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  // Acknowledged in the end, the data was delivered: no give-up, and ETIMEDOUT would be wrong.
  if (answer !== undefined) {
    if (failure?.code === giveUpError) problems.push(`the application saw ${giveUpError} although the data was acknowledged`);
  } else if (failure === undefined) problems.push(`the application saw no error (expected ${giveUpError})`);
  else if (failure.code !== giveUpError) problems.push(`the application saw ${failure.code}, expected ${giveUpError}`);
  const rsts = host.segments.filter((r) => r.timeUs >= data.firstUs && (r.flags & TcpFlag.RST) !== 0 && segmentEndpoints(r).src === data.tuple.local);
  if (rsts.length > 0) problems.push(`${rsts.length} RST sent (a socket that gives up on its data sends none)`);
  const evidence = describeItems(outcome, host.name, 'data segment', `gives up (${giveUpError}, CLOSED)`, giveUp);
  evidence.push(
    ...extraLines(outcome, host.name, 'data segment'),
    `RTO ${rtoMs} ms (${estimate.source})${estimate.tlpAtMs === undefined ? '' : `; tail-loss probe at ${seconds(estimate.tlpAtMs)} s`}`,
    settingsLine(settings, ['tcp_retries2', 'tcp_rto_max_ms']),
    ...[icmp.softErrorLine, icmp.revertLine].filter((line) => line !== undefined),
    userTimeoutMs === undefined
      ? 'TCP_USER_TIMEOUT not set by the lab: the give-up is tcp_model_timeout(tcp_retries2, TCP_RTO_MIN) after the first RTO retransmission'
      : `TCP_USER_TIMEOUT ${userTimeoutMs} ms (${options?.sources.join('; ') ?? ''}): the give-up comes that long after the first RTO retransmission, the last RTO clamped to what is left (tcp_clamp_rto_to_user_timeout())`,
  );
  if (answer !== undefined) evidence.push(answer.line);
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected:
      answer === undefined
        ? `${schedule.sends.length} copies at ${formatOffsets(schedule.sends)} s; gives up with ${giveUpError} at ${seconds(schedule.failAtMs)} s (${schedule.failReason} limit), no RST`
        : `${dueSends(outcome).length} copies at ${formatOffsets(dueSends(outcome))} s, until the answer at ${seconds(answer.atMs)} s stopped the timer; no RST`,
    observed:
      `${data.sends.length} copies at ${formatOffsets(data.sends.map((d) => d.offsetMs))} s; ` +
      (answer !== undefined ? `acknowledged at ${seconds(answer.atMs)} s` : giveUp === undefined ? 'never gave up' : `gave up ${describeGiveUpTime(giveUp)}`) +
      (failure === undefined ? '' : ` (${failure.code})`) +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    refs: [
      ...fitRefs(host.name, data.firstUs, outcome, 'data segment'),
      ...segmentRefs(
        host.name,
        rsts.map((r) => r.frame),
      ),
    ],
    reference: DATA_REFERENCE,
  };
}

/** The RTO series of a host's sent copies, with the ICMP errors from the peer that reached its TCP (`icmp`; rtoSeriesOf()). */
function rtoSeriesOfSends(icmp: readonly IcmpMessage[], series: SentSeries, rtoMinMs: number | undefined, hz: number): RtoSeries {
  const peer = splitSocketAddress(series.tuple.remote)?.address ?? '';
  return rtoSeriesOf(
    series.sends.map((s) => s.timeUs),
    icmp,
    peer,
    rtoMinMs,
    hz,
  );
}

/** States in which an orphan retransmits its FIN (tcp_write_timeout() with SOCK_DEAD). */
const ORPHAN_FIN_STATES: readonly TcpState[] = ['FIN_WAIT_1', 'CLOSING', 'LAST_ACK'];

/**
 * The state an orphan retransmitting its FIN is in, from what its own segments acknowledge (what TCP
 * itself received, whatever a firewall did): our FIN acknowledging the peer's FIN is a passive close
 * (LAST_ACK); an ACK of the peer's FIN sent after ours is a simultaneous close (CLOSING); else FIN_WAIT_1.
 */
function orphanFinState(host: RunHost, tuple: SocketTuple, fins: SentSeries, answer: { atMs: number } | undefined): { state: TcpState; reason: string } {
  const ours = host.segments.filter((s) => segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote);
  const peerFin = host.segments.find(
    (s) => segmentEndpoints(s).src === tuple.remote && segmentEndpoints(s).dst === tuple.local && (s.flags & TcpFlag.FIN) !== 0,
  );
  const firstFin = ours.find((s) => s.frame === fins.sends[0]?.frame);
  if (peerFin !== undefined && firstFin !== undefined) {
    const peerFinEnd = (peerFin.seq + peerFin.payloadLength + 1) >>> 0;
    const acks = (s: TcpSegment): boolean => (s.flags & TcpFlag.ACK) !== 0 && ((s.ack - peerFinEnd) | 0) >= 0;
    if (acks(firstFin)) {
      return { state: 'LAST_ACK', reason: `passive close: the FIN (${host.name} capture #${firstFin.frame}) acknowledges the peer's FIN (#${peerFin.frame})` };
    }
    // Simultaneous only when the peer's FIN came before ours was acknowledged: else FIN_WAIT_2 got it.
    const beforeAnswer = answer === undefined || peerFin.timeUs < fins.firstUs + answer.atMs * 1000;
    const later = ours.find((s) => s.timeUs > firstFin.timeUs && (s.flags & TcpFlag.RST) === 0 && acks(s));
    if (later !== undefined && beforeAnswer) {
      return {
        state: 'CLOSING',
        reason: `simultaneous close: ${host.name} capture #${later.frame} acknowledges the peer's FIN (#${peerFin.frame}) while its own FIN is unacknowledged`,
      };
    }
  }
  return { state: 'FIN_WAIT_1', reason: `active close: no FIN from the peer was acknowledged by ${host.name}` };
}

function lastSampledState(host: RunHost, tuple: SocketTuple): string | undefined {
  return host.events.findLast((e): e is Extract<AgentEvent, { type: 'socket' }> => e.type === 'socket' && e.local === tuple.local && e.remote === tuple.remote)
    ?.state;
}

/** `at 6.828 s` or `between 3.500 and 6.828 s (sampled)`. */
function describeGiveUpTime(giveUp: ObservedGiveUp): string {
  return giveUp.afterMs === giveUp.byMs ? `at ${seconds(giveUp.byMs)} s` : `between ${seconds(giveUp.afterMs)} and ${seconds(giveUp.byMs)} s (sampled)`;
}

// ---- shared machinery

interface SentSeries {
  readonly sends: ObservedSend[];
  readonly firstUs: number;
  readonly tuple: SocketTuple;
}

/**
 * The sends of one socket's retransmitted segment in the host's capture: segments from the host
 * matching `isKind`, on `tuple` (or the first such segment's tuple), with the first one's sequence number.
 */
function sentRetransmissions(host: RunHost, tuple: SocketTuple | undefined, isKind: (s: TcpSegment) => boolean): SentSeries {
  const candidates = host.segments.filter((s) => isAddressOf(host, s.src) && isKind(s));
  const first = candidates.find((s) => tuple === undefined || (segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote));
  if (first === undefined) return { sends: [], firstUs: 0, tuple: tuple ?? { local: '', remote: '' } };
  const ends = segmentEndpoints(first);
  const own: SocketTuple = { local: ends.src, remote: ends.dst };
  const sends = candidates
    .filter((s) => s.seq === first.seq && s.srcPort === first.srcPort && s.dst === first.dst && s.dstPort === first.dstPort)
    .map((s) => ({ offsetMs: (s.timeUs - first.timeUs) / 1000, frame: s.frame, timeUs: s.timeUs }));
  return { sends, firstUs: first.timeUs, tuple: own };
}

/**
 * The peer's answer to a series (the run analysis decides: timing-series.ts findAnswer()), as a fit option and an
 * evidence line. A SYN-ACK, the ACK that completes a request, or a RST stops the sender's retransmission timer.
 */
/** What stopped a series' timer, ms from its first send: the peer's answer, or an ICMP error that dropped a request. */
interface TimerStop {
  readonly atMs: number;
  /** `the answer`, for "until … stopped the timer". */
  readonly what: string;
  /** `answered at 1.2 s`, for the observed line. */
  readonly observed: string;
  readonly fit: { readonly answeredAtMs: number };
  readonly line: string;
}

/** The stop of a request's SYN-ACK timer by an ICMP error that reached `host`'s TCP and dropped it (requestDropIcmp()). */
function requestDroppedByIcmp(analysis: RunAnalysis, host: RunHost, tuple: SocketTuple, isn: number, firstUs: number): TimerStop | undefined {
  const drop = requestDropIcmp(hostAnalysisOf(analysis, host.name).icmp, tuple, isn, firstUs);
  if (drop === undefined) return undefined;
  const atMs = (drop.timeUs - firstUs) / 1000;
  const icmp = describeIcmp(drop.type, drop.code, drop.family);
  return {
    atMs,
    what: `the request dropped on ${icmp}`,
    observed: `request dropped on ${icmp} at ${seconds(atMs)} s`,
    fit: { answeredAtMs: atMs },
    line: `${host.name} capture #${drop.frame} at ${seconds(atMs)} s: ${icmp} quoting the SYN-ACK — tcp_v4_err() → tcp_req_err() drops the request silently, so later SYN-ACKs and the timer's give-up were not due`,
  };
}

function answeredAt(run: RunRecord, analysis: RunAnalysis, host: RunHost, series: SentSeries): TimerStop | undefined {
  const first = series.sends[0];
  const answer = first === undefined ? undefined : answerToSend(run, analysis.series, host.name, first.frame);
  if (answer === undefined) return undefined;
  const atMs = (answer.timeUs - series.firstUs) / 1000;
  const where = answer.frame === undefined ? '' : ` (${host.name} capture #${answer.frame})`;
  return {
    atMs,
    what: 'the answer',
    observed: `answered at ${seconds(atMs)} s`,
    fit: { answeredAtMs: atMs },
    line: `answered at ${seconds(atMs)} s${where}: the answer stops the retransmission timer, so later transmissions and the give-up were not due`,
  };
}

/** The model's sends the fit still expects (not stopped by an answer), ms from the first; moved by any re-arm (compareSchedule()). */
function dueSends(fit: ScheduleFit): number[] {
  return fit.items
    .slice(0, fit.schedule.sends.length)
    .filter((item) => item.verdict !== 'not-due')
    .map((item) => item.expectedMs ?? 0);
}

const SAMPLED_GIVE_UP_WHY =
  "a sampled disappearance is known only to within the gap between reads (5 ms plus the agent's latency; the agent reports only changes)";

function describeItems(fit: ScheduleFit, host: string, what: string, giveUpLabel: string, giveUp: ObservedGiveUp | undefined): string[] {
  const { items, slotSends } = fit;
  return items.map((item) => {
    const isGiveUp = item.index === items.length - 1;
    const label = isGiveUp ? giveUpLabel : `${what} ${item.index + 1}${item.index === 0 ? ' (original)' : ''}`;
    const window = item.earliestMs === undefined ? '' : `, window ${seconds(item.earliestMs)}–${seconds(item.latestMs ?? 0)} s`;
    if (isGiveUp && giveUp !== undefined && giveUp.afterMs !== giveUp.byMs) {
      return (
        `${label}: expected ${seconds(item.expectedMs ?? 0)} s${window}; observed between ${seconds(giveUp.afterMs)} s (${giveUp.afterSource ?? 'last evidence'}) ` +
        `and ${seconds(giveUp.byMs)} s (${giveUp.source}) — ${giveUp.why ?? SAMPLED_GIVE_UP_WHY}, so it is judged by overlap — ${item.verdict}`
      );
    }
    const send = slotSends[item.index];
    const where = isGiveUp ? (giveUp?.source ?? 'not observed') : send === undefined ? 'not in the capture' : `${host} capture #${send.frame}`;
    const observed = item.observedMs === undefined ? 'unobserved' : `${seconds(item.observedMs)} s`;
    return `${label}: expected ${seconds(item.expectedMs ?? 0)} s${window}; observed ${observed} (${where}) — ${item.verdict}`;
  });
}

/** Typed evidence of a fit: each observed send's frame and the model's window for every item. */
function fitRefs(host: string, firstUs: number, fit: ScheduleFit, what: string): Evidence[] {
  const refs: Evidence[] = segmentRefs(host, [...fit.slotSends.flatMap((s) => (s === undefined ? [] : [s.frame])), ...fit.extra.map((s) => s.frame)]);
  for (const item of fit.items) {
    if (item.earliestMs === undefined || item.latestMs === undefined) continue;
    const label = item.index === fit.schedule.sends.length ? `${host} gives up (${what})` : `${what} ${item.index + 1} from ${host}`;
    refs.push({ kind: 'prediction', what: label, earliestUs: firstUs + item.earliestMs * 1000, latestUs: firstUs + item.latestMs * 1000 });
  }
  return refs;
}

/** One evidence line per observed send the model does not have. */
function extraLines(fit: ScheduleFit, host: string, what: string): string[] {
  return fit.extra.map(
    (send) => `${host} capture #${send.frame}: ${what} at ${seconds(send.offsetMs)} s — unexpected: the model stops after ${fit.schedule.sends.length}`,
  );
}

function missingSettingsCheck(name: string, host: RunHost, missing: readonly string[], reference: string): Check {
  return {
    name,
    status: 'fail',
    expected: `the host's kernel settings ${missing.join(', ')} (the model's inputs)`,
    observed: `${host.name}/kernel-settings.json has no ${missing.join(', ')}`,
    evidence: [`re-run the lab with a tcplab that records these sysctls; the model never falls back to constants`],
    reference,
  };
}

function noSendsCheck(name: string, host: RunHost, tuple: SocketTuple | undefined, what: string, reference: string): Check {
  return {
    name,
    status: 'fail',
    expected: `${what} segments sent by ${host.name}${tuple === undefined ? '' : ` on ${tuple.local} → ${tuple.remote}`}`,
    observed: `no ${what} from ${host.name} (${[host.address, ...(host.address6 !== undefined ? [host.address6] : [])].join(', ')}) in its capture (${host.segments.length} TCP segments)`,
    evidence: [],
    reference,
  };
}

function hzOf(settings: Partial<KernelSettings>): number {
  return settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz;
}

function settingsLine(settings: Partial<KernelSettings>, names: readonly (keyof KernelSettings)[]): string {
  const values = names.map((n) => `${n}=${String(settings[n] ?? `${String(DEFAULT_KERNEL_SETTINGS[n])} (not recorded, default)`)}`);
  return `model inputs from the host's kernel-settings.json: ${values.join(', ')}; HZ=${hzOf(settings)} (not recorded, model default)`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function formatOffsets(offsetsMs: readonly number[]): string {
  return offsetsMs.map((ms) => String(Number((ms / 1000).toFixed(3)))).join(', ');
}
