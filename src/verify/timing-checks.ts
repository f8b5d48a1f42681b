import type { AgentEvent } from '../agent/protocol.js';
import type { Expectation } from '../lab/model.js';
import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS, type KernelSettings } from '../tcp/kernel-settings.js';
import { assertNever, parseTcpState } from '../tcp/state.js';
import {
  compareSchedule,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  roundUpToJiffiesMs,
  scheduleTimeline,
  type RetransmissionSchedule,
  type ScheduleItemCheck,
} from '../tcp/timing-model.js';
import { missingSettings, readHostKernelSettings } from './host-kernel-settings.js';
import type { RunHost, RunRecord } from './run-record.js';
import { findConnTuple, firstConnectConn, firstListenPort, segmentEndpoints, type SocketTuple } from './run-sockets.js';
import type { Check } from './verdict.js';

/*
 * Timing checks: observed retransmissions against the Linux timing model (src/tcp/timing-model.ts).
 *
 * How it works. Each check collects the observed transmissions of one socket from the sending host's
 * own capture (a segment a firewall drops on the receiver was still sent, and the sender's capture
 * stamps it when it left), plus the moment the socket gave up (the agent's ETIMEDOUT for connect(),
 * the disappearance of the socket row for a request or an orphan; both are sampled every 5 ms, which
 * CAPTURE_ALLOWANCE_MS covers). It predicts the schedule from the *host's own* recorded sysctls and
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
  const settings = recorded.settings;
  const outcome = bestOfPredictions((options) => predictSynSchedule(settings, options), syns.sends, failOffsetMs, hzOf(settings));
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  if (failure !== undefined && failure.code !== 'ETIMEDOUT') problems.push(`connect() failed with ${failure.code}, expected ETIMEDOUT`);
  const evidence = describeItems(outcome.items, syns.sends, host.name, 'SYN', 'connect() fails (ETIMEDOUT)', failure === undefined ? undefined : `agent error event ${failure.code}`);
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
  const goneOffsetMs = gone === undefined ? undefined : (gone.timeUs - all.firstUs) / 1000;
  const settings = recorded.settings;
  const outcome = bestOfPredictions((options) => predictSynAckSchedule(settings, options), timerSends, goneOffsetMs, hzOf(settings));
  const { schedule } = outcome;
  const evidence = describeItems(outcome.items, timerSends, host.name, 'SYN-ACK', 'request dropped (SYN_RECV row gone)', gone === undefined ? undefined : 'socket-gone sample');
  for (const reply of replies) evidence.push(`${host.name} capture #${reply.frame}: SYN-ACK answering a retransmitted SYN (tcp_check_req()), not a timer fire`);
  evidence.push(...outcome.extraLines(host.name, 'SYN-ACK'), settingsLine(settings, ['tcp_synack_retries']));
  return {
    name,
    status: outcome.problems.length === 0 ? 'pass' : 'fail',
    expected: `${schedule.sends.length} SYN-ACKs at ${formatOffsets(schedule.sends)} s; the request is dropped silently at ${seconds(schedule.failAtMs)} s`,
    observed:
      `${timerSends.length} SYN-ACKs at ${formatOffsets(timerSends.map((s) => s.offsetMs))} s; ` +
      (gone === undefined ? 'the SYN_RECV socket never disappeared' : `SYN_RECV socket gone at ${seconds(goneOffsetMs ?? 0)} s`) +
      (outcome.problems.length > 0 ? ` — ${outcome.problems.join('; ')}` : ''),
    evidence,
    reference: SYNACK_REFERENCE,
  };
}

/** How close after a received SYN a SYN-ACK counts as its answer rather than a timer fire. */
const SYN_REPLY_WINDOW_US = 5_000;

