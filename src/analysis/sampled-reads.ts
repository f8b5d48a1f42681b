import type { AgentEvent } from '../agent/protocol.js';
import type { KernelSettings } from '../tcp/kernel-settings.js';
import { parseTcpState } from '../tcp/state.js';
import { CAPTURE_ALLOWANCE_MS, effectiveSynAckRetries, possibleSynAckDropFires, predictSynAckSchedule, type SynQueuePressure } from '../tcp/timing-model.js';
import type { RunHost, RunRecord } from './run-record.js';
import type { ObservedSend } from './timing-fit.js';
import { timingText } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/*
 * What the sampler's reads prove. The agent reads /proc/net/tcp every 5 ms (plus its scheduling latency)
 * and reports only changes, so its events prove intervals, not instants: a change came after the last
 * earlier read and by the read that showed it (lastSampleBefore(), sampledDisappearance()). The listener's
 * queue as those reads saw it drives reqsk_timer_handler()'s cut of the SYN-ACK limit (synQueueReadings()).
 */

/** Slack between a segment's capture time, the kernel's state change and the agent's sample time stamp. */
export const SAMPLE_ALLOWANCE_US = 20_000;

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
export function synQueueReadings(host: RunHost, local: string, backlog: number): (fromUs: number, toUs: number, self?: string) => SynQueuePressure[] {
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
  /** Why, for people. */
  readonly words: Text;
  /** Why, in English (`words.en`: the replay's timer names). */
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
  const candidate = (k: number, readings: readonly SynQueuePressure[]): SynAckDropCandidate => {
    const seen = readings.filter((r, i) => readings.findIndex((q) => q.requests === r.requests && q.young === r.young) === i);
    const words = timingText((w) => w.synAckLimit(k, retries, seen, readings[0]?.backlog));
    return { k, words, description: words.en };
  };
  if (readingsOf === undefined) return [candidate(retries, [])];
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
  return fires.map((k) => candidate(k, readingsAt.get(k) ?? []));
}

/**
 * When a row disappeared, as far as the evidence tells: after `afterMs`, by `byMs` (ms offsets from the first
 * send), and what tells it, in `Words` (the checks' Texts; the fitters read only the times).
 */
export interface ObservedGiveUp<Words = unknown> {
  readonly afterMs: number;
  readonly byMs: number;
  readonly source: Words;
  readonly afterSource?: Words;
  /** Why the moment is known only as an interval (default: a sampled disappearance). */
  readonly why?: Words;
}

/**
 * The interval in which a socket row really disappeared: after the last evidence it existed (the
 * sampler's last earlier read, or the socket's last transmission in the capture) and by the read that
 * found it gone. Offsets in ms from `firstUs`.
 */
export function sampledDisappearance(
  host: RunHost,
  gone: Extract<AgentEvent, { type: 'socket-gone' }>,
  sends: readonly ObservedSend[],
  firstUs: number,
): ObservedGiveUp<Text> {
  const lastRead = lastSampleBefore(host.events, gone.timeUs);
  const lastSend = sends.at(-1);
  const useRead = lastRead !== undefined && (lastSend === undefined || lastRead >= lastSend.timeUs);
  const afterUs = useRead ? lastRead : (lastSend?.timeUs ?? gone.timeUs);
  const afterSource = timingText((w) => (useRead ? w.lastRead : lastSend !== undefined ? w.lastSend(host.name, lastSend.frame) : w.goneOnly));
  return {
    afterMs: (Math.min(afterUs, gone.timeUs) - firstUs) / 1000,
    byMs: (gone.timeUs - firstUs) / 1000,
    source: timingText((w) => w.goneSample),
    afterSource,
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
