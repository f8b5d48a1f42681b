/**
 * Decodes one captured frame (link layer → IPv4/IPv6 → TCP) into a TcpSegment.
 *
 * Model: the container parser (capture-decoder.ts) hands over a window of its current chunk
 * (`buf`, `off`, `caplen`) plus the record's metadata; nothing is copied. Every read is bounded
 * by `caplen`, so a short or corrupt frame is counted (`truncatedFrames`) and skipped, never read
 * past. Lengths come from the IP headers (payloadLength is what was sent, not what was captured);
 * a frame that is cut by the snaplen inside the TCP header still yields a segment if the fixed
 * 20-byte header is complete. Link types follow https://www.tcpdump.org/linktypes.html.
 */
import { formatIpv4, formatIpv6 } from './ip-address.js';
import type { TcpOptions, TcpSegment } from './packet.js';

/** Link-layer header types this decoder understands (LINKTYPE_* numbers as stored in files). */
export const LinkType = {
  NULL: 0,
  EN10MB: 1,
  RAW_12: 12,
  RAW_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Counters a decoder keeps while it runs. */
export interface CaptureStats {
  format: 'pcap' | 'pcapng' | undefined;
  /** Packets in the file (every record, TCP or not); the last frame number handed out. */
  frames: number;
  tcpSegments: number;
  /** Frames that are not TCP (ARP, UDP, ICMP, non-first IP fragments, unknown link types). */
  skippedNonTcp: number;
  /** Frames too short (caplen) or malformed for the headers they announce; skipped. */
  truncatedFrames: number;
  /** Link types seen (pcap header or pcapng IDBs), in order of first appearance. */
  linkTypes: number[];
}

/** Creates an all-zero stats object. */
export function createCaptureStats(): CaptureStats {
  return { format: undefined, frames: 0, tcpSegments: 0, skippedNonTcp: 0, truncatedFrames: 0, linkTypes: [] };
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPV4_CACHE_LIMIT = 65536;

/** Stateful frame decoder: owns the stats and the IPv4 address-string cache. */
export class FrameDecoder {
  readonly stats: CaptureStats;
  private readonly v4Cache = new Map<number, string>();

  constructor(stats: CaptureStats) {
    this.stats = stats;
  }

  /** Decodes one frame; returns the segment, or undefined (and counts why) if it is not a decodable TCP segment. */
  decode(
    buf: Buffer,
    off: number,
    caplen: number,
    linkType: number,
    frame: number,
    timeUs: number,
    interfaceId: number | undefined,
  ): TcpSegment | undefined {
    const end = off + caplen;
    let p = off;
    let etherType = -1; // -1: decide from the IP version nibble
    let direction: 'in' | 'out' | undefined;
    let ifId = interfaceId;
    switch (linkType) {
      case LinkType.EN10MB: {
        if (caplen < 14) return this.truncated();
        etherType = (buf[p + 12]! << 8) | buf[p + 13]!;
        p += 14;
        // 802.1Q, 802.1ad and the old QinQ 0x9100 tags, possibly stacked.
        while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          if (p + 4 > end) return this.truncated();
          etherType = (buf[p + 2]! << 8) | buf[p + 3]!;
          p += 4;
        }
        break;
      }
      case LinkType.LINUX_SLL: {
        if (caplen < 16) return this.truncated();
        direction = sllDirection((buf[p]! << 8) | buf[p + 1]!);
        etherType = (buf[p + 14]! << 8) | buf[p + 15]!;
        p += 16;
        break;
      }
      case LinkType.LINUX_SLL2: {
        if (caplen < 20) return this.truncated();
        etherType = (buf[p]! << 8) | buf[p + 1]!;
        ifId = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
        direction = sllDirection(buf[p + 10]!);
        p += 20;
        break;
      }
      case LinkType.RAW:
      case LinkType.RAW_12:
      case LinkType.RAW_14:
        break;
      case LinkType.IPV4:
        etherType = ETHERTYPE_IPV4;
        break;
      case LinkType.IPV6:
        etherType = ETHERTYPE_IPV6;
        break;
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (caplen < 4) return this.truncated();
        // The AF value is in the writer's host order (NULL) or network order (LOOP); accept both.
        let af = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
        if (af > 0xffff || af < 0) af = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
        p += 4;
        if (af === 2) etherType = ETHERTYPE_IPV4;
        else if (af === 24 || af === 28 || af === 30 || af === 10) etherType = ETHERTYPE_IPV6;
        else return this.notTcp();
        break;
      }
      default:
        return this.notTcp();
    }
    if (p >= end) return this.truncated();
    if (etherType === -1) {
      const version = buf[p]! >> 4;
      etherType = version === 4 ? ETHERTYPE_IPV4 : version === 6 ? ETHERTYPE_IPV6 : 0;
    }
    if (etherType === ETHERTYPE_IPV4) return this.decodeIpv4(buf, p, end, frame, timeUs, ifId, direction);
    if (etherType === ETHERTYPE_IPV6) return this.decodeIpv6(buf, p, end, frame, timeUs, ifId, direction);
    return this.notTcp();
  }

  private decodeIpv4(
    buf: Buffer,
    p: number,
    end: number,
    frame: number,
    timeUs: number,
    ifId: number | undefined,
    direction: 'in' | 'out' | undefined,
  ): TcpSegment | undefined {
    if (p + 20 > end) return this.truncated();
    const b0 = buf[p]!;
    if (b0 >> 4 !== 4) return this.truncated();
    const ihl = (b0 & 0x0f) * 4;
    if (ihl < 20) return this.truncated();
    const totalLength = (buf[p + 2]! << 8) | buf[p + 3]!;
    const fragment = ((buf[p + 6]! << 8) | buf[p + 7]!) & 0x1fff;
    if (buf[p + 9] !== 6) return this.notTcp();
    if (fragment !== 0) return this.notTcp(); // a later fragment: no TCP header in it
    const ipId = (buf[p + 4]! << 8) | buf[p + 5]!;
    const src = this.ipv4String(buf, p + 12);
    const dst = this.ipv4String(buf, p + 16);
    // Total length 0 appears on TSO/GSO captures: fall back to what was captured.
    const ipEnd = totalLength === 0 ? end - p : totalLength;
    if (ipEnd < ihl) return this.truncated();
    return this.decodeTcp(buf, p + ihl, end, ipEnd - ihl, 4, src, dst, frame, timeUs, ifId, direction, ipId);
  }

  private decodeIpv6(
    buf: Buffer,
    p: number,
    end: number,
    frame: number,
    timeUs: number,
    ifId: number | undefined,
    direction: 'in' | 'out' | undefined,
  ): TcpSegment | undefined {
    if (p + 40 > end) return this.truncated();
    if (buf[p]! >> 4 !== 6) return this.truncated();
    let payloadLength = (buf[p + 4]! << 8) | buf[p + 5]!;
    if (payloadLength === 0) payloadLength = end - p - 40; // jumbogram or TSO: use what was captured
    let next = buf[p + 6]!;
    const src = formatIpv6(buf, p + 8);
    const dst = formatIpv6(buf, p + 24);
    let q = p + 40;
    // Walk extension headers (RFC 8200 §4): hop-by-hop 0, routing 43, fragment 44, dest-opts 60, AH 51.
    for (let guard = 0; guard < 16; guard++) {
      if (next === 6) {
        return this.decodeTcp(buf, q, end, payloadLength, 6, src, dst, frame, timeUs, ifId, direction, undefined);
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
        if (fragmentOffset !== 0) return this.notTcp();
        next = buf[q]!;
        q += 8;
        payloadLength -= 8;
      } else if (next === 51) {
        if (q + 2 > end) return this.truncated();
        const len = (buf[q + 1]! + 2) * 4;
        next = buf[q]!;
        q += len;
        payloadLength -= len;
      } else {
        return this.notTcp();
      }
      if (payloadLength < 0) return this.truncated();
    }
    return this.truncated();
  }

  private decodeTcp(
    buf: Buffer,
    t: number,
    end: number,
    ipPayloadLength: number,
    family: 4 | 6,
    src: string,
    dst: string,
    frame: number,
    timeUs: number,
    ifId: number | undefined,
    direction: 'in' | 'out' | undefined,
    ipId: number | undefined,
  ): TcpSegment | undefined {
    if (t + 20 > end) return this.truncated();
    const dataOffset = (buf[t + 12]! >> 4) * 4;
    if (dataOffset < 20) return this.truncated();
    const payloadLength = ipPayloadLength - dataOffset;
    if (payloadLength < 0) return this.truncated();
    const optionsEnd = Math.min(t + dataOffset, end);
    const options = optionsEnd > t + 20 ? parseTcpOptions(buf, t + 20, optionsEnd) : undefined;
    this.stats.tcpSegments++;
    return {
      frame,
      timeUs,
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
      interfaceId: ifId,
      direction,
      ipId,
    };
  }

  private ipv4String(buf: Buffer, o: number): string {
    const u32 = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
    let s = this.v4Cache.get(u32);
    if (s === undefined) {
      if (this.v4Cache.size >= IPV4_CACHE_LIMIT) this.v4Cache.clear();
      s = formatIpv4(u32);
      this.v4Cache.set(u32, s);
    }
    return s;
  }

  private truncated(): undefined {
    this.stats.truncatedFrames++;
    return undefined;
  }

  private notTcp(): undefined {
    this.stats.skippedNonTcp++;
    return undefined;
  }
}

