import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { connectEngine } from './connect-engine.js';
import { CliError, ExitCode } from './exit-codes.js';

interface CleanFlags {
  images?: boolean;
  all?: boolean;
  force?: boolean;
}

/**
 * `tcplab clean`: removes what runs whose process is gone left behind (containers, networks, host
 * isolation rules, tracing instances). Runs of live tcplab processes are kept unless `--all` (asks first) or `--force`.
 */
export function registerClean(program: Command): void {
  program
    .command('clean')
    .description('remove what interrupted or killed runs left behind; runs of live tcplab processes are kept')
    .option('--all', 'also remove runs whose tcplab process is still running (asks for confirmation)')
    .option('--force', 'with or without --all: remove live runs too, without asking (for scripts)')
    .option('--images', 'also remove lab images other than the current one (each agent or Dockerfile change makes a new one)')
    .action(async (flags: CleanFlags) => {
      const { sweepDeadRuns } = await import('../run/reaper.js');
      const { describeLabImage, LAB_IMAGE_LABEL } = await import('../runtime/lab-image.js');
      const runtime = await connectEngine();
      let includeLive = flags.force === true;
      if (flags.all && !includeLive) includeLive = await confirm('remove runs of live tcplab processes too? They will fail. [y/N] ');
      const swept = await sweepDeadRuns(runtime, { includeLive });
      process.stdout.write(
        `removed ${swept.containers} container(s), ${swept.networks} network(s), ${swept.hostRules} host isolation rule(s) ` +
          `and ${swept.tracingInstances} tracing instance(s) of ${swept.runs.length} run(s)\n`,
      );
      if (swept.kept.length > 0) {
        process.stdout.write(
          `kept ${swept.kept.length} run(s) whose tcplab process is alive or on another machine (--all to remove them): ` +
            `${swept.kept.map((k) => k.runId).join(', ')}\n`,
        );
      }
      if (flags.images) {
        const current = describeLabImage().tag;
        const stale = (await runtime.listLabelled(LAB_IMAGE_LABEL)).images.filter((image) => !image.tags.includes(current));
        let removed = 0;
        for (const image of stale) {
          try {
            await runtime.removeImage(image.id);
            removed++;
          } catch (err) {
            process.stderr.write(`kept ${image.tags.join(', ') || image.id}: ${(err as Error).message}\n`);
          }
        }
        process.stdout.write(`removed ${removed} stale lab image(s); kept ${current}\n`);
      }
    });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError('--all removes runs of live processes and needs a yes on a terminal; in a script use --all --force', ExitCode.usage);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
