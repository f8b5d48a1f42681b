import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

/** The catalog of labs shipped with tcplab. */
export const LABS_DIR = join(PACKAGE_ROOT, 'labs');

/** Where run folders go unless `--runs-dir` says otherwise. */
export function defaultRunsDir(): string {
  return process.env.TCPLAB_RUNS_DIR ?? join(process.cwd(), 'runs');
}
