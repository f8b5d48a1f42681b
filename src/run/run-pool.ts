/*
 * Runs labs `parallel` at a time (`tcplab run --parallel N`). An error in one run (an infrastructure
 * error: the engine refused, an agent died) must not leave its siblings running: the pool aborts them
 * through the shared AbortController — each run then stops its steps and tears its lab down, as on
 * Ctrl-C — waits until every run has settled, and only then rethrows the first error.
 */

/** The abort reason the siblings of a failed run see: which lab failed, and its error. */
export class SiblingRunFailed extends Error {
  override readonly name = 'SiblingRunFailed';
  constructor(
    readonly lab: string,
    readonly failure: unknown,
  ) {
    super(`the run of ${lab} failed (${failure instanceof Error ? failure.message : String(failure)}); stopping the other runs`);
  }
}

/**
 * Runs `run` on each item in order, at most `parallel` at once, and returns the results in completion
 * order (`onResult` sees each as it comes). The first error aborts `controller` (reason SiblingRunFailed,
 * unless it was already aborted) and is rethrown once all started runs have settled; queued items are
 * not started after an abort.
 */
export async function runPool<T extends { readonly name: string }, R>(
  items: readonly T[],
  parallel: number,
  run: (item: T) => Promise<R>,
  controller: AbortController,
  onResult: (result: R) => void = () => {},
): Promise<R[]> {
  const queue = [...items];
  const results: R[] = [];
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined && !controller.signal.aborted; item = queue.shift()) {
      try {
        const result = await run(item);
        results.push(result);
        onResult(result);
      } catch (error) {
        failure ??= { error };
        if (!controller.signal.aborted) controller.abort(new SiblingRunFailed(item.name, error));
      }
    }
  };
  await Promise.allSettled(Array.from({ length: Math.min(parallel, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
