import { sequenceEnd, sequenceLength, TcpFlag, type TcpSegment } from '../observe/packet.js';

/*
 * The sends of a socket's retransmission timer for one segment, as the kernel makes them (one timer per socket:
 * tcp_retransmit_timer() resends the head of the retransmission queue).
 *  - A copy carries the segment's first sequence number: it starts there or before it. It may end later:
 *    tcp_retransmit_skb() may merge the segments queued behind it into the copy (tcp_retrans_try_collapse(),
 *    net.ipv4.tcp_retrans_collapse=1), so data followed by a FIN comes back as one [FP.] (measured 2026-12-04, teacher
 *    lab orphan-data-give-up: [P.] then [F.], and every RTO copy [FP.]); and a FIN's copy may carry the data before it.
 *    It may end sooner: the sender's capture shows a first flight as GSO/TSO super-segments (7,240 bytes and more on
 *    the lab's veth), and __tcp_retransmit_skb() cuts the head to the current MSS (tcp_fragment()), which MTU probing
 *    may have lowered (tcp_mtu_probing(); measured 2026-12-07: a 7,240-byte [P.] resent as 1,448 bytes four times, then
 *    as 1,024 bytes after tcp_retries1 timeouts).
 *  - A tail-loss probe resends the *last* segment sent (tcp_send_loss_probe()) and re-arms the RTO from itself, so a
 *    probe of a later segment before the first copy belongs to this timeline too (there: the FIN probed 9 ms after the
 *    data, whose first RTO copy came one RTO after the probe).
 */

/** The sends of one segment's retransmission timeline, and the tail-loss probe of a later segment among them. */
export interface RtoCopies {
  /** `first`, then the later sends in capture order. */
  readonly sends: readonly TcpSegment[];
  /** The second send when it is a tail-loss probe sent with more than one segment in flight, so sooner than any RTO. */
  readonly probe?: TcpSegment;
}

/** `first` and the later segments of `sent` (one socket's segments in capture order) its retransmission timer sent. */
export function rtoCopies(sent: readonly TcpSegment[], first: TcpSegment): RtoCopies {
  const after = sent.filter((s) => s.timeUs >= first.timeUs && s !== first && sequenceLength(s) > 0);
  const copies = after.filter((s) => carriesStart(s, first));
  const secondUs = copies[0]?.timeUs ?? Infinity;
  const isSyn = (first.flags & TcpFlag.SYN) !== 0;
  const probe = isSyn ? undefined : after.find((p) => p.timeUs < secondUs && !seqAtOrBefore(p.seq, first.seq) && resendsLast(sent, p));
  const sends = [first, ...(probe === undefined ? [] : [probe]), ...copies].sort((a, b) => a.timeUs - b.timeUs || a.frame - b.frame);
  if (probe !== undefined) return { sends, probe };
  // The first copy of the last segment is a probe too when an earlier one was still in flight: later copies cover it.
  const second = copies[0];
  const earlierInFlight = sent.some(
    (q) => q.timeUs < first.timeUs && sequenceLength(q) > 0 && !seqAtOrBefore(first.seq, q.seq) && copies.some((c) => seqAtOrBefore(c.seq, q.seq)),
  );
  return second !== undefined && !isSyn && earlierInFlight && resendsLast(sent, second) ? { sends, probe: second } : { sends };
}

/** The first repeat of a series when loss recovery sent it on the peer's ACKs, and the ACK that set it off. */
export interface FastRetransmit {
  readonly copy: TcpSegment;
  /** The duplicate ACK that set it off: one with SACK blocks, else the `reordering`-th. */
  readonly trigger: TcpSegment;
  readonly sack: boolean;
  readonly reordering: number;
}

/** The duplicate-ACK threshold a host starts its connections with (net.ipv4.tcp_reordering, 3 by default). */
export function reorderingOf(kernelSettings: Readonly<Record<string, string>>): number {
  const value = Number(kernelSettings['net.ipv4.tcp_reordering']);
  return Number.isInteger(value) && value > 0 ? value : 3;
}

/** How soon after its trigger a fast retransmission leaves: within the ACK's processing (RACK's reordering window is µs on a lab link). */
const FAST_RETRANSMIT_LAG_US = 20_000;

/**
 * The first repeat of `copies` when loss recovery, not the retransmission timer, sent it (tcp_fastretrans_alert()):
 * the peer's duplicate ACKs (ack = the segment's first byte, no data) before it either SACK data above that byte
 * (RACK, RFC 8985: a later segment delivered marks this one lost once the reordering window, min_rtt/4, has passed)
 * or number at least `reordering` (tcp_reordering, without SACK: tcp_dupack_heuristics(), RFC 6582), and the copy
 * left within FAST_RETRANSMIT_LAG_US of the last of them. `received` holds the segments the socket received.
 * Measured 2026-12-07 (teacher lab fast-retransmit): one SACK of a lost 21,720-byte GSO segment's successor, the
 * whole segment resent 13 µs later; with SACK off, three duplicate ACKs and the first MSS resent 18 µs after the third.
 */
export function fastRetransmitOf(copies: RtoCopies, received: readonly TcpSegment[], reordering: number): FastRetransmit | undefined {
  const [first, copy] = copies.sends;
  if (first === undefined || copy === undefined || copies.probe !== undefined || (first.flags & TcpFlag.SYN) !== 0) return undefined;
  const dupAcks = received.filter(
    (r) =>
      r.timeUs > first.timeUs &&
      r.timeUs <= copy.timeUs &&
      (r.flags & TcpFlag.ACK) !== 0 &&
      (r.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0 &&
      r.payloadLength === 0 &&
      r.ack === first.seq,
  );
  const sacked = dupAcks.find((r) => r.options?.sack?.some(([start]) => seqAtOrBefore(first.seq, start)) === true);
  const trigger = sacked ?? (dupAcks.length >= reordering ? dupAcks[reordering - 1] : undefined);
  if (trigger === undefined || copy.timeUs - (dupAcks.at(-1) ?? trigger).timeUs > FAST_RETRANSMIT_LAG_US) return undefined;
  return { copy, trigger, sack: sacked !== undefined, reordering };
}

/** `s` carries the first sequence number of `first`: a copy of it (whole, merged with later segments, or cut to the MSS). */
export function carriesStart(s: TcpSegment, first: TcpSegment): boolean {
  return seqAtOrBefore(s.seq, first.seq) && !seqAtOrBefore(sequenceEnd(s), first.seq);
}

/** `p` resends the segment that ends highest of those sent before it: what a tail-loss probe sends when there is no new data. */
function resendsLast(sent: readonly TcpSegment[], p: TcpSegment): boolean {
  const before = sent.filter((q) => q.timeUs < p.timeUs && sequenceLength(q) > 0);
  const last = before.reduce<TcpSegment | undefined>((a, q) => (a === undefined || seqAtOrBefore(sequenceEnd(a), sequenceEnd(q)) ? q : a), undefined);
  return last !== undefined && last.seq === p.seq && sequenceEnd(last) === sequenceEnd(p);
}

/** a ≤ b in sequence space (RFC 9293 §3.4, modulo 2^32). */
function seqAtOrBefore(a: number, b: number): boolean {
  return ((b - a) | 0) >= 0;
}
