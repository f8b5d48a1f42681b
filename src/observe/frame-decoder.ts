/**
 * Decodes one captured frame (link layer → encapsulations → IPv4/IPv6 → TCP) into a TcpSegment.
 *
 * Model: the container parser (capture-decoder.ts) hands over a window of its current chunk
 * (`buf`, `off`, `caplen`) plus the record's metadata; nothing is copied. Every read is bounded
 * by `caplen`, so a short or corrupt frame is counted and skipped, never read past. Lengths come
 * from the IP headers (payloadLength is what was sent, not what was captured); a frame cut by the
 * snaplen inside the TCP header still yields a segment if the fixed 20-byte header is complete.
 *
 * Encapsulations are peeled in any order and depth (at most MAX_DEPTH layers): 802.1Q/802.1ad/QinQ
 * tags, PBB, MPLS label stacks (with a pseudowire control word), PPPoE sessions and PPP, Cisco
 * HDLC, Linux NFLOG TLVs, 802.11 data frames (also inside Aruba GRE), GRE (RFC 2784/2890, PPTP's
 * enhanced GRE RFC 2637, transparent Ethernet bridging 0x6558, ERSPAN types I, II and III), IP-in-IP
 * and 6in4 (IP protocols 4 and 41), VXLAN (RFC 7348, UDP 4789) and Geneve (RFC 8926, UDP 6081).
 * What a segment came through is named in `via` ("vlan 100.200 / gre 10.0.0.1<>10.0.0.2"), with
 * only direction-independent parts (VLAN ids, sorted outer addresses, VNI, session ids), so both
 * directions of one connection carry the same name and the tracker keeps copies seen through
 * different VLANs or tunnels apart.
 *
 * Nothing is dropped silently: a frame that is not TCP but understood (ARP, UDP, ICMP, LLDP …) is
 * counted in `skippedNonTcp`; a frame that might hold TCP but could not be decoded (an unknown link
 * type or EtherType, an encrypted or compressed payload, a later IP fragment, a truncated header)
 * is counted under its reason in `skipped`.
 */
import { formatIpv4, formatIpv6 } from './ip-address.js';
import { EtherType, isArubaGreProtocol, LinkType, linkTypeName, NON_IP_ETHERTYPES, PppProtocol } from './link-types.js';
import type { IcmpMessage, QuotedSegment, TcpSegment } from './packet.js';
import { parseTcpOptions } from './tcp-options.js';

export { LinkType } from './link-types.js';
export { parseTcpOptions } from './tcp-options.js';

/** Counters a decoder keeps while it runs. */
export interface CaptureStats {
  format: 'pcap' | 'pcapng' | undefined;
  /** Packets in the file (every record, TCP or not); the last frame number handed out. */
  frames: number;
  tcpSegments: number;
  /** Frames understood to hold no TCP (ARP, UDP, ICMP, LLDP, 802.11 management …). */
  skippedNonTcp: number;
  /** Frames too short (caplen) or malformed for the headers they announce (also counted in `skipped`). */
  truncatedFrames: number;
  /** Frames that might hold TCP but were not decoded, by reason (insertion order = first seen). */
  skipped: Map<string, number>;
  /** Link types seen (pcap header or pcapng IDBs), in order of first appearance. */
  linkTypes: number[];
}

/** Creates an all-zero stats object. */
export function createCaptureStats(): CaptureStats {
  return { format: undefined, frames: 0, tcpSegments: 0, skippedNonTcp: 0, truncatedFrames: 0, skipped: new Map(), linkTypes: [] };
}

/** The `skipped` map as a list, most frequent first: what the CLI prints and the JSON holds. */
export function skippedList(stats: CaptureStats): Array<{ reason: string; frames: number }> {
  return [...stats.skipped].map(([reason, frames]) => ({ reason, frames })).sort((x, y) => y.frames - x.frames);
}

