/**
 * CLOCK_REALTIME with microsecond resolution, the clock of tcpdump's timestamps (-tt) and of the
 * kernel trace once mapped. Date.now() is that clock but only to the millisecond, and
 * `performance.timeOrigin + performance.now()` is not that clock: in Node 18 its origin was
 * measured 16 ms ahead of Date.now() right after start (timeOrigin is taken once, by a different
 * clock read, at process start). process.hrtime.bigint() is CLOCK_MONOTONIC (libuv uv_hrtime()),
 * which NTP slews exactly as it slews CLOCK_REALTIME, so realtime = monotonic + a constant offset
 * (timekeeping.c: offs_real changes only when the clock is stepped). The offset is found by
 * spinning until Date.now() ticks to the next millisecond: at that instant real time is a whole
 * millisecond, and the monotonic reading taken right after it is late by one loop turn (< 1 µs).
 * Imports nothing but node builtins: the in-container agent (Node 18) uses it too.
 */

/** A real-time clock in µs since the epoch, anchored once to the monotonic clock. */
export interface RealtimeClock {
  /** CLOCK_REALTIME µs since the epoch, now. */
  nowUs(): number;
  /** realtime ns − monotonic ns found when anchoring. */
  readonly offsetNs: bigint;
  /** How long the anchoring spun, in ns (the width of the Date.now() tick it waited for). */
  readonly spinNs: bigint;
}

/** Anchors process.hrtime.bigint() to the real-time clock (spins ≤ 1 ms, once). */
export function anchorRealtimeClock(): RealtimeClock {
  const started = process.hrtime.bigint();
  const before = Date.now();
  let ms = before;
  let mono = started;
  // Bounded: a stuck Date.now() (a frozen clock) must not hang the agent; 50 ms is 50 ticks.
  while (ms === before && mono - started < 50_000_000n) {
    ms = Date.now();
    mono = process.hrtime.bigint();
  }
  const offsetNs = BigInt(ms) * 1_000_000n - mono;
  return {
    offsetNs,
    spinNs: mono - started,
    nowUs: () => Number((process.hrtime.bigint() + offsetNs) / 1000n),
  };
}
