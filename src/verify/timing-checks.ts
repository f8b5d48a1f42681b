import type { AgentEvent } from '../agent/protocol.js';
import type { Expectation } from '../lab/model.js';
import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS, resolveKernelSettings, type KernelSettings } from '../tcp/kernel-settings.js';
import { assertNever, parseTcpState, type TcpState } from '../tcp/state.js';
import {
  CAPTURE_ALLOWANCE_MS,
  compareSchedule,
  effectiveSynAckRetries,
  possibleSynAckDropFires,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  roundUpToJiffiesMs,
  scheduleTimeline,
  type RetransmissionSchedule,
  type ScheduleItemCheck,
  type SynQueuePressure,
} from '../tcp/timing-model.js';
import { missingSettings, readHostKernelSettings } from './host-kernel-settings.js';
import { hostOf, type RunHost, type RunRecord } from './run-record.js';
import { findConnTuple, firstConnectConn, firstListenPort, segmentEndpoints, type SocketTuple } from './run-sockets.js';
import type { Check } from './verdict.js';

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
 * the previous observed send (a timer never fires early, and may be late by its wheel granularity
 * plus a jiffy). Give-up is a time test at a timer fire, so a schedule whose timers all ran late can
 * give up one fire earlier than the nominal one: both predictions (timers on time, timers as late as
 * the wheel allows) are tried and the check passes if the observation fits either.
 *
 * HZ is not recorded in a run folder; the model's default (250, CONFIG_HZ of the project's machines)
 * is used and named in the evidence.
 */

type TimingExpectation = Extract<Expectation, { kind: 'syn-retransmits' | 'synack-retransmits' | 'fin-retransmits' }>;

/** Checks a timing expectation (syn-retransmits, synack-retransmits, fin-retransmits) against the run. */
export function checkTimingExpectation(expectation: TimingExpectation, run: RunRecord): Check {
  switch (expectation.kind) {
    case 'syn-retransmits':
      return checkSynRetransmits(expectation, run);
    case 'synack-retransmits':
      return checkSynAckRetransmits(expectation, run);
    case 'fin-retransmits':
      return checkFinRetransmits(expectation, run);
    default:
      return assertNever(expectation);
  }
}

const SYN_REFERENCE = 'tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout(), retransmits_timed_out(); kernel/time/timer.c calc_index()';
const SYNACK_REFERENCE = 'inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc(), reqsk_timeout()';
const FIN_REFERENCE = 'tcp_timer.c tcp_write_timeout(), tcp_orphan_retries(), tcp_write_err() (no RST)';

/** One observed transmission: its offset from the first one and where it is in the capture. */
interface ObservedSend {
  readonly offsetMs: number;
  readonly frame: number;
  readonly timeUs: number;
}

