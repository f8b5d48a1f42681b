import { Listr, type ListrTaskWrapper } from 'listr2';
import { formatFlags, type TcpSegment } from '../observe/packet.js';
import type { RunObserver } from '../run/run-observer.js';
import { message, type Lang } from '../messages/catalog.js';

export type { RunObserver } from '../run/run-observer.js';

/** One-line description of a segment, tcpdump-style (absolute numbers). */
export function describeSegment(s: TcpSegment): string {
  const seq = s.payloadLength > 0 ? `seq ${s.seq}:${(s.seq + s.payloadLength) >>> 0}` : `seq ${s.seq}`;
  const ack = s.flags & 0x10 ? `, ack ${s.ack}` : '';
  return `[${formatFlags(s.flags)}] ${seq}${ack}, win ${s.window}, length ${s.payloadLength}`;
}

function rel(relUs: number): string {
  return `${relUs < 0 ? '-' : '+'}${(Math.abs(relUs) / 1e6).toFixed(3)} s`;
}

/** A segment on the wire, as both views print it. */
function segmentLine(relUs: number, from: string, to: string, s: TcpSegment, note: string | undefined): string {
  return `${rel(relUs)}  ${from} → ${to}  ${describeSegment(s)}${note ? `  (${note})` : ''}`;
}

/** A socket's new state, as both views print it. */
function stateLine(relUs: number, host: string, socket: string, state: string, retransmits: number, lang: Lang): string {
  return `${rel(relUs)}  ${host} ${socket}  ${state}${retransmits > 0 ? message(lang, 'run.retransmissions', { n: retransmits }) : ''}`;
}

/** Plain lines (no escape codes), for logs, pipes and CI. */
export class PlainRunView implements RunObserver {
  constructor(
    private readonly write: (line: string) => void,
    private readonly prefix = '',
    private readonly lang: Lang = 'en',
  ) {}

  note(text: string): void {
    this.line(`${text}`);
  }
  stepStarted(index: number, description: string): void {
    this.line(message(this.lang, 'run.step', { n: index + 1, description }));
  }
  stepFinished(index: number, error?: string): void {
    if (error) this.line(message(this.lang, 'run.stepFailed', { n: index + 1, error }));
  }
  segment(relUs: number, from: string, to: string, s: TcpSegment, note?: string): void {
    this.line(`  ${segmentLine(relUs, from, to, s, note)}`);
  }
  state(relUs: number, host: string, socket: string, state: string, retransmits: number): void {
    this.line(`  ${stateLine(relUs, host, socket, state, retransmits, this.lang)}`);
  }
  async close(): Promise<void> {}

  private line(text: string): void {
    this.write(`${new Date().toISOString().slice(11, 23)} ${this.prefix}${text}`);
  }
}

/** A listr2 task list: one task per step, its segments and state changes underneath. */
export class TaskListRunView implements RunObserver {
  private readonly started: Array<() => void> = [];
  private readonly finished: Array<(error?: string) => void> = [];
  private readonly wrappers: Array<ListrTaskWrapper<unknown, never, never> | undefined> = [];
  private current = -1;
  private readonly run: Promise<unknown>;

  constructor(
    title: string,
    stepTitles: readonly string[],
    private readonly lang: Lang = 'en',
  ) {
    const startedPromises = stepTitles.map((_, i) => new Promise<void>((resolve) => (this.started[i] = resolve)));
    const finishedPromises = stepTitles.map((_, i) => new Promise<string | undefined>((resolve) => (this.finished[i] = resolve)));
    const list = new Listr(
      [
        {
          title,
          task: (_ctx, task) =>
            task.newListr(
              stepTitles.map((stepTitle, i) => ({
                title: stepTitle,
                task: async (_c: unknown, wrapper: ListrTaskWrapper<unknown, never, never>) => {
                  this.wrappers[i] = wrapper;
                  await startedPromises[i];
                  const error = await finishedPromises[i];
                  if (error) throw new Error(error);
                },
                rendererOptions: { outputBar: 12, persistentOutput: true },
              })),
              { exitOnError: true },
            ),
        },
      ],
      { renderer: 'default', rendererOptions: { collapseSubtasks: false }, exitOnError: true },
    );
    this.run = list.run().catch(() => undefined);
  }

  note(): void {}
  stepStarted(index: number): void {
    this.current = index;
    this.started[index]?.();
  }
  stepFinished(index: number, error?: string): void {
    this.finished[index]?.(error);
  }
  segment(relUs: number, from: string, to: string, s: TcpSegment, note?: string): void {
    this.output(segmentLine(relUs, from, to, s, note));
  }
  state(relUs: number, host: string, socket: string, state: string, retransmits: number): void {
    this.output(stateLine(relUs, host, socket, state, retransmits, this.lang));
  }
  async close(): Promise<void> {
    // Steps never reached (a failed step ends the run) are released so the list can finish.
    for (let i = this.current + 1; i < this.started.length; i++) {
      this.started[i]?.();
      this.finished[i]?.(message(this.lang, 'run.notRun'));
    }
    await this.run;
  }

  private output(line: string): void {
    const wrapper = this.wrappers[Math.max(this.current, 0)];
    if (wrapper) wrapper.output = line;
  }
}
