/** TCP flag bits as they sit in the header's flags byte (RFC 9293 §3.1; RFC 3168 for ECE/CWR). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sack?: Array<[number, number]>;
  timestamp?: { value: number; echo: number };
}

/** One TCP segment as decoded from a capture (or parsed from tcpdump text). */
export interface TcpSegment {
  /** 1-based frame number in the capture file (the number Wireshark shows). */
  frame: number;
  /** Capture time in microseconds since the Unix epoch (fractional for nanosecond captures). */
  timeUs: number;
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Absolute sequence and acknowledgment numbers (unsigned 32-bit). */
  seq: number;
  ack: number;
  /** Bitmask of TcpFlag values (the low 8 bits; the AE/NS bit is `ae`). */
  flags: number;
  ae?: boolean;
  window: number;
  /** TCP payload length from the IP header (not limited by the capture's snaplen). */
  payloadLength: number;
  options?: TcpOptions;
  /** Interface the packet was seen on (pcapng interface id or SLL ifindex) and, for SLL, its direction. */
  interfaceId?: number;
  direction?: 'in' | 'out';
  /** IPv4 identification field (absent for IPv6); used to recognise one packet seen on several interfaces. */
  ipId?: number;
  /** VLANs and tunnels the segment came through ("vlan 10 / gre 192.0.2.1<>192.0.2.2"); absent when untagged, untunnelled. */
  via?: string;
}

/** The sequence space a segment occupies: its payload, plus one each for SYN and FIN (RFC 9293 §3.4 SEG.LEN). */
export function sequenceLength(s: Pick<TcpSegment, 'payloadLength' | 'flags'>): number {
  return s.payloadLength + ((s.flags & TcpFlag.SYN) !== 0 ? 1 : 0) + ((s.flags & TcpFlag.FIN) !== 0 ? 1 : 0);
}

/** SEG.SEQ + SEG.LEN, modulo 2^32: the next sequence number after the segment (what acknowledges all of it). */
export function sequenceEnd(s: Pick<TcpSegment, 'seq' | 'payloadLength' | 'flags'>): number {
  return (s.seq + sequenceLength(s)) >>> 0;
}

/** Whether `r` acknowledges all of `s` (its ACK at or past SEG.SEQ + SEG.LEN, in sequence space). */
export function acknowledges(r: Pick<TcpSegment, 'flags' | 'ack'>, s: Pick<TcpSegment, 'seq' | 'payloadLength' | 'flags'>): boolean {
  return (r.flags & TcpFlag.ACK) !== 0 && ((r.ack - sequenceEnd(s)) | 0) >= 0;
}

/** A segment carrying data only: payload, no SYN, FIN or RST. */
export function isDataOnly(s: Pick<TcpSegment, 'payloadLength' | 'flags'>): boolean {
  return s.payloadLength > 0 && (s.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0;
}

/** One captured ICMP (v4) or ICMPv6 message: who sent it to whom, and its numeric type and code. */
export interface IcmpMessage {
  frame: number;
  timeUs: number;
  family: 4 | 6;
  src: string;
  dst: string;
  type: number;
  code: number;
  /**
   * For an error message (ICMP types 3, 4, 5, 11, 12; ICMPv6 types below 128) quoting a TCP segment: the
   * quoted segment's addresses, ports and sequence number, as the host that sent that segment wrote them
   * (RFC 792 and RFC 1122 4.2.3.9: the IP header and at least 8 bytes of the datagram; RFC 4443 2.4).
   */
  quoted?: QuotedSegment;
}

/** The start of a TCP segment quoted by an ICMP error: what tcp_v4_err() / tcp_v6_err() match a socket by. */
export interface QuotedSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
}

/** tcpdump's flag letters and their bits (print-tcp.c: F S R P . U E W). */
export const TCPDUMP_FLAG_LETTERS: Readonly<Record<string, number>> = {
  F: TcpFlag.FIN,
  S: TcpFlag.SYN,
  R: TcpFlag.RST,
  P: TcpFlag.PSH,
  '.': TcpFlag.ACK,
  U: TcpFlag.URG,
  E: TcpFlag.ECE,
  W: TcpFlag.CWR,
};

/** The flag bits of tcpdump letters (`S.` → SYN|ACK; `none` → 0); letters outside F S R P . U E W are ignored. */
export function parseFlagLetters(letters: string): number {
  if (letters === 'none') return 0;
  let flags = 0;
  for (const letter of letters) flags |= TCPDUMP_FLAG_LETTERS[letter] ?? 0;
  return flags;
}

/** Renders flags the way tcpdump does: letters in the order F S R P . U E W (print-tcp.c). */
export function formatFlags(flags: number): string {
  let s = '';
  if (flags & TcpFlag.FIN) s += 'F';
  if (flags & TcpFlag.SYN) s += 'S';
  if (flags & TcpFlag.RST) s += 'R';
  if (flags & TcpFlag.PSH) s += 'P';
  if (flags & TcpFlag.ACK) s += '.';
  if (flags & TcpFlag.URG) s += 'U';
  if (flags & TcpFlag.ECE) s += 'E';
  if (flags & TcpFlag.CWR) s += 'W';
  return s === '' ? 'none' : s;
}