/** SYN retransmissions of an active open and the moment connect() fails, vs predictSynSchedule(host settings). */
export function checkSynRetransmits(expectation: Extract<Expectation, { kind: 'syn-retransmits' }>, run: RunRecord): Check {
  const host = hostOf(run, expectation.host);
  const conn = expectation.conn ?? firstConnectConn(run.lab, host.name);
  const name = `SYN retransmissions of ${host.name}${conn === undefined ? '' : `/${conn}`} follow the Linux timing model`;
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, SYN_REFERENCE);
  const tuple = conn === undefined ? undefined : findConnTuple(host.events, conn);
  const isSyn = (s: TcpSegment): boolean => (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;
  const syns = sentRetransmissions(host, tuple, isSyn);
  if (syns.sends.length === 0) {
    return noSendsCheck(name, host, tuple, 'SYN', SYN_REFERENCE);
  }
  const failure = conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  const failOffsetMs = failure === undefined ? undefined : (failure.timeUs - syns.firstUs) / 1000;
  // ETIMEDOUT is an agent event (one instant), not a sample: the give-up is a point.
  const giveUp = failure === undefined || failOffsetMs === undefined ? undefined : { afterMs: failOffsetMs, byMs: failOffsetMs, source: `agent error event ${failure.code}` };
  const settings = recorded.settings;
  const outcome = bestOfPredictions((options) => predictSynSchedule(settings, options), syns.sends, giveUp, hzOf(settings));
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  if (failure !== undefined && failure.code !== 'ETIMEDOUT') problems.push(`connect() failed with ${failure.code}, expected ETIMEDOUT`);
  const evidence = describeItems(outcome.items, syns.sends, host.name, 'SYN', 'connect() fails (ETIMEDOUT)', giveUp);
  evidence.push(...outcome.extraLines(host.name, 'SYN'), settingsLine(settings, ['tcp_syn_retries', 'tcp_syn_linear_timeouts', 'tcp_rto_max_ms']));
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${schedule.sends.length} SYNs at ${formatOffsets(schedule.sends)} s; connect() fails with ETIMEDOUT at ${seconds(schedule.failAtMs)} s (${schedule.failReason} limit)`,
    observed:
      `${syns.sends.length} SYNs at ${formatOffsets(syns.sends.map((s) => s.offsetMs))} s; ` +
      (failure === undefined ? 'connect() never failed' : `connect() failed with ${failure.code} at ${seconds(failOffsetMs ?? 0)} s`) +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    reference: SYN_REFERENCE,
  };
}

/** SYN-ACK retransmissions of a request socket and its silent drop, vs predictSynAckSchedule(host settings). */
export function checkSynAckRetransmits(expectation: Extract<Expectation, { kind: 'synack-retransmits' }>, run: RunRecord): Check {
  const host = hostOf(run, expectation.host);
  const port = expectation.port ?? firstListenPort(run.lab, host.name);
  const name = `SYN-ACK retransmissions of ${host.name}${port === undefined ? '' : ` port ${port}`} follow the Linux timing model`;
  const recorded = readHostKernelSettings(host);
  const missing = missingSettings(recorded, ['tcp_synack_retries']);
  if (missing.length > 0) return missingSettingsCheck(name, host, missing, SYNACK_REFERENCE);
  const isSynAck = (s: TcpSegment): boolean => (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === (TcpFlag.SYN | TcpFlag.ACK);
  const first = host.segments.find((s) => isSynAck(s) && s.src === host.address && (port === undefined || s.srcPort === port));
  if (first === undefined) return noSendsCheck(name, host, undefined, 'SYN-ACK', SYNACK_REFERENCE);
  const { src, dst } = segmentEndpoints(first);
  const tuple: SocketTuple = { local: src, remote: dst };
  // A retransmitted SYN from the peer makes the request answer at once (tcp_minisocks.c tcp_check_req() →
  // inet_rtx_syn_ack()): such SYN-ACKs are replies, not timer fires, and are left out of the schedule.
  const replies: TcpSegment[] = [];
  const all = sentRetransmissions(host, tuple, isSynAck);
  const timerSends: ObservedSend[] = [];
  for (const send of all.sends) {
    const segment = host.segments.find((s) => s.frame === send.frame);
    const answersSyn =
      send.offsetMs > 0 &&
      host.segments.some(
        (s) =>
          s.src === first.dst &&
          s.srcPort === first.dstPort &&
          (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN &&
          s.timeUs <= send.timeUs &&
          send.timeUs - s.timeUs <= SYN_REPLY_WINDOW_US &&
          s.frame < send.frame,
      );
    if (answersSyn && segment !== undefined) replies.push(segment);
    else timerSends.push(send);
  }
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
  const judged = candidates.map((candidate) => ({
    candidate,
    outcome: bestOfPredictions((options) => predictSynAckSchedule(settings, { ...options, retriesLimit: candidate.k }), timerSends, giveUp, hzOf(settings)),
  }));
  const best = judged.reduce((a, b) => (b.outcome.problems.length < a.outcome.problems.length ? b : a));
  const { outcome } = best;
  const { schedule } = outcome;
  const evidence = describeItems(outcome.items, timerSends, host.name, 'SYN-ACK', 'request dropped (SYN_RECV row gone)', giveUp);
  for (const reply of replies) evidence.push(`${host.name} capture #${reply.frame}: SYN-ACK answering a retransmitted SYN (tcp_check_req()), not a timer fire`);
  evidence.push(...outcome.extraLines(host.name, 'SYN-ACK'), settingsLine(settings, ['tcp_synack_retries']));
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
    expected: `${schedule.sends.length} SYN-ACKs at ${formatOffsets(schedule.sends)} s; the request is dropped silently at ${seconds(schedule.failAtMs)} s`,
    observed:
      `${timerSends.length} SYN-ACKs at ${formatOffsets(timerSends.map((s) => s.offsetMs))} s; ` +
      (giveUp === undefined ? 'the SYN_RECV socket never disappeared' : `SYN_RECV socket gone ${describeGiveUpTime(giveUp)}`) +
      (outcome.problems.length > 0 ? ` — ${outcome.problems.join('; ')}` : ''),
    evidence,
    reference: SYNACK_REFERENCE,
  };
}

