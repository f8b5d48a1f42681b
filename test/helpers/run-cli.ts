import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/tcplab.js', import.meta.url));

/** Runs the built CLI as a user would (`node bin/tcplab.js …`), never rejecting on exit codes. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [BIN, ...args], { reject: false, all: true, cwd: options.cwd ?? REPO_ROOT, env: options.env });
}
