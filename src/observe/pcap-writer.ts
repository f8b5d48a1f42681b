import type { TcpSegment } from './packet.js';

/*
 * Writing classic pcap files (the format tcpdump -w writes: a 24-byte file header, then per packet a
 * 16-byte record header and the frame), for tests and tools that edit a recorded capture: split a file
 * into its records, drop or add records, join them again. New frames are Ethernet + IPv4 + TCP built from
 * a TcpSegment with correct IPv4 and TCP checksums (RFC 791, RFC 9293 §3.1), so the project's decoder
 * (capture-decoder.ts) reads back the same segment. Pure: buffers in, buffers out. pcapng is not written.
 */

/** One packet record of a classic pcap file: its time and the captured bytes. */
export interface PcapRecord {
  /** µs since the epoch (the file's resolution: µs, or ns for a nanosecond file). */
  readonly timeUs: number;
  /** Original length on the wire (≥ frame.length when the snaplen cut it). */
  readonly originalLength: number;
  readonly frame: Buffer;
}

/** A classic pcap file split into its header and records. */
export interface PcapFile {
  readonly header: Buffer;
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly records: readonly PcapRecord[];
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

/** Splits a classic pcap file into its header and records; throws on anything else (pcapng, truncation). */
export function splitPcap(buf: Buffer): PcapFile {
  if (buf.length < 24) throw new Error('splitPcap: shorter than a pcap file header (24 bytes)');
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  const littleEndian = le === MAGIC_US || le === MAGIC_NS;
  if (!littleEndian && be !== MAGIC_US && be !== MAGIC_NS)
    throw new Error('splitPcap: not a classic pcap file (unknown magic number); pcapng is not supported');
  const nanosecond = (littleEndian ? le : be) === MAGIC_NS;
  const u32 = (offset: number): number => (littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset));
  const records: PcapRecord[] = [];
  let offset = 24;
  while (offset < buf.length) {
    if (offset + 16 > buf.length) throw new Error(`splitPcap: file ends inside a record header at byte ${offset}`);
    const seconds = u32(offset);
    const fraction = u32(offset + 4);
    const included = u32(offset + 8);
    const originalLength = u32(offset + 12);
    if (offset + 16 + included > buf.length) throw new Error(`splitPcap: file ends inside a record at byte ${offset}`);
    records.push({
      timeUs: seconds * 1e6 + (nanosecond ? fraction / 1000 : fraction),
      originalLength,
      frame: Buffer.from(buf.subarray(offset + 16, offset + 16 + included)),
    });
    offset += 16 + included;
  }
  return { header: Buffer.from(buf.subarray(0, 24)), littleEndian, nanosecond, records };
}

/** The 24-byte header of a little-endian, microsecond classic pcap file (version 2.4, snaplen 262144) of `linkType` (1: Ethernet). */
export function pcapFileHeader(linkType = 1): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(MAGIC_US, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262_144, 16);
  header.writeUInt32LE(linkType, 20);
  return header;
}

/** Joins a header and records into a classic pcap file (records written in the order given). */
export function joinPcap(file: Pick<PcapFile, 'header' | 'littleEndian' | 'nanosecond'>, records: readonly PcapRecord[]): Buffer {
  const parts: Buffer[] = [file.header];
  for (const record of records) {
    const head = Buffer.alloc(16);
    const w32 = (value: number, offset: number): number => (file.littleEndian ? head.writeUInt32LE(value, offset) : head.writeUInt32BE(value, offset));
    const seconds = Math.floor(record.timeUs / 1e6);
    const micros = Math.round(record.timeUs - seconds * 1e6);
    w32(seconds, 0);
    w32(file.nanosecond ? micros * 1000 : micros, 4);
    w32(record.frame.length, 8);
    w32(Math.max(record.originalLength, record.frame.length), 12);
    parts.push(head, record.frame);
  }
  return Buffer.concat(parts);
}

/** The fields of a segment a new frame needs (IPv4 only); `ipId` defaults to 0, `ttl` to 64. */
export type FrameSegment = Pick<TcpSegment, 'src' | 'dst' | 'srcPort' | 'dstPort' | 'seq' | 'ack' | 'flags' | 'window'> &
  Partial<Pick<TcpSegment, 'payloadLength' | 'options' | 'ipId'>>;

/** An Ethernet II + IPv4 + TCP frame carrying `segment` (zero payload bytes of its payloadLength), checksums filled in. */
export function encodeTcpFrame(segment: FrameSegment, macs: { src?: string; dst?: string } = {}): Buffer {
  const options = encodeTcpOptions(segment.options);
  const tcpLength = 20 + options.length;
  const payload = Buffer.alloc(segment.payloadLength ?? 0);
  const tcp = Buffer.alloc(tcpLength);
  tcp.writeUInt16BE(segment.srcPort, 0);
  tcp.writeUInt16BE(segment.dstPort, 2);
  tcp.writeUInt32BE(segment.seq >>> 0, 4);
  tcp.writeUInt32BE(segment.ack >>> 0, 8);
  tcp[12] = (tcpLength / 4) << 4;
  tcp[13] = segment.flags & 0xff;
  tcp.writeUInt16BE(segment.window & 0xffff, 14);
  options.copy(tcp, 20);
  const src = ipv4Bytes(segment.src);
  const dst = ipv4Bytes(segment.dst);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 6]), u16(tcpLength + payload.length)]);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp, payload])), 16);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + tcpLength + payload.length, 2);
  ip.writeUInt16BE((segment.ipId ?? 0) & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // DF, as Linux sets on TCP
  ip[8] = 64;
  ip[9] = 6;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const ethernet = Buffer.concat([macBytes(macs.dst ?? '02:00:00:00:00:02'), macBytes(macs.src ?? '02:00:00:00:00:01'), u16(0x0800)]);
  return Buffer.concat([ethernet, ip, tcp, payload]);
}

function encodeTcpOptions(options: TcpSegment['options']): Buffer {
  if (options === undefined) return Buffer.alloc(0);
  const bytes: number[] = [];
  if (options.mss !== undefined) bytes.push(2, 4, (options.mss >> 8) & 0xff, options.mss & 0xff);
  if (options.sackPermitted) bytes.push(4, 2);
  if (options.timestamp !== undefined) bytes.push(8, 10, ...u32Bytes(options.timestamp.value), ...u32Bytes(options.timestamp.echo));
  if (options.windowScale !== undefined) bytes.push(3, 3, options.windowScale);
  if (options.sack !== undefined && options.sack.length > 0) {
    bytes.push(5, 2 + 8 * options.sack.length);
    for (const [left, right] of options.sack) bytes.push(...u32Bytes(left), ...u32Bytes(right));
  }
  while (bytes.length % 4 !== 0) bytes.push(1); // NOP padding
  return Buffer.from(bytes);
}

/** The Internet checksum (RFC 1071) of `data`. */
function checksum(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += data.readUInt16BE(i);
  if (data.length % 2 === 1) sum += (data[data.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`encodeTcpFrame: ${address} is not an IPv4 address`);
  return Buffer.from(parts);
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u32Bytes(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