/**
 * The backlog of the lab's listen step on this host and port (Node's default 511 when the step gives
 * none), capped at net.core.somaxconn when recorded (__sys_listen()); undefined without a listen step.
 */
export function listenStepBacklog(run: RunRecord, host: RunHost, port: number | undefined): number | undefined {
  const step = run.lab.steps.find((s) => s.kind === 'listen' && s.host === host.name && (port === undefined || s.port === port));
  if (step === undefined || step.kind !== 'listen') return undefined;
  const somaxconn = Number(host.kernelSettings['net.core.somaxconn']);
  const backlog = step.backlog ?? NODE_DEFAULT_BACKLOG;
  return Number.isFinite(somaxconn) && somaxconn > 0 ? Math.min(backlog, somaxconn) : backlog;
}

/** net.Server.listen()'s backlog when none is given (Node's default, as the agent uses it). */
const NODE_DEFAULT_BACKLOG = 511;

/** How close after a received SYN a SYN-ACK counts as its answer rather than a timer fire. */
const SYN_REPLY_WINDOW_US = 5_000;

/**
 * FIN retransmissions of an orphaned socket — FIN_WAIT_1 after the active close(), LAST_ACK after the
 * passive closer's close(), CLOSING after a simultaneous one — its silent destruction and the absence
 * of a RST. All three are orphans once close() has run, so tcp_orphan_retries applies (tcp_write_timeout()).
 */
