/**
 * Retransmitted data segments of one connection, per direction, from the capture alone.
 *
 * Model. Each direction keeps the sequence space it has sent (a small set of byte ranges relative to
 * its first sequence number), its highest sequence number (`nextSeq`, SYN and FIN counting one),
 * and what it last acknowledged (ack, window, duplicate-ACK count, time). A data segment (payload > 0,
 * not SYN, not RST) that does not advance `nextSeq` is one of:
 *
 * - a keepalive: at most one byte at nextSeq − 1 (RFC 9293 §3.8.4; Linux tcp_write_wakeup()); not
 *   a retransmission (Linux sends no byte: tcp_xmit_probe_skb(); see probeKindOf() for the 0-byte rule);
 * - a zero-window probe: one byte at nextSeq while the peer's window is 0 (RFC 9293 §3.8.6.1); it
 *   does not advance nextSeq, so each repeat is a probe too, not a retransmission;
 * - a capture duplicate: the same segment (IPv4 id, seq, ack, length, flags, window) as the one
 *   just before it in this direction — one packet recorded twice, not sent twice;
 * - out of order: only bytes never seen before (a hole being filled) arriving within the
 *   out-of-order threshold (the handshake's RTT, else 3 ms) of the highest segment — reordering
 *   before the capture point, not a retransmission;
 * - otherwise a retransmission, categorised as tshark does (epan/dissectors/packet-tcp.c,
 *   tcp_analyze_sequence_number()): *fast* when the peer sent ≥ 2 duplicate ACKs for exactly this
 *   sequence number and its last segment came < 20 ms before; *spurious* when the peer had already
 *   acknowledged every byte of it; else a plain (timeout) retransmission.
 *
 * Where this departs from tshark, on purpose: bytes that were seen before are a retransmission even
 * within 3 ms (tshark may call them out-of-order); never-seen bytes are out-of-order by the
 * sequence space, not only by time; capture duplicates are not retransmissions; RSTs with payload
 * and SYNs are never data retransmissions (SYN retransmissions are counted on their own).
 */
import { TcpFlag, type TcpSegment } from '../observe/packet.js';

export type DataRetransmissionKind = 'retransmission' | 'fast retransmission' | 'spurious retransmission';

/** A probe: a keepalive of an idle connection, or a window probe while the peer advertises window 0. */
export type ProbeKind = 'keepalive' | 'zero-window probe';

/** One probe segment, and the first segment the peer sent after it (its answer), if any. */
export interface ProbeMark {
  frame: number;
  timeUs: number;
  from: 'a' | 'b';
  kind: ProbeKind;
  seq: number;
  length: number;
  /** Frame of the peer's first segment after the probe (before this side's next segment); undefined: unanswered. */
  answeredByFrame: number | undefined;
}

/**
 * Shortest idle time before a segment without payload at nextSeq − 1 counts as a keepalive: Linux's
 * TCP_KEEPIDLE and TCP_KEEPINTVL are at least 1 s (tcp.c do_tcp_setsockopt()), less 20 ms of capture jitter.
 */
export const KEEPALIVE_MIN_IDLE_US = 980_000;

/**
 * The probe rule, for a segment without SYN, FIN or RST: at most one byte at the sender's nextSeq − 1
 * (tcp_output.c tcp_xmit_probe_skb(): seq = snd_una − 1, no payload on Linux; one garbage byte on older
 * stacks), or one new byte at nextSeq, is a probe. It is a zero-window probe while the peer's last
 * advertised window is 0 (RFC 9293 §3.8.6.1; tcp_probe_timer()), else a keepalive (RFC 1122 §4.2.3.6;
 * tcp_keepalive_timer()) — for a segment without payload only after KEEPALIVE_MIN_IDLE_US of silence on the
 * connection, so that nothing else is mistaken for one.
 */
export function probeKindOf(seg: TcpSegment, senderNextSeq: number | undefined, peerWindow: number | undefined, idleUs: number): ProbeKind | undefined {
  if ((seg.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) !== 0 || senderNextSeq === undefined || seg.payloadLength > 1) return undefined;
  const beforeNext = seg.seq === (senderNextSeq - 1) >>> 0;
  const atNext = seg.seq === senderNextSeq && seg.payloadLength === 1;
  if (!beforeNext && !atNext) return undefined;
  if (peerWindow === 0) return 'zero-window probe';
  if (atNext) return undefined;
  if (seg.payloadLength === 0 && idleUs < KEEPALIVE_MIN_IDLE_US) return undefined;
  return 'keepalive';
}

/** One retransmitted data segment. */
export interface DataRetransmission {
  frame: number;
  timeUs: number;
  /** 'a' = client (after finalisation), 'b' = server. */
  from: 'a' | 'b';
  kind: DataRetransmissionKind;
  seq: number;
  length: number;
}

