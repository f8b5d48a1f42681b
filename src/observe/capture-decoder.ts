/**
 * Streaming decoder for pcap and pcapng captures.
 *
 * Model: bytes arrive in chunks (`push`). The decoder parses every complete record or block in
 * the chunk in place and hands each TCP segment to `onSegment` synchronously; the incomplete tail
 * (at most one record) is copied and prepended to the next chunk. Memory is therefore bounded by
 * the chunk size plus the largest record. `end()` checks that nothing is left over.
 *
 * Formats: pcap (libpcap savefile; draft-ietf-opsawg-pcap §4–5): magic A1B2C3D4 (µs) or
 * A1B23C4D (ns) in either byte order, 24-byte header, 16-byte records; linktype is the low 16 bits.
 * pcapng (draft-ietf-opsawg-pcapng §4): SHB (its byte-order magic sets the endianness of the
 * section, several sections allowed), IDB (linktype, snaplen, if_tsresol code 9, if_tsoffset code
 * 14), EPB, SPB (interface 0, no timestamp: takes the previous packet's time), obsolete PB; every
 * other block is skipped by its length.
 *
 * Errors: CaptureFormatError for anything structurally wrong with the container, at the offset of
 * the record or block that is wrong (its `kind` says 'truncated' when the file merely ends inside a
 * record, 'corrupt' otherwise); a broken frame inside a well-formed record is only counted. A pcap
 * record longer than the largest packet a capture tool writes (MAX_PACKET_BYTES, tshark's and
 * libpcap's limit, or the file's snaplen if larger) is corrupt at once, not after reading that many
 * bytes; so is a pcapng packet block whose length cannot hold its packet, or whose trailer disagrees.
 *
 * Files: readCaptureFile() reads gzip (RFC 1952, node:zlib) and Zstandard (RFC 8878, fzstd)
 * compressed captures transparently, by their magic numbers, and never throws a format error: it
 * returns what it decoded and the problem (offsets are then in the decompressed capture).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { createCaptureStats, FrameDecoder, type CaptureStats } from './frame-decoder.js';
import type { IcmpMessage, TcpSegment } from './packet.js';

export type { CaptureStats } from './frame-decoder.js';

/** Largest record/block accepted (256 MiB): anything bigger is corruption, not a packet. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** Largest packet a pcap record may hold unless the file's snaplen is larger (wiretap's and libpcap's 262144). */
export const MAX_PACKET_BYTES = 262_144;
/** Options and padding a pcapng packet block may carry beyond its packet before its length is called corrupt. */
const MAX_PACKET_BLOCK_EXTRA = 65_536;

/** A capture file's container structure is broken; `offset` is the byte offset in the file. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  /** Segments decoded before the error (filled in by decodeCaptureBuffer). */
  partial?: { segments: TcpSegment[]; stats: CaptureStats };
  constructor(
    readonly offset: number,
    readonly framesRead: number,
    readonly problem: string,
    /** 'truncated': the file ends inside a header, record or block; 'corrupt': a length or magic is wrong. */
    readonly kind: 'truncated' | 'corrupt' = 'corrupt',
  ) {
    super(`capture format error at byte ${offset} (after ${framesRead} packets): ${problem}`);
  }
}

const PCAP_MAGIC_US_LE = 0xa1b2c3d4; // read little-endian → file is little-endian, µs
const PCAP_MAGIC_US_BE = 0xd4c3b2a1;
const PCAP_MAGIC_NS_LE = 0xa1b23c4d;
const PCAP_MAGIC_NS_BE = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

interface PcapngInterface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (10^v or 2^v). */
  unitsPerSecond: number;
  /** if_tsoffset, seconds. */
  offsetSeconds: number;
}

export interface CaptureDecoderOptions {
  onSegment: (segment: TcpSegment) => void;
  /** Called for each ICMP/ICMPv6 message (not inside a tunnel). */
  onIcmp?: (message: IcmpMessage) => void;
}

