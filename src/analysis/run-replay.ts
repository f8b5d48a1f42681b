import type { AgentEvent } from '../agent/protocol.js';
import type { TcpSegment } from '../observe/packet.js';

import { replayEndpoint, type EndpointReplay, type ReplayCall } from './endpoint-replay.js';
import { assertNever } from '../assert-never.js';
import { deferredRequestOf, listenerRefusals } from './accept-queue.js';
import { connTimerOptions } from './conn-timer-options.js';
import { readHostKernelSettings } from './host-kernel-settings.js';
import { isAddressOf, type RunHost, type RunRecord, type StepRecord, recordEndUs } from './run-record.js';
import { listenStepBacklog, synQueueReadings } from './sampled-reads.js';
import { isPureSyn, isSynAck } from './syn-ack-replies.js';
import { findInjectedSegments, segmentsOfTcp } from './injected-segments.js';
import { reorderingOf } from './rto-copies.js';
import { segmentEndpoints, segmentOfSocket, type SocketTuple } from './run-sockets.js';
import { isLabSocket, portOf } from './socket-timeline.js';
import { buildRuleTimeline, describeRuleDrop, icmpReachingStack, ruleDropOf, type RuleTimeline } from './rule-timeline.js';
import type { Text } from '../messages/text.js';

/*
 * The replay of a whole run: every lab socket of every host, split into the connections a 4-tuple
 * carried in turn, each replayed through the Linux machine (endpoint-replay.ts) with its own calls
 * and the firewall's drops from the rule timeline.
 */

/** Replays every lab socket of every host of a run (sockets the agent sampled or named). */
export function replayRun(run: RunRecord, rules: RuleTimeline = buildRuleTimeline(run)): EndpointReplay[] {
  const replays: EndpointReplay[] = [];
  const endUs = recordEndUs(run);
  const injected = findInjectedSegments(run);
  for (const runHost of run.hosts) {
    // what the host's own TCP sent and received: segments an inject step wrote on a raw socket are not its sockets'
    const host: RunHost = { ...runHost, segments: segmentsOfTcp(runHost, injected) };
    const { settings, rtoMinMs } = readHostKernelSettings(host);
    const droppedBy = timelineDropper(rules, host);
    const icmp = icmpReachingStack(rules, host);
    const acceptQueue = listenerRefusals(run, host);
    for (const { tuple, conns } of socketsOf(host)) {
      const localPort = portOf(tuple.local);
      const backlog = listenStepBacklog(run, host, localPort);
      const windows = connectionWindows(host, tuple);
      const deferred = deferredRequestOf(run, host, localPort, tuple.remote);
      windows.forEach((window, i) => {
        const conn = windows.length === 1 ? conns[0] : conns[i];
        const error =
          conn === undefined ? undefined : host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
        const cut = windows.length > 1;
        replays.push(
          replayEndpoint({
            host: host.name,
            tuple,
            ...(conn !== undefined && { conn }),
            segments: cut ? host.segments.filter((s) => s.timeUs >= window.fromUs && s.timeUs < window.untilUs) : host.segments,
            icmp,
            calls: callsOf(run, host, conn, tuple),
            // TCP_USER_TIMEOUT the lab set on this connection replaces the give-up time (retransmits_timed_out()).
            settings: { ...settings, userTimeoutMs: conn === undefined ? undefined : connTimerOptions(run, host.name, conn, localPort).userTimeoutMs },
            droppedBy,
            ...(error !== undefined && { error: { code: error.code, timeUs: error.timeUs } }),
            ...(rtoMinMs !== undefined && { rtoMinMs }),
            reordering: reorderingOf(host.kernelSettings),
            ...(backlog !== undefined && { synQueueReadings: synQueueReadings(host, tuple.local, backlog) }),
            ...(acceptQueue !== undefined && { acceptQueue }),
            ...(deferred !== undefined && { deferred }),
            endUs: cut ? Math.min(endUs, window.untilUs) : endUs,
            ...(cut && { window }),
          }),
        );
      });
    }
  }
  return replays;
}

/** Starts of a new connection on a reused 4-tuple: 1 ms before a SYN carries a new ISN (the kernel's SYN_SENT precedes its SYN by µs). */
const NEW_CONNECTION_LEAD_US = 1_000;

/**
 * The connections one 4-tuple carried in turn, as time windows: a pure SYN whose sequence number differs from
 * the previous pure SYN in the same direction starts a new one (a reused port, a SYN out of TIME_WAIT:
 * tcp_timewait_state_process() TCP_TW_SYN). One window covering the run when the tuple carried one.
 */
