import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/*
 * Simultaneous close with one FIN lost (teacher lab closing-fin-lost, recorded): a's FIN is dropped by b's
 * firewall, b's FIN reaches a, so a goes FIN_WAIT_1 → CLOSING (tcp_fin()) and its ACK of b's FIN takes b to
 * FIN_WAIT_2 although b never saw a's FIN; a's retransmitted FIN then closes both into TIME_WAIT.
 */
describe('recorded closing-fin-lost run: CLOSING on one side, FIN_WAIT_2 on the other', () => {
  it('the replay takes each side by its own path, and the verdict passes', async () => {
    const run = await loadFixtureRun('closing-fin-lost');
    const paths = Object.fromEntries(replayRun(run).map((r) => [r.host, r.timeline.map((e) => e.state)]));
    expect(paths.a).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'CLOSING', 'TIME_WAIT']);
    expect(paths.b).toEqual(['LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT']);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('times the FIN series from when TCP sent the first copy, not from its release out of the held queue', async () => {
    const run = await loadFixtureRun('closing-fin-lost');
    const check = verifyRun(run, 'x', 0).checks.find((c) => c.name.startsWith('FIN retransmissions'))!;
    expect(check.status).toBe('pass');
    expect(check.evidence.join('\n')).toMatch(
      /the first copy waited in a's held queue \(step 6\): TCP sent it at \+0\.\d{3} s \(entering FIN_WAIT_1, traced\)/,
    );
    // Without the hold steps the capture's release time is the anchor: the tail-loss probe 200 ms after TCP's send looks early.
    const unheld = { ...run, lab: { ...run.lab, steps: run.lab.steps.map((s) => (s.kind === 'hold' || s.kind === 'release' ? { ...s, host: 'nobody' } : s)) } };
    const early = verifyRun(unheld, 'x', 0).checks.find((c) => c.name.startsWith('FIN retransmissions'))!;
    expect(early.status).toBe('fail');
    expect(early.observed).toMatch(/early/);
  });

  it('fails when the lab had no rule: the replay then has b take a’s first FIN, which the trace contradicts', async () => {
    const base = await loadFixtureRun('closing-fin-lost');
    const run = { ...base, lab: { ...base.lab, steps: base.lab.steps.filter((s) => s.kind !== 'rule' && s.kind !== 'unrule') } };
    const analysis = analyzeRun(run);
    const b = analysis.replays.find((r) => r.host === 'b')!;
    expect(b.timeline.map((e) => e.state)).toContain('CLOSING');
    const check = checkConformance(run, analysis.replays, analysis).find((c) => c.name.startsWith('b '))!;
    expect(check.status).toBe('fail');
  });
});
