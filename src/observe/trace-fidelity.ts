/**
 * How the other observations of one host compare with the kernel's exact events: the sampler's
 * /proc/net/tcp state changes against inet_sock_set_state, and the capture's timestamps against
 * the tracepoints tied to a segment (the clock-mapping error). Pure; used by bench/state-fidelity
 * and by the unit tests that hold the clock mapping to the captures.
 */
import type { AgentEvent } from '../agent/protocol.js';
import type { TcpState } from '../tcp/state.js';
import type { KernelEvent } from './kernel-trace.js';
import { TcpFlag, type TcpSegment } from './packet.js';

export interface HostObservations {
  address: string;
  events: readonly AgentEvent[];
  segments: readonly TcpSegment[];
  kernelEvents: readonly KernelEvent[];
}

export interface SampledTransition {
  local: string;
  remote: string;
  to: TcpState;
  exactUs: number;
  /** When the socket left the state (its next exact transition), if it did within the trace. */
  leftUs?: number;
  /** Stamp of the sample that first showed the state, when one did. */
  sampledUs?: number;
  /** That sample's read began at (the agent's readFromUs; absent in samples recorded before it existed). */
  readFromUs?: number;
}

/**
 * Each exact transition (into a state other than CLOSED: a socket that closes leaves /proc as a row
 * that disappears, and one handed to a timewait socket stays) and the first sample of the same
 * socket showing that state, stamped from 1 ms before the transition until the socket's next one
 * (+ `lateUs`, the lag a late sample may still have). A hand-over to a timewait socket is not a
 * leaving: /proc shows the timewait socket in the same state. A LISTEN → SYN_RECEIVED child (made at the
 * final ACK) is "missed" when the sampler only saw the request socket, which has another lifetime.
 */
export function compareSamplesWithTrace(host: HostObservations, lateUs = 200_000): SampledTransition[] {
  const samples = host.events.filter((e): e is Extract<AgentEvent, { type: 'socket' }> => e.type === 'socket');
  const states = host.kernelEvents.filter((e) => e.kind === 'state');
  const out: SampledTransition[] = [];
  for (const [i, event] of states.entries()) {
    const to = event.to as TcpState;
    if (to === 'CLOSED') continue;
    const next = states.slice(i + 1).find((e) => e.local === event.local && e.remote === event.remote);
    const until = (next?.timeUs ?? Number.POSITIVE_INFINITY) + lateUs;
    const sample = samples.find(
      (s) => s.local === event.local && s.remote === event.remote && s.state === to && s.timeUs >= event.timeUs - 1000 && s.timeUs <= until,
    );
    out.push({
      local: event.local,
      remote: event.remote,
      to,
      exactUs: event.timeUs,
      ...(next && !next.handedToTimewait && { leftUs: next.timeUs }),
      ...(sample && { sampledUs: sample.timeUs }),
      ...(sample?.readFromUs !== undefined && { readFromUs: sample.readFromUs }),
    });
  }
  return out;
}

export interface ClockPair {
  what: string;
  /** capture stamp − mapped trace stamp, µs. Positive: the capture saw it later. */
  deltaUs: number;
}

/**
 * Pairs tracepoints with the segment they cause or follow, on the same host: a SYN_SENT with the
 * SYN it sends (tcp_connect() after tcp_set_state()), each tcp_retransmit_skb / synack with the next
 * copy of that SYN / SYN-ACK (both tracepoints fire after the copy was handed to the device:
 * __tcp_retransmit_skb(), tcp_rtx_synack()), tcp_send_reset with the RST it sends, tcp_receive_reset
 * and SYN_SENT → ESTABLISHED with the segment that arrived (negative deltas: the device saw it first).
 */
export function compareTraceWithCapture(host: HostObservations): ClockPair[] {
  const pairs: ClockPair[] = [];
  const used = new Set<TcpSegment>();
  const take = (what: string, atUs: number, match: (s: TcpSegment) => boolean, direction: 'after' | 'before'): void => {
    const candidates = host.segments.filter((s) => !used.has(s) && match(s));
    const segment = direction === 'after' ? candidates.find((s) => s.timeUs >= atUs - 1000) : candidates.filter((s) => s.timeUs <= atUs + 1000).at(-1);
    if (!segment) return;
    used.add(segment);
    pairs.push({ what, deltaUs: Math.round(segment.timeUs - atUs) });
  };
  // `ip:port`, IPv6 bracketed, as kernel events print endpoints.
  const endpoint = (address: string, port: number): string => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
  const from = (s: TcpSegment, local: string): boolean => endpoint(s.src, s.srcPort) === local;
  const to = (s: TcpSegment, remote: string): boolean => endpoint(s.dst, s.dstPort) === remote;
  const flags = (s: TcpSegment, set: number, mask: number): boolean => (s.flags & mask) === set;
  const SYN_MASK = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST;
  for (const e of host.kernelEvents) {
    if (e.kind === 'state' && e.to === 'SYN_SENT') {
      take('SYN_SENT → SYN sent', e.timeUs, (s) => from(s, e.local) && flags(s, TcpFlag.SYN, SYN_MASK), 'after');
    } else if (e.kind === 'retransmit' && e.state === 'SYN_SENT') {
      take('tcp_retransmit_skb → SYN sent', e.timeUs, (s) => from(s, e.local) && flags(s, TcpFlag.SYN, SYN_MASK), 'after');
    } else if (e.kind === 'retransmit') {
      take('tcp_retransmit_skb → segment sent', e.timeUs, (s) => from(s, e.local) && to(s, e.remote) && !flags(s, TcpFlag.SYN, TcpFlag.SYN), 'after');
    } else if (e.kind === 'synack-retransmit') {
      take('tcp_retransmit_synack → SYN-ACK sent', e.timeUs, (s) => from(s, e.local) && flags(s, TcpFlag.SYN | TcpFlag.ACK, SYN_MASK), 'after');
    } else if (e.kind === 'send-reset') {
      take('tcp_send_reset → RST sent', e.timeUs, (s) => from(s, e.local) && to(s, e.remote) && (s.flags & TcpFlag.RST) !== 0, 'after');
    } else if (e.kind === 'receive-reset') {
      take('RST arrived → tcp_receive_reset', e.timeUs, (s) => to(s, e.local) && from(s, e.remote) && (s.flags & TcpFlag.RST) !== 0, 'before');
    } else if (e.kind === 'state' && e.from === 'SYN_SENT' && e.to === 'ESTABLISHED') {
      take('SYN-ACK arrived → ESTABLISHED', e.timeUs, (s) => to(s, e.local) && flags(s, TcpFlag.SYN | TcpFlag.ACK, SYN_MASK), 'before');
    }
  }
  return pairs;
}
