/**
 * Groups TCP segments into connections and reports, per connection, what happened on the wire.
 *
 * Model. Segments are pushed in capture order. A connection is keyed by its unordered 4-tuple and
 * the path (`via`: VLANs/tunnels) each direction came through: a connection mirrored on three VLANs
 * is three connections, while a routed capture whose two directions use two VLANs (or one tagged,
 * one not) is one connection named with both paths (see pickByPath).
 * Connection identity follows Wireshark/tshark's `tcp.stream` (epan/dissectors/packet-tcp.c,
 * "TCP Port numbers reused"): a SYN without ACK whose sequence number differs from the *base
 * sequence* of its direction (the ISN of that direction's SYN, or seq−1 of that direction's first
 * segment if it was not a SYN) starts a new connection on the same tuple — whether or not the old
 * one ended, and without any time limit. A SYN that repeats the base (a retransmission) does not.
 * So suricata bug-7657-01, which fires 24 SYNs with random ISNs at one tuple, is 24 connections,
 * as in tshark; a SYN from the *other* side (simultaneous open) has no base yet and stays in the
 * same connection.
 *
 * Memory. Per connection only counters, a few marked segments (SYN, SYN-ACK, FIN, RST, each list
 * capped at MARK_LIMIT), and the state needed for the analysis are kept — never the segments.
 * A connection that is closed (RST seen, or both FINs acknowledged) lingers `lingerUs` (default
 * 60 s of capture time, the Linux TIME_WAIT length) to collect late segments (the final ACK, a
 * retransmitted FIN, RSTs after RSTs), then is finalised: handed to `onConnection` and, unless
 * `keepClosed` is set, dropped. A new SYN on the tuple finalises the old connection at once.
 * `finish()` finalises the rest, marking them `openAtEnd` if they never closed.
 * Deliberate difference from tshark: a segment that arrives after its connection was finalised
 * (more than `lingerUs` after the close) starts a new, mid-stream connection.
 */
import { DataRetransmissionTracker, type DataRetransmissions } from '../analysis/capture-retransmissions.js';
import { CaptureStateReplay, type EndpointHistory } from '../analysis/capture-states.js';
import { decodeCaptureFile } from '../observe/capture-decoder.js';
import { TcpFlag, type TcpSegment } from '../observe/packet.js';

/** How many SYN / SYN-ACK / FIN / RST marks a connection keeps (their counts are always exact). */
export const MARK_LIMIT = 64;
/** The placeholder for `states` until a connection is finalised (one shared object, never mutated). */
const NOT_REPLAYED: TcpConnection['states'] = Object.freeze({
  client: Object.freeze({ path: [], transitions: [], problems: [] }),
  server: Object.freeze({ path: [], transitions: [], problems: [] }),
});
/** How many retransmitted data segments a connection lists (their counts are always exact). */
export const RETRANSMISSION_LIMIT = 1024;

/** What a segment was, for "in reply to what". */
export type SegmentKind = 'SYN' | 'SYN-ACK' | 'FIN' | 'RST' | 'data' | 'ACK' | 'none';

/** A segment worth remembering (SYN, SYN-ACK, FIN, RST). */
export interface MarkedSegment {
  frame: number;
  timeUs: number;
  /** 'a' = client (or first sender when no SYN was seen), 'b' = the other side. */
  from: 'a' | 'b';
  seq: number;
  ack: number;
  flags: number;
  payloadLength: number;
}

export interface RstMark extends MarkedSegment {
  /** The last segment the other side sent before this RST ('none' if it sent nothing yet). */
  inReplyTo: SegmentKind;
  /** Frame number of that segment. */
  inReplyToFrame?: number;
  /** Set (with ACK, after a segment that carried one): the sender's own abort, not an answer to that segment. */
  ownAbort?: true;
}

export interface Retransmissions {
  /** Segments that repeat the first one's sequence number. */
  count: number;
  /** Send times of the first and every repeated segment (capped at MARK_LIMIT). */
  timesUs: number[];
  /** Gaps between consecutive sends, in microseconds. */
  intervalsUs: number[];
}