const TRUNCATED = 'truncated or malformed header';
const IPV4_CACHE_LIMIT = 65536;
/** Most encapsulation layers peeled from one frame (a loop guard, far above real stacks). */
const MAX_DEPTH = 12;
const UDP_VXLAN = 4789;
const UDP_GENEVE = 6081;
/** ICMPv4 error types, which quote the datagram that caused them: unreachable, source quench, redirect, time exceeded, parameter problem. */
const ICMP_ERROR_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);

/** Stateful frame decoder: owns the stats and the IPv4 address-string cache. */
export class FrameDecoder {
  readonly stats: CaptureStats;
  private readonly v4Cache = new Map<number, string>();
  // The frame being decoded (set by decode(); saves passing them through every layer).
  private buf: Buffer = Buffer.alloc(0);
  private frame = 0;
  private timeUs = 0;
  private ifId: number | undefined;
  private direction: 'in' | 'out' | undefined;
  private via: string[] = [];
  private depth = 0;

  /** Called for each ICMP/ICMPv6 message outside a tunnel (the messages are otherwise counted as not TCP). */
  onIcmp: ((message: IcmpMessage) => void) | undefined;

  constructor(stats: CaptureStats) {
    this.stats = stats;
  }

  private icmp(family: 4 | 6, p: number, end: number, src: string, dst: string): undefined {
    if (this.onIcmp !== undefined && this.via.length === 0 && p + 2 <= end) {
      const type = this.buf[p]!;
      const code = this.buf[p + 1]!;
      const isError = family === 4 ? ICMP_ERROR_TYPES.has(type) : type < 128;
      const quoted = isError ? this.quotedTcp(family, p + 8, end) : undefined;
      this.onIcmp({ frame: this.frame, timeUs: this.timeUs, family, src, dst, type, code, ...(quoted !== undefined && { quoted }) });
    }
    return this.notTcp();
  }

  /** The TCP segment an ICMP error quotes from `q` (its IP header, then at least 8 bytes), or undefined if it quotes no TCP. */
  private quotedTcp(family: 4 | 6, q: number, end: number): QuotedSegment | undefined {
    const buf = this.buf;
    let t: number;
    let src: string;
    let dst: string;
    if (family === 4) {
      if (q + 20 > end || buf[q]! >> 4 !== 4 || buf[q + 9] !== 6) return undefined;
      t = q + (buf[q]! & 0x0f) * 4;
      src = this.ipv4String(q + 12);
      dst = this.ipv4String(q + 16);
    } else {
      if (q + 40 > end || buf[q]! >> 4 !== 6 || buf[q + 6] !== 6) return undefined;
      t = q + 40;
      src = formatIpv6(buf, q + 8);
      dst = formatIpv6(buf, q + 24);
    }
    if (t + 8 > end) return undefined;
    return { src, dst, srcPort: this.u16(t), dstPort: this.u16(t + 2), seq: this.u32(t + 4) };
  }

