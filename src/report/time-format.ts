/** `+1.234 s` (or `−0.012 s`) for a relative time in µs, as the reports print it. */
export function formatRelativeSeconds(us: number): string {
  return `${us < 0 ? '−' : '+'}${(Math.abs(us) / 1e6).toFixed(3)} s`;
}

/** A duration in the unit people read best: `15 µs`, `0.412 ms`, `1.030 s`. */
export function formatDuration(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${Math.round(us)} µs`;
  if (a < 1e6) return `${(us / 1000).toFixed(3)} ms`;
  return `${(us / 1e6).toFixed(3)} s`;
}
