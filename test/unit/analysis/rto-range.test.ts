import { describe, expect, it } from 'vitest';
import { estimateFinRto } from '../../../src/analysis/timing-fit.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import { checkFinRetransmits } from '../../../src/verify/timing-checks.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withSettings } from '../verify/run-fixtures.js';

/*
 * The RTO the gaps allow is a range, multiplied into the give-up. Recorded (fin-give-up-rto-range: close() with
 * SO_LINGER 2 s to a silent peer, tcp_orphan_retries=2; the same lab without SO_LINGER gave the same schedule 3 times
 * in 3): FINs at 0, 0.207 (tail-loss probe), 0.415, 0.851, 1.683 s and the kernel's give-up at 3.351 s — 1.668 s after
 * the last FIN, 8 × 208 ms. Under 200 ms alone, the smallest RTO the gaps allow, the window closed 12 ms before it:
 * the FIN check and the replay's give-up window both called it late (a false FAIL).
 */
describe('recorded fin-give-up-rto-range run: the give-up is judged under every RTO the gaps allow', () => {
  const expectation = { kind: 'fin-retransmits', host: 'client', conn: 'c' } as const;

  it('the gaps allow 200–212 ms in whole jiffies', () => {
    const estimate = estimateFinRto([0, 207, 415, 851, 1683], 200, 250);
    expect([estimate.rtoMs, estimate.latestRtoMs, estimate.tlpAtMs]).toEqual([200, 212, 207]);
  });

  it('the FIN check and the replay accept the give-up; the run passes', async () => {
    const run = await loadFixtureRun('fin-give-up-rto-range');
    const check = checkFinRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.evidence.join('\n')).toMatch(/RTO 20[48] ms \(200–212 ms in whole jiffies fit every gap/);
    const giveUp = replayRun(run)
      .find((r) => r.host === 'client')!
      .timeline.at(-1)!;
    expect(giveUp.cause).toMatchObject({ kind: 'timer', name: expect.stringContaining('RTO 200–212 ms') });
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('fails with tcp_orphan_retries=1 recorded instead: the kernel would have given up a doubling earlier', async () => {
    const run = withSettings(await loadFixtureRun('fin-give-up-rto-range'), 'client', { 'net.ipv4.tcp_orphan_retries': '1' });
    expect(checkFinRetransmits(expectation, run).status).toBe('fail');
  });
});
