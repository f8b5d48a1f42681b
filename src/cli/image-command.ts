import type { Command } from 'commander';
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
      const { DockerRuntime } = await import('../runtime/docker/docker-runtime.js');
      const { ensureLabImage } = await import('../runtime/lab-image.js');
      const { EngineUnavailableError } = await import('../runtime/runtime.js');
      const runtime = new DockerRuntime();
      try {
        await runtime.engineInfo();
        const tag = await ensureLabImage(runtime, { force: flags.force, offline: flags.offline, log: (line) => process.stderr.write(`${line}\n`) });
        process.stdout.write(`${tag}\n`);
      } catch (err) {
        if (err instanceof EngineUnavailableError) throw new CliError(err.message, ExitCode.environment);
        throw new CliError(`image build failed: ${(err as Error).message}`, ExitCode.environment);
      }
    });
}
