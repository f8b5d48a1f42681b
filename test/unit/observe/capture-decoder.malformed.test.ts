// Broken captures: the decoder returns what it could with a CaptureFormatError, or decodes — it
// never throws anything else and never loops (each case is one synchronous call).
import { describe, expect, it } from 'vitest';
import { CaptureDecoder, CaptureFormatError, decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { readCapture } from './corpus-helpers.js';

const SAMPLES = [
  'zeek__web.pcap', // pcap LE µs, Ethernet
  'tcpdump__pptp.pcap', // pcap big-endian
  'tcpdump__tcp-handshake-nano.pcap', // pcap ns, SLL
  'suricata__decode-sll2-01__input.pcap',
  'zeek__redis__attr.pcap', // DLT_NULL
  'tcpdump__of13_ericsson.pcapng',
  'zeek__ldap__modify-request.pcapng',
];

/** Decodes and classifies the outcome; anything but a CaptureFormatError fails the test. */
function outcome(buf: Buffer): 'ok' | 'format-error' {
  try {
    decodeCaptureBuffer(buf);
    return 'ok';
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      expect(err.partial).toBeDefined();
      expect(err.message).toMatch(/at byte \d+/);
      return 'format-error';
    }
    throw err;
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('malformed captures', () => {
  for (const name of SAMPLES) {
    it(`${name}: every truncation in the first 200 bytes and 200 random ones`, () => {
      const buf = readCapture(name);
      const random = rng(buf.length);
      const cuts = [...Array.from({ length: Math.min(200, buf.length) }, (_, i) => i), ...Array.from({ length: 200 }, () => Math.floor(random() * buf.length))];
      let errors = 0;
      for (const cut of cuts) if (outcome(buf.subarray(0, cut)) === 'format-error') errors++;
      expect(errors).toBeGreaterThan(0);
    });

    it(`${name}: 500 random byte flips and zeroed length fields`, () => {
      const original = readCapture(name);
      const random = rng(original.length * 7);
      for (let i = 0; i < 500; i++) {
        const buf = Buffer.from(original);
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
        outcome(buf);
      }
      for (let o = 0; o + 4 <= Math.min(original.length, 400); o += 4) {
        const buf = Buffer.from(original);
        buf.writeUInt32LE(0, o);
        outcome(buf);
        buf.writeUInt32LE(0xffffffff, o);
        outcome(buf);
      }
    });
  }

  it('a file cut inside its last record says how many packets were read, and keeps them', () => {
    const buf = readCapture('zeek__web.pcap');
    try {
      decodeCaptureBuffer(buf.subarray(0, buf.length - 10));
      expect.unreachable('expected a CaptureFormatError');
    } catch (err) {
      expect(err).toBeInstanceOf(CaptureFormatError);
      const e = err as CaptureFormatError;
      expect(e.framesRead).toBe(23);
      expect(e.message).toContain('23 packets were read');
      expect(e.partial!.segments).toHaveLength(23);
    }
  });

  it('names the problem: unknown magic, short header, huge caplen, bad pcapng lengths', () => {
    const expectError = (buf: Buffer, pattern: RegExp): void => {
      expect(() => decodeCaptureBuffer(buf)).toThrow(pattern);
    };
    expectError(Buffer.from('hello world, not a capture at all'), /unknown magic number 0x68656c6c/);
    expectError(Buffer.alloc(0), /truncated file header/);
    expectError(readCapture('zeek__web.pcap').subarray(0, 20), /truncated file header/);
    const huge = Buffer.from(readCapture('zeek__web.pcap'));
    huge.writeUInt32LE(300 * 1024 * 1024, 24 + 8);
    expectError(huge, /at byte 24 .*record 1 \(at byte 24\) says it holds 314572800 bytes, more than the 262144/);
    const ng = Buffer.from(readCapture('tcpdump__of13_ericsson.pcapng'));
    const shbLength = ng.readUInt32LE(4);
    const notMultiple = Buffer.from(ng);
    notMultiple.writeUInt32LE(shbLength + 2, shbLength + 4); // the IDB's length
    expectError(notMultiple, /multiple of 4/);
    const tooSmall = Buffer.from(ng);
    tooSmall.writeUInt32LE(8, shbLength + 4);
    expectError(tooSmall, /at least 12/);
    const trailer = Buffer.from(ng);
    trailer.writeUInt32LE(shbLength + 4, shbLength - 4);
    expectError(
      trailer,
      new RegExp(
        `block type 0xa0d0d0a at byte 0 starts with total length ${shbLength}, but the copy of its length at its end \\(byte ${shbLength - 4}\\) says ${shbLength + 4}`,
      ),
    );
  });

  it('a failed decoder stays failed; ended decoders refuse more data', () => {
    const d = new CaptureDecoder({ onSegment: () => {} });
    expect(() => d.push(Buffer.from('garbage!'))).toThrow(CaptureFormatError);
    expect(() => d.push(readCapture('zeek__web.pcap'))).toThrow(CaptureFormatError);
    const ok = new CaptureDecoder({ onSegment: () => {} });
    ok.push(readCapture('zeek__web.pcap'));
    ok.end();
    expect(() => ok.push(Buffer.alloc(4))).toThrow(/has ended/);
  });
});
