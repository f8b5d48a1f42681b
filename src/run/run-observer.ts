import type { TcpSegment } from '../observe/packet.js';

/**
 * What a run reports while it happens: its steps, each captured segment and each observed socket
 * state change, as they occur. `tcplab run` picks a renderer (report/live-view.ts: a listr2 task list
 * on a terminal, plain timestamped lines otherwise). The port belongs to the run: src/run depends on it,
 * never on a renderer.
 */
export interface RunObserver {
  /** Something outside the steps (deploying, collecting, tearing down). */
  note(text: string): void;
  stepStarted(index: number, description: string): void;
  stepFinished(index: number, error?: string): void;
  /** A segment on the wire; `relUs` since the first step, `from`/`to` lab host names when known; `note` e.g. which rule drops it. */
  segment(relUs: number, from: string, to: string, segment: TcpSegment, note?: string): void;
  /** A socket of `host` was sampled in a new state. */
  state(relUs: number, host: string, socket: string, state: string, retransmits: number): void;
  /** Waits until the renderer has drawn its last frame. */
  close(): Promise<void>;
}
