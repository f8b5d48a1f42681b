import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { CliError, ExitCode } from './exit-codes.js';

/** A DockerRuntime whose engine answers; no engine is exit code 3 with the sentence that fixes it. */
export async function connectEngine(): Promise<DockerRuntime> {
  const { DockerRuntime } = await import('../runtime/docker/docker-runtime.js');
  const { EngineUnavailableError } = await import('../runtime/runtime.js');
  const runtime = new DockerRuntime();
  try {
    await runtime.engineInfo();
  } catch (err) {
    if (err instanceof EngineUnavailableError) throw new CliError(err.message, ExitCode.environment);
    throw err;
  }
  return runtime;
}
