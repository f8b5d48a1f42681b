import { checkExpectations } from './check-expectations.js';
import { checkConformance } from './conformance.js';
import { relTime, stateSourceOf, type RunRecord } from './run-record.js';
import { makeVerdict, type Check, type Verdict } from './verdict.js';

/** Recomputes a run's verdict from its record alone (pure: no Docker, no clock). */
export function verifyRun(run: RunRecord, runDir: string, durationMs: number): Verdict {
  const checks: Check[] = [];
  for (const step of run.steps) {
    if (!step.error) continue;
    checks.push({
      name: `step ${step.index + 1} (${step.description}) completes`,
      status: 'fail',
      expected: 'the step completes',
      observed: step.error,
      evidence: [`step started at ${relTime(run, step.startUs)}`],
    });
  }
  const skipped = run.lab.steps.length - run.steps.length;
  if (skipped > 0 && checks.length === 0) {
    checks.push({
      name: 'all steps ran',
      status: 'fail',
      expected: `${run.lab.steps.length} steps`,
      observed: `${run.steps.length} steps (the run was cut short)`,
      evidence: [],
    });
  }
  checks.push(...checkExpectations(run));
  // Every lab is verified by the full verifier: each sampled socket against the machine and the replay.
  checks.push(...checkConformance(run));
  const verdict = makeVerdict(run.lab.name, runDir, durationMs, checks);
  verdict.hosts = run.hosts.map((h) => ({ name: h.name, address: h.address, stateSource: stateSourceOf(h) }));
  const notes = observationNotes(run);
  if (notes.length > 0) verdict.notes = notes;
  return verdict;
}

/** Notes on how states were observed: hosts without a kernel trace, and why. */
function observationNotes(run: RunRecord): string[] {
  const sampled = run.hosts.filter((h) => stateSourceOf(h) === 'sampled').map((h) => h.name);
  if (sampled.length === 0) return [];
  const why = run.kernelTraceUnavailable ?? 'no kernel trace was recorded';
  return [`socket states of ${sampled.join(', ')} come from /proc/net/tcp samples only, not the kernel's tracepoints: ${why}`];
}
