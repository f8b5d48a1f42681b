/**
 * An AbortSignal that aborts after `ms`, driven by an ordinary (ref'd) timer that this object
 * holds. `AbortSignal.timeout()` is not used: its timer is unref'd and, combined through
 * `AbortSignal.any()`, the signal can be garbage-collected before it fires (seen on Node 20.20:
 * a 1 s timeout had not fired after 3 s once gc() ran), so a lab's `timeout:` was not enforced.
 * Dispose it (`using`) to clear the timer.
 */
export class Deadline implements Disposable {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number, reason: string, parent?: AbortSignal) {
    this.timer = setTimeout(() => this.controller.abort(new DeadlineError(reason)), ms);
    if (parent) {
      if (parent.aborted) this.controller.abort(parent.reason);
      else parent.addEventListener('abort', () => this.controller.abort(parent.reason), { once: true, signal: this.controller.signal });
    }
  }

  /** Aborted when the time is up or the parent signal aborted (its reason is kept). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the deadline itself (not the parent) ended the wait. */
  get expired(): boolean {
    return this.controller.signal.reason instanceof DeadlineError;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.timer);
  }
}

/** The reason of a Deadline's signal when its time ran out. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}
