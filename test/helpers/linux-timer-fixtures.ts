// The captures measured in docs/linux-timers.md (bench/linux-timers/measure.sh), read for tests:
// each one's client probes / copies as ms offsets, and its client events (time.time(), the capture's clock).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeCaptureBuffer } from '../../src/observe/capture-decoder.js';
import type { TcpSegment } from '../../src/observe/packet.js';

export const CLIENT = '10.231.0.1';
const dir = fileURLToPath(new URL('../fixtures/linux-timers/', import.meta.url));

/** The experiments of bench/linux-timers/measure.sh. */
export type TimerExperiment = 'keepalive' | 'keepalive-ut' | 'keepalive-answered' | 'persist' | 'persist-drop' | 'persist-ut' | 'data-ut' | 'data';

/** The decoded client-side capture of one experiment. */
export function timerCapture(experiment: TimerExperiment): TcpSegment[] {
  return decodeCaptureBuffer(readFileSync(`${dir}${experiment}.pcap`)).segments;
}

/** The client's JSON events of one experiment, with times in µs. */
export function timerEvents(experiment: TimerExperiment): Array<{ timeUs: number; event: string; name?: string }> {
  return readFileSync(`${dir}${experiment}.events`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { t: number; event: string; name?: string })
    .map((e) => ({ timeUs: e.t * 1e6, event: e.event, ...(e.name !== undefined && { name: e.name }) }));
}

/** When the client saw ETIMEDOUT, in µs (the experiment must have ended with it). */
export function timedOutAtUs(experiment: TimerExperiment): number {
  const error = timerEvents(experiment).find((e) => e.event === 'error' && e.name === 'ETIMEDOUT');
  if (error === undefined) throw new Error(`${experiment}: no ETIMEDOUT event in the fixture`);
  return error.timeUs;
}
