import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from './run-fixtures.js';

/** The server-side replays of the record, by final state. */
function serverReplays(run: RunRecord) {
  return analyzeRun(run).replays.filter((r) => r.host === 'server');
}

/** The record with the listen step's backlog changed. */
function withBacklog(run: RunRecord, backlog: number): RunRecord {
  return { ...run, lab: { ...run.lab, steps: run.lab.steps.map((s) => (s.kind === 'listen' ? { ...s, backlog } : s)) } };
}

describe('accept-queue overflow (recorded accept-queue-overflow runs: backlog 1, no accept(), three connects)', () => {
  it('tcp_abort_on_overflow=0: the third final ACK is ignored, the request retransmits its SYN-ACK and is dropped; PASS', async () => {
    const run = await loadFixtureRun('accept-queue-overflow');
    const replays = serverReplays(run);
    expect(replays.map((r) => r.timeline.map((e) => e.state).join(' → '))).toEqual([
      'LISTEN → SYN_RECEIVED → ESTABLISHED',
      'LISTEN → SYN_RECEIVED → ESTABLISHED',
      'LISTEN → SYN_RECEIVED → LISTEN',
    ]);
    const third = replays[2] ?? expect.unreachable();
    expect(third.skipped.map((s) => s.reason).join('\n')).toContain(
      'final ACK ignored: (accept queue 2 of backlog 1 full, none accepted since — sk_acceptq_is_full())',
    );
    expect(third.timeline.at(-1)?.cause.kind).toBe('timer');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('FAILs when the model is told the queue had room (backlog 2): it expects a child the kernel never made', async () => {
    const run = withBacklog(await loadFixtureRun('accept-queue-overflow'), 2);
    const analysis = analyzeRun(run);
    const failing = checkConformance(run, analysis.replays, analysis).filter((c) => c.status === 'fail');
    expect(failing).toHaveLength(1);
    expect(failing[0]?.name).toMatch(/^server /);
    expect(verifyRun(run, 'x', 0).verdict).toBe('fail');
  });

  it('tcp_abort_on_overflow=1: the third final ACK is refused and the request reset with a RST; conformance passes', async () => {
    const run = await loadFixtureRun('accept-queue-overflow-abort');
    const third = serverReplays(run)[2] ?? expect.unreachable();
    expect(third.skipped.map((s) => s.reason).join('\n')).toContain('tcp_abort_on_overflow=1 resets the request');
    expect(third.timeline.at(-1)?.state).toBe('CLOSED');
    const analysis = analyzeRun(run);
    expect(checkConformance(run, analysis.replays, analysis).map((c) => c.status)).not.toContain('fail');
  });
});

describe('an accept step empties the queue (recorded syn-dropped-full-queue run: backlog 0, a queued, b waits)', () => {
  it('b’s SYNs are dropped while a fills the queue, and answered after the accept; PASS', async () => {
    const run = await loadFixtureRun('syn-dropped-full-queue');
    expect(
      verifyRun(run, 'x', 0)
        .checks.filter((c) => c.status === 'fail')
        .map((c) => `${c.name}: ${c.observed}`),
    ).toEqual([]);
    const b = serverReplays(run).find((r) => r.timeline.some((e) => e.state === 'SYN_RECEIVED') && r.skipped.length > 0) ?? expect.unreachable();
    expect(b.skipped.map((s) => s.reason).join('\n')).toContain('SYN dropped');
    expect(b.timeline.map((e) => e.state).join(' → ')).toBe('LISTEN → SYN_RECEIVED → ESTABLISHED');
  });

  it('FAILs conformance when no accept() had taken a’s child: the queue stays full, and b’s answered SYN has no cause', async () => {
    const run = await loadFixtureRun('syn-dropped-full-queue');
    const hosts = run.hosts.map((h) => (h.name === 'server' ? { ...h, events: h.events.filter((e) => e.type !== 'accepted') } : h));
    const failed = checkConformance({ ...run, hosts }).filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.name).join('\n')).toMatch(/server .* follows the TCP state machine/);
  });
});
