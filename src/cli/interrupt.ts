/**
 * Ctrl-C, SIGTERM and a closed terminal (SIGHUP), handled from the first instruction of the
 * process (bin/tcplab.js installs this before it loads anything else). While something that must
 * be torn down exists (`whileTearingDownOnInterrupt`), the first signal aborts `interruptSignal`
 * and that work removes what it made; otherwise, or on a second signal, the process exits at once.
 * Either way the exit code is 130. This module imports nothing, so it loads in a millisecond.
 */
const controller = new AbortController();
let guarded = 0;

/** Aborted by the first SIGINT/SIGTERM/SIGHUP; its reason is an InterruptedError. */
export const interruptSignal: AbortSignal = controller.signal;

/** Exit code of a run ended by a signal (128 + SIGINT), whichever signal it was. */
export const INTERRUPTED_EXIT_CODE = 130;

/** The reason of interruptSignal. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** Installs the handlers (once). */
export function installInterruptHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** Runs `work` with interruption turned into an abort of interruptSignal instead of an exit. */
export async function whileTearingDownOnInterrupt<T>(work: () => Promise<T>): Promise<T> {
  guarded++;
  try {
    return await work();
  } finally {
    guarded--;
  }
}

/** True while a signal would tear something down rather than exit at once. */
export function teardownIsGuarded(): boolean {
  return guarded > 0;
}

function onSignal(signal: NodeJS.Signals): void {
  if (guarded === 0 || controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
  // After SIGHUP the terminal is gone; writes to it fail with EIO, which main.ts tolerates.
  if (signal !== 'SIGHUP') process.stderr.write(`\n${signal}: stopping; removing what the run created…\n`);
  controller.abort(new InterruptedError(signal));
}
