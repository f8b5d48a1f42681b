import type { TcpState } from '../tcp/state.js';
import type { TcpConnection } from './connections.js';

/*
 * Capture-only inference for `tcplab verify <capture>`: no events, no calls, so no replay through the
 * machine (that is src/analysis/endpoint-replay.ts); each endpoint's likely path from the tracker's marks.
 */

/** Each endpoint's inferred state path from a capture alone (no events), from the tracker's marks. */
export function inferCapturePaths(c: TcpConnection): { client: TcpState[]; server: TcpState[] } {
  const client: TcpState[] = [];
  const server: TcpState[] = [];
  const push = (path: TcpState[], state: TcpState): void => {
    if (path.at(-1) !== state) path.push(state);
  };
  const handshakeDone = c.counts.synAck > 0 && (c.packetsAtoB > c.counts.syn || c.finAcked.b || c.closedBy !== undefined);
  if (c.midStream) {
    push(client, 'ESTABLISHED');
    push(server, 'ESTABLISHED');
  } else {
    push(client, 'CLOSED');
    push(client, 'SYN_SENT');
    const refused = c.counts.synAck === 0 && c.rsts.some((r) => r.from === 'b');
    push(server, refused ? 'CLOSED' : 'LISTEN');
    if (c.counts.synAck > 0 || c.simultaneousOpen) push(server, 'SYN_RECEIVED');
    if (c.simultaneousOpen) push(client, 'SYN_RECEIVED');
    if (c.counts.synAck > 0) push(client, 'ESTABLISHED');
    if (handshakeDone) push(server, 'ESTABLISHED');
  }
  const firstRst = c.rsts[0];
  const firstFin = c.fins[0];
  const finsBefore = (side: 'a' | 'b'): boolean => c.fins.some((f) => f.from === side && (firstRst === undefined || f.frame < firstRst.frame));
  if (firstFin !== undefined && (firstRst === undefined || firstFin.frame < firstRst.frame)) {
    const closer = firstFin.from === 'a' ? client : server;
    const passive = firstFin.from === 'a' ? server : client;
    const closerSide = firstFin.from;
    const passiveSide = closerSide === 'a' ? 'b' : 'a';
    push(closer, 'FIN_WAIT_1');
    if (c.simultaneousClose) {
      push(closer, 'CLOSING');
      push(passive, 'FIN_WAIT_1');
      push(passive, 'CLOSING');
      if (c.finAcked[closerSide]) push(passive, 'TIME_WAIT');
      if (c.finAcked[passiveSide]) push(closer, 'TIME_WAIT');
    } else {
      push(passive, 'CLOSE_WAIT');
      if (c.mergedFinAckClose && finsBefore(passiveSide)) {
        push(closer, 'TIME_WAIT');
      } else if (c.finAcked[closerSide]) {
        push(closer, 'FIN_WAIT_2');
      }
      if (finsBefore(passiveSide)) {
        push(passive, 'LAST_ACK');
        push(closer, 'TIME_WAIT');
        if (c.finAcked[passiveSide]) push(passive, 'CLOSED');
      }
    }
  }
  if (firstRst !== undefined) {
    push(client, 'CLOSED');
    if (server.at(-1) === 'SYN_RECEIVED') push(server, 'LISTEN');
    else if (server.at(-1) !== 'LISTEN') push(server, 'CLOSED');
  }
  return { client, server };
}
