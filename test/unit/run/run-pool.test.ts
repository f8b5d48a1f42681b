import { describe, expect, it } from 'vitest';
import { runPool, SiblingRunFailed } from '../../../src/run/run-pool.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lab run that lasts until it is aborted (then tears down, taking `teardownMs`) or until `ms` have passed. */
function longRun(log: string[], ms: number, teardownMs: number) {
  return async (name: string, signal: AbortSignal): Promise<string> => {
    log.push(`start ${name}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (signal.aborted) {
      await sleep(teardownMs);
      log.push(`torn down ${name}`);
      throw new Error(`${name} interrupted`);
    }
    log.push(`done ${name}`);
    return name;
  };
}

describe('run --parallel: an infrastructure error in one lab stops its siblings, which tear down before the error is reported', () => {
  it('aborts the siblings, waits for their teardown, does not start queued labs, and rethrows the first error', async () => {
    const log: string[] = [];
    const controller = new AbortController();
    const long = longRun(log, 5_000, 30);
    const labs = [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }];
    const failing = runPool(
      labs,
      3,
      async (lab) => {
        if (lab.name === 'b') {
          log.push('start b');
          await sleep(10);
          throw new Error('engine refused to start host b');
        }
        return long(lab.name, controller.signal);
      },
      controller,
    );
    await expect(failing).rejects.toThrow('engine refused to start host b');
    expect(log).toContain('torn down a');
    expect(log).toContain('torn down c');
    expect(log).not.toContain('start d');
    expect(controller.signal.reason).toBeInstanceOf(SiblingRunFailed);
    expect((controller.signal.reason as SiblingRunFailed).lab).toBe('b');
  });

  it('without an error, every lab runs and every result comes back', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const results = await runPool(
      [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
      2,
      async (lab) => lab.name,
      controller,
      (r) => seen.push(r),
    );
    expect(results.sort()).toEqual(['a', 'b', 'c']);
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
    expect(controller.signal.aborted).toBe(false);
  });
});