export function connectionWindows(host: RunHost, tuple: SocketTuple): { fromUs: number; untilUs: number }[] {
  const starts: number[] = [];
  // Per direction: the two SYNs of a simultaneous open cross on one 4-tuple with two ISNs, one connection.
  const lastIsn = new Map<string, number>();
  const onTuple = host.segments.filter((s) => segmentOfSocket(s, tuple)).map((s) => ({ s, src: segmentEndpoints(s).src }));
  for (const [i, { s, src }] of onTuple.entries()) {
    if (!isPureSyn(s)) continue;
    const previous = lastIsn.get(src);
    if (previous !== undefined && s.seq !== previous) {
      // A SYN this host received on a live connection is answered with a challenge ACK, not a SYN-ACK
      // (RFC 5961 §4.2, tcp_validate_incoming()): it starts nothing.
      const answer = src === tuple.remote ? onTuple.slice(i + 1).find((r) => r.src === tuple.local)?.s : undefined;
      if (answer !== undefined && !(isSynAck(answer) && answer.ack === (s.seq + 1) >>> 0)) continue;
      starts.push(s.timeUs - NEW_CONNECTION_LEAD_US);
      lastIsn.clear();
    }
    lastIsn.set(src, s.seq);
  }
  const bounds = [-Infinity, ...starts, Infinity];
  return bounds.slice(0, -1).map((fromUs, i) => ({ fromUs, untilUs: bounds[i + 1] as number }));
}

/** The connection sockets of a host: every lab socket the agent sampled or named (with its connection names in order), or the kernel traced. */
function socketsOf(host: RunHost): { tuple: SocketTuple; conns: string[] }[] {
  const found = new Map<string, { tuple: SocketTuple; conns: string[] }>();
  for (const event of host.events) {
    if (event.type !== 'socket' && event.type !== 'socket-gone' && event.type !== 'accepted' && event.type !== 'connected' && event.type !== 'connect-returned')
      continue;
    if (event.local === '' || !isLabSocket(event.local) || event.remote.endsWith(':0')) continue;
    const key = `${event.local} ${event.remote}`;
    const known = found.get(key) ?? { tuple: { local: event.local, remote: event.remote }, conns: [] };
    found.set(key, known);
    if (event.conn !== undefined && !known.conns.includes(event.conn)) known.conns.push(event.conn);
  }
  // Sockets only the kernel's trace shows (stateSourceOf(): 'tracepoint'), e.g. one shorter than a sampling period.
  for (const event of host.kernelEvents ?? []) {
    if (event.kind !== 'state' || !isLabSocket(event.local) || event.local.startsWith('0.0.0.0:') || event.remote.endsWith(':0')) continue;
    const key = `${event.local} ${event.remote}`;
    if (!found.has(key)) found.set(key, { tuple: { local: event.local, remote: event.remote }, conns: [] });
  }
  return [...found.values()];
}

/**
 * The user calls of the lab on this host's connection, timed by their step records (when the step started).
 * A socket-call step without `conn` acted on the host's latest connection at run time: steps.jsonl records
 * which (StepRecord.conn); for older run folders it is inferred the same way, from the host's agent events.
 */