/** Per-connection summary (counts exact, `segments` capped at the tracker's limit). */
export interface DataRetransmissions {
  count: number;
  fast: number;
  spurious: number;
  segments: DataRetransmission[];
  /** Data segments that were not retransmissions although they did not advance the sequence space. */
  outOfOrder: number;
  keepalives: number;
  zeroWindowProbes: number;
  captureDuplicates: number;
  /** The probes (keepalives and zero-window probes, with and without a byte), capped at the tracker's limit. */
  probes: ProbeMark[];
}

/** The out-of-order threshold when the handshake gave no RTT (tshark's default). */
const DEFAULT_OUT_OF_ORDER_US = 3000;
/** tshark's window for a fast retransmission after the peer's last (duplicate) ACK. */
const FAST_RETRANSMISSION_US = 20_000;
/** Sent-range set size per direction; beyond it the lowest holes are filled (treated as seen). */
const RANGE_LIMIT = 64;

interface Direction {
  base: number | undefined;
  nextSeq: number | undefined;
  nextSeqTimeUs: number;
  /** Sent data as [start, end) offsets from `base`, sorted and disjoint. */
  ranges: Array<[number, number]>;
  lastAck: number | undefined;
  lastAckTimeUs: number;
  window: number | undefined;
  dupAcks: number;
  /** The previous segment of this direction, as the numbers a capture duplicate repeats (no reference kept). */
  lastIpId: number | undefined;
  lastSeq: number;
  lastAckField: number;
  lastLength: number;
  lastFlags: number;
  lastWindow: number;
  synTimeUs: number | undefined;
}

const newDirection = (): Direction => ({
  base: undefined,
  nextSeq: undefined,
  nextSeqTimeUs: 0,
  ranges: [],
  lastAck: undefined,
  lastAckTimeUs: 0,
  window: undefined,
  dupAcks: 0,
  lastIpId: undefined,
  lastSeq: 0,
  lastAckField: 0,
  lastLength: -1,
  lastFlags: 0,
  lastWindow: 0,
  synTimeUs: undefined,
});

/** Creates an empty summary. */
export function createDataRetransmissions(): DataRetransmissions {
  return { count: 0, fast: 0, spurious: 0, segments: [], outOfOrder: 0, keepalives: 0, zeroWindowProbes: 0, captureDuplicates: 0, probes: [] };
}

/** Streaming classifier for one connection; sides are 0 = first sender, 1 = the other. */
export class DataRetransmissionTracker {
  readonly result: DataRetransmissions = createDataRetransmissions();
  private readonly sides: [Direction, Direction] = [newDirection(), newDirection()];
  private outOfOrderUs = DEFAULT_OUT_OF_ORDER_US;
  private rttKnown = false;
  private lastSegmentUs: number | undefined;
  /** The latest probe of each side still waiting for the peer's next segment. */
  private readonly pendingProbe: [ProbeMark | undefined, ProbeMark | undefined] = [undefined, undefined];

  constructor(private readonly limit: number) {}

  /** Classifies one segment sent by `side`. */
  observe(seg: TcpSegment, side: 0 | 1): void {
    const me = this.sides[side];
    const peer = this.sides[1 - side]!;
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    const hasAck = (flags & TcpFlag.ACK) !== 0;
    const len = seg.payloadLength;
    const idleUs = this.lastSegmentUs === undefined ? 0 : seg.timeUs - this.lastSegmentUs;
    this.lastSegmentUs = seg.timeUs;
    const answered = this.pendingProbe[1 - side];
    if (answered !== undefined) {
      answered.answeredByFrame = seg.frame;
      this.pendingProbe[1 - side] = undefined;
    }
    this.pendingProbe[side] = undefined;
    if (syn && !hasAck) me.synTimeUs ??= seg.timeUs;
    // Initial RTT (tshark's iRTT): from the SYN to the first ACK that completes the handshake.
    if (!this.rttKnown && !syn && hasAck && me.synTimeUs !== undefined && peer.synTimeUs !== undefined) {
      this.outOfOrderUs = Math.max(seg.timeUs - me.synTimeUs, 1);
      this.rttKnown = true;
    }
    // A RST's sequence number is what the peer's ACK asked for (RFC 9293 §3.10.7.3: the answer to a
    // challenge ACK), not a position in this side's data: it must not move the sequence space.
    if (rst) return;
    if (me.base === undefined) me.base = seg.seq;
    let zeroWindowProbe = false;

    const probe = rst ? undefined : probeKindOf(seg, me.nextSeq, peer.window, idleUs);
    if (probe !== undefined) this.markProbe(seg, side, probe);
    if (len === 0) {
      if (probe === 'keepalive') this.result.keepalives++;
      if (probe === 'zero-window probe') this.result.zeroWindowProbes++;
      // Duplicate ACK (tshark): nothing new, same window, same ack as this side's previous segment.
      if (!syn && !fin && !rst && hasAck && seg.window !== 0 && seg.window === me.window && seg.seq === me.nextSeq && seg.ack === me.lastAck) me.dupAcks++;
    } else if (!syn && me.nextSeq !== undefined && seqLt(seg.seq, me.nextSeq)) {
      zeroWindowProbe = this.classifyOld(seg, side, me, peer);
    } else if (!syn && me.nextSeq !== undefined && len === 1 && seg.seq === me.nextSeq && peer.window === 0) {
      this.result.zeroWindowProbes++;
      zeroWindowProbe = true;
    }

    if (len > 0 && !syn) addRange(me.ranges, rel(seg.seq, me.base), rel(seg.seq, me.base) + len);
    const end = (seg.seq + len + (syn ? 1 : 0) + (fin ? 1 : 0)) >>> 0;
    if (!zeroWindowProbe && (me.nextSeq === undefined || seqLt(me.nextSeq, end))) {
      me.nextSeq = end;
      me.nextSeqTimeUs = seg.timeUs;
    }
    if (hasAck) {
      if (seg.ack !== me.lastAck) me.dupAcks = 0;
      me.lastAck = seg.ack;
    }
    me.lastAckTimeUs = seg.timeUs;
    me.window = seg.window;
    me.lastIpId = seg.ipId;
    me.lastSeq = seg.seq;
    me.lastAckField = seg.ack;
    me.lastLength = seg.payloadLength;
    me.lastFlags = seg.flags;
    me.lastWindow = seg.window;
  }

