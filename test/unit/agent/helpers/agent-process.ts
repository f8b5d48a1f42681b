/**
 * Test driver for a spawned agent: sends commands, collects events, waits for them. A wait's bound is a hang
 * guard, not a speed claim: it is long enough for a machine that CI shares with other load (a 5 s bound once
 * expired there on an RST that a paused socket reports at once on an idle machine).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { AgentEvent } from '../../../../src/agent/protocol.js';

const WAIT_MS = 15_000;

type Reply = Extract<AgentEvent, { type: 'reply' }>;

export class AgentProcess {
  readonly events: AgentEvent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiters: Array<() => void> = [];
  private nextId = 1;

  constructor(agentPath: string, args: string[] = []) {
    this.child = spawn(process.execPath, [agentPath, ...args], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as AgentEvent);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Writes one raw line to the agent's stdin. */
  writeLine(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Sends a command (an id is added) and resolves with its reply. */
  async command(body: Record<string, unknown>, timeoutMs = WAIT_MS): Promise<Reply> {
    const id = this.nextId++;
    this.writeLine(JSON.stringify({ id, ...body }));
    return this.waitFor<Reply>((e): e is Reply => e.type === 'reply' && e.id === id, timeoutMs);
  }

  /** Resolves with the first event (already seen or future) that matches. */
  async waitFor<T extends AgentEvent>(match: (event: AgentEvent) => event is T, timeoutMs?: number): Promise<T>;
  async waitFor(match: (event: AgentEvent) => boolean, timeoutMs?: number): Promise<AgentEvent>;
  async waitFor(match: (event: AgentEvent) => boolean, timeoutMs = WAIT_MS): Promise<AgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const recent = this.events.filter((e) => e.type !== 'socket' && e.type !== 'socket-gone').slice(-15);
        throw new Error(
          `agent: expected a matching event within ${timeoutMs} ms; observed (non-socket, last 15): ${JSON.stringify(recent)}; stderr: ${this.stderr.join('')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Closes stdin (EOF). */
  endInput(): void {
    this.child.stdin.end();
  }

  /** Kills the agent if still running (test cleanup). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