/** Push-style pcap/pcapng decoder; see the module comment for the model. */
export class CaptureDecoder {
  readonly stats: CaptureStats = createCaptureStats();
  private readonly frames: FrameDecoder;
  private readonly onSegment: (segment: TcpSegment) => void;
  private tail: Buffer | undefined;
  /** File offset of the first byte of the buffer being parsed. */
  private base = 0;
  private failed: CaptureFormatError | undefined;
  private ended = false;
  // pcap state
  private headerRead = false;
  private littleEndian = true;
  private nanos = false;
  private pcapLinkType = 0;
  private maxCaplen = MAX_PACKET_BYTES;
  private lastRecordOffset = 0;
  // pcapng state
  private interfaces: PcapngInterface[] = [];
  private lastTimeUs = 0;

  constructor(options: CaptureDecoderOptions) {
    this.onSegment = options.onSegment;
    this.frames = new FrameDecoder(this.stats);
    this.frames.onIcmp = options.onIcmp;
  }

  /** Feeds the next chunk of the file; throws CaptureFormatError (and stays failed) on a broken container. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    if (this.ended) throw new Error('CaptureDecoder.push: the decoder has ended; create a new one for another file');
    let buf: Buffer;
    if (this.tail !== undefined && this.tail.length > 0) {
      buf = Buffer.concat([this.tail, chunk]);
    } else {
      buf = chunk;
    }
    let consumed: number;
    try {
      consumed = this.parse(buf);
    } catch (err) {
      if (err instanceof CaptureFormatError) this.failed = err;
      throw err;
    }
    this.base += consumed;
    this.tail = consumed < buf.length ? Buffer.from(buf.subarray(consumed)) : undefined;
  }

  /** Bytes of the file parsed into complete records so far (the offset where an incomplete record starts). */
  get bytesParsed(): number {
    return this.base;
  }

  /** Marks the decoder ended without checking for a partial record (the caller reports why it stopped). */
  endQuietly(): void {
    this.ended = true;
  }

  /** Declares the end of the file; throws CaptureFormatError if it ended inside a header, record or block. */
  end(): CaptureStats {
    if (this.failed) throw this.failed;
    this.ended = true;
    const left = this.tail?.length ?? 0;
    if (!this.headerRead) {
      this.failed = new CaptureFormatError(
        this.base,
        0,
        `truncated file header: expected at least ${this.stats.format === 'pcapng' ? 28 : 24} bytes, file has ${left}; is this a pcap/pcapng file?`,
        'truncated',
      );
      throw this.failed;
    }
    if (left > 0) {
      this.failed = new CaptureFormatError(
        this.base,
        this.stats.frames,
        `file ends inside a ${this.stats.format === 'pcapng' ? 'block' : 'record'} (${left} bytes left over); ${this.stats.frames} packets were read completely — the capture was probably cut off while being written`,
        'truncated',
      );
      throw this.failed;
    }
    return this.stats;
  }

  /** Parses as much of `buf` as possible; returns the number of bytes consumed. */
  private parse(buf: Buffer): number {
    let pos = 0;
    if (!this.headerRead) {
      if (buf.length < 4) return 0;
      const magic = buf.readUInt32LE(0);
      if (magic === PCAPNG_SHB) {
        this.stats.format = 'pcapng';
        this.headerRead = true; // the SHB is parsed as an ordinary block
      } else {
        if (magic === PCAP_MAGIC_US_LE || magic === PCAP_MAGIC_NS_LE) this.littleEndian = true;
        else if (magic === PCAP_MAGIC_US_BE || magic === PCAP_MAGIC_NS_BE) this.littleEndian = false;
        else {
          throw new CaptureFormatError(
            this.base,
            0,
            `unknown magic number 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}: expected a pcap (a1b2c3d4, a1b23c4d, either byte order) or pcapng (0a0d0d0a) file`,
          );
        }
        this.stats.format = 'pcap';
        if (buf.length < 24) return 0;
        this.nanos = magic === PCAP_MAGIC_NS_LE || magic === PCAP_MAGIC_NS_BE;
        this.pcapLinkType = this.u32(buf, 20) & 0xffff;
        const snaplen = this.u32(buf, 16);
        this.maxCaplen = snaplen > MAX_PACKET_BYTES && snaplen <= MAX_RECORD_BYTES ? snaplen : MAX_PACKET_BYTES;
        this.noteLinkType(this.pcapLinkType);
        this.headerRead = true;
        pos = 24;
      }
    }
    return this.stats.format === 'pcapng' ? this.parsePcapng(buf, pos) : this.parsePcap(buf, pos);
  }

