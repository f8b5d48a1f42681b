import { createInterface } from 'node:readline';
import type { AgentCommand, AgentEvent } from '../agent/protocol.js';
import type { HostProcess } from '../runtime/runtime.js';
import { waitAtMost } from './bounded-wait.js';

type CommandBody = AgentCommand extends infer C ? (C extends AgentCommand ? Omit<C, 'id'> : never) : never;

/** A command the agent refused or could not carry out. */
export class AgentCommandError extends Error {
  override readonly name = 'AgentCommandError';
}

/** Raised when a wait ends without its event; carries what was seen meanwhile. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/**
 * The host side of one in-container agent: sends commands, matches replies, keeps every event
 * in arrival order (the run's record) and lets steps wait for events without polling.
 */
export class AgentSession {
  readonly events: AgentEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(event: AgentEvent) => void>();
  private readonly stderrLines: string[] = [];
  private ended = false;

  constructor(
    readonly host: string,
    private readonly proc: HostProcess,
    onEvent: (event: AgentEvent) => void = () => {},
  ) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let event: AgentEvent;
      try {
        event = JSON.parse(line) as AgentEvent;
      } catch {
        this.stderrLines.push(`unparseable agent output: ${line}`);
        return;
      }
      this.events.push(event);
      onEvent(event);
      for (const listener of this.listeners) listener(event);
    });
    createInterface({ input: proc.stderr }).on('line', (line) => this.stderrLines.push(line));
    proc.exited
      .finally(() => {
        this.ended = true;
        for (const listener of this.listeners) listener({ type: 'fatal', timeUs: Date.now() * 1000, message: 'agent exited' });
      })
      .catch(() => {});
  }

  /** Resolves once the agent has said it is ready. */
  async ready(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.waitFor((e) => e.type === 'ready', timeoutMs, 'the agent to start', 0, signal);
  }

  /** Sends a command and resolves when the agent confirms it has started it. */
  async command(body: CommandBody, timeoutMs = 10_000): Promise<void> {
    await this.request(body, timeoutMs);
  }

  /** `command`, resolving with the command's id (its reply and any event it produced carry it). */
  private async request(body: CommandBody, timeoutMs = 10_000): Promise<number> {
    const id = this.nextId++;
    const from = this.events.length;
    this.proc.stdin.write(`${JSON.stringify({ ...body, id })}\n`);
    const reply = await this.waitFor((e) => e.type === 'reply' && e.id === id, timeoutMs, `the reply to ${body.op}`, from);
    if (reply.type === 'reply' && !reply.ok) {
      throw new AgentCommandError(`${this.host}: ${body.op} failed: ${reply.code}: ${reply.message}`);
    }
    return id;
  }

  /** `netstat -tano` as the host saw it when its agent took the command, and when that was. */
  async netstat(): Promise<{ text: string; timeUs: number }> {
    const from = this.events.length;
    const id = await this.request({ op: 'netstat' });
    // Several snapshots may be in flight: take the one answering this command.
    const snapshot = this.events.slice(from).find((e) => e.type === 'netstat' && e.id === id);
    return snapshot?.type === 'netstat' ? { text: snapshot.text, timeUs: snapshot.timeUs } : { text: '', timeUs: Date.now() * 1000 };
  }

  /**
   * Resolves with the first event at index ≥ `from` that satisfies `match`: events already
   * received count, so a wait started late still sees what happened after its step began.
   */
  waitFor(match: (e: AgentEvent) => boolean, timeoutMs: number, what: string, from: number, signal?: AbortSignal): Promise<AgentEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
      };
      const listener = (event: AgentEvent): void => {
        if (match(event)) {
          cleanup();
          resolve(event);
        } else if (event.type === 'fatal' && this.ended) {
          cleanup();
          reject(new Error(`${this.host}: the agent exited while waiting for ${what}${this.stderrTail()}`));
        }
      };
      const onAbort = (): void => {
        cleanup();
        reject(abortReason(signal));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new WaitTimeoutError(`${this.host}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.ended) listener({ type: 'fatal', timeUs: 0, message: 'agent exited' });
    });
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the agent to exit and waits for it (bounded). */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (!this.ended) {
      this.proc.stdin.write(`${JSON.stringify({ id: this.nextId++, op: 'exit' })}\n`);
      this.proc.stdin.end();
    }
    await waitAtMost(this.proc.exited, timeoutMs);
  }

  private stderrTail(): string {
    const tail = this.stderrLines.slice(-5).join('\n  ');
    return tail ? `; agent stderr:\n  ${tail}` : '';
  }
}

/** The reason an aborted signal carries, as an Error (what waits reject with). */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(reason === undefined ? 'aborted' : JSON.stringify(reason));
}
