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
  /** Half the width of the interval the offset is known to lie in (ns): the anchoring's error bound. */
  readonly uncertaintyNs: bigint;
  /** How long the anchoring spun, in ns. */
  readonly spinNs: bigint;
}

/**
 * Anchors process.hrtime.bigint() to the real-time clock by watching `ticks` Date.now() ticks
 * (spins about that many ms, once). At a tick, real time is a whole millisecond and the monotonic
 * clock lies between the reading taken before the previous Date.now() call and the one taken
 * after the call that saw the tick; each tick bounds the offset, and the bounds of all ticks are
 * intersected, so a preemption during one tick (a loaded machine) only widens that tick's bound.
 */
export function anchorRealtimeClock(ticks = 5): RealtimeClock {
  const started = process.hrtime.bigint();
  let lower = -(1n << 62n);
  let upper = 1n << 62n;
  let last = Date.now();
  let monoBeforeLast = started;
  // Bounded: a stuck Date.now() (a frozen clock) must not hang the agent.
  for (let seen = 0; seen < ticks && process.hrtime.bigint() - started < 100_000_000n;) {
    const monoBefore = process.hrtime.bigint();
    const ms = Date.now();
    if (ms === last) {
      monoBeforeLast = monoBefore;
      continue;
    }
    const monoAfter = process.hrtime.bigint();
    const tickNs = BigInt(ms) * 1_000_000n;
    if (seen > 0 || ms === last + 1) {
      // The first tick counts only when it follows the start's millisecond (no jump while starting).
      lower = tickNs - monoAfter > lower ? tickNs - monoAfter : lower;
      upper = tickNs - monoBeforeLast < upper ? tickNs - monoBeforeLast : upper;
    }
    seen++;
    last = ms;
    monoBeforeLast = monoBefore;
  }
  if (lower > upper) [lower, upper] = [upper, lower]; // the clock was stepped while anchoring: keep the latest bounds' span
  const offsetNs = (lower + upper) / 2n;
  return {
    offsetNs,
    uncertaintyNs: (upper - lower) / 2n,
    spinNs: process.hrtime.bigint() - started,
    nowUs: () => Number((process.hrtime.bigint() + offsetNs) / 1000n),
  };
}