  private parsePcap(buf: Buffer, start: number): number {
    let pos = start;
    const le = this.littleEndian;
    const linkType = this.pcapLinkType;
    const len = buf.length;
    while (pos + 16 <= len) {
      const sec = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      const frac = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      const caplen = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
      if (caplen > this.maxCaplen) {
        throw new CaptureFormatError(
          this.base + pos,
          this.stats.frames,
          `the header of record ${this.stats.frames + 1} (at byte ${this.base + pos}) says it holds ${caplen} bytes, ` +
            `more than the ${this.maxCaplen} a capture can hold: the record header is corrupt` +
            (this.stats.frames > 0 ? ` (or the previous record's length, at byte ${this.lastRecordOffset}, was wrong)` : ''),
        );
      }
      if (pos + 16 + caplen > len) break;
      this.lastRecordOffset = this.base + pos;
      const frame = ++this.stats.frames;
      const timeUs = this.nanos ? sec * 1e6 + frac / 1000 : sec * 1e6 + frac;
      const seg = this.frames.decode(buf, pos + 16, caplen, linkType, frame, timeUs, undefined);
      if (seg !== undefined) this.onSegment(seg);
      pos += 16 + caplen;
    }
    return pos;
  }

  private parsePcapng(buf: Buffer, start: number): number {
    let pos = start;
    const len = buf.length;
    while (pos + 12 <= len) {
      let type = this.u32(buf, pos);
      if (type === PCAPNG_SHB) {
        const bom = buf.readUInt32LE(pos + 8);
        if (bom === PCAPNG_BOM) this.littleEndian = true;
        else if (bom === 0x4d3c2b1a) this.littleEndian = false;
        else {
          throw new CaptureFormatError(
            this.base + pos + 8,
            this.stats.frames,
            `section header block has byte-order magic 0x${buf.readUInt32BE(pos + 8).toString(16)}: expected 1a2b3c4d in either byte order`,
          );
        }
        type = PCAPNG_SHB;
      }
      const blockLength = this.u32(buf, pos + 4);
      if (blockLength < 12 || blockLength % 4 !== 0) {
        throw new CaptureFormatError(
          this.base + pos + 4,
          this.stats.frames,
          `block type 0x${type.toString(16)} has total length ${blockLength}: expected a multiple of 4 and at least 12`,
        );
      }
      if ((type === 6 || type === 2) && pos + 24 <= len) {
        // A packet block's length must hold its packet, and not much more: checked before waiting for it.
        const caplen = this.u32(buf, pos + 20);
        const room = blockLength - 32;
        if (caplen > room || room - caplen > MAX_PACKET_BLOCK_EXTRA + 3) {
          throw new CaptureFormatError(
            this.base + pos,
            this.stats.frames,
            `packet block ${this.stats.frames + 1} (at byte ${this.base + pos}) has total length ${blockLength} ` +
              `for a packet of ${caplen} bytes: its length is corrupt`,
          );
        }
      }
      if (blockLength > MAX_RECORD_BYTES + 64) {
        throw new CaptureFormatError(
          this.base + pos + 4,
          this.stats.frames,
          `block type 0x${type.toString(16)} has total length ${blockLength}, more than ${MAX_RECORD_BYTES} bytes: the block header is corrupt`,
        );
      }
      if (pos + blockLength > len) break;
      const trailer = this.u32(buf, pos + blockLength - 4);
      if (trailer !== blockLength) {
        throw new CaptureFormatError(
          this.base + pos,
          this.stats.frames,
          `block type 0x${type.toString(16)} at byte ${this.base + pos} starts with total length ${blockLength}, but the copy of its length at its end ` +
            `(byte ${this.base + pos + blockLength - 4}) says ${trailer}: the block's length is corrupt`,
        );
      }
      this.handleBlock(buf, pos, type, blockLength);
      pos += blockLength;
    }
    return pos;
  }

