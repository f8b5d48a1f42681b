import { describe, expect, it } from 'vitest';
import { anchorRealtimeClock } from '../../../src/agent/realtime-clock.js';

/** The largest distance (µs) by which `nowUs` fell outside the millisecond Date.now() showed around it. */
function worstMiss(nowUs: () => number, reads: number): number {
  let worst = 0;
  for (let i = 0; i < reads; i++) {
    const before = Date.now();
    const us = nowUs();
    const after = Date.now();
    worst = Math.max(worst, before * 1000 - us, us - (after + 1) * 1000);
  }
  return worst;
}

describe('anchorRealtimeClock', () => {
  it('reads CLOCK_REALTIME to the µs: inside the millisecond Date.now() shows around it, within its stated bound', () => {
    const clock = anchorRealtimeClock();
    expect(clock.spinNs).toBeLessThan(100_000_000n);
    expect(clock.uncertaintyNs).toBeLessThan(200_000n); // even on a loaded 2-core machine
    expect(worstMiss(() => clock.nowUs(), 20_000)).toBeLessThanOrEqual(Number(clock.uncertaintyNs / 1000n) + 1);
  });

  it('a clock 2 ms off fails that check (the check can fail)', () => {
    const clock = anchorRealtimeClock();
    expect(worstMiss(() => clock.nowUs() + 2000, 1000)).toBeGreaterThan(900);
  });
});
