import type { AgentEvent } from '../agent/protocol.js';
import type { RunRecord } from './run-record.js';
import type { Lab } from '../lab/model.js';
import type { IcmpMessage, QuotedSegment, TcpSegment } from '../observe/packet.js';

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

/** An ICMP error with the TCP segment it quotes. */
export type QuotingIcmp = IcmpMessage & { readonly quoted: QuotedSegment };

/**
 * The ICMP errors a host received (`icmp`: its capture's) that quote a segment its socket `tuple` sent: tcp_v4_err() and
 * tcp_v6_err() find the socket by the quoted header (its source is our end, its destination the peer), in capture order.
 */
export function icmpQuotingSocket(icmp: readonly IcmpMessage[], tuple: SocketTuple): QuotingIcmp[] {
  return icmp.filter(
    (m): m is QuotingIcmp =>
      m.quoted !== undefined &&
      formatEndpoint(m.quoted.src, m.quoted.srcPort, m.family) === tuple.local &&
      formatEndpoint(m.quoted.dst, m.quoted.dstPort, m.family) === tuple.remote,
  );
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
      case 'connect-returned':
        // The socket worker reports the endpoint tcp_v4_connect() bound before the SYN left: the tuple of a
        // connection that failed before any sample saw it (an ICMP error, a reset within microseconds).
        if (event.conn === conn && event.local !== '') return { local: event.local, remote: event.remote };
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** The connection (`c`, `accepted-1`) whose socket the agent reported with this tuple; undefined when none was. */
export function connOfTuple(events: readonly AgentEvent[], tuple: SocketTuple): string | undefined {
  const names = new Set(events.flatMap((e) => ('conn' in e && typeof e.conn === 'string' ? [e.conn] : [])));
  return [...names].find((conn) => {
    const found = findConnTuple(events, conn);
    return found !== undefined && found.local === tuple.local && found.remote === tuple.remote;
  });
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

/**
 * The socket of connection `conn` on `host`, and when its samples are its own: the tuple the agent reported for it,
 * else, for a connect step, its `local_port` or the first socket to the step's peer after the step started. A connect's
 * samples count from its step's start until a later connect step of the host reuses that 4-tuple (same local_port, peer
 * and port); an accepted connection's, over the whole run.
 */
export function connSocketOf(run: RunRecord, host: string, conn: string): (SocketTuple & { readonly fromUs: number; readonly untilUs: number }) | undefined {
  const runHost = run.hosts.find((h) => h.name === host);
  if (runHost === undefined) return undefined;
  const index = run.lab.steps.findIndex((s) => s.kind === 'connect' && s.host === host && s.conn === conn);
  const step = run.lab.steps[index];
  const record = run.steps.find((r) => r.index === index);
  const fromUs = record === undefined ? -Infinity : record.startUs;
  let untilUs = Infinity;
  if (step?.kind === 'connect' && step.localPort !== undefined) {
    const reuse = run.lab.steps.findIndex(
      (s, i) => i > index && s.kind === 'connect' && s.host === host && s.to === step.to && s.port === step.port && s.localPort === step.localPort,
    );
    untilUs = run.steps.find((r) => r.index === reuse)?.startUs ?? Infinity;
  }
  const reported = findConnTuple(runHost.events, conn);
  if (reported !== undefined) return { ...reported, fromUs, untilUs };
  if (step?.kind !== 'connect' || record === undefined) return undefined;
  const peer = run.hosts.find((h) => h.name === step.to);
  if (peer === undefined) return undefined;
  const remote = `${peer.address}:${step.port}`;
  if (step.localPort !== undefined) return { local: `${runHost.address}:${step.localPort}`, remote, fromUs, untilUs };
  const first = runHost.events.find((e) => e.type === 'socket' && e.remote === remote && e.timeUs >= record.startUs);
  return first?.type === 'socket' ? { local: first.local, remote, fromUs, untilUs } : undefined;
}
