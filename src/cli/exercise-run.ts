import type { Lab } from '../lab/model.js';
import { message, type Lang } from '../messages/catalog.js';
import { PlainRunView } from '../report/live-view.js';
import { DeployError } from '../run/deployed-lab.js';
import { describeSweep, sweepDeadRuns } from '../run/reaper.js';
import { RunInterruptedError, runLab } from '../run/run-lab.js';
import { ensureLabImage } from '../runtime/lab-image.js';
import type { Verdict } from '../verify/verdict.js';
import { connectEngine } from './connect-engine.js';
import { CliError, ExitCode } from './exit-codes.js';
import { interruptSignal, whileTearingDownOnInterrupt } from './interrupt.js';
import { checkLabsOnMachine } from './preflight-labs.js';

/**
 * Runs one lab for `tcplab exercise` and `tcplab grade` as `tcplab run` does (image, preflight, Ctrl-C tears
 * down), with plain progress lines on stderr; returns its verdict (whose runDir holds the record).
 */
export async function runLabForExercise(lab: Lab, labPath: string, runsDir: string, quiet: boolean, lang: Lang = 'en'): Promise<Verdict> {
  const runtime = await connectEngine();
  const progress = (line: string): void => {
    if (!quiet) process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
  };
  const image = await ensureLabImage(runtime, { log: progress }).catch((err: Error) => {
    throw new CliError(`cannot make the lab image: ${err.message}\n  try: tcplab doctor`, ExitCode.environment);
  });
  await checkLabsOnMachine([{ lab, path: labPath }], [], runtime, image);
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort(new RunInterruptedError(String((interruptSignal.reason as Error).message)));
  interruptSignal.addEventListener('abort', onInterrupt, { once: true });
  try {
    return await whileTearingDownOnInterrupt(async () => {
      if (interruptSignal.aborted) onInterrupt();
      const swept = describeSweep(await sweepDeadRuns(runtime), lang);
      if (swept) progress(swept);
      const observer = quiet ? undefined : new PlainRunView((line) => process.stderr.write(`${line}\n`), '', lang);
      try {
        return await runLab(lab, { runtime, image, runsDir, signal: controller.signal, lang, ...(observer !== undefined && { observer }) });
      } finally {
        await observer?.close();
      }
    });
  } catch (err) {
    if (err instanceof RunInterruptedError || controller.signal.aborted) {
      throw new CliError(message(lang, 'run.interrupted'), ExitCode.interrupted);
    }
    if (err instanceof DeployError)
      throw new CliError(`${err.message}\n  everything the run created has been removed; try: tcplab doctor`, ExitCode.environment);
    throw err;
  } finally {
    interruptSignal.removeEventListener('abort', onInterrupt);
  }
}