export function checkFinRetransmits(expectation: Extract<Expectation, { kind: 'fin-retransmits' }>, run: RunRecord): Check {
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
  const orphan = orphanFinState(host, finTuple, fins);
  const settings = recorded.settings;
  const hz = hzOf(settings);
  const rtoMinMs = recorded.rtoMinMs ?? LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS;
  const estimate = estimateFinRto(fins.sends.map((s) => s.offsetMs), rtoMinMs, hz);
  const gone = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket-gone' }> => e.type === 'socket-gone' && e.local === finTuple.local && e.remote === finTuple.remote,
  );
  const giveUp = gone === undefined ? undefined : sampledDisappearance(host, gone, fins.sends, fins.firstUs);
  const outcome = bestOfPredictions(
    (options) => predictOrphanFinSchedule(settings, estimate.rtoMs, { ...options, ...(estimate.tlpAtMs !== undefined && { tlpAtMs: estimate.tlpAtMs }) }),
    fins.sends,
    giveUp,
    hz,
  );
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  const goneState = gone === undefined ? undefined : (parseTcpState(gone.state) ?? gone.state);
  if (goneState !== undefined && goneState !== orphan.state) {
    problems.push(
      ORPHAN_FIN_STATES.includes(goneState as TcpState)
        ? `the socket left ${goneState}, expected ${orphan.state} (${orphan.reason})`
        : `the socket left ${goneState}, not ${orphan.state} (it was not an orphan retransmitting its FIN)`,
    );
  }
  const rsts = host.segments.filter((s) => s.timeUs >= fins.firstUs && (s.flags & TcpFlag.RST) !== 0 && segmentEndpoints(s).src === finTuple.local && segmentEndpoints(s).dst === finTuple.remote);
  if (rsts.length > 0) problems.push(`${rsts.length} RST sent after the FIN (an orphan that gives up sends none)`);
  const evidence = describeItems(outcome.items, fins.sends, host.name, 'FIN', `socket destroyed from ${orphan.state} (row gone)`, giveUp);
  for (const rst of rsts) evidence.push(`${host.name} capture #${rst.frame}: RST at ${seconds((rst.timeUs - fins.firstUs) / 1000)} s`);
  evidence.push(
    `${orphan.state}: ${orphan.reason}`,
    ...outcome.extraLines(host.name, 'FIN'),
    `RTO ${estimate.rtoMs} ms (${estimate.source})${estimate.tlpAtMs === undefined ? '' : `; tail-loss probe at ${seconds(estimate.tlpAtMs)} s`}`,
    settingsLine(settings, ['tcp_orphan_retries', 'tcp_rto_max_ms']),
  );
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${schedule.sends.length} FINs at ${formatOffsets(schedule.sends)} s; destroyed from ${orphan.state} without a RST at ${seconds(schedule.failAtMs)} s`,
    observed:
      `${fins.sends.length} FINs at ${formatOffsets(fins.sends.map((s) => s.offsetMs))} s; ` +
      (giveUp === undefined ? `the socket never disappeared (last sampled in ${lastSampledState(host, finTuple) ?? 'no state'})` : `socket gone from ${goneState} ${describeGiveUpTime(giveUp)}`) +
      `; ${rsts.length === 0 ? 'no RST' : `${rsts.length} RST`}` +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    reference: FIN_REFERENCE,
  };
}

/** States in which an orphan retransmits its FIN (tcp_write_timeout() with SOCK_DEAD). */
const ORPHAN_FIN_STATES: readonly TcpState[] = ['FIN_WAIT_1', 'CLOSING', 'LAST_ACK'];

/**
 * The state an orphan retransmitting its FIN is in, from what its own segments acknowledge (what TCP
 * itself received, whatever a firewall did): our FIN acknowledging the peer's FIN is a passive close
 * (LAST_ACK); an ACK of the peer's FIN sent after ours is a simultaneous close (CLOSING); else FIN_WAIT_1.
 */
function orphanFinState(host: RunHost, tuple: SocketTuple, fins: SentSeries): { state: TcpState; reason: string } {
  const ours = host.segments.filter((s) => segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote);
  const peerFin = host.segments.find((s) => segmentEndpoints(s).src === tuple.remote && segmentEndpoints(s).dst === tuple.local && (s.flags & TcpFlag.FIN) !== 0);
  const firstFin = ours.find((s) => s.frame === fins.sends[0]?.frame);
  if (peerFin !== undefined && firstFin !== undefined) {
    const peerFinEnd = (peerFin.seq + peerFin.payloadLength + 1) >>> 0;
    const acks = (s: TcpSegment): boolean => (s.flags & TcpFlag.ACK) !== 0 && ((s.ack - peerFinEnd) | 0) >= 0;
    if (acks(firstFin)) {
      return { state: 'LAST_ACK', reason: `passive close: the FIN (${host.name} capture #${firstFin.frame}) acknowledges the peer's FIN (#${peerFin.frame})` };
    }
    const later = ours.find((s) => s.timeUs > firstFin.timeUs && (s.flags & TcpFlag.RST) === 0 && acks(s));
    if (later !== undefined) {
      return { state: 'CLOSING', reason: `simultaneous close: ${host.name} capture #${later.frame} acknowledges the peer's FIN (#${peerFin.frame}) while its own FIN is unacknowledged` };
    }
  }
  return { state: 'FIN_WAIT_1', reason: `active close: no FIN from the peer was acknowledged by ${host.name}` };
}

function lastSampledState(host: RunHost, tuple: SocketTuple): string | undefined {
  return host.events.findLast((e): e is Extract<AgentEvent, { type: 'socket' }> => e.type === 'socket' && e.local === tuple.local && e.remote === tuple.remote)?.state;
}

// ---- sampled disappearances

/**
 * Consecutive sampler events closer than this come from one read of /proc/net/tcp (they are emitted
 * together); reads are 5 ms apart, so half of that separates bursts even on a loaded machine.
 */
const SAME_READ_US = 2_500;

/**
 * The time of the host sampler's last read of /proc/net/tcp before `timeUs`, as its events prove it:
 * the latest socket or socket-gone event (of any row) from an earlier read. The events of one read are
 * emitted back to back, each stamped when written, so a burst of them can spread over more than a
 * millisecond on a loaded machine: a chain of sampler events less than SAME_READ_US apart is one read.
 * Each read reports every change, so a row that read did not report gone was still there — or, in a
 * table long enough to be walked in several passes, had just gone unconfirmed (the sampler reports a
 * row gone after two reads without it, src/agent/socket-table.ts): up to one sampling period earlier
 * than the bound says. Undefined when no earlier read left an event.
 */
export function lastSampleBefore(events: readonly AgentEvent[], timeUs: number): number | undefined {
  const earlier = events
    .filter((e) => (e.type === 'socket' || e.type === 'socket-gone') && e.timeUs < timeUs)
    .map((e) => e.timeUs)
    .sort((a, b) => b - a);
  let burstStartUs = timeUs;
  for (const t of earlier) {
    if (burstStartUs - t >= SAME_READ_US) return t;
    burstStartUs = t;
  }
  return undefined;
}