/** Everything the analysis says about one TCP connection. */
export interface TcpConnection {
  /** 0-based, in order of first segment: equal to tshark's tcp.stream where the identity rules agree. */
  id: number;
  family: 4 | 6;
  /** VLANs/tunnels the connection came through (part of its identity: one per VLAN, one per tunnel). */
  via?: string;
  /** `addr:port` (IPv6 bracketed) of side a (the client) and side b. */
  a: string;
  b: string;
  aAddress: string;
  aPort: number;
  bAddress: string;
  bPort: number;
  /** No SYN and no SYN-ACK seen: picked up mid-stream, `a` is the first sender. */
  midStream: boolean;
  firstFrame: number;
  lastFrame: number;
  firstTimeUs: number;
  lastTimeUs: number;
  packets: number;
  packetsAtoB: number;
  packetsBtoA: number;
  /** syn = SYN without ACK; synAck; fin, rst = segments carrying the flag; pureAck = ACK only, no data; data = payload > 0. */
  counts: { syn: number; synAck: number; fin: number; rst: number; pureAck: number; data: number };
  bytesAtoB: number;
  bytesBtoA: number;
  /** Segments carrying SYN (with or without ACK), FIN and RST, per direction. */
  flagsAtoB: DirectionFlags;
  flagsBtoA: DirectionFlags;
  /** Retransmitted data segments (see src/analysis/capture-retransmissions.ts). */
  dataRetransmissions: DataRetransmissions;
  /** Each endpoint replayed through the reference machine (src/analysis/capture-states.ts); set when finalised. */
  states: { client: EndpointHistory; server: EndpointHistory };
  /** Distinct ISNs of the SYN-ACKs, with the frame of the first SYN-ACK carrying each. */
  synAckIsns: Array<{ isn: number; frame: number }>;
  syns: MarkedSegment[];
  synAcks: MarkedSegment[];
  fins: MarkedSegment[];
  rsts: RstMark[];
  /** Client SYNs that repeat the client ISN. */
  synRetransmissions: Retransmissions;
  /** SYN-ACKs that repeat the first SYN-ACK's sequence number. */
  synAckRetransmissions: Retransmissions;
  /** FINs at the same sequence position (seq + len) as their side's first FIN, both sides together. */
  finRetransmissions: number;
  /** SYN without ACK from both sides. */
  simultaneousOpen: boolean;
  /** Each side sent its FIN before it had seen the other's: the second FIN does not acknowledge the first. */
  simultaneousClose: boolean;
  /** One side sent data after it had acknowledged the other side's FIN. */
  halfClose: boolean;
  /** Frames of the data segments sent after the peer's FIN was acknowledged (capped). */
  halfCloseFrames: number[];
  /** The first segment that acknowledged the first FIN was the other side's FIN (FIN, FIN+ACK, ACK). */
  mergedFinAckClose: boolean;
  /** Which FIN of each side was acknowledged by the other. */
  finAcked: { a: boolean; b: boolean };
  /** 'rst' or 'fin' (both FINs acknowledged); undefined while open. */
  closedBy: 'rst' | 'fin' | undefined;
  /** Neither a RST nor two acknowledged FINs by the end of the capture. */
  openAtEnd: boolean;
}

/** Flag counts of one direction. */
export interface DirectionFlags {
  syn: number;
  fin: number;
  rst: number;
}

export interface ConnectionTrackerOptions {
  /** Called once per connection when it is finalised. */
  onConnection?: (connection: TcpConnection) => void;
  /** Called for every segment with the id of the connection it was counted in (what a ladder of one connection draws). */
  onSegment?: (segment: TcpSegment, connectionId: number) => void;
  /** Keep finalised connections in `closed` (default false: memory bounded by open connections). */
  keepClosed?: boolean;
  /** Capture time a closed connection waits for late segments before it is finalised (default 60 s). */
  lingerUs?: number;
}

interface SideState {
  /** Base sequence of this direction (tshark base_seq), undefined until the side sends. */
  baseSeq: number | undefined;
  isnFromSyn: boolean;
  lastKind: SegmentKind;
  lastFrame: number;
  /** Whether this side's last segment carried an ACK (what the form of a RST answering it depends on). */
  lastHadAck: boolean;
  /** Sequence number that acknowledges this side's FIN (seq + len + 1), once it sent one. */
  finAckValue: number | undefined;
  firstFinSeq: number | undefined;
  finAcked: boolean;
  sentSyn: boolean;
}

interface Tracked {
  conn: TcpConnection;
  /** Side 0 = the first sender (address/port of `first`), side 1 = the other. */
  side: [SideState, SideState];
  firstAddr: string;
  /** The path (`via`, '' = none) each side's segments came through, from its first segment. */
  paths: [string | undefined, string | undefined];
  retransmissions: DataRetransmissionTracker;
  replay: CaptureStateReplay;
  firstPort: number;
  /** Which side is the client (0/1), once known. */
  clientSide: 0 | 1 | undefined;
  firstFinSide: 0 | 1 | undefined;
  firstFinResolved: boolean;
  closedAtUs: number | undefined;
  synIsn: number | undefined;
  synAckSeq: number | undefined;
  lastSynTimeUs: number | undefined;
  lastSynAckTimeUs: number | undefined;
}

