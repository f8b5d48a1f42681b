import type { LoadedItem } from './check-lab-references.js';
import type { PathProblem } from './lab-issues.js';
import { MAX_HOSTS } from './lab-limits.js';
import type { Step } from './model.js';

/**
 * Checks what the lab's /24 must hold: its hosts (.2 upwards, .1 is the bridge) and, for each flood,
 * the forged sources taken from the addresses no host uses (src/run/syn-flood.ts pickSpoofSources).
 */
export function checkLabCapacity(hostCount: number, steps: readonly LoadedItem<Step>[]): PathProblem[] {
  const problems: PathProblem[] = [];
  if (hostCount > MAX_HOSTS) {
    problems.push({
      path: ['hosts'],
      target: 'value',
      message: `a lab has at most ${MAX_HOSTS} hosts (its /24 gives them .2-.254), received ${hostCount}; remove ${hostCount - MAX_HOSTS} or split the lab`,
    });
    return problems;
  }
  const unused = MAX_HOSTS - hostCount;
  steps.forEach((item, index) => {
    if (item.status !== 'parsed' || item.model.kind !== 'flood' || item.model.sources <= unused) return;
    problems.push({
      path: ['steps', index, 'flood', 'sources'],
      target: 'value',
      message:
        `the lab's /24 has ${unused} addresses no host uses (${MAX_HOSTS} minus ${hostCount} hosts), ` +
        `received sources: ${item.model.sources}; lower sources to ${unused} or less`,
    });
  });
  return problems;
}