  private handleBlock(buf: Buffer, pos: number, type: number, blockLength: number): void {
    const bodyEnd = pos + blockLength - 4;
    switch (type) {
      case PCAPNG_SHB:
        if (blockLength < 28) throw this.shortBlock(pos, 'section header', blockLength, 28);
        this.interfaces = [];
        return;
      case 1: {
        // Interface Description Block
        if (blockLength < 20) throw this.shortBlock(pos, 'interface description', blockLength, 20);
        const linkType = this.u16(buf, pos + 8);
        const iface: PcapngInterface = {
          linkType,
          snaplen: this.u32(buf, pos + 12),
          unitsPerSecond: 1e6,
          offsetSeconds: 0,
        };
        this.readInterfaceOptions(buf, pos + 16, bodyEnd, iface);
        this.interfaces.push(iface);
        this.noteLinkType(linkType);
        return;
      }
      case 6:
      case 2: {
        // Enhanced Packet Block (6) or obsolete Packet Block (2): same layout, PB has a u16 interface id.
        if (blockLength < 32) throw this.shortBlock(pos, type === 6 ? 'enhanced packet' : 'packet', blockLength, 32);
        const ifId = type === 6 ? this.u32(buf, pos + 8) : this.u16(buf, pos + 8);
        const iface = this.interfaceFor(ifId, pos);
        const caplen = this.u32(buf, pos + 20);
        if (caplen > blockLength - 32) {
          throw new CaptureFormatError(
            this.base + pos + 20,
            this.stats.frames,
            `packet block captured length ${caplen} does not fit in its block of ${blockLength} bytes`,
          );
        }
        const timeUs = this.pcapngTime(iface, this.u32(buf, pos + 12), this.u32(buf, pos + 16));
        this.lastTimeUs = timeUs;
        this.emitFrame(buf, pos + 28, caplen, iface.linkType, timeUs, ifId);
        return;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp.
        if (blockLength < 16) throw this.shortBlock(pos, 'simple packet', blockLength, 16);
        const iface = this.interfaceFor(0, pos);
        const origlen = this.u32(buf, pos + 8);
        let caplen = Math.min(origlen, blockLength - 16);
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        this.emitFrame(buf, pos + 12, caplen, iface.linkType, this.lastTimeUs, 0);
        return;
      }
      default:
        return; // NRB (4), ISB (5), DSB, custom and unknown blocks: skipped by length
    }
  }

  private emitFrame(buf: Buffer, off: number, caplen: number, linkType: number, timeUs: number, ifId: number): void {
    const frame = ++this.stats.frames;
    const seg = this.frames.decode(buf, off, caplen, linkType, frame, timeUs, ifId);
    if (seg !== undefined) {
      if (seg.interfaceId === undefined) seg.interfaceId = ifId;
      this.onSegment(seg);
    }
  }

  private interfaceFor(ifId: number, pos: number): PcapngInterface {
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      throw new CaptureFormatError(
        this.base + pos + 8,
        this.stats.frames,
        `packet block refers to interface ${ifId}, but this section declares ${this.interfaces.length} interface(s)`,
      );
    }
    return iface;
  }

  private readInterfaceOptions(buf: Buffer, start: number, end: number, iface: PcapngInterface): void {
    let p = start;
    while (p + 4 <= end) {
      const code = this.u16(buf, p);
      const length = this.u16(buf, p + 2);
      if (code === 0) break;
      if (p + 4 + length > end) break; // a broken option list: keep the defaults
      if (code === 9 && length >= 1) {
        const v = buf[p + 4]!;
        iface.unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      } else if (code === 14 && length >= 8) {
        const high = this.u32(buf, this.littleEndian ? p + 8 : p + 4);
        const low = this.u32(buf, this.littleEndian ? p + 4 : p + 8);
        iface.offsetSeconds = (high | 0) * 4294967296 + low;
      }
      p += 4 + ((length + 3) & ~3);
    }
  }

  private pcapngTime(iface: PcapngInterface, high: number, low: number): number {
    const ups = iface.unitsPerSecond;
    const offsetUs = iface.offsetSeconds * 1e6;
    if (ups === 1e6) return high * 4294967296 + low + offsetUs;
    if (!Number.isFinite(ups) || ups <= 0) return NaN;
    // Exact split into seconds and fraction (64-bit units would lose precision in a double).
    const units = (BigInt(high) << 32n) | BigInt(low);
    if (Number.isSafeInteger(ups)) {
      const perSecond = BigInt(ups);
      const seconds = units / perSecond;
      const fraction = units % perSecond;
      return Number(seconds) * 1e6 + (Number(fraction) * 1e6) / ups + offsetUs;
    }
    return (Number(units) / ups) * 1e6 + offsetUs;
  }

  private shortBlock(pos: number, what: string, length: number, minimum: number): CaptureFormatError {
    return new CaptureFormatError(this.base + pos + 4, this.stats.frames, `${what} block has total length ${length}: expected at least ${minimum}`);
  }

  private noteLinkType(linkType: number): void {
    if (!this.stats.linkTypes.includes(linkType)) this.stats.linkTypes.push(linkType);
  }

  private u32(buf: Buffer, o: number): number {
    return this.littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
  }

  private u16(buf: Buffer, o: number): number {
    return this.littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
  }
}