  private markProbe(seg: TcpSegment, side: 0 | 1, kind: ProbeKind): void {
    const mark: ProbeMark = {
      frame: seg.frame,
      timeUs: seg.timeUs,
      from: side === 0 ? 'a' : 'b',
      kind,
      seq: seg.seq,
      length: seg.payloadLength,
      answeredByFrame: undefined,
    };
    if (this.result.probes.length < this.limit) this.result.probes.push(mark);
    this.pendingProbe[side] = mark;
  }

  /** A data segment below nextSeq: keepalive, probe repeat, duplicate, out-of-order or a retransmission. Returns true for a probe. */
  private classifyOld(seg: TcpSegment, side: 0 | 1, me: Direction, peer: Direction): boolean {
    const len = seg.payloadLength;
    const nextSeq = me.nextSeq!;
    if (len <= 1 && seg.seq === (nextSeq - 1) >>> 0) {
      // The byte before nextSeq: a keepalive — or a repeated zero-window probe while the window is still shut.
      if (peer.window === 0 && len === 1) {
        this.result.zeroWindowProbes++;
        return true;
      }
      this.result.keepalives++;
      return false;
    }
    if (
      seg.ipId !== undefined &&
      me.lastIpId === seg.ipId &&
      me.lastSeq === seg.seq &&
      me.lastAckField === seg.ack &&
      me.lastLength === len &&
      me.lastFlags === seg.flags &&
      me.lastWindow === seg.window
    ) {
      this.result.captureDuplicates++;
      return false;
    }
    const start = rel(seg.seq, me.base!);
    const seenBefore = overlaps(me.ranges, start, start + len);
    if (!seenBefore && seg.timeUs - me.nextSeqTimeUs < this.outOfOrderUs) {
      this.result.outOfOrder++;
      return false;
    }
    let kind: DataRetransmissionKind = 'retransmission';
    if (peer.dupAcks >= 2 && peer.lastAck === seg.seq && seg.timeUs - peer.lastAckTimeUs < FAST_RETRANSMISSION_US) kind = 'fast retransmission';
    else if (peer.lastAck !== undefined && seqLe((seg.seq + len) >>> 0, peer.lastAck)) kind = 'spurious retransmission';
    const r = this.result;
    r.count++;
    if (kind === 'fast retransmission') r.fast++;
    if (kind === 'spurious retransmission') r.spurious++;
    if (r.segments.length < this.limit) {
      r.segments.push({ frame: seg.frame, timeUs: seg.timeUs, from: side === 0 ? 'a' : 'b', kind, seq: seg.seq, length: len });
    }
    return false;
  }
}

/** Offset of `seq` from `base` as a signed 32-bit distance (negative: before the first byte seen). */
function rel(seq: number, base: number): number {
  return (seq - base) | 0;
}

function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** True when any byte of [start, end) is in the range set. */
function overlaps(ranges: ReadonlyArray<[number, number]>, start: number, end: number): boolean {
  for (const [s, e] of ranges) if (s < end && start < e) return true;
  return false;
}

/** Adds [start, end) to a sorted, disjoint range set, merging neighbours; bounded by RANGE_LIMIT. */
function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  const last = ranges[ranges.length - 1];
  if (last !== undefined && start >= last[0] && start <= last[1]) {
    if (end > last[1]) last[1] = end; // the common case: in-order data extends the top range
    return;
  }
  let i = 0;
  while (i < ranges.length && ranges[i]![1] < start) i++;
  let s = start;
  let e = end;
  let j = i;
  while (j < ranges.length && ranges[j]![0] <= e) {
    s = Math.min(s, ranges[j]![0]);
    e = Math.max(e, ranges[j]![1]);
    j++;
  }
  ranges.splice(i, j - i, [s, e]);
  if (ranges.length > RANGE_LIMIT) {
    const [first, second] = ranges;
    ranges.splice(0, 2, [first![0], second![1]]);
  }
}
