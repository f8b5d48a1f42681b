// Every corpus capture decodes without error, and every TCP segment equals what tshark decodes.
import { describe, expect, it } from 'vitest';
import { CaptureDecoder, decodeCaptureBuffer, decodeCaptureFile } from '../../../src/observe/capture-decoder.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { corpusDir, listCorpusCaptures, loadExpectation, readCapture } from './corpus-helpers.js';
import { join } from 'node:path';

function observedRow(s: TcpSegment): unknown[] {
  return [s.frame, s.flags | (s.ae ? 0x100 : 0), s.seq, s.ack, s.payloadLength, s.src, s.srcPort, s.dst, s.dstPort];
}

describe('corpus captures decode like tshark', () => {
  const captures = listCorpusCaptures();

  it('has all 38 corpus captures and their expectations', () => {
    expect(captures).toHaveLength(38);
  });

  for (const name of captures) {
    it(name, () => {
      const expected = loadExpectation(name);
      const { segments, stats } = decodeCaptureBuffer(readCapture(name));
      expect(stats.frames).toBe(expected.frames);
      expect(stats.tcpSegments).toBe(expected.tcpSegments);
      const skipped = [...stats.skipped.values()].reduce((x, y) => x + y, 0);
      expect(stats.skippedNonTcp + skipped).toBe(expected.frames - expected.tcpSegments);
      // tshark's tcp.flags has 12 bits; the 3 reserved bits (0xe00, set in rst-inject-rae) are not part of TcpSegment.
      const expectedRows = expected.segments.map((e) => [e[0], e[2] & 0x1ff, e[3], e[4], e[5], e[6], e[7], e[8], e[9]]);
      expect(segments.map(observedRow)).toEqual(expectedRows);
    });
  }
});

describe('streaming in small chunks gives the same result', () => {
  for (const name of ['tcpdump__of13_ericsson.pcapng', 'tcpdump__pptp.pcap', 'suricata__decode-sll2-01__input.pcap', 'zeek__redis__attr.pcap']) {
    it(`${name} in 7-byte and 1-byte chunks`, () => {
      const buf = readCapture(name);
      const whole = decodeCaptureBuffer(buf).segments;
      for (const size of [7, 1]) {
        const got: TcpSegment[] = [];
        const decoder = new CaptureDecoder({ onSegment: (s) => got.push(s) });
        for (let i = 0; i < buf.length; i += size) decoder.push(buf.subarray(i, i + size));
        decoder.end();
        expect(got).toEqual(whole);
      }
    });
  }

  it('decodeCaptureFile streams a file from disk', async () => {
    const got: TcpSegment[] = [];
    const stats = await decodeCaptureFile(join(corpusDir, 'zeek__socks.pcap'), (s) => got.push(s));
    expect(stats.tcpSegments).toBe(53);
    expect(got[0]).toMatchObject({ frame: 1, src: '10.0.0.55', srcPort: 53994, dst: '60.190.189.214', dstPort: 8124, flags: 0x02 });
  });
});
