import type { AgentEvent } from '../agent/protocol.js';
import type { KernelEvent } from '../observe/kernel-trace.js';
import { parseTcpState, type TcpState } from '../tcp/state.js';

/** One sampled state of one socket: what /proc/net/tcp showed at `timeUs`. */
export interface StateSample {
  socket: string;
  local: string;
  remote: string;
  state: TcpState;
  timeUs: number;
  retransmits: number;
}

/** Port of an `ip:port` or `[v6]:port` endpoint. */
export function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/**
 * Whether a sampled socket belongs to the lab's own traffic. Loopback sockets are not: Docker's
 * embedded DNS resolver, for one, listens on 127.0.0.11 inside every container's namespace.
 */
export function isLabSocket(local: string): boolean {
  const address = local.slice(0, local.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return !address.startsWith('127.') && address !== '::1' && !address.startsWith('::ffff:127.');
}

/**
 * The state samples of a host in time order, one entry each time a socket was first seen or
 * changed state; a socket that left /proc/net/tcp is recorded as CLOSED at that moment (unless
 * it was a listener, whose removal is not a TCP state change of a connection).
 */
export function sampleStates(events: readonly AgentEvent[], port?: number): StateSample[] {
  const samples: StateSample[] = [];
  for (const event of events) {
    if (event.type !== 'socket' && event.type !== 'socket-gone') continue;
    if (!isLabSocket(event.local)) continue;
    if (port !== undefined && portOf(event.local) !== port && portOf(event.remote) !== port) continue;
    const socket = `${event.local} ${event.remote}`;
    if (event.type === 'socket') {
      const state = parseTcpState(event.state);
      if (!state) continue;
      const last = samples.findLast((s) => s.socket === socket);
      if (last && last.state === state && event.previous === undefined) continue;
      if (last && last.state === state) {
        // Same state, new retransmission count: keep the count, not a new state entry.
        last.retransmits = event.timer.retransmits;
        continue;
      }
      samples.push({ socket, local: event.local, remote: event.remote, state, timeUs: event.timeUs, retransmits: event.timer.retransmits });
    } else {
      const last = parseTcpState(event.state);
      if (last === 'LISTEN') continue;
      samples.push({ socket, local: event.local, remote: event.remote, state: 'CLOSED', timeUs: event.timeUs, retransmits: 0 });
    }
  }
  return samples;
}

/** How long after the kernel's next transition a late sample may still show a state (the sampler's lag). */
const SAMPLE_LAG_US = 200_000;

/**
 * The samples with what the kernel's tracepoints saw and the sampler missed: each exact transition of a lab
 * socket into a state no sample of that socket showed (from 1 ms before it until the socket's next transition,
 * plus the sampler's lag) is added as a state entry at the tracepoint's moment. A hand-over to a timewait
 * socket (KernelEvent.handedToTimewait) is not a close and adds nothing (the timewait row lives on in the
 * samples), nor does a connect(2) that failed before its SYN (failedConnectTransitions()). Only for hosts with a
 * kernel trace; otherwise the samples as they are.
 *
 * A passive open's child is traced LISTEN → SYN_RECEIVED when the final ACK creates it (inet_csk_clone_lock())
 * and → ESTABLISHED microseconds later in the same segment's processing: it stands for the request socket, which
 * no tracepoint shows. With `everySynCookie` (tcp_syncookies=2: tcp_conn_request() answers every SYN with a cookie
 * and keeps no request, measured 2026-12-07: no SYN_RECV row, the child 14 µs in SYN_RECEIVED) there was none, so
 * that transition adds nothing.
 */
export function withExactStates(
  samples: readonly StateSample[],
  events: readonly AgentEvent[],
  kernelEvents: readonly KernelEvent[] | undefined,
  everySynCookie = false,
): StateSample[] {
  if (kernelEvents === undefined) return [...samples];
  const failed = failedConnectTransitions(events, kernelEvents);
  const states = kernelEvents.filter(
    (e) => e.kind === 'state' && e.to !== undefined && !failed.has(e) && isLabSocket(e.local) && !e.local.startsWith('0.0.0.0:') && !e.remote.endsWith(':0'),
  );
  const added: StateSample[] = [];
  for (const [i, event] of states.entries()) {
    if (event.handedToTimewait === true) continue;
    if (everySynCookie && event.from === 'LISTEN' && event.to === 'SYN_RECEIVED') continue;
    const to = event.to as TcpState;
    const socket = `${event.local} ${event.remote}`;
    const next = states.slice(i + 1).find((e) => e.local === event.local && e.remote === event.remote);
    const untilUs = (next?.timeUs ?? Infinity) + SAMPLE_LAG_US;
    const seen = samples.some((s) => s.socket === socket && s.state === to && s.timeUs >= event.timeUs - 1000 && s.timeUs <= untilUs);
    if (!seen) added.push({ socket, local: event.local, remote: event.remote, state: to, timeUs: event.timeUs, retransmits: 0 });
  }
  if (added.length === 0) return [...samples];
  return [...samples, ...added].sort((x, y) => x.timeUs - y.timeUs);
}

/** How long after the kernel's SYN_SENT → CLOSED the agent may stamp connect()'s return (a busy machine's scheduling). */
const CONNECT_RETURN_LAG_US = 100_000;

/**
 * The traced CLOSED → SYN_SENT → CLOSED of connects that failed inside connect(2) with EADDRNOTAVAIL:
 * tcp_v4_connect() and tcp_v6_connect() set SYN_SENT, then inet_hash_connect() finds no usable 4-tuple (a bound
 * port whose 4-tuple a TIME_WAIT socket holds, tcp_twsk_unique() refusing it) and the failure path sets CLOSE.
 * That socket never entered the hash tables nor sent a SYN; its transitions carry the 4-tuple it tried, which
 * belongs to another socket (measured 2026-12-07: 5 µs apart, the agent's connect-returned 36 µs later).
 */
export function failedConnectTransitions(events: readonly AgentEvent[], kernelEvents: readonly KernelEvent[] | undefined): Set<KernelEvent> {
  const failed = new Set<KernelEvent>();
  const returns = events.filter((e): e is Extract<AgentEvent, { type: 'connect-returned' }> => e.type === 'connect-returned' && e.errno === 'EADDRNOTAVAIL');
  if (returns.length === 0) return failed;
  const states = (kernelEvents ?? []).filter((e) => e.kind === 'state');
  for (const [i, open] of states.entries()) {
    if (open.from !== 'CLOSED' || open.to !== 'SYN_SENT') continue;
    const close = states.slice(i + 1).find((e) => e.local === open.local && e.remote === open.remote);
    if (close?.from !== 'SYN_SENT' || close.to !== 'CLOSED') continue;
    if (returns.some((r) => r.remote === open.remote && r.timeUs >= close.timeUs && r.timeUs - close.timeUs <= CONNECT_RETURN_LAG_US))
      failed.add(open).add(close);
  }
  return failed;
}
