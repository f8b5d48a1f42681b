import { Command, CommanderError } from 'commander';
import { LabError } from '../lab/lab-error.js';
import { RunFolderError } from '../run/run-folder-error.js';
import { registerClean } from './clean-command.js';
import { registerDoctor } from './doctor-command.js';
import { registerExercise } from './exercise-command.js';
import { registerGrade } from './grade-command.js';
import { CliError, ExitCode } from './exit-codes.js';
import { teardownIsGuarded } from './interrupt.js';
import { registerImage } from './image-command.js';
import { registerFsm } from './fsm-command.js';
import { registerList } from './list-command.js';
import { registerReport } from './report-command.js';
import { registerRun } from './run-command.js';
import { registerSetup } from './setup-command.js';
import { registerShow } from './show-command.js';
import { registerVerify } from './verify-command.js';

/** Runs the tcplab command line; resolves with the process exit code (never throws). */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const setExitCode = (code: number): void => {
    exitCode = code;
  };
  // `| head` closes our output early (EPIPE; EIO when a terminal closes): end quietly, but a run
  // in progress first removes what it created (its SIGTERM handler stops it and tears it down).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
      if (teardownIsGuarded()) process.emit('SIGTERM', 'SIGTERM');
      else process.exit(exitCode);
    });
  }
  const program = new Command('tcplab')
    .description('TCP failure experiments in Docker, verified against a reference TCP state machine and a Linux timing model')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerList(program);
  registerShow(program);
  registerRun(program, setExitCode);
  registerVerify(program, setExitCode);
  registerReport(program, setExitCode);
  registerFsm(program);
  registerExercise(program, setExitCode);
  registerGrade(program, setExitCode);
  registerDoctor(program, setExitCode);
  registerImage(program);
  registerClean(program);
  registerSetup(program);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse problem is bad input.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof LabError) {
      process.stderr.write(`${err.formatProblems()}\n`);
      return ExitCode.usage;
    }
    if (err instanceof RunFolderError) {
      process.stderr.write(`tcplab: ${err.message}\n`);
      return ExitCode.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`tcplab: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`tcplab: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.internal;
  }
}
