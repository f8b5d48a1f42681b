import type { AgentEvent } from '../agent/protocol.js';
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