/** Streaming connection tracker; see the module comment for the identity and memory model. */
export class ConnectionTracker {
  /** Finalised connections (only with keepClosed). */
  readonly closed: TcpConnection[] = [];
  /** Open connections by unordered 4-tuple; more than one when copies came through several VLANs/tunnels. */
  private readonly open = new Map<string, Tracked[]>();
  private openConnections = 0;
  private readonly onConnection: ((c: TcpConnection) => void) | undefined;
  private readonly onSegment: ((segment: TcpSegment, connectionId: number) => void) | undefined;
  private readonly keepClosed: boolean;
  private readonly lingerUs: number;
  private nextId = 0;
  private segments = 0;
  private lastSweepUs = -Infinity;
  private finished = false;

  constructor(options: ConnectionTrackerOptions = {}) {
    this.onConnection = options.onConnection;
    this.onSegment = options.onSegment;
    this.keepClosed = options.keepClosed ?? false;
    this.lingerUs = options.lingerUs ?? 60_000_000;
  }

  /** Number of connections currently held (open, or closed and lingering). */
  get openCount(): number {
    return this.openConnections;
  }

  /** Adds one segment (capture order). */
  push(seg: TcpSegment): void {
    if (this.finished) throw new Error('ConnectionTracker.push: finish() was already called; create a new tracker');
    this.segments++;
    const key = tupleKey(seg);
    const path = seg.via ?? '';
    let list = this.open.get(key);
    let t: Tracked | undefined;
    let si: 0 | 1 = 0;
    if (list !== undefined) {
      // The common case, one untunnelled connection on the tuple, without the path search.
      const only = list.length === 1 ? list[0]! : undefined;
      if (only !== undefined && path === '' && only.paths[0] !== undefined && only.paths[0] === only.paths[1] && only.paths[0] === '') t = only;
      else t = pickByPath(list, seg, path);
      if (t !== undefined) si = sideOf(t, seg);
    }
    const isSynOnly = (seg.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
    if (t !== undefined) {
      const s = t.side[si];
      if (isSynOnly && s.baseSeq !== undefined && (s.isnFromSyn ? seg.seq : (seg.seq - 1) >>> 0) !== s.baseSeq) {
        this.finalise(key, t); // tshark: "TCP Port numbers reused"
        t = undefined;
      } else if (t.closedAtUs !== undefined && seg.timeUs - t.closedAtUs > this.lingerUs) {
        this.finalise(key, t);
        t = undefined;
      }
    }
    if (t === undefined) {
      t = this.create(seg);
      list = this.open.get(key);
      if (list === undefined) this.open.set(key, [t]);
      else list.push(t);
      this.openConnections++;
      si = 0;
    }
    t.paths[si] ??= path;
    this.account(t, seg, si);
    this.onSegment?.(seg, t.conn.id);
    if (seg.timeUs - this.lastSweepUs > 1_000_000) this.sweep(seg.timeUs);
  }

  /** Finalises every remaining connection and returns all kept connections (sorted by id). */
  finish(): TcpConnection[] {
    if (!this.finished) {
      for (const [key, list] of [...this.open]) for (const t of [...list]) this.finalise(key, t);
      this.finished = true;
    }
    return [...this.closed].sort((x, y) => x.id - y.id);
  }

  /** Number of segments pushed so far. */
  get segmentCount(): number {
    return this.segments;
  }

  private sweep(nowUs: number): void {
    this.lastSweepUs = nowUs;
    for (const [key, list] of [...this.open]) {
      for (const t of [...list]) if (t.closedAtUs !== undefined && nowUs - t.closedAtUs > this.lingerUs) this.finalise(key, t);
    }
  }

  private finalise(key: string, t: Tracked): void {
    const list = this.open.get(key);
    if (list !== undefined) {
      const i = list.indexOf(t);
      if (i >= 0) {
        list.splice(i, 1);
        this.openConnections--;
      }
      if (list.length === 0) this.open.delete(key);
    }
    const c = t.conn;
    c.openAtEnd = c.closedBy === undefined;
    const client = t.clientSide ?? 0;
    const via = nameOfPaths(t.paths[client], t.paths[1 - client]);
    const histories = t.replay.histories();
    c.states = { client: histories[client], server: histories[1 - client]! };
    if (via !== undefined) c.via = via;
    if (t.clientSide === 1) swapSides(c);
    if (this.keepClosed) this.closed.push(c);
    this.onConnection?.(c);
  }

  private create(seg: TcpSegment): Tracked {
    const newSide = (): SideState => ({
      baseSeq: undefined,
      isnFromSyn: false,
      lastKind: 'none',
      lastFrame: 0,
      lastHadAck: false,
      finAckValue: undefined,
      firstFinSeq: undefined,
      finAcked: false,
      sentSyn: false,
    });
    const retransmissions = new DataRetransmissionTracker(RETRANSMISSION_LIMIT);
    const replay = new CaptureStateReplay();
    const conn: TcpConnection = {
      id: this.nextId++,
      family: seg.family,
      a: endpoint(seg.src, seg.srcPort, seg.family),
      b: endpoint(seg.dst, seg.dstPort, seg.family),
      aAddress: seg.src,
      aPort: seg.srcPort,
      bAddress: seg.dst,
      bPort: seg.dstPort,
      midStream: true,
      firstFrame: seg.frame,
      lastFrame: seg.frame,
      firstTimeUs: seg.timeUs,
      lastTimeUs: seg.timeUs,
      packets: 0,
      packetsAtoB: 0,
      packetsBtoA: 0,
      counts: { syn: 0, synAck: 0, fin: 0, rst: 0, pureAck: 0, data: 0 },
      bytesAtoB: 0,
      bytesBtoA: 0,
      flagsAtoB: { syn: 0, fin: 0, rst: 0 },
      flagsBtoA: { syn: 0, fin: 0, rst: 0 },
      dataRetransmissions: retransmissions.result,
      states: NOT_REPLAYED,
      synAckIsns: replay.synAckIsns,
      syns: [],
      synAcks: [],
      fins: [],
      rsts: [],
      synRetransmissions: { count: 0, timesUs: [], intervalsUs: [] },
      synAckRetransmissions: { count: 0, timesUs: [], intervalsUs: [] },
      finRetransmissions: 0,
      simultaneousOpen: false,
      simultaneousClose: false,
      halfClose: false,
      halfCloseFrames: [],
      mergedFinAckClose: false,
      finAcked: { a: false, b: false },
      closedBy: undefined,
      openAtEnd: false,
    };
    return {
      conn,
      side: [newSide(), newSide()],
      firstAddr: seg.src,
      paths: [undefined, undefined],
      retransmissions,
      replay,
      firstPort: seg.srcPort,
      clientSide: undefined,
      firstFinSide: undefined,
      firstFinResolved: false,
      closedAtUs: undefined,
      synIsn: undefined,
      synAckSeq: undefined,
      lastSynTimeUs: undefined,
      lastSynAckTimeUs: undefined,
    };
  }

  private account(t: Tracked, seg: TcpSegment, si: 0 | 1): void {
    const c = t.conn;
    const other = (1 - si) as 0 | 1;
    const me = t.side[si];
    const peer = t.side[other];
    const from: 'a' | 'b' = si === 0 ? 'a' : 'b'; // relative to the first sender; swapped at finalisation
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const hasAck = (flags & TcpFlag.ACK) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    const len = seg.payloadLength;

    c.packets++;
    c.lastFrame = seg.frame;
    c.lastTimeUs = seg.timeUs;
    if (si === 0) {
      c.packetsAtoB++;
      c.bytesAtoB += len;
    } else {
      c.packetsBtoA++;
      c.bytesBtoA += len;
    }
    const dirFlags = si === 0 ? c.flagsAtoB : c.flagsBtoA;
    if (syn) dirFlags.syn++;
    if (fin) dirFlags.fin++;
    if (rst) dirFlags.rst++;
    t.retransmissions.observe(seg, si);
    t.replay.observe(seg, si);
    if (me.baseSeq === undefined) {
      me.baseSeq = syn ? seg.seq : (seg.seq - 1) >>> 0;
      me.isnFromSyn = syn;
    }
    const mark = (): MarkedSegment => ({ frame: seg.frame, timeUs: seg.timeUs, from, seq: seg.seq, ack: seg.ack, flags, payloadLength: len });

    if (syn && !hasAck) {
      c.counts.syn++;
      c.midStream = false;
      me.sentSyn = true;
      if (peer.sentSyn) c.simultaneousOpen = true;
      if (t.clientSide === undefined) t.clientSide = si;
      if (c.syns.length < MARK_LIMIT) c.syns.push(mark());
      if (t.clientSide === si) {
        if (t.synIsn === undefined) {
          t.synIsn = seg.seq;
          recordSend(c.synRetransmissions, seg.timeUs, undefined);
        } else if (seg.seq === t.synIsn) {
          c.synRetransmissions.count++;
          recordSend(c.synRetransmissions, seg.timeUs, t.lastSynTimeUs);
        }
        t.lastSynTimeUs = seg.timeUs;
      }
    } else if (syn && hasAck) {
      c.counts.synAck++;
      c.midStream = false;
      if (t.clientSide === undefined) t.clientSide = other; // SYN missed (or reordered): the receiver is the client
      if (c.synAcks.length < MARK_LIMIT) c.synAcks.push(mark());
      if (t.synAckSeq === undefined) {
        t.synAckSeq = seg.seq;
        recordSend(c.synAckRetransmissions, seg.timeUs, undefined);
      } else if (seg.seq === t.synAckSeq) {
        c.synAckRetransmissions.count++;
        recordSend(c.synAckRetransmissions, seg.timeUs, t.lastSynAckTimeUs);
      }
      t.lastSynAckTimeUs = seg.timeUs;
    }
    if (fin) c.counts.fin++;
    if (rst) c.counts.rst++;
    if (len > 0) c.counts.data++;
    else if (hasAck && (flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0) c.counts.pureAck++;

    // Acknowledgement of the peer's FIN (this side has seen it).
    if (hasAck && !rst && peer.finAckValue !== undefined && seqGe(seg.ack, peer.finAckValue)) {
      if (!peer.finAcked) {
        peer.finAcked = true;
        if (t.firstFinSide === other && !t.firstFinResolved) {
          t.firstFinResolved = true;
          // Merged close: this side's *first* FIN carries the ACK (a re-sent FIN after crossing FINs does not count).
          if (fin && me.firstFinSeq === undefined) c.mergedFinAckClose = true;
        }
      }
      if (len > 0 && !syn) {
        c.halfClose = true;
        if (c.halfCloseFrames.length < MARK_LIMIT) c.halfCloseFrames.push(seg.frame);
      }
    }

    if (fin) {
      if (c.fins.length < MARK_LIMIT) c.fins.push(mark());
      if (me.firstFinSeq === undefined) {
        me.firstFinSeq = seg.seq;
        me.finAckValue = (seg.seq + len + (syn ? 1 : 0) + 1) >>> 0;
        if (t.firstFinSide === undefined) t.firstFinSide = si;
        else if (t.firstFinSide === other && !peer.finAcked && !(hasAck && peer.finAckValue !== undefined && seqGe(seg.ack, peer.finAckValue))) {
          // The second FIN does not acknowledge the first: the two FINs crossed.
          c.simultaneousClose = true;
        }
      } else if ((seg.seq + len + (syn ? 1 : 0) + 1) >>> 0 === me.finAckValue) {
        // Same FIN position (seq + len), possibly re-sent together with earlier data (tcpdump__ssh frame 49).
        c.finRetransmissions++;
      }
    }

    if (rst) {
      const r: RstMark = { ...mark(), inReplyTo: peer.lastKind };
      if (peer.lastFrame > 0) r.inReplyToFrame = peer.lastFrame;
      // RFC 9293 §3.10.7.1: a RST answering a segment that carries an ACK takes its seq from that ACK and carries
      // no ACK itself; one with ACK set after such a segment is the sender's own abort (§3.10.4; Linux
      // tcp_send_active_reset(): close() with unread data, SO_LINGER 0, a keepalive give-up).
      if (hasAck && peer.lastHadAck) r.ownAbort = true;
      if (c.rsts.length < MARK_LIMIT) c.rsts.push(r);
      if (c.closedBy === undefined) {
        c.closedBy = 'rst';
        t.closedAtUs = seg.timeUs;
      }
    }
    if (c.closedBy === undefined && t.side[0].finAcked && t.side[1].finAcked) {
      c.closedBy = 'fin';
      t.closedAtUs = seg.timeUs;
    }
    c.finAcked = { a: t.side[0].finAcked, b: t.side[1].finAcked };
    me.lastKind = kindOf(flags, len);
    me.lastHadAck = hasAck;
    me.lastFrame = seg.frame;
  }
}

/** Analyses segments (sync) or a capture file (async) into connections sorted by id. */
export function analyzeCapture(source: Iterable<TcpSegment>): CaptureAnalysis;
export function analyzeCapture(source: string): Promise<CaptureAnalysis>;
export function analyzeCapture(source: Iterable<TcpSegment> | string): CaptureAnalysis | Promise<CaptureAnalysis> {
  const tracker = new ConnectionTracker({ keepClosed: true });
  if (typeof source === 'string') {
    return decodeCaptureFile(source, (s) => tracker.push(s)).then(() => ({ connections: tracker.finish(), segments: tracker.segmentCount }));
  }
  for (const seg of source) tracker.push(seg);
  return { connections: tracker.finish(), segments: tracker.segmentCount };
}

export interface CaptureAnalysis {
  connections: TcpConnection[];
  segments: number;
}

/** Classifies a segment for "RST in reply to what". */
export function kindOf(flags: number, payloadLength: number): SegmentKind {
  if (flags & TcpFlag.RST) return 'RST';
  if (flags & TcpFlag.SYN) return flags & TcpFlag.ACK ? 'SYN-ACK' : 'SYN';
  if (flags & TcpFlag.FIN) return 'FIN';
  if (payloadLength > 0) return 'data';
  return 'ACK';
}

function recordSend(r: Retransmissions, timeUs: number, previousUs: number | undefined): void {
  if (r.timesUs.length < MARK_LIMIT) r.timesUs.push(timeUs);
  if (previousUs !== undefined && r.intervalsUs.length < MARK_LIMIT) r.intervalsUs.push(timeUs - previousUs);
}

/** a ≥ b in 32-bit sequence space (RFC 9293 §3.4). */
function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

function sideOf(t: Tracked, seg: TcpSegment): 0 | 1 {
  return seg.src === t.firstAddr && seg.srcPort === t.firstPort ? 0 : 1;
}

function tupleKey(seg: TcpSegment): string {
  const x = `${seg.src}|${seg.srcPort}`;
  const y = `${seg.dst}|${seg.dstPort}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

/**
 * Which of the tuple's parallel connections a segment belongs to, by the path (`via`) it came
 * through: the one that already saw this path in this direction; else one whose direction has no
 * path yet, preferring one that saw this path the other way; undefined when every connection saw
 * another path this way (the segment is a copy seen on another VLAN/tunnel: a new connection).
 */
function pickByPath(list: Tracked[], seg: TcpSegment, path: string): Tracked | undefined {
  let symmetric: Tracked | undefined;
  let free: Tracked | undefined;
  for (const t of list) {
    const side = sideOf(t, seg);
    const seen = t.paths[side];
    if (seen === path) return t;
    if (seen === undefined) {
      if (t.paths[1 - side] === path) symmetric ??= t;
      else free ??= t;
    }
  }
  return symmetric ?? free;
}

/** The connection's name for its paths: one path, or each direction's when they differ (a routed capture). */
function nameOfPaths(clientToServer: string | undefined, serverToClient: string | undefined): string | undefined {
  const forward = clientToServer ?? serverToClient ?? '';
  const backward = serverToClient ?? clientToServer ?? '';
  if (forward === backward) return forward === '' ? undefined : forward;
  return `${forward || 'untagged'} (client to server), ${backward || 'untagged'} (server to client)`;
}

function endpoint(address: string, port: number, family: 4 | 6): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

const flip = (f: 'a' | 'b'): 'a' | 'b' => (f === 'a' ? 'b' : 'a');

/** Makes side b the client (called when the first sender turned out to be the server). */
function swapSides(c: TcpConnection): void {
  [c.a, c.b] = [c.b, c.a];
  [c.aAddress, c.bAddress] = [c.bAddress, c.aAddress];
  [c.aPort, c.bPort] = [c.bPort, c.aPort];
  [c.packetsAtoB, c.packetsBtoA] = [c.packetsBtoA, c.packetsAtoB];
  [c.bytesAtoB, c.bytesBtoA] = [c.bytesBtoA, c.bytesAtoB];
  [c.flagsAtoB, c.flagsBtoA] = [c.flagsBtoA, c.flagsAtoB];
  for (const r of c.dataRetransmissions.segments) r.from = flip(r.from);
  c.finAcked = { a: c.finAcked.b, b: c.finAcked.a };
  for (const list of [c.syns, c.synAcks, c.fins, c.rsts] as MarkedSegment[][]) for (const m of list) m.from = flip(m.from);
}