/** Decodes a whole capture held in memory; on a CaptureFormatError the error's `partial` holds what was decoded. */
export function decodeCaptureBuffer(buf: Buffer): { segments: TcpSegment[]; icmp: IcmpMessage[]; stats: CaptureStats } {
  const segments: TcpSegment[] = [];
  const icmp: IcmpMessage[] = [];
  const decoder = new CaptureDecoder({ onSegment: (s) => segments.push(s), onIcmp: (m) => icmp.push(m) });
  try {
    decoder.push(buf);
    const stats = decoder.end();
    return { segments, icmp, stats };
  } catch (err) {
    if (err instanceof CaptureFormatError) err.partial = { segments, stats: decoder.stats };
    throw err;
  }
}

/** Streams a capture file (plain, gzip or zstd) in 1 MiB chunks, calling `onSegment` per TCP segment; throws CaptureFormatError. */
export async function decodeCaptureFile(path: string, onSegment: (segment: TcpSegment) => void): Promise<CaptureStats> {
  const read = await readCaptureFile(path, onSegment);
  if (read.problem !== undefined) throw read.problem;
  return read.stats;
}

export type Compression = 'gzip' | 'zstd';

/** What readCaptureFile decoded, and the problem that stopped it early, if any. */
export interface CaptureRead {
  stats: CaptureStats;
  compression: Compression | undefined;
  /** The file is cut off ('truncated') or broken ('corrupt'); every complete packet before it was decoded. */
  problem?: CaptureFormatError;
}

/**
 * Streams a capture file, decompressing gzip/zstd transparently, calling `onSegment` per TCP segment.
 * Never throws a format error (only I/O errors such as a missing file): a cut-off or corrupt file
 * yields every complete packet before the problem, and the problem with its offset.
 */
export async function readCaptureFile(path: string, onSegment: (segment: TcpSegment) => void): Promise<CaptureRead> {
  const compression = await sniffCompression(path);
  const decoder = new CaptureDecoder({ onSegment });
  const where = compression === undefined ? '' : ` of the ${compression}-decompressed capture`;
  try {
    try {
      for await (const chunk of captureChunks(path, compression)) decoder.push(chunk);
    } catch (err) {
      if (err instanceof CaptureFormatError || compression === undefined) throw err;
      // The compressed stream itself ended early or is damaged: keep what was decompressed.
      const truncated = /unexpected end|EOF/i.test((err as Error).message);
      decoder.endQuietly();
      throw new CaptureFormatError(
        decoder.bytesParsed,
        decoder.stats.frames,
        `the ${compression} stream ${truncated ? 'ends early' : `is damaged (${(err as Error).message})`}; ` +
          `${decoder.stats.frames} packets were read completely`,
        truncated ? 'truncated' : 'corrupt',
      );
    }
    return { stats: decoder.end(), compression };
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    const problem = where === '' ? err : new CaptureFormatError(err.offset, err.framesRead, `${err.problem} (byte offsets are${where})`, err.kind);
    return { stats: decoder.stats, compression, problem };
  }
}

async function sniffCompression(path: string): Promise<Compression | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return undefined;
  } finally {
    await handle.close();
  }
}

async function* captureChunks(path: string, compression: Compression | undefined): AsyncGenerator<Buffer> {
  const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
  if (compression === undefined) {
    for await (const chunk of file) yield chunk as Buffer;
  } else if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    for await (const chunk of gunzip) yield chunk as Buffer;
  } else {
    let out: Buffer[] = [];
    const zstd = new Decompress((data) => {
      if (data.length > 0) out.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    });
    const drain = (): Buffer[] => {
      const ready = out;
      out = [];
      return ready;
    };
    for await (const chunk of file) {
      zstd.push(chunk as Buffer);
      yield* drain();
    }
    try {
      zstd.push(new Uint8Array(0), true);
    } finally {
      yield* drain();
    }
  }
}
