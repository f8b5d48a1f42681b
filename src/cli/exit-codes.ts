/** Process exit codes of every tcplab verb. */
export const ExitCode = {
  /** Every lab passed / the command did what was asked. */
  ok: 0,
  /** A verdict is FAIL. */
  fail: 1,
  /** Bad input: lab file, flags, arguments, or a lab's sysctls and rules this machine refuses. Nothing was created. */
  usage: 2,
  /** The environment cannot run labs: no Docker engine, no image, no privileges. */
  environment: 3,
  /** A bug in tcplab itself (the message carries the stack trace for a report). */
  internal: 4,
  /** `verify <capture>`: frames were skipped (link type or encapsulation not decoded) and no TCP was found. */
  nothingDecoded: 5,
  /** Interrupted by SIGINT/SIGTERM/SIGHUP after cleaning up. */
  interrupted: 130,
} as const;

/** An error the CLI reports as one clear message (no stack trace) with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
