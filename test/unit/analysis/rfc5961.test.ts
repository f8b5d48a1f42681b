import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { connectionWindows } from '../../../src/analysis/run-replay.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { loadFixtureRun, withHost } from '../verify/run-fixtures.js';

/*
 * RFC 5961 on recorded teacher labs (test/fixtures/labs/teacher/injected-*.yaml): a RST resets only at
 * exactly RCV.NXT (§3.2), a SYN on a live connection draws a challenge ACK (§4.2); the replay follows
 * tcp_validate_incoming(), and the kernel's exact trace holds it to that.
 */

function conformanceOf(run: RunRecord, host: string) {
  const analysis = analyzeRun(run);
  return checkConformance(run, analysis.replays, analysis).find((c) => c.name.startsWith(`${host} `)) ?? expect.unreachable();
}

describe('a crafted RST (injected-rst-out-of-window: seq 1000, far from the client’s window)', () => {
  it('is dropped: the replay stays ESTABLISHED, as the kernel did', async () => {
    const run = await loadFixtureRun('injected-rst-out-of-window');
    const replay = analyzeRun(run).replays.find((r) => r.host === 'client') ?? expect.unreachable();
    expect(replay.timeline.map((e) => e.state)).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED']);
    expect(conformanceOf(run, 'client').status).toBe('pass');
  });

  it('at exactly RCV.NXT it would reset: the replay closes, the kernel traced no close, so conformance FAILs', async () => {
    const run = await loadFixtureRun('injected-rst-out-of-window');
    const exact = withHost(run, 'client', (h) => {
      const lastAck = h.segments.findLast(
        (s) => s.src === h.address && (s.flags & TcpFlag.ACK) !== 0 && s.timeUs < (h.segments.find((r) => (r.flags & TcpFlag.RST) !== 0)?.timeUs ?? 0),
      );
      return { segments: h.segments.map((s) => ((s.flags & TcpFlag.RST) !== 0 ? { ...s, seq: lastAck?.ack ?? 0 } : s)) };
    });
    const check = conformanceOf(exact, 'client');
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/the replay's CLOSED at \+\d\.\d+ s \(client capture #\d+ \(received \[R\]\)\) never happened/);
  });
});

describe('a crafted SYN on an established connection (injected-syn-challenge-ack)', () => {
  it('is answered with a challenge ACK and starts no new connection on the 4-tuple', async () => {
    const run = await loadFixtureRun('injected-syn-challenge-ack');
    const server = run.hosts.find((h) => h.name === 'server') ?? expect.unreachable();
    const tuple = { local: `${server.address}:8080`, remote: `${run.hosts.find((h) => h.name === 'client')?.address}:40000` };
    expect(connectionWindows(server, tuple)).toHaveLength(1);
    expect(conformanceOf(run, 'server').status).toBe('pass');
    // Had the server answered it with a SYN-ACK for it, it would have been a new connection (a reused port).
    const syn = server.segments.filter((s) => s.flags === TcpFlag.SYN).at(-1) ?? expect.unreachable();
    const answered = {
      ...server,
      segments: server.segments.map((s) =>
        s.timeUs > syn.timeUs && s.src === server.address && s === server.segments.find((r) => r.timeUs > syn.timeUs && r.src === server.address)
          ? { ...s, flags: TcpFlag.SYN | TcpFlag.ACK, ack: (syn.seq + 1) >>> 0 }
          : s,
      ),
    };
    expect(connectionWindows(answered, tuple)).toHaveLength(2);
  });
});
