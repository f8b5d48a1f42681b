import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { connectionWindows } from '../../../src/analysis/run-replay.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

describe('a new connection on a reused 4-tuple is a new connection (recorded port-reuse run: out of the server TIME_WAIT)', () => {
  it('splits the 4-tuple into two connections at the SYN with a new ISN, each replayed and judged apart; the verdict PASSes', async () => {
    const run = await loadFixtureRun('port-reuse');
    const client = run.hosts.find((h) => h.name === 'client') ?? expect.unreachable();
    const syns = client.segments.filter((s) => s.src === client.address && (s.flags & 0x12) === 0x02);
    expect(syns).toHaveLength(2);
    const tuple = { local: `${client.address}:40000`, remote: `${run.hosts.find((h) => h.name === 'server')?.address}:8888` };
    const windows = connectionWindows(client, tuple);
    expect(windows).toHaveLength(2);
    expect(windows[1]?.fromUs).toBe((syns[1]?.timeUs ?? 0) - 1000);
    const analysis = analyzeRun(run);
    const replays = analysis.replays.filter((r) => r.host === 'server');
    expect(replays.map((r) => [r.conn, r.timeline.at(-1)?.state])).toEqual([
      ['accepted-1', 'TIME_WAIT'],
      ['accepted-2', 'ESTABLISHED'],
    ]);
    const checks = checkConformance(run, analysis.replays, analysis);
    expect(checks.map((c) => c.name.replace(/ \d+\.\d+\.\d+\.\d+:\d+ ↔ \d+\.\d+\.\d+\.\d+:\d+/, ''))).toEqual([
      'client (connection 1 of 2 on this 4-tuple: c1) follows the TCP state machine',
      'client (connection 2 of 2 on this 4-tuple: c2) follows the TCP state machine',
      'server (connection 1 of 2 on this 4-tuple: accepted-1) follows the TCP state machine',
      'server (connection 2 of 2 on this 4-tuple: accepted-2) follows the TCP state machine',
    ]);
    expect(checks.every((c) => c.status === 'pass')).toBe(true);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('FAILs when the second connection is made to look like the first (same ISN): merged, its ESTABLISHED after TIME_WAIT has no edge', async () => {
    const run = await loadFixtureRun('port-reuse');
    const isn = (h: (typeof run.hosts)[number]) => h.segments.find((s) => (s.flags & 0x12) === 0x02)?.seq ?? 0;
    const merged = {
      ...run,
      hosts: run.hosts.map((h) => ({ ...h, segments: h.segments.map((s) => ((s.flags & 0x12) === 0x02 ? { ...s, seq: isn(h) } : s)) })),
    };
    const verdict = verifyRun(merged, 'x', 0);
    expect(verdict.verdict).toBe('fail');
    const failing = verdict.checks.filter((c) => c.status === 'fail').map((c) => c.observed);
    expect(failing.some((o) => o.includes('after the socket was handed to a timewait socket'))).toBe(true);
  });

  it('FAILs a second connection whose kernel ESTABLISHED has no cause in its own window', async () => {
    const run = await loadFixtureRun('port-reuse');
    const late = withHost(run, 'client', (h) => {
      const events = h.kernelEvents ?? [];
      const second = events.findLast((e) => e.to === 'ESTABLISHED') ?? expect.unreachable();
      return { kernelEvents: events.map((e) => (e === second ? { ...e, timeUs: e.timeUs + 30_000 } : e)) };
    });
    const client2 = checkConformance(late, analyzeRun(late).replays, analyzeRun(late)).find(
      (c) => c.name.includes('connection 2 of 2') && c.name.startsWith('client'),
    );
    expect(client2?.status).toBe('fail');
    expect(client2?.observed).toContain('SYN_SENT → ESTABLISHED');
  });
});
