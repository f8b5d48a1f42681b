import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { fitRetransmissions } from '../../../src/analysis/timing-fit.js';
import { predictOrphanFinSchedule, timerEarlyMs } from '../../../src/tcp/timing-model.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { checkFinRetransmits } from '../../../src/verify/timing-checks.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

/*
 * Timers measured in real time can fire a little early: the kernel arms them from jiffies, which can lag
 * the capture's clock (timerEarlyMs(), docs/linux-timers.md). The fixture is a real fin-wait-1 run under
 * load whose orphan gave up 3.296 s after its last FIN, for an RTO of 3.328 s (tracepoint to tracepoint).
 */

const FIN = { kind: 'fin-retransmits', host: 'client', conn: 'c' } as const;

/** Moves the client's traced FIN_WAIT_1 → CLOSED by `deltaUs`. */
function moveTracedClose(run: RunRecord, deltaUs: number): RunRecord {
  return withHost(run, 'client', (h) => ({
    kernelEvents: h.kernelEvents!.map((e) => (e.kind === 'state' && e.from === 'FIN_WAIT_1' && e.to === 'CLOSED' ? { ...e, timeUs: e.timeUs + deltaUs } : e)),
  }));
}

describe('a timer that fires early by the jiffies lag', () => {
  it('a level-2 timer may fire 8 jiffies early, a level-1 timer 1 jiffy, a level-0 timer not at all (HZ=250)', () => {
    expect(timerEarlyMs(3328, 250)).toBe(32);
    expect(timerEarlyMs(416, 250)).toBe(4);
    expect(timerEarlyMs(200, 250)).toBe(0);
    expect(timerEarlyMs(3328, 1000)).toBe(8);
  });

  it("CI's case: FINs at 0, 0.209, 0.421, 0.849, 1.681, 3.345 s (RTO 208 ms) and a give-up at 6.641 s fit; at 6.600 s they do not", () => {
    const sends = [0, 209, 421, 849, 1681, 3345].map((offsetMs, frame) => ({ offsetMs, frame, timeUs: 0 }));
    const predict = (o: { timerLateness: 'none' | 'max' }) => predictOrphanFinSchedule({ tcp_orphan_retries: 4 }, 208, { ...o, tlpAtMs: 209 });
    const fit = (atMs: number) => fitRetransmissions(predict, sends, { afterMs: atMs, byMs: atMs, source: 'test' }, 250);
    expect(fit(6641).problems).toEqual([]);
    expect(fit(6600).problems.join('; ')).toMatch(/give-up early/);
  });

  it('the FIN check judges the give-up by the traced close, which fits the window opened 32 ms early', async () => {
    const run = await loadFixtureRun('fin-wait-1-early-fire');
    const check = checkFinRetransmits(FIN, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/socket gone from FIN_WAIT_1 at 6\.617 s; no RST$/);
    expect(check.evidence.join('\n')).toMatch(/kernel FIN_WAIT_1 → CLOSED \(inet_sock_set_state, kernel-trace\.txt line \d+\)/);
    const conformance = checkConformance(run).find((c) => c.name.startsWith('client '))!;
    expect(conformance.status, conformance.observed).toBe('pass');
  });

  it('FAIL: the same close 120 ms sooner is earlier than any timer fires', async () => {
    const run = moveTracedClose(await loadFixtureRun('fin-wait-1-early-fire'), -120_000);
    const check = checkFinRetransmits(FIN, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/the give-up early \(6\.497 s, window 6\.533–6\.865 s\)/);
    expect(checkConformance(run).find((c) => c.name.startsWith('client '))!.status).toBe('fail');
  });
});