function callsOf(run: RunRecord, host: RunHost, conn: string | undefined, tuple: SocketTuple): ReplayCall[] {
  const calls: ReplayCall[] = [];
  const localPort = portOf(tuple.local);
  /** Bytes the send steps so far queued on the connection. */
  let queuedBytes = 0;
  const actsOn = (record: StepRecord, stepConn: string | undefined): boolean =>
    conn !== undefined && (record.conn ?? stepConn ?? latestConnBefore(run, host, record.startUs)) === conn;
  for (const record of run.steps) {
    const step = run.lab.steps[record.index];
    if (step === undefined || !('host' in step) || step.host !== host.name) continue;
    switch (step.kind) {
      case 'listen':
      case 'unlisten':
        if (step.port === localPort) calls.push({ op: step.kind, timeUs: record.startUs });
        break;
      case 'connect':
        if (conn !== undefined && step.conn === conn) calls.push({ op: 'connect', timeUs: record.startUs });
        break;
      case 'send':
        if (actsOn(record, step.conn)) {
          queuedBytes += step.bytes;
          calls.push({ op: 'send', timeUs: record.startUs });
        }
        break;
      case 'abort':
        if (actsOn(record, step.conn)) calls.push({ op: step.kind, timeUs: record.startUs });
        break;
      case 'shutdown':
        if (actsOn(record, step.conn) && conn !== undefined) calls.push({ op: 'shutdown', timeUs: afterQueuedData(host, conn, record.startUs, queuedBytes) });
        break;
      case 'close':
      case 'close-on-fin': {
        if (!actsOn(record, step.conn) || conn === undefined) break;
        // close-on-fin (older run folders: close with onFin) is armed by the step and done by the agent
        // when the peer's FIN is read: its `end` event is the moment of the call.
        const onFin = step.kind === 'close-on-fin' || (step as { onFin?: boolean }).onFin === true;
        const end = onFin ? host.events.find((e) => e.type === 'end' && e.conn === conn && e.timeUs >= record.startUs) : undefined;
        calls.push({ op: 'close', timeUs: end?.timeUs ?? (onFin ? Infinity : afterQueuedData(host, conn, record.startUs, queuedBytes)) });
        break;
      }
      // Options, reading and accept(2) change no TCP state; listeners are not replayed (remote :0, see above).
      case 'setsockopt':
      case 'pause':
      case 'resume':
      case 'accept':
      case 'rule':
      case 'unrule':
      case 'wait-state':
      case 'wait-event':
      case 'wait-gone':
      case 'hold':
      case 'release':
      case 'flood':
      case 'inject':
        break;
      default:
        assertNever(step);
    }
  }
  return calls;
}

/**
 * The host's latest connection when a step started, as the step runner tracks it (run/step-runner.ts
 * trackConnections(): the latest connect step, accepted or connected event), for steps without `conn`.
 */
function latestConnBefore(run: RunRecord, host: RunHost, timeUs: number): string | undefined {
  let latest: { conn: string; timeUs: number } | undefined;
  for (const record of run.steps) {
    const step = run.lab.steps[record.index];
    if (step?.kind === 'connect' && step.host === host.name && record.startUs <= timeUs && (latest === undefined || record.startUs >= latest.timeUs)) {
      latest = { conn: step.conn, timeUs: record.startUs };
    }
  }
  for (const event of host.events) {
    if ((event.type === 'accepted' || event.type === 'connected') && event.timeUs <= timeUs && (latest === undefined || event.timeUs >= latest.timeUs)) {
      latest = { conn: event.conn, timeUs: event.timeUs };
    }
  }
  return latest?.conn;
}

/**
 * When a shutdown or close the step asked for at `startUs` ran: the agent makes it wait for the data still queued
 * on `conn` (agent/sockets.py: shutdown_pending, close_pending, as a blocking application's write() would), so after
 * the last write that drained the queue — its `sent` event, stamped just after the write() returned. Never
 * (Infinity) when the connection's `sent` events total less than the `queuedBytes` the send steps before it asked for.
 */
function afterQueuedData(host: RunHost, conn: string, startUs: number, queuedBytes: number): number {
  const sent = host.events.filter((e): e is Extract<AgentEvent, { type: 'sent' }> => e.type === 'sent' && e.conn === conn);
  // (An agent before the socket worker reported no writes at all: its run folders keep the step's start.)
  if (sent.length > 0 && sent.reduce((sum, e) => sum + e.bytes, 0) < queuedBytes) return Infinity;
  return sent.filter((e) => e.timeUs >= startUs).at(-1)?.timeUs ?? startUs;
}

/** The replay's view of the rule timeline for one host: why a received segment never reached TCP. */
function timelineDropper(rules: RuleTimeline, host: RunHost): (segment: TcpSegment) => Text | undefined {
  return (segment) => {
    if (!isAddressOf(host, segment.dst)) return undefined;
    const drop = ruleDropOf(rules, host.name, segment.frame);
    return drop === undefined ? undefined : describeRuleDrop(drop);
  };
}

/**
 * Received segments a host's firewall dropped before TCP saw them, from the run's rule timeline
 * (rule-timeline.ts: INPUT/PREROUTING DROP or REJECT rules while in place, confirmed by their counters).
 * tcpdump sees an incoming packet before netfilter does, so such a segment is in the capture.
 */
export function firewallDropper(run: RunRecord, host: RunHost, _addresses?: Readonly<Record<string, string>>): (segment: TcpSegment) => Text | undefined {
  return timelineDropper(buildRuleTimeline(run), host);
}