/**
 * The listener's request queue as the sampler saw it, for reqsk_timer_handler()'s cut of the SYN-ACK
 * limit: after each read that changed a request row on `local` (the listener's address and port), the
 * number of request sockets (SYN_RECV rows with inode 0) and of young ones (retransmit count 0), with
 * the listener's backlog. Events of one read (a burst, see lastSampleBefore()) count as one reading. The returned
 * function gives the reading in force at `fromUs` followed by every distinct later one up to `toUs`;
 * `self` (the remote of the request being judged) counts as an old request in readings taken after its
 * own row went — at its own timer fire it was still in the queue.
 */
export function synQueueReadings(
  host: RunHost,
  local: string,
  backlog: number,
): (fromUs: number, toUs: number, self?: string) => SynQueuePressure[] {
  const rows = new Map<string, number>(); // remote → retransmits, request sockets only
  const readings: { timeUs: number; rows: ReadonlyMap<string, number> }[] = [];
  let lastEventUs: number | undefined;
  const record = (timeUs: number): void => {
    const lastReading = readings.at(-1);
    if (lastReading !== undefined && lastEventUs !== undefined && timeUs - lastEventUs < SAME_READ_US) lastReading.rows = new Map(rows);
    else readings.push({ timeUs, rows: new Map(rows) });
    lastEventUs = timeUs;
  };
  for (const e of host.events) {
    if ((e.type !== 'socket' && e.type !== 'socket-gone') || e.local !== local || e.remote.endsWith(':0')) continue;
    if (e.type === 'socket' && parseTcpState(e.state) === 'SYN_RECEIVED' && e.inode === 0) rows.set(e.remote, e.timer.retransmits);
    else if (!rows.delete(e.remote)) continue;
    record(e.timeUs);
  }
  // The request being judged is in the queue at its own fire: a reading after its own removal still counts it (old).
  const pressureOf = (reading: ReadonlyMap<string, number>, self: string | undefined): SynQueuePressure => {
    let young = 0;
    for (const retransmits of reading.values()) if (retransmits === 0) young += 1;
    const missingSelf = self !== undefined && !reading.has(self) ? 1 : 0;
    return { requests: reading.size + missingSelf, young, backlog };
  };
  return (fromUs, toUs, self) => {
    const out: SynQueuePressure[] = [];
    const push = (p: SynQueuePressure): void => {
      if (!out.some((q) => q.requests === p.requests && q.young === p.young)) out.push(p);
    };
    let inForce: ReadonlyMap<string, number> | undefined;
    for (const r of readings) if (r.timeUs <= fromUs) inForce = r.rows;
    if (inForce !== undefined) push(pressureOf(inForce, self));
    for (const r of readings) if (r.timeUs > fromUs && r.timeUs <= toUs) push(pressureOf(r.rows, self));
    return out;
  };
}

/** One SYN-ACK limit the evidence allows for a request: the num_timeout at which it is dropped, and why. */
export interface SynAckDropCandidate {
  readonly k: number;
  readonly description: string;
}

/**
 * The SYN-ACK limits (num_timeout at the drop) a request may have had, from the listener's queue sampled
 * around each of its timer fires (reqsk_timer_handler() → effectiveSynAckRetries()) and skipping fires the
 * capture shows passed (`observedRetransmissions` timer SYN-ACKs after the first). Without readings: the
 * plain tcp_synack_retries. When readings around one fire disagree, every limit they allow is a candidate.
 */