/** SLL packet types (include/uapi/linux/if_packet.h): 0 PACKET_HOST → in, 4 PACKET_OUTGOING → out. */
function sllDirection(pktType: number): 'in' | 'out' | undefined {
  if (pktType === 0 || pktType === 1 || pktType === 2 || pktType === 3) return 'in';
  if (pktType === 4) return 'out';
  return undefined;
}

/**
 * Parses TCP options between `start` and `end` (RFC 9293 §3.2; SACK RFC 2018; timestamps and
 * window scale RFC 7323). Stops at EOL or at an option whose length is < 2 or runs past the end.
 */
export function parseTcpOptions(buf: Uint8Array, start: number, end: number): TcpOptions | undefined {
  let options: TcpOptions | undefined;
  let p = start;
  while (p < end) {
    const kind = buf[p]!;
    if (kind === 0) break; // EOL
    if (kind === 1) {
      p++; // NOP
      continue;
    }
    if (p + 1 >= end) break;
    const len = buf[p + 1]!;
    if (len < 2 || p + len > end) break;
    switch (kind) {
      case 2:
        if (len === 4) (options ??= {}).mss = (buf[p + 2]! << 8) | buf[p + 3]!;
        break;
      case 3:
        if (len === 3) (options ??= {}).windowScale = buf[p + 2]!;
        break;
      case 4:
        if (len === 2) (options ??= {}).sackPermitted = true;
        break;
      case 5: {
        const blocks: Array<[number, number]> = [];
        for (let q = p + 2; q + 8 <= p + len; q += 8) {
          blocks.push([readU32(buf, q), readU32(buf, q + 4)]);
        }
        (options ??= {}).sack = blocks;
        break;
      }
      case 8:
        if (len === 10) (options ??= {}).timestamp = { value: readU32(buf, p + 2), echo: readU32(buf, p + 6) };
        break;
      default:
        break;
    }
    p += len;
  }
  return options;
}

function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}
