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
 * socket (KernelEvent.handedToTimewait) is not a close and adds nothing: the timewait row lives on in the
 * samples. Only for hosts with a kernel trace; otherwise the samples as they are.
 */
export function withExactStates(samples: readonly StateSample[], kernelEvents: readonly KernelEvent[] | undefined): StateSample[] {
  if (kernelEvents === undefined) return [...samples];
  const states = kernelEvents.filter(
    (e) => e.kind === 'state' && e.to !== undefined && isLabSocket(e.local) && !e.local.startsWith('0.0.0.0:') && !e.remote.endsWith(':0'),
  );
  const added: StateSample[] = [];
  for (const [i, event] of states.entries()) {
    if (event.handedToTimewait === true) continue;
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