export function synAckDropLimits(
  settings: KernelSettings,
  firstUs: number,
  observedRetransmissions: number,
  readingsOf: ((fromUs: number, toUs: number, self?: string) => readonly SynQueuePressure[]) | undefined,
  self?: string,
): SynAckDropCandidate[] {
  const retries = settings.tcp_synack_retries;
  if (readingsOf === undefined) return [{ k: retries, description: `limit tcp_synack_retries=${retries}` }];
  const readingsAt = new Map<number, readonly SynQueuePressure[]>();
  const limitsAt = (numTimeout: number): number[] => {
    if (numTimeout === 0) return [retries]; // a young request is never dropped at its first fire (limit ≥ 2 > 0)
    const onTime = predictSynAckSchedule(settings, { retriesLimit: numTimeout }).failAtMs;
    const late = predictSynAckSchedule(settings, { retriesLimit: numTimeout, timerLateness: 'max' }).failAtMs;
    const readings = readingsOf(firstUs + (onTime - CAPTURE_ALLOWANCE_MS) * 1000, firstUs + (late + CAPTURE_ALLOWANCE_MS) * 1000, self);
    readingsAt.set(numTimeout, readings);
    const limits = readings.length === 0 ? [retries] : readings.map((r) => effectiveSynAckRetries(retries, r));
    return [...new Set(limits)].sort((a, b) => a - b);
  };
  const fires = possibleSynAckDropFires(limitsAt, Math.max(0, observedRetransmissions), retries + 1);
  return fires.map((k) => {
    const readings = readingsAt.get(k) ?? [];
    const seen = [...new Set(readings.map((r) => `${r.requests} requests, ${r.young} young`))].join(' / ');
    const backlog = readings[0]?.backlog;
    const limit = k < retries ? `limit cut to ${k} from tcp_synack_retries=${retries}` : `limit tcp_synack_retries=${retries}`;
    return { k, description: `${limit}${seen === '' ? '' : ` (queue sampled at that fire: ${seen}${backlog === undefined ? '' : `, backlog ${backlog}`})`}` };
  });
}

/** When a row disappeared, as far as the evidence tells: after `afterMs`, by `byMs` (ms offsets from the first send). */
export interface ObservedGiveUp {
  readonly afterMs: number;
  readonly byMs: number;
  readonly source: string;
  readonly afterSource?: string;
}

/**
 * The interval in which a socket row really disappeared: after the last evidence it existed (the
 * sampler's last earlier read, or the socket's last transmission in the capture) and by the read that
 * found it gone. Offsets in ms from `firstUs`.
 */
export function sampledDisappearance(host: RunHost, gone: Extract<AgentEvent, { type: 'socket-gone' }>, sends: readonly ObservedSend[], firstUs: number): ObservedGiveUp {
  const lastRead = lastSampleBefore(host.events, gone.timeUs);
  const lastSend = sends.at(-1);
  const useRead = lastRead !== undefined && (lastSend === undefined || lastRead >= lastSend.timeUs);
  const afterUs = useRead ? lastRead : (lastSend?.timeUs ?? gone.timeUs);
  const afterSource = useRead
    ? `the agent's last earlier read of /proc/net/tcp, which still had the row`
    : lastSend !== undefined
      ? `its last transmission (${host.name} capture #${lastSend.frame}), the latest proof it existed`
      : 'the sample that found it gone (no earlier evidence)';
  return { afterMs: (Math.min(afterUs, gone.timeUs) - firstUs) / 1000, byMs: (gone.timeUs - firstUs) / 1000, source: 'the socket-gone sample', afterSource };
}

/** `at 6.828 s` or `between 3.500 and 6.828 s (sampled)`. */
function describeGiveUpTime(giveUp: ObservedGiveUp): string {
  return giveUp.afterMs === giveUp.byMs ? `at ${seconds(giveUp.byMs)} s` : `between ${seconds(giveUp.afterMs)} and ${seconds(giveUp.byMs)} s (sampled)`;
}

/** The RTO an orphan's FIN timer used, and whether the first repeat was a tail-loss probe. */
export interface FinRtoEstimate {
  readonly rtoMs: number;
  readonly tlpAtMs: number | undefined;
  readonly source: string;
}

/**
 * Estimates the RTO of an orphan's FIN from its send offsets. A tail-loss probe (tcp_output.c
 * tcp_send_loss_probe(), capped at the RTO for a lone FIN) shows as a first gap about equal to the
 * second instead of half of it. A timer never fires early, so the RTO is at most every RTO gap / 2^k;
 * the estimate is that bound in whole jiffies, never below tcp_rto_min.
 */
