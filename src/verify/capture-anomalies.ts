import type { TcpConnection } from './connections.js';

/** Human sentences for what is unusual about a connection (empty for a clean open-and-close). */
export function describeAnomalies(c: TcpConnection): string[] {
  const out: string[] = [];
  const seconds = (us: number): string => `${(us / 1e6).toFixed(2)} s`;
  if (c.midStream) out.push('already open when the capture started (no handshake seen)');
  if (c.synRetransmissions.count > 0) {
    const answered = c.counts.synAck > 0 ? 'then answered' : 'never answered';
    out.push(`SYN retransmitted ${c.synRetransmissions.count}× (intervals ${c.synRetransmissions.intervalsUs.map(seconds).join(', ')}), ${answered}`);
  } else if (c.counts.syn > 0 && c.counts.synAck === 0 && c.counts.rst === 0) {
    out.push('SYN never answered');
  }
  if (c.synAckRetransmissions.count > 0) out.push(`SYN-ACK retransmitted ${c.synAckRetransmissions.count}× (intervals ${c.synAckRetransmissions.intervalsUs.map(seconds).join(', ')})`);
  if (c.finRetransmissions > 0) out.push(`FIN retransmitted ${c.finRetransmissions}×`);
  for (const rst of c.rsts) {
    const who = rst.from === 'a' ? 'client' : 'server';
    out.push(`RST from the ${who} (frame ${rst.frame}) in reply to ${rst.inReplyTo}${rst.inReplyToFrame ? ` (frame ${rst.inReplyToFrame})` : ''}`);
  }
  if (c.simultaneousOpen) out.push('simultaneous open: SYNs crossed (同时打开)');
  if (c.simultaneousClose) out.push('simultaneous close: FINs crossed (同时关闭)');
  if (c.mergedFinAckClose) out.push('three-segment close: the second FIN carried the ACK of the first');
  if (c.halfClose) out.push(`half-close: data after the peer's FIN (frames ${c.halfCloseFrames.slice(0, 5).join(', ')})`);
  // An unanswered SYN never opened anything: "still open" would mislead.
  if (c.openAtEnd && !c.midStream && c.counts.synAck > 0) out.push('still open at the end of the capture');
  return out;
}
