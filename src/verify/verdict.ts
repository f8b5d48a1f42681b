/** The outcome of one lab run or re-verification: every check with expected vs observed and its evidence. */
export interface Verdict {
  lab: string;
  verdict: 'pass' | 'fail';
  runDir: string;
  durationMs: number;
  checks: Check[];
  /** Each host of the run and where its exact socket states came from (`run --json`: labs[].hosts[]). */
  hosts?: VerdictHost[];
  /** What the reader must know about how the observations were made (e.g. no kernel trace). */
  notes?: string[];
}

export interface VerdictHost {
  name: string;
  address: string;
  stateSource: 'tracepoint' | 'sampled';
}

export interface Check {
  /** What is claimed, e.g. `client reaches SYN_SENT → CLOSED`. */
  name: string;
  status: 'pass' | 'fail';
  expected: string;
  observed: string;
  /** Where to look: packet numbers (`client capture #3`), sample times, event times. */
  evidence: string[];
  /** RFC section or kernel function the expectation rests on, when there is one. */
  reference?: string;
}

/** Combines checks into a verdict: pass only when there is at least one check and all pass. */
export function makeVerdict(lab: string, runDir: string, durationMs: number, checks: Check[]): Verdict {
  const verdict = checks.length > 0 && checks.every((c) => c.status === 'pass') ? 'pass' : 'fail';
  return { lab, verdict, runDir, durationMs, checks };
}
