import type { ProbeKind, ProbeMark } from '../analysis/capture-retransmissions.js';
import type { TcpConnection } from './connections.js';

const PROBE_WORDS: Record<ProbeKind, string> = {
  keepalive: 'no new data at snd_nxt − 1 after an idle time (RFC 1122 §4.2.3.6, tcp_keepalive_timer()), not retransmissions',
  'zero-window probe': "sent while the peer's window was 0 (RFC 9293 §3.8.6.1, tcp_probe_timer()), not retransmissions",
};

/** One sentence per side and kind of probe: how many, which frames, how many the peer answered. */
function describeProbes(probes: readonly ProbeMark[]): string[] {
  const out: string[] = [];
  for (const from of ['a', 'b'] as const) {
    for (const kind of ['keepalive', 'zero-window probe'] as const) {
      const mine = probes.filter((p) => p.from === from && p.kind === kind);
      if (mine.length === 0) continue;
      const answered = mine.filter((p) => p.answeredByFrame !== undefined).length;
      const frames =
        mine
          .slice(0, 8)
          .map((p) => p.frame)
          .join(', ') + (mine.length > 8 ? ', …' : '');
      const who = from === 'a' ? 'client' : 'server';
      out.push(
        `${mine.length} ${kind === 'keepalive' ? 'keepalive probe(s)' : 'zero-window probe(s)'} from the ${who} (frames ${frames}; ${answered} answered): ${PROBE_WORDS[kind]}`,
      );
    }
  }
  return out;
}

/** The keepalives a side sent, unanswered, right before its RST (none when anything else came between). */
function unansweredKeepalivesBefore(probes: readonly ProbeMark[], from: 'a' | 'b', rstTimeUs: number): ProbeMark[] {
  const before = probes.filter((p) => p.from === from && p.timeUs <= rstTimeUs);
  const run: ProbeMark[] = [];
  for (let i = before.length - 1; i >= 0; i -= 1) {
    const probe = before[i] as ProbeMark;
    if (probe.kind !== 'keepalive' || probe.answeredByFrame !== undefined) break;
    run.unshift(probe);
  }
  return run;
}

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
  out.push(...describeProbes(data.probes));
  for (const rst of c.rsts) {
    const who = rst.from === 'a' ? 'client' : 'server';
    const keepaliveGiveUp = unansweredKeepalivesBefore(data.probes, rst.from, rst.timeUs);
    if (keepaliveGiveUp.length > 0) {
      out.push(
        `RST from the ${who} (frame ${rst.frame}) after ${keepaliveGiveUp.length} unanswered keepalive probe(s) (frames ${keepaliveGiveUp.map((p) => p.frame).join(', ')}): ` +
          'the keepalive give-up (tcp_keepalive_timer(): RST, then ETIMEDOUT)',
      );
      continue;
    }
    const last = `${rst.inReplyTo}${rst.inReplyToFrame ? ` (frame ${rst.inReplyToFrame})` : ''}`;
    out.push(
      rst.ownAbort
        ? `RST from the ${who} (frame ${rst.frame}, ACK set): its own abort, not an answer to the last ${last} (close() with unread data, SO_LINGER 0 or a give-up; RFC 9293 §3.10.4)`
        : `RST from the ${who} (frame ${rst.frame}) in reply to ${last}`,
    );
  }
  if (c.simultaneousOpen) out.push('simultaneous open: SYNs crossed (同时打开)');
  if (c.simultaneousClose) out.push('simultaneous close: FINs crossed (同时关闭)');
  if (c.mergedFinAckClose) out.push('three-segment close: the second FIN carried the ACK of the first');
  if (c.halfClose) out.push(`half-close: data after the peer's FIN (frames ${c.halfCloseFrames.slice(0, 5).join(', ')})`);
  // An unanswered SYN never opened anything: "still open" would mislead.
  if (c.openAtEnd && !c.midStream && c.counts.synAck > 0) out.push('still open at the end of the capture');
  return out;
}
