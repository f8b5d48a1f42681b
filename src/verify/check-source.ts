import type { RunRecord } from '../analysis/run-record.js';

/*
 * Where a check came from, for people and tools: the lab-file position of its expectation or step (file as
 * the lab was loaded, `labs/x.yaml` for the catalog), or the name of what produced it.
 */

/** `labs/syn-sent.yaml:12:5 (step 3)`: the lab line of step `index`, or `step 3` when the lab has no positions. */
export function stepSource(run: RunRecord, index: number): string {
  const pos = run.lab.positions?.steps[index];
  const file = run.lab.sourceFile ?? run.lab.file;
  return pos === undefined || file === undefined ? `step ${index + 1}` : `${file}:${pos.line}:${pos.col} (step ${index + 1})`;
}

/** `labs/syn-sent.yaml:42:5`: the lab-file position of expectation `index` (file as loaded), or `expectation N`. */
export function expectationSource(run: RunRecord, index: number): string {
  const pos = run.lab.positions?.expectations[index];
  const file = run.lab.sourceFile ?? run.lab.file;
  return pos === undefined || file === undefined ? `expectation ${index + 1}` : `${file}:${pos.line}:${pos.col}`;
}