export function estimateFinRto(offsetsMs: readonly number[], rtoMinMs: number, hz: number): FinRtoEstimate {
  const gaps = offsetsMs.slice(1).map((t, i) => t - (offsetsMs[i] ?? 0));
  const [first, second] = gaps;
  const hasTlp = first !== undefined && second !== undefined && second < 1.5 * first;
  const rtoGaps = hasTlp ? gaps.slice(1) : gaps;
  if (rtoGaps.length === 0) return { rtoMs: rtoMinMs, tlpAtMs: undefined, source: 'tcp_rto_min: no retransmission to measure' };
  const bound = Math.min(...rtoGaps.map((gap, k) => gap / 2 ** k));
  const jiffyMs = 1000 / hz;
  const floored = Math.floor(bound / jiffyMs + 1e-9) * jiffyMs;
  const rtoMs = Math.max(roundUpToJiffiesMs(rtoMinMs, hz), floored);
  return {
    rtoMs,
    tlpAtMs: hasTlp ? offsetsMs[1] : undefined,
    source: floored >= rtoMinMs ? 'from the observed gaps (each RTO gap / 2^k, whole jiffies)' : `tcp_rto_min (${rtoMinMs} ms): the observed gaps are shorter`,
  };
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
  const candidates = host.segments.filter((s) => s.src === host.address && isKind(s));
  const first = candidates.find((s) => tuple === undefined || (segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote));
  if (first === undefined) return { sends: [], firstUs: 0, tuple: tuple ?? { local: '', remote: '' } };
  const ends = segmentEndpoints(first);
  const own: SocketTuple = { local: ends.src, remote: ends.dst };
  const sends = candidates
    .filter((s) => s.seq === first.seq && s.srcPort === first.srcPort && s.dst === first.dst && s.dstPort === first.dstPort)
    .map((s) => ({ offsetMs: (s.timeUs - first.timeUs) / 1000, frame: s.frame, timeUs: s.timeUs }));
  return { sends, firstUs: first.timeUs, tuple: own };
}

interface PredictionOutcome {
  readonly schedule: RetransmissionSchedule;
  readonly items: ScheduleItemCheck[];
  readonly problems: string[];
  readonly extraLines: (host: string, what: string) => string[];
}

/** Compares the observation with the on-time and the late-timer prediction; keeps the one that fits, else the one with fewer problems (the nominal one on a tie). */
function bestOfPredictions(
  predict: (options: { timerLateness: 'none' | 'max' }) => RetransmissionSchedule,
  sends: readonly ObservedSend[],
  giveUp: ObservedGiveUp | undefined,
  hz: number,
): PredictionOutcome {
  const outcomes = (['none', 'max'] as const).map((timerLateness) => evaluate(predict({ timerLateness }), sends, giveUp, hz));
  const [onTime, late] = outcomes as [PredictionOutcome, PredictionOutcome];
  return late.problems.length < onTime.problems.length ? late : onTime;
}

function evaluate(schedule: RetransmissionSchedule, sends: readonly ObservedSend[], giveUp: ObservedGiveUp | undefined, hz: number): PredictionOutcome {
  const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
  const expectedSends = schedule.sends.length;
  const observed: Array<number | undefined> = [];
  for (let i = 0; i < expectedSends; i += 1) observed.push(sends[i]?.offsetMs);
  observed.push(giveUp?.byMs);
  const items = compareGiveUpInterval(compareSchedule(expectedOffsetsMs, observed, intervalsMs, hz), giveUp);
  const extra = sends.slice(expectedSends);
  const problems: string[] = [];
  const failed = items.filter((item) => !item.ok);
  const missingSends = failed.filter((item) => item.verdict === 'unobserved' && item.index < expectedSends).length;
  if (missingSends > 0) problems.push(`${missingSends} of ${expectedSends} transmissions missing`);
  for (const item of failed) {
    if (item.verdict === 'early' || item.verdict === 'late') {
      const isGiveUp = item.index >= expectedSends;
      const what = isGiveUp ? 'the give-up' : `transmission ${item.index + 1}`;
      const when = isGiveUp && giveUp !== undefined && giveUp.afterMs !== giveUp.byMs ? `between ${seconds(giveUp.afterMs)} and ${seconds(giveUp.byMs)} s` : `${seconds(item.observedMs ?? 0)} s`;
      problems.push(`${what} ${item.verdict} (${when}, window ${seconds(item.earliestMs ?? 0)}–${seconds(item.latestMs ?? 0)} s)`);
    }
  }
  if (items.at(-1)?.verdict === 'unobserved') problems.push('the give-up was not observed');
  if (extra.length > 0) problems.push(`${extra.length} transmission(s) more than the model allows`);
  return {
    schedule,
    items,
    problems,
    extraLines: (host, what) =>
      extra.map((send) => `${host} capture #${send.frame}: ${what} at ${seconds(send.offsetMs)} s — unexpected: the model stops after ${expectedSends}`),
  };
}

