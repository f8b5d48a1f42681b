import type { AgentEvent } from '../agent/protocol.js';
import type { Lab } from '../lab/model.js';
import type { TcpSegment } from '../observe/packet.js';

/** One end of a TCP connection as seen from a host: its own endpoint and the peer's (`ip:port`). */
export interface SocketTuple {
  readonly local: string;
  readonly remote: string;
}

/** `ip:port`, IPv6 bracketed, as /proc/net/tcp and the agent print endpoints. */
export function formatEndpoint(address: string, port: number, family: 4 | 6): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The segment's source and destination endpoints. */
export function segmentEndpoints(segment: TcpSegment): { src: string; dst: string } {
  return {
    src: formatEndpoint(segment.src, segment.srcPort, segment.family),
    dst: formatEndpoint(segment.dst, segment.dstPort, segment.family),
  };
}

/** True when the segment belongs to the socket `tuple` (in either direction). */
export function segmentOfSocket(segment: TcpSegment, tuple: SocketTuple): boolean {
  const { src, dst } = segmentEndpoints(segment);
  return (src === tuple.local && dst === tuple.remote) || (src === tuple.remote && dst === tuple.local);
}

/** The socket tuple the agent reported for connection `conn` (connected, accepted, or a socket row tagged with it). */
export function findConnTuple(events: readonly AgentEvent[], conn: string): SocketTuple | undefined {
  for (const event of events) {
    switch (event.type) {
      case 'connected':
      case 'accepted':
      case 'socket':
      case 'socket-gone':
        if (event.conn === conn && !event.remote.endsWith(':0')) return { local: event.local, remote: event.remote };
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** The connection name of the lab's first connect step on `host` (the default `conn` of an expectation). */
export function firstConnectConn(lab: Lab, host: string): string | undefined {
  for (const step of lab.steps) if (step.kind === 'connect' && step.host === host) return step.conn;
  return undefined;
}

/** The port of the lab's first listen step on `host`. */
export function firstListenPort(lab: Lab, host: string): number | undefined {
  for (const step of lab.steps) if (step.kind === 'listen' && step.host === host) return step.port;
  return undefined;
}
