import type { TcpConnection } from './connections.js';

/** Human sentences for what is unusual about a connection (empty for a clean open-and-close). */
export function describeAnomalies(c: TcpConnection): string[] {
  const out: string[] = [];
  const seconds = (us: number): string => `${(us / 1e6).toFixed(2)} s`;
  if (c.midStream) out.push('already open when the capture started (no handshake seen)');
  // A SYN-ACK seen, or one the client's ACKs prove (a one-sided capture), answered the SYN.
  const synAnswered = c.counts.synAck > 0 || c.states.client.transitions.some((t) => t.event === 'rcv-syn-ack');
  if (c.synRetransmissions.count > 0) {
    const answered = synAnswered ? 'then answered' : 'never answered';
    out.push(`SYN retransmitted ${c.synRetransmissions.count}× (intervals ${c.synRetransmissions.intervalsUs.map(seconds).join(', ')}), ${answered}`);
  } else if (c.counts.syn > 0 && !synAnswered && c.counts.rst === 0) {
    out.push('SYN never answered');
  }
  if (c.synAckIsns.length > 1) {
    const frames = c.synAckIsns.map((s) => s.frame).join(', ');
    out.push(`SYN-ACKs with ${c.synAckIsns.length} different ISNs (frames ${frames}): a second SYN-ACK is not a retransmission`);
  }
  for (const [who, h] of [
    ['client', c.states.client],
    ['server', c.states.server],
  ] as const) {
    for (const p of h.problems) out.push(`${who}: frame ${p.frame} does not fit the reference machine (${p.problem})`);
    const inferred = h.transitions.filter((t) => t.inferred);
    if (inferred.length > 0) {
      out.push(`${who}: inferred from what later segments prove: ${inferred.map((t) => `${t.from} → ${t.to} (${t.event}, frame ${t.frame})`).join('; ')}`);
    }
  }
  if (c.synAckRetransmissions.count > 0)
    out.push(`SYN-ACK retransmitted ${c.synAckRetransmissions.count}× (intervals ${c.synAckRetransmissions.intervalsUs.map(seconds).join(', ')})`);
  if (c.finRetransmissions > 0) out.push(`FIN retransmitted ${c.finRetransmissions}×`);
  const data = c.dataRetransmissions;
  for (const side of ['a', 'b'] as const) {
    const mine = data.segments.filter((r) => r.from === side);
    if (mine.length === 0) continue;
    const fast = mine.filter((r) => r.kind === 'fast retransmission').length;
    const spurious = mine.filter((r) => r.kind === 'spurious retransmission').length;
    const kinds = [fast > 0 ? `${fast} fast` : '', spurious > 0 ? `${spurious} spurious` : ''].filter((k) => k !== '').join(', ');
    const frames =
      mine
        .slice(0, 8)
        .map((r) => r.frame)
        .join(', ') + (mine.length > 8 ? ', …' : '');
    out.push(`data retransmitted by the ${side === 'a' ? 'client' : 'server'} ${mine.length}×${kinds ? ` (${kinds})` : ''}: frames ${frames}`);
  }
  if (data.count > data.segments.length) out.push(`… ${data.count - data.segments.length} more data retransmissions not listed`);
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