  /** Decodes one frame; returns the segment, or undefined (and counts why) if it is not a decodable TCP segment. */
  decode(buf: Buffer, off: number, caplen: number, linkType: number, frame: number, timeUs: number, interfaceId: number | undefined): TcpSegment | undefined {
    const end = off + caplen;
    this.buf = buf;
    this.frame = frame;
    this.timeUs = timeUs;
    this.ifId = interfaceId;
    this.direction = undefined;
    if (this.via.length > 0) this.via = [];
    this.depth = 0;
    const p = off;
    switch (linkType) {
      case LinkType.EN10MB:
        return this.ethernet(p, end);
      case LinkType.LINUX_SLL: {
        if (caplen < 16) return this.truncated();
        this.direction = sllDirection(this.u16(p));
        return this.etherType(this.u16(p + 14), p + 16, end);
      }
      case LinkType.LINUX_SLL2: {
        if (caplen < 20) return this.truncated();
        this.ifId = this.u32(p + 4);
        this.direction = sllDirection(buf[p + 10]!);
        return this.etherType(this.u16(p), p + 20, end);
      }
      case LinkType.RAW:
      case LinkType.RAW_12:
      case LinkType.RAW_14:
        return this.ip(p, end);
      case LinkType.IPV4:
        return this.ipv4(p, end);
      case LinkType.IPV6:
        return this.ipv6(p, end);
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (caplen < 4) return this.truncated();
        // The AF value is in the writer's host order (NULL) or network order (LOOP); accept both.
        let af = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
        if (af > 0xffff || af < 0) af = this.u32(p);
        if (af === 2) return this.ipv4(p + 4, end);
        if (af === 24 || af === 28 || af === 30 || af === 10) return this.ipv6(p + 4, end);
        return this.notTcp();
      }
      case LinkType.C_HDLC:
        return this.ciscoHdlc(p, end);
      case LinkType.PPP:
      case LinkType.PPP_HDLC:
        if (caplen >= 1 && (buf[p] === 0x0f || buf[p] === 0x8f)) return this.ciscoHdlc(p, end);
        return this.ppp(p, end);
      case LinkType.PPP_PPPD: // one direction byte, then PPP in HDLC-like framing
        if (caplen < 1) return this.truncated();
        this.direction = buf[p] === 0 ? 'in' : 'out';
        return this.ppp(p + 1, end);
      case LinkType.PPP_ETHER:
        return this.pppoe(p, end);
      case LinkType.NFLOG:
        return this.nflog(p, end);
      case LinkType.IEEE802_11:
        return this.ieee80211(p, end);
      case LinkType.IEEE802_11_RADIOTAP: {
        if (caplen < 4) return this.truncated();
        const length = buf[p + 2]! | (buf[p + 3]! << 8);
        return this.ieee80211(p + length, end);
      }
      default:
        return this.skip(`link type ${linkType} (${linkTypeName(linkType)}) not decoded`);
    }
  }

  /** Ethernet II / 802.3 header, then any number of VLAN tags (802.1Q, 802.1ad, old QinQ types). */
  private ethernet(p: number, end: number): TcpSegment | undefined {
    if (p + 14 > end) return this.truncated();
    let type = this.u16(p + 12);
    let q = p + 14;
    let vlans: string | undefined;
    while (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD || type === EtherType.QINQ_OLD2 || type === EtherType.QINQ_OLD3) {
      if (q + 4 > end) return this.truncated();
      const id = this.u16(q) & 0x0fff;
      if (id !== 0) vlans = vlans === undefined ? `${id}` : `${vlans}.${id}`; // id 0: a priority tag only
      type = this.u16(q + 2);
      q += 4;
    }
    if (vlans !== undefined) this.via.push(`vlan ${vlans}`);
    if (type < 0x0600) return this.llc(q, end); // 802.3 length field: an LLC header follows
    return this.etherType(type, q, end);
  }

  /** Dispatches on an EtherType (also used for GRE, Geneve, SLL and Cisco HDLC protocol fields). */
  private etherType(type: number, p: number, end: number): TcpSegment | undefined {
    if (type === EtherType.IPV4) return this.ipv4(p, end);
    if (type === EtherType.IPV6) return this.ipv6(p, end);
    if (++this.depth > MAX_DEPTH) return this.skip(`more than ${MAX_DEPTH} nested encapsulations`);
    switch (type) {
      case EtherType.VLAN:
      case EtherType.QINQ:
      case EtherType.QINQ_OLD:
      case EtherType.QINQ_OLD2:
      case EtherType.QINQ_OLD3: {
        // A tag without its Ethernet header (SLL, GRE): re-enter the tag loop via a fake header offset.
        if (p + 4 > end) return this.truncated();
        const id = this.u16(p) & 0x0fff;
        if (id !== 0) this.via.push(`vlan ${id}`);
        return this.etherType(this.u16(p + 2), p + 4, end);
      }
      case EtherType.MPLS:
      case EtherType.MPLS_MULTICAST:
        return this.mpls(p, end);
      case EtherType.PPPOE_SESSION:
        return this.pppoe(p, end);
      case EtherType.TRANSPARENT_ETHERNET:
        return this.ethernet(p, end);
      case EtherType.PBB: {
        // 802.1ah I-TAG (4 bytes: flags + 24-bit I-SID), then the customer's MAC addresses.
        if (p + 4 > end) return this.truncated();
        this.via.push(`pbb isid ${this.u32(p) & 0xffffff}`);
        return this.ethernet(p + 4, end);
      }
      case EtherType.PPP:
        return this.ppp(p, end);
      default:
        if (NON_IP_ETHERTYPES.has(type)) return this.notTcp();
        return this.skip(`ethertype 0x${hex4(type)} not decoded`);
    }
  }

  /** 802.2 LLC: SNAP (AA AA 03, OUI, EtherType) is followed; other SAPs (STP, NetBIOS …) carry no TCP. */
  private llc(p: number, end: number): TcpSegment | undefined {
    if (p + 3 > end) return this.truncated();
    if (this.buf[p] === 0xaa && this.buf[p + 1] === 0xaa && this.buf[p + 2] === 0x03) {
      if (p + 8 > end) return this.truncated();
      return this.etherType(this.u16(p + 6), p + 8, end);
    }
    if (this.buf[p] === 0x06 && this.buf[p + 1] === 0x06) return this.ip(p + 3, end); // SAP 6: IP (RFC 948)
    return this.notTcp();
  }

  /** Cisco HDLC (LINKTYPE_C_HDLC): address 0x0f/0x8f, control 0, a 16-bit EtherType. */
  private ciscoHdlc(p: number, end: number): TcpSegment | undefined {
    if (p + 4 > end) return this.truncated();
    return this.etherType(this.u16(p + 2), p + 4, end);
  }

  /** PPP (RFC 1661): optional FF 03 address/control, a protocol field of 1 (odd first byte) or 2 bytes. */
  private ppp(p: number, end: number): TcpSegment | undefined {
    let q = p;
    if (q + 2 <= end && this.buf[q] === 0xff && this.buf[q + 1] === 0x03) q += 2;
    if (q + 1 > end) return this.truncated();
    let protocol: number;
    if (this.buf[q]! & 1) {
      protocol = this.buf[q]!;
      q += 1;
    } else {
      if (q + 2 > end) return this.truncated();
      protocol = this.u16(q);
      q += 2;
    }
    switch (protocol) {
      case PppProtocol.IPV4:
        return this.ipv4(q, end);
      case PppProtocol.IPV6:
        return this.ipv6(q, end);
      case PppProtocol.MPLS:
      case PppProtocol.MPLS_MULTICAST:
        return this.mpls(q, end);
      case PppProtocol.VJ_COMPRESSED:
      case PppProtocol.VJ_UNCOMPRESSED:
        return this.skip('PPP Van Jacobson compressed TCP/IP not decoded');
      case PppProtocol.COMPRESSED:
        return this.skip('PPP compressed datagram (CCP) not decoded');
      default:
        // 0x8000–0xbfff are network control protocols, 0xc000+ link control (LCP, PAP, CHAP): no TCP.
        if (protocol >= 0x8000) return this.notTcp();
        return this.skip(`PPP protocol 0x${hex4(protocol)} not decoded`);
    }
  }

  /** PPPoE session stage (RFC 2516 §4): 6-byte header, then a PPP protocol field. */
  private pppoe(p: number, end: number): TcpSegment | undefined {
    if (p + 8 > end) return this.truncated();
    if (this.buf[p + 1] !== 0) return this.notTcp(); // a discovery packet (PADI, PADO …) on the session type
    this.via.push(`pppoe session 0x${hex4(this.u16(p + 2))}`);
    return this.ppp(p + 6, end);
  }

  /** MPLS label stack (RFC 3032) up to the bottom-of-stack bit, then IPv4/IPv6 or a pseudowire. */
  private mpls(p: number, end: number): TcpSegment | undefined {
    let q = p;
    for (;;) {
      if (q + 4 > end) return this.truncated();
      const bottom = (this.buf[q + 2]! & 0x01) === 1;
      q += 4;
      if (bottom) break;
      if (q - p > 4 * MAX_DEPTH) return this.skip(`MPLS label stack deeper than ${MAX_DEPTH}`);
    }
    this.via.push('mpls');
    if (q >= end) return this.truncated();
    const nibble = this.buf[q]! >> 4;
    if (nibble === 4) return this.ipv4(q, end);
    if (nibble === 6) return this.ipv6(q, end);
    if (nibble === 0) return this.ethernet(q + 4, end); // Ethernet pseudowire with control word (RFC 4448)
    return this.skip('MPLS payload not IPv4, IPv6 or an Ethernet pseudowire');
  }

  /**
   * Linux NFLOG (LINKTYPE_NFLOG): family, version, resource id, then TLVs whose length and type are
   * in the writer's host order; the packet is the NFULA_PAYLOAD (type 9) TLV's value, an IP packet.
   */
  private nflog(p: number, end: number): TcpSegment | undefined {
    if (p + 4 > end) return this.truncated();
    const family = this.buf[p]!;
    let q = p + 4;
    let littleEndian: boolean | undefined;
    while (q + 4 <= end) {
      const le = this.buf[q]! | (this.buf[q + 1]! << 8);
      const be = this.u16(q);
      if (littleEndian === undefined) littleEndian = le >= 4 && q + le <= end ? true : !(be >= 4 && q + be <= end);
      const length = littleEndian ? le : be;
      const type = (littleEndian ? this.buf[q + 2]! | (this.buf[q + 3]! << 8) : this.u16(q + 2)) & 0x3fff;
      if (length < 4 || q + length > end) return this.truncated();
      if (type === 9) {
        if (family === 2) return this.ipv4(q + 4, q + length);
        if (family === 10) return this.ipv6(q + 4, q + length);
        return this.ip(q + 4, q + length);
      }
      q += (length + 3) & ~3;
    }
    return this.notTcp(); // no payload TLV: a log message without the packet
  }

  /** An 802.11 data frame (no FCS assumed; IP lengths bound the packet): header, LLC/SNAP, EtherType. */
  private ieee80211(p: number, end: number): TcpSegment | undefined {
    if (p + 24 > end) return this.truncated();
    const fc0 = this.buf[p]!;
    const fc1 = this.buf[p + 1]!;
    if (((fc0 >> 2) & 3) !== 2) return this.notTcp(); // management or control frame
    const subtype = fc0 >> 4;
    if (subtype & 0x04) return this.notTcp(); // null data: no body
    if (fc1 & 0x40) return this.skip('encrypted 802.11 frame (protected bit) not decoded');
    let q = p + 24;
    if ((fc1 & 0x03) === 0x03) q += 6; // four-address frame (WDS)
    if (subtype & 0x08) {
      q += 2; // QoS control
      if (fc1 & 0x80) q += 4; // HT control (+HTC/order bit)
    }
    return this.llc(q, end);
  }

  /** Decides IPv4 or IPv6 from the version nibble (raw IP link types, NFLOG of unknown family). */
  private ip(p: number, end: number): TcpSegment | undefined {
    if (p >= end) return this.truncated();
    const version = this.buf[p]! >> 4;
    if (version === 4) return this.ipv4(p, end);
    if (version === 6) return this.ipv6(p, end);
    return this.skip(`IP version ${version} not decoded`);
  }

  private ipv4(p: number, end: number): TcpSegment | undefined {
    const buf = this.buf;
    if (p + 20 > end) return this.truncated();
    const b0 = buf[p]!;
    if (b0 >> 4 !== 4) return this.truncated();
    const ihl = (b0 & 0x0f) * 4;
    if (ihl < 20) return this.truncated();
    const totalLength = (buf[p + 2]! << 8) | buf[p + 3]!;
    const fragment = ((buf[p + 6]! << 8) | buf[p + 7]!) & 0x1fff;
    const protocol = buf[p + 9]!;
    // Total length 0 appears on TSO/GSO captures: fall back to what was captured.
    const ipLength = totalLength === 0 ? end - p : totalLength;
    if (ipLength < ihl) return this.truncated();
    if (protocol === 6) {
      if (fragment !== 0) return this.skip('IPv4 fragment after the first (not reassembled)');
      const ipId = (buf[p + 4]! << 8) | buf[p + 5]!;
      return this.tcp(p + ihl, end, ipLength - ihl, 4, this.ipv4String(p + 12), this.ipv4String(p + 16), ipId);
    }
    if (fragment !== 0) return this.notTcpOrTunnelFragment(protocol);
    if (protocol === 1) return this.icmp(4, p + ihl, Math.min(end, p + ipLength), this.ipv4String(p + 12), this.ipv4String(p + 16));
    return this.ipPayload(protocol, p + ihl, Math.min(end, p + ipLength), () => pair(this.ipv4String(p + 12), this.ipv4String(p + 16)));
  }

  private ipv6(p: number, end: number): TcpSegment | undefined {
    const buf = this.buf;
    if (p + 40 > end) return this.truncated();
    if (buf[p]! >> 4 !== 6) return this.truncated();
    let payloadLength = (buf[p + 4]! << 8) | buf[p + 5]!;
    if (payloadLength === 0) payloadLength = end - p - 40; // jumbogram or TSO: use what was captured
    let next = buf[p + 6]!;
    let q = p + 40;
    // Walk extension headers (RFC 8200 §4): hop-by-hop 0, routing 43, fragment 44, dest-opts 60, AH 51.
    for (let guard = 0; guard < 16; guard++) {
      if (next === 6) {
        return this.tcp(q, end, payloadLength, 6, formatIpv6(buf, p + 8), formatIpv6(buf, p + 24), undefined);
      }
      if (next === 0 || next === 43 || next === 60) {
        if (q + 2 > end) return this.truncated();
        const len = (buf[q + 1]! + 1) * 8;
        next = buf[q]!;
        q += len;
        payloadLength -= len;
      } else if (next === 44) {
        if (q + 8 > end) return this.truncated();
        const fragmentOffset = ((buf[q + 2]! << 8) | buf[q + 3]!) >> 3;
        if (fragmentOffset !== 0) return this.notTcpOrTunnelFragment(buf[q]!, 'IPv6');
        next = buf[q]!;
        q += 8;
        payloadLength -= 8;
      } else if (next === 51) {
        if (q + 2 > end) return this.truncated();
        const len = (buf[q + 1]! + 2) * 4;
        next = buf[q]!;
        q += len;
        payloadLength -= len;
      } else if (next === 58) {
        return this.icmp(6, q, Math.min(end, q + payloadLength), formatIpv6(buf, p + 8), formatIpv6(buf, p + 24));
      } else {
        return this.ipPayload(next, q, Math.min(end, q + payloadLength), () => pair(formatIpv6(buf, p + 8), formatIpv6(buf, p + 24)));
      }
      if (payloadLength < 0) return this.truncated();
    }
    return this.truncated();
  }

  /** A non-TCP IP payload: a tunnel (IP-in-IP, 6in4, GRE, VXLAN, Geneve) is followed, anything else is not TCP. */
  private ipPayload(protocol: number, p: number, end: number, outer: () => string): TcpSegment | undefined {
    if (++this.depth > MAX_DEPTH) return this.skip(`more than ${MAX_DEPTH} nested encapsulations`);
    switch (protocol) {
      case 4:
        this.via.push(`ipip ${outer()}`);
        return this.ipv4(p, end);
      case 41:
        this.via.push(`6in4 ${outer()}`);
        return this.ipv6(p, end);
      case 47:
        return this.gre(p, end, outer);
      case 17:
        return this.udp(p, end, outer);
      case 50:
        return this.skip('IPsec ESP (encrypted) not decoded');
      default:
        return this.notTcp(); // ICMP, IGMP, OSPF, SCTP …
    }
  }

  /** A later fragment: TCP (or a tunnel that may hold TCP) that cannot be read without reassembly. */
  private notTcpOrTunnelFragment(protocol: number, family = 'IPv4'): undefined {
    if (protocol === 6 || protocol === 4 || protocol === 41 || protocol === 47 || protocol === 17) {
      return this.skip(`${family} fragment after the first (not reassembled)`);
    }
    return this.notTcp();
  }

  /**
   * GRE: version 0 (RFC 2784 with RFC 2890 key/sequence, RFC 1701 routing) or version 1 (PPTP,
   * RFC 2637: key = payload length + call id, optional sequence and acknowledgment numbers).
   * Protocol 0x88BE is ERSPAN type II when the sequence bit is set, type I otherwise (Wireshark's
   * rule); 0x22EB is ERSPAN type III; Aruba's 0x82x0 protocols carry 802.11 frames.
   */
  private gre(p: number, end: number, outer: () => string): TcpSegment | undefined {
    if (p + 4 > end) return this.truncated();
    const flags = this.u16(p);
    const protocol = this.u16(p + 2);
    const version = flags & 0x07;
    let q = p + 4;
    if (version === 0) {
      if (flags & 0xc000) q += 4; // checksum (C) and/or routing (R): checksum + offset
      if (flags & 0x2000) q += 4; // key
      if (flags & 0x1000) q += 4; // sequence number
      if (flags & 0x4000) {
        // RFC 1701 source route entries, ended by a NULL SRE (address family 0, length 0).
        for (;;) {
          if (q + 4 > end) return this.truncated();
          const length = this.buf[q + 3]!;
          q += 4;
          if (length === 0) break;
          q += length;
        }
      }
    } else if (version === 1) {
      q += 4; // payload length + call id
      if (flags & 0x1000) q += 4;
      if (flags & 0x0080) q += 4; // acknowledgment number
    } else {
      return this.skip(`GRE version ${version} not decoded`);
    }
    if (q > end) return this.truncated();
    this.via.push(`gre ${outer()}`);
    if (protocol === EtherType.ERSPAN_I_II) {
      if (!(flags & 0x1000)) {
        this.via.push('erspan I');
        return this.ethernet(q, end);
      }
      if (q + 8 > end) return this.truncated();
      this.via.push(`erspan II session ${this.u16(q + 2) & 0x3ff}`);
      return this.ethernet(q + 8, end);
    }
    if (protocol === EtherType.ERSPAN_III) {
      if (q + 12 > end) return this.truncated();
      this.via.push(`erspan III session ${this.u16(q + 2) & 0x3ff}`);
      const frameType = (this.u16(q + 10) >> 10) & 0x1f;
      const inner = q + 12 + (this.buf[q + 11]! & 0x01 ? 8 : 0); // O bit: an 8-byte platform sub-header
      if (frameType === 0) return this.ethernet(inner, end);
      if (frameType === 2) return this.ip(inner, end);
      return this.skip(`ERSPAN III frame type ${frameType} not decoded`);
    }
    if (isArubaGreProtocol(protocol)) return this.ieee80211(q, end);
    return this.etherType(protocol, q, end);
  }

  /** UDP: VXLAN (4789) and Geneve (6081) on either port are followed; other UDP is not TCP. */
  private udp(p: number, end: number, outer: () => string): TcpSegment | undefined {
    if (p + 8 > end) return this.notTcp();
    const sport = this.u16(p);
    const dport = this.u16(p + 2);
    const q = p + 8;
    if (dport === UDP_VXLAN || sport === UDP_VXLAN) {
      if (q + 8 > end) return this.truncated();
      if (!(this.buf[q]! & 0x08)) return this.skip('VXLAN header without a valid VNI (I flag clear)');
      this.via.push(`vxlan vni ${this.u32(q + 4) >>> 8} ${outer()}`);
      return this.ethernet(q + 8, end);
    }
    if (dport === UDP_GENEVE || sport === UDP_GENEVE) {
      if (q + 8 > end) return this.truncated();
      const headerLength = 8 + (this.buf[q]! & 0x3f) * 4;
      const protocol = this.u16(q + 2);
      this.via.push(`geneve vni ${this.u32(q + 4) >>> 8} ${outer()}`);
      return this.etherType(protocol, q + headerLength, end);
    }
    return this.notTcp();
  }

  private tcp(t: number, end: number, ipPayloadLength: number, family: 4 | 6, src: string, dst: string, ipId: number | undefined): TcpSegment | undefined {
    const buf = this.buf;
    if (t + 20 > end) return this.truncated();
    const dataOffset = (buf[t + 12]! >> 4) * 4;
    if (dataOffset < 20) return this.truncated();
    const payloadLength = ipPayloadLength - dataOffset;
    if (payloadLength < 0) return this.truncated();
    const optionsEnd = Math.min(t + dataOffset, end);
    const options = optionsEnd > t + 20 ? parseTcpOptions(buf, t + 20, optionsEnd) : undefined;
    this.stats.tcpSegments++;
    const segment: TcpSegment = {
      frame: this.frame,
      timeUs: this.timeUs,
      family,
      src,
      dst,
      srcPort: (buf[t]! << 8) | buf[t + 1]!,
      dstPort: (buf[t + 2]! << 8) | buf[t + 3]!,
      seq: ((buf[t + 4]! << 24) | (buf[t + 5]! << 16) | (buf[t + 6]! << 8) | buf[t + 7]!) >>> 0,
      ack: ((buf[t + 8]! << 24) | (buf[t + 9]! << 16) | (buf[t + 10]! << 8) | buf[t + 11]!) >>> 0,
      flags: buf[t + 13]!,
      ae: (buf[t + 12]! & 1) === 1,
      window: (buf[t + 14]! << 8) | buf[t + 15]!,
      payloadLength,
      options,
      interfaceId: this.ifId,
      direction: this.direction,
      ipId,
    };
    if (this.via.length > 0) segment.via = this.via.join(' / ');
    return segment;
  }

  private ipv4String(o: number): string {
    const u32 = this.u32(o);
    let s = this.v4Cache.get(u32);
    if (s === undefined) {
      if (this.v4Cache.size >= IPV4_CACHE_LIMIT) this.v4Cache.clear();
      s = formatIpv4(u32);
      this.v4Cache.set(u32, s);
    }
    return s;
  }

  private u16(o: number): number {
    return (this.buf[o]! << 8) | this.buf[o + 1]!;
  }

  private u32(o: number): number {
    const b = this.buf;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  private truncated(): undefined {
    this.stats.truncatedFrames++;
    return this.skip(TRUNCATED);
  }

  private skip(reason: string): undefined {
    this.stats.skipped.set(reason, (this.stats.skipped.get(reason) ?? 0) + 1);
    return undefined;
  }

  private notTcp(): undefined {
    this.stats.skippedNonTcp++;
    return undefined;
  }
}

/** The two outer endpoints of a tunnel in a fixed order, so both directions get one name. */
function pair(x: string, y: string): string {
  return x < y ? `${x}<>${y}` : `${y}<>${x}`;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** SLL packet types (include/uapi/linux/if_packet.h): 0 PACKET_HOST → in, 4 PACKET_OUTGOING → out. */
function sllDirection(pktType: number): 'in' | 'out' | undefined {
  if (pktType === 0 || pktType === 1 || pktType === 2 || pktType === 3) return 'in';
  if (pktType === 4) return 'out';
  return undefined;
}
