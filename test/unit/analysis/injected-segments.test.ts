import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { findInjectedSegments } from '../../../src/analysis/injected-segments.js';
import { rearmedSynCopies } from '../../../src/analysis/timing-series.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Step } from '../../../src/lab/model.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/** The record with its inject step claiming another sequence number: the captured segment is then nobody's injection. */
function withInjectSeq(run: RunRecord, seq: number): RunRecord {
  const steps = run.lab.steps.map((s): Step => (s.kind === 'inject' ? { ...s, seq } : s));
  return { ...run, lab: { ...run.lab, steps } };
}

describe('injected segments: sent by the host, by no socket of it (old-duplicate-syn as recorded)', () => {
  it('finds the stale SYN (seq 1000) in the client capture and marks it injected in the trace and the timing series', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const injected = findInjectedSegments(run);
    expect(injected.map((i) => ({ step: i.step, host: i.host, frame: i.frame, seq: i.segment.seq }))).toEqual([
      { step: 4, host: 'client', frame: 4, seq: 1000 },
    ]);
    const analysis = analyzeRun(run);
    const traced = analysis.trace.segments.filter((s) => s.injected !== undefined);
    expect(traced.map((s) => [s.from, s.to, s.flags, s.segment.seq, s.senderFrame, s.receiverFrame])).toEqual([['client', 'server', 'S', 1000, 4, 4]]);
    // the client's replay sees only what its TCP did: its SYN, the SYN-ACK of the stale SYN, its RST, its SYN again, …
    const client = analysis.replays.filter((r) => r.host === 'client');
    expect(client).toHaveLength(1);
  });

  it('the verdict PASSes: the client TCP is judged without the segment it never sent', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.filter((c) => c.status !== 'pass').map((c) => c.name)).toEqual([]);
    expect(verdict.verdict).toBe('pass');
  });

  it('FAILs when the segment is not recognised as injected: the stale SYN then splits the client 4-tuple and its replay invents a SYN_SENT', async () => {
    const run = withInjectSeq(await loadFixtureRun('old-duplicate-syn'), 2000);
    expect(findInjectedSegments(run)).toEqual([]);
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.verdict).toBe('fail');
    const client = verdict.checks.find((c) => c.name.startsWith('client') && c.name.includes('state machine') && c.status === 'fail') ?? expect.unreachable();
    expect(client.name).toContain('connection 3 of 3 on this 4-tuple');
    expect(client.observed).toContain('never happened');
  });

  it('only a segment inside the step window counts: the same segment one second after the step is not the injection', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const record = run.steps.find((s) => s.kind === 'inject') ?? expect.unreachable();
    const late = { ...run, steps: run.steps.map((s) => (s === record ? { ...s, startUs: s.startUs - 2_000_000, endUs: s.endUs - 1_000_000 } : s)) };
    expect(findInjectedSegments(late)).toEqual([]);
  });
});

describe('the SYN sent again at once after an unacceptable ACK (tcp_rcv_synsent_state_process(): TCP_TIMEOUT_MIN)', () => {
  it('old-duplicate-syn: the client SYN copy 16 ms after the stale SYN-ACK is a re-armed timer, not an early backoff retransmission', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const analysis = analyzeRun(run);
    const syn = analysis.series.find((s) => s.series.kind === 'SYN' && s.series.from === 'client' && s.series.copies.length === 2) ?? expect.unreachable();
    const second = syn.series.copies[1] ?? expect.unreachable();
    expect(syn.modelled?.rearmed?.get(second.id)).toBeDefined();
    expect(syn.modelled?.timerCopies).toHaveLength(1);
  });

  it('is not one when the SYN-ACK acknowledged the SYN, or when the copy left later than 2 jiffies and the slack', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const analysis = analyzeRun(run);
    const syn = analysis.series.find((s) => s.series.kind === 'SYN' && s.series.from === 'client' && s.series.copies.length === 2) ?? expect.unreachable();
    const acceptable = analysis.trace.segments.map((t) =>
      t.flags === 'S.' && t.segment.ack === 1001 ? { ...t, segment: { ...t.segment, ack: syn.series.copies[0]!.segment.seq + 1 } } : t,
    );
    expect(rearmedSynCopies(syn.series, acceptable, 250).size).toBe(0);
    // at HZ 250 the window is 3 jiffies + 50 ms = 62 ms; the copy left 16 ms after the SYN-ACK: moved 50 ms later it is outside
    const later = { ...syn.series, copies: syn.series.copies.map((c, i) => (i === 1 ? { ...c, departUs: (c.departUs ?? 0) + 50_000 } : c)) };
    expect(rearmedSynCopies(later, analysis.trace.segments, 250).size).toBe(0);
    expect(rearmedSynCopies(syn.series, analysis.trace.segments, 250).size).toBe(1);
  });
});