/** FIN retransmissions of an orphaned FIN_WAIT_1 socket, its silent destruction and the absence of a RST. */
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
  const settings = recorded.settings;
  const hz = hzOf(settings);
  const rtoMinMs = recorded.rtoMinMs ?? LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS;
  const estimate = estimateFinRto(fins.sends.map((s) => s.offsetMs), rtoMinMs, hz);
  const gone = host.events.find(
    (e): e is Extract<AgentEvent, { type: 'socket-gone' }> => e.type === 'socket-gone' && e.local === finTuple.local && e.remote === finTuple.remote,
  );
  const goneOffsetMs = gone === undefined ? undefined : (gone.timeUs - fins.firstUs) / 1000;
  const outcome = bestOfPredictions(
    (options) => predictOrphanFinSchedule(settings, estimate.rtoMs, { ...options, ...(estimate.tlpAtMs !== undefined && { tlpAtMs: estimate.tlpAtMs }) }),
    fins.sends,
    goneOffsetMs,
    hz,
  );
  const { schedule } = outcome;
  const problems = [...outcome.problems];
  if (gone !== undefined && parseTcpState(gone.state) !== 'FIN_WAIT_1') problems.push(`the socket left ${gone.state}, not FIN_WAIT_1 (it was not an orphan giving up)`);
  const rsts = host.segments.filter((s) => s.timeUs >= fins.firstUs && (s.flags & TcpFlag.RST) !== 0 && segmentEndpoints(s).src === finTuple.local && segmentEndpoints(s).dst === finTuple.remote);
  if (rsts.length > 0) problems.push(`${rsts.length} RST sent after the FIN (an orphan that gives up sends none)`);
  const evidence = describeItems(outcome.items, fins.sends, host.name, 'FIN', 'socket destroyed (row gone)', gone === undefined ? undefined : 'socket-gone sample');
  for (const rst of rsts) evidence.push(`${host.name} capture #${rst.frame}: RST at ${seconds((rst.timeUs - fins.firstUs) / 1000)} s`);
  evidence.push(
    ...outcome.extraLines(host.name, 'FIN'),
    `RTO ${estimate.rtoMs} ms (${estimate.source})${estimate.tlpAtMs === undefined ? '' : `; tail-loss probe at ${seconds(estimate.tlpAtMs)} s`}`,
    settingsLine(settings, ['tcp_orphan_retries', 'tcp_rto_max_ms']),
  );
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${schedule.sends.length} FINs at ${formatOffsets(schedule.sends)} s; destroyed without a RST at ${seconds(schedule.failAtMs)} s`,
    observed:
      `${fins.sends.length} FINs at ${formatOffsets(fins.sends.map((s) => s.offsetMs))} s; ` +
      (gone === undefined ? 'the socket never disappeared' : `socket gone at ${seconds(goneOffsetMs ?? 0)} s`) +
      `; ${rsts.length === 0 ? 'no RST' : `${rsts.length} RST`}` +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence,
    reference: FIN_REFERENCE,
  };
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

/** Compares the observation with the on-time and the late-timer prediction; keeps the one that fits (or the nominal one). */
function bestOfPredictions(
  predict: (options: { timerLateness: 'none' | 'max' }) => RetransmissionSchedule,
  sends: readonly ObservedSend[],
  giveUpOffsetMs: number | undefined,
  hz: number,
): PredictionOutcome {
  const outcomes = (['none', 'max'] as const).map((timerLateness) => evaluate(predict({ timerLateness }), sends, giveUpOffsetMs, hz));
  return outcomes.find((o) => o.problems.length === 0) ?? (outcomes[0] as PredictionOutcome);
}

function evaluate(schedule: RetransmissionSchedule, sends: readonly ObservedSend[], giveUpOffsetMs: number | undefined, hz: number): PredictionOutcome {
  const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
  const expectedSends = schedule.sends.length;
  const observed: Array<number | undefined> = [];
  for (let i = 0; i < expectedSends; i += 1) observed.push(sends[i]?.offsetMs);
  observed.push(giveUpOffsetMs);
  const items = compareSchedule(expectedOffsetsMs, observed, intervalsMs, hz);
  const extra = sends.slice(expectedSends);
  const problems: string[] = [];
  const failed = items.filter((item) => !item.ok);
  const missingSends = failed.filter((item) => item.verdict === 'unobserved' && item.index < expectedSends).length;
  if (missingSends > 0) problems.push(`${missingSends} of ${expectedSends} transmissions missing`);
  for (const item of failed) {
    if (item.verdict === 'early' || item.verdict === 'late') {
      const what = item.index < expectedSends ? `transmission ${item.index + 1}` : 'the give-up';
      problems.push(`${what} ${item.verdict} (${seconds(item.observedMs ?? 0)} s, window ${seconds(item.earliestMs ?? 0)}–${seconds(item.latestMs ?? 0)} s)`);
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

function describeItems(
  items: readonly ScheduleItemCheck[],
  sends: readonly ObservedSend[],
  host: string,
  what: string,
  giveUp: string,
  giveUpSource: string | undefined,
): string[] {
  return items.map((item) => {
    const isGiveUp = item.index === items.length - 1;
    const label = isGiveUp ? giveUp : `${what} ${item.index + 1}${item.index === 0 ? ' (original)' : ''}`;
    const where = isGiveUp ? (giveUpSource ?? 'not observed') : sends[item.index] === undefined ? 'not in the capture' : `${host} capture #${sends[item.index]?.frame}`;
    const window = item.earliestMs === undefined ? '' : `, window ${seconds(item.earliestMs)}–${seconds(item.latestMs ?? 0)} s`;
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

function hostOf(run: RunRecord, name: string): RunHost {
  const host = run.hosts.find((h) => h.name === name);
  if (host === undefined) {
    throw new Error(`run record has no host "${name}" (hosts: ${run.hosts.map((h) => h.name).join(', ')}); fix the expectation's host`);
  }
  return host;
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