/**
 * Re-judges the last item (the give-up) when it is known only as an interval (a sampled disappearance):
 * it is early only if it was gone before the window opened, late only if it was still there after the
 * window closed; any overlap is consistent with the model.
 */
function compareGiveUpInterval(items: ScheduleItemCheck[], giveUp: ObservedGiveUp | undefined): ScheduleItemCheck[] {
  const last = items.at(-1);
  if (last === undefined || giveUp === undefined || giveUp.afterMs === giveUp.byMs || last.earliestMs === undefined || last.latestMs === undefined) return items;
  const verdict = giveUp.byMs < last.earliestMs ? 'early' : giveUp.afterMs > last.latestMs ? 'late' : 'ok';
  return [...items.slice(0, -1), { ...last, verdict, ok: verdict === 'ok' }];
}

/**
 * The window (ms offsets from the first send) in which the model lets a retransmitting socket give up,
 * after the sends observed so far: for the on-time and the late-timer prediction, the give-up item of
 * compareSchedule() anchored at the last observed send (no capture allowance: the caller adds its own).
 * Only predictions whose sends all fit are kept; if none fits, both are (`fits` false).
 */
export function predictGiveUpWindow(
  predict: (options: { timerLateness: 'none' | 'max' }) => RetransmissionSchedule,
  sendOffsetsMs: readonly number[],
  hz: number,
): { earliestMs: number; latestMs: number; fits: boolean } {
  const windows = (['none', 'max'] as const).map((timerLateness) => {
    const schedule = predict({ timerLateness });
    const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
    const observed = [...schedule.sends.map((_, i) => sendOffsetsMs[i]), undefined];
    const items = compareSchedule(expectedOffsetsMs, observed, intervalsMs, hz, 0);
    const giveUp = items.at(-1) as ScheduleItemCheck;
    const fits = sendOffsetsMs.length === schedule.sends.length && items.slice(0, -1).every((item) => item.ok);
    return { earliestMs: giveUp.earliestMs ?? schedule.failAtMs, latestMs: giveUp.latestMs ?? schedule.failAtMs, fits };
  });
  const fitting = windows.filter((w) => w.fits);
  const kept = fitting.length > 0 ? fitting : windows;
  return { earliestMs: Math.min(...kept.map((w) => w.earliestMs)), latestMs: Math.max(...kept.map((w) => w.latestMs)), fits: fitting.length > 0 };
}

function describeItems(
  items: readonly ScheduleItemCheck[],
  sends: readonly ObservedSend[],
  host: string,
  what: string,
  giveUpLabel: string,
  giveUp: ObservedGiveUp | undefined,
): string[] {
  return items.map((item) => {
    const isGiveUp = item.index === items.length - 1;
    const label = isGiveUp ? giveUpLabel : `${what} ${item.index + 1}${item.index === 0 ? ' (original)' : ''}`;
    const window = item.earliestMs === undefined ? '' : `, window ${seconds(item.earliestMs)}–${seconds(item.latestMs ?? 0)} s`;
    if (isGiveUp && giveUp !== undefined && giveUp.afterMs !== giveUp.byMs) {
      return (
        `${label}: expected ${seconds(item.expectedMs ?? 0)} s${window}; observed between ${seconds(giveUp.afterMs)} s (${giveUp.afterSource ?? 'last evidence'}) ` +
        `and ${seconds(giveUp.byMs)} s (${giveUp.source}) — a sampled disappearance is known only to within the gap between reads ` +
        `(5 ms plus the agent's latency; the agent reports only changes), so it is judged by overlap — ${item.verdict}`
      );
    }
    const where = isGiveUp ? (giveUp?.source ?? 'not observed') : sends[item.index] === undefined ? 'not in the capture' : `${host} capture #${sends[item.index]?.frame}`;
    const observed = item.observedMs === undefined ? 'unobserved' : `${seconds(item.observedMs)} s`;
    return `${label}: expected ${seconds(item.expectedMs ?? 0)} s${window}; observed ${observed} (${where}) — ${item.verdict}`;
  });
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
    observed: `no ${what} from ${host.name} (${host.address}) in its capture (${host.segments.length} TCP segments)`,
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

