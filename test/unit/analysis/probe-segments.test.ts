// Keepalive and zero-window probes in captures (capture-retransmissions.ts probeKindOf()): the measured Linux
// captures are explained as probes, never as retransmissions, and segments that only look like probes are not.
import { describe, expect, it } from 'vitest';
import { probeKindOf } from '../../../src/analysis/capture-retransmissions.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { describeAnomalies } from '../../../src/verify/capture-anomalies.js';
import { analyzeCapture, type TcpConnection } from '../../../src/verify/connections.js';
import { timerCapture, type TimerExperiment } from '../../helpers/linux-timer-fixtures.js';

function connectionOf(experiment: TimerExperiment): TcpConnection {
  const { connections } = analyzeCapture(timerCapture(experiment));
  expect(connections).toHaveLength(1);
  return connections[0] as TcpConnection;
}

describe('probes in the measured Linux captures', () => {
  it('keepalive: three unanswered 0-byte probes at snd_nxt − 1, then the give-up RST — none a retransmission', () => {
    const c = connectionOf('keepalive');
    expect(c.dataRetransmissions).toMatchObject({ count: 0, keepalives: 3, zeroWindowProbes: 0 });
    expect(c.dataRetransmissions.probes.map((p) => [p.frame, p.kind, p.answeredByFrame])).toEqual([
      [4, 'keepalive', undefined],
      [5, 'keepalive', undefined],
      [6, 'keepalive', undefined],
    ]);
    const text = describeAnomalies(c).join('\n');
    expect(text).toContain('3 keepalive probe(s) from the client (frames 4, 5, 6; 0 answered)');
    expect(text).toContain('RST from the client (frame 7) after 3 unanswered keepalive probe(s)');
    expect(text).not.toContain('in reply to');
  });

  it('answered keepalives: each answered by the peer`s next segment; a RST is then not called a keepalive give-up', () => {
    const c = connectionOf('keepalive-answered');
    expect(c.dataRetransmissions.probes.map((p) => p.answeredByFrame)).toEqual([5, 7, 9, 11]);
    expect(describeAnomalies(c).join('\n')).toContain('4 keepalive probe(s) from the client (frames 4, 6, 8, 10; 4 answered)');
  });

  it('persist: 0-byte probes while the server advertised window 0 are zero-window probes, with their answers', () => {
    const c = connectionOf('persist');
    expect(c.dataRetransmissions).toMatchObject({ keepalives: 0, zeroWindowProbes: 6 });
    expect(c.dataRetransmissions.probes.filter((p) => p.answeredByFrame !== undefined)).toHaveLength(5);
    expect(describeAnomalies(c).join('\n')).toContain(
      "6 zero-window probe(s) from the client (frames 10, 12, 13, 15, 17, 19; 5 answered): sent while the peer's window was 0",
    );
  });

  it('data retransmissions stay retransmissions (data-ut: TLP and RTO copies of 100 bytes)', () => {
    const c = connectionOf('data-ut');
    expect(c.dataRetransmissions).toMatchObject({ count: 5, keepalives: 0, zeroWindowProbes: 0, probes: [] });
  });
});

describe('probeKindOf(): the rule, with the segments it must refuse', () => {
  const base: TcpSegment = {
    frame: 1,
    timeUs: 0,
    family: 4,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    srcPort: 40000,
    dstPort: 80,
    seq: 999,
    ack: 5001,
    flags: TcpFlag.ACK,
    window: 512,
    payloadLength: 0,
  };
  it('a 0-byte segment at nextSeq − 1 after 1 s of silence is a keepalive; with the peer`s window 0 a zero-window probe', () => {
    expect(probeKindOf(base, 1000, 64, 2_000_000)).toBe('keepalive');
    expect(probeKindOf(base, 1000, 0, 10_000)).toBe('zero-window probe');
  });
  it('refuses: too soon after the last segment, a normal ACK at nextSeq, a RST or FIN, more than one byte', () => {
    expect(probeKindOf(base, 1000, 64, 500_000)).toBeUndefined();
    expect(probeKindOf({ ...base, seq: 1000 }, 1000, 64, 2_000_000)).toBeUndefined();
    expect(probeKindOf({ ...base, flags: TcpFlag.RST | TcpFlag.ACK }, 1000, 64, 2_000_000)).toBeUndefined();
    expect(probeKindOf({ ...base, flags: TcpFlag.FIN | TcpFlag.ACK }, 1000, 0, 2_000_000)).toBeUndefined();
    expect(probeKindOf({ ...base, payloadLength: 100 }, 1000, 0, 2_000_000)).toBeUndefined();
  });
  it('a 1-byte segment at nextSeq is a zero-window probe only while the window is 0 (else it is new data)', () => {
    expect(probeKindOf({ ...base, seq: 1000, payloadLength: 1 }, 1000, 0, 0)).toBe('zero-window probe');
    expect(probeKindOf({ ...base, seq: 1000, payloadLength: 1 }, 1000, 64, 2_000_000)).toBeUndefined();
  });
});
