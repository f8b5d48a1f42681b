import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { renderJUnit } from '../report/junit-report.js';
import { listLabs, resolveLab } from '../lab/resolve-lab.js';
import { loadLabFile } from '../lab/load-lab.js';
import type { Lab } from '../lab/model.js';
import { PlainRunView, TaskListRunView } from '../report/live-view.js';
import type { RunObserver } from '../run/run-observer.js';
import { renderVerdict } from '../report/terminal-report.js';
import { describeStepIn } from '../messages/lab-words.js';
import { message, type Lang } from '../messages/catalog.js';
import { pickLang } from './lang-option.js';
import { ensureLabImage } from '../runtime/lab-image.js';
import { RunInterruptedError, runLab } from '../run/run-lab.js';
import { longestFirst, readLabDurations, recordLabDurations } from '../run/lab-durations.js';
import { runPool, SiblingRunFailed } from '../run/run-pool.js';
import type { Verdict } from '../verify/verdict.js';
import { DeployError } from '../run/deployed-lab.js';
import { describeSweep, sweepDeadRuns } from '../run/reaper.js';
import { connectEngine } from './connect-engine.js';
import { interruptSignal, whileTearingDownOnInterrupt } from './interrupt.js';
import { CliError, ExitCode } from './exit-codes.js';
import { LABS_DIR } from './paths.js';
import { checkLabsOnMachine, type LoadedLab } from './preflight-labs.js';
import { quote } from '../lab/quote-token.js';
import type { RunFlags } from './run-command.js';

/** The work of `tcplab run`, loaded only when that verb runs (it pulls in Docker, YAML and the live view). */
export async function runLabs(names: string[], flags: RunFlags, setExitCode: (code: number) => void): Promise<void> {
  const lang = pickLang(flags.lang);
  const loaded = await loadLabs(names, flags);
  const labs = loaded.map((l) => l.lab);
  const parallel = Number(flags.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new CliError(`--parallel takes a whole number ≥ 1; received ${quote(flags.parallel)}`, ExitCode.usage);
  const runtime = await connectEngine();
  const progress = (line: string): void => {
    if (!flags.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
  };
  const image = await ensureLabImage(runtime, { offline: flags.offline, log: progress }).catch((err: Error) => {
    throw new CliError(`cannot make the lab image: ${err.message}\n  try: tcplab doctor`, ExitCode.environment);
  });
  await checkLabsOnMachine(loaded, flags.set, runtime, image);

  // Ctrl-C, kill, or the terminal closing (interrupt.ts): stop the steps and let teardown run.
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort(new RunInterruptedError(String((interruptSignal.reason as Error).message)));
  interruptSignal.addEventListener('abort', onInterrupt, { once: true });
  let verdicts: Verdict[] = [];
  try {
    verdicts = await whileTearingDownOnInterrupt(async () => {
      if (interruptSignal.aborted) onInterrupt();
      const swept = describeSweep(await sweepDeadRuns(runtime), lang);
      if (swept) progress(swept);
      return runPool(
        parallel > 1 ? longestFirst(labs, readLabDurations(flags.runsDir)) : labs,
        parallel,
        async (lab) => {
          const observer = makeObserver(lab, flags, lang, labs.length > 1 && parallel > 1);
          try {
            return await runLab(lab, { runtime, image, runsDir: flags.runsDir, signal: controller.signal, observer, lang });
          } finally {
            await observer?.close();
          }
        },
        controller,
        (verdict) => {
          if (flags.json) return;
          process.stdout.write(`${renderVerdict(verdict, { color: process.stdout.isTTY === true, verbose: flags.verbose, lang })}\n`);
        },
      );
    });
  } catch (err) {
    const reason: unknown = controller.signal.reason;
    if (reason instanceof SiblingRunFailed) {
      // The other runs were stopped and torn down before runPool rethrew; say so, then report the error itself.
      process.stderr.write(`${reason.message}: the other labs' runs were stopped and their containers and networks removed\n`);
      throw err;
    }
    if (err instanceof RunInterruptedError || controller.signal.aborted) {
      setExitCode(ExitCode.interrupted);
      process.stderr.write(`${message(lang, 'run.interrupted')}\n`);
      return;
    }
    if (err instanceof DeployError)
      throw new CliError(`${err.message}\n  everything the run created has been removed; try: tcplab doctor`, ExitCode.environment);
    throw err;
  } finally {
    interruptSignal.removeEventListener('abort', onInterrupt);
  }
  if (verdicts.length > 0) recordLabDurations(flags.runsDir, Object.fromEntries(verdicts.map((v) => [v.lab, v.durationMs])));
  if (flags.json) process.stdout.write(`${JSON.stringify({ labs: verdicts })}\n`);
  if (flags.junit) writeFileSync(flags.junit, renderJUnit(verdicts));
  setExitCode(verdicts.every((v) => v.verdict === 'pass') ? ExitCode.ok : ExitCode.fail);
}

/**
 * The live view: none with --quiet; a task list when stderr is a terminal and one lab runs at a
 * time; otherwise plain timestamped lines (prefixed with the lab when labs run in parallel).
 */
function makeObserver(lab: Lab, flags: RunFlags, lang: Lang, prefixed: boolean): RunObserver | undefined {
  if (flags.quiet) return undefined;
  if (process.stderr.isTTY && !prefixed) {
    return new TaskListRunView(
      `${lab.name}: ${lab.title}`,
      lab.steps.map((step) => describeStepIn(lang, step)),
      lang,
    );
  }
  return new PlainRunView((line) => process.stderr.write(`${line}\n`), prefixed ? `[${lab.name}] ` : '', lang);
}

async function loadLabs(names: string[], flags: RunFlags): Promise<LoadedLab[]> {
  if (flags.all) names = [...names, ...(await listLabs(LABS_DIR)).map((l) => l.name)];
  if (names.length === 0) throw new CliError('name a lab to run (see `tcplab list`), or use --all', ExitCode.usage);
  const labs: LoadedLab[] = [];
  for (const name of names) {
    const path = await resolveLab(name, LABS_DIR);
    const lab = await loadLabFile(path, flags.set);
    // Checks name the lab file as the user gave it; a catalog lab by its place in the package (`labs/syn-sent.yaml:42:5`).
    labs.push({ lab: { ...lab, sourceFile: path === join(LABS_DIR, `${name}.yaml`) ? `labs/${name}.yaml` : path }, path });
  }
  return labs;
}
