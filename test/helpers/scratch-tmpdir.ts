import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global set-up: every temporary folder the tests make (run folders, lab copies, browser
 * profiles), and those of the tcplab processes they start, goes into one scratch folder under the
 * system's temp folder, removed when the suite ends. TCPLAB_KEEP_TEST_RUNS=1 keeps it (its path is
 * printed) to read a failed run's folder afterwards.
 */
export default function setup(): () => void {
  const scratch = mkdtempSync(join(tmpdir(), 'tcplab-tests-'));
  process.env.TMPDIR = scratch;
  return () => {
    if (process.env.TCPLAB_KEEP_TEST_RUNS === '1') process.stderr.write(`test run folders kept in ${scratch}\n`);
    else rmSync(scratch, { recursive: true, force: true });
  };
}
