import type { Command } from 'commander';
import { connectEngine } from './connect-engine.js';
import { CliError, ExitCode } from './exit-codes.js';

/** `tcplab image build`: builds the lab image (and its base when no registry is reachable). */
export function registerImage(program: Command): void {
  const image = program.command('image').description('manage the lab image');
  image
    .command('build')
    .description('build the lab image (tag carries a hash of docker/Dockerfile and the agent)')
    .option('--force', 'rebuild even when an image with the current tag exists')
    .option('--offline', 'skip the registry: make the base from Debian packages with debootstrap')
    .action(async (flags: { force?: boolean; offline?: boolean }) => {
      const { ensureLabImage } = await import('../runtime/lab-image.js');
      const runtime = await connectEngine();
      try {
        const tag = await ensureLabImage(runtime, { force: flags.force, offline: flags.offline, log: (line) => process.stderr.write(`${line}\n`) });
        process.stdout.write(`${tag}\n`);
      } catch (err) {
        throw new CliError(`image build failed: ${(err as Error).message}`, ExitCode.environment);
      }
    });
}
