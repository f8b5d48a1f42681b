import type { Expectation } from '../lab/model.js';
import { textCheck, type Check } from './verdict.js';
import { relTime, type RunRecord } from '../analysis/run-record.js';
import { isLabSocket, portOf } from '../analysis/socket-timeline.js';
import { parseTcpState } from '../tcp/state.js';
import { timingText } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/*
 * Timer readings: how long a socket's timer had left when the socket was first sampled in a
 * state, straight from the /proc/net/tcp row the agent sampled (`tm->when`, in USER_HZ ticks
 * of 10 ms; get_tcp4_sock() and get_timewait4_sock() in tcp_ipv4.c). For TIME_WAIT that is
 * the timewait timer armed by tcp_time_wait() for TCP_TIMEWAIT_LEN (60 s, fixed in Linux 6.18,
 * no sysctl), so a reading taken within 5 ms of the entry measures the timer's length without
 * waiting it out. The reading is a lower bound of the length: the sampler saw the state up to
 * one sampling interval after it began, and the kernel rounds to 10 ms; `within` absorbs both.
 */

type TimerExpectation = Extract<Expectation, { kind: 'timer' }>;

/** Checks the timer of every socket of the host when first sampled in the expected state. */
export function checkTimerReading(expectation: TimerExpectation, run: RunRecord): Check {
  const host = run.hosts.find((h) => h.name === expectation.host);
  if (!host) throw new Error(`run record has no host "${expectation.host}"`);
  const about = seconds(expectation.aboutMs);
  const within = seconds(expectation.withinMs);
  const name = timingText((w) => w.timerName(expectation.host, expectation.port, expectation.state, about, within));
  const expected = timingText((w) => w.timerExpected(about, within, expectation.state));
  const firstReadings = new Map<string, { timeUs: number; expiresMs: number; kind: number }>();
  for (const event of host.events) {
    if (event.type !== 'socket' || !isLabSocket(event.local)) continue;
    if (expectation.port !== undefined && portOf(event.local) !== expectation.port && portOf(event.remote) !== expectation.port) continue;
    if (parseTcpState(event.state) !== expectation.state) continue;
    const socket = `${event.local} ↔ ${event.remote}`;
    if (!firstReadings.has(socket)) firstReadings.set(socket, { timeUs: event.timeUs, expiresMs: event.timer.expiresMs, kind: event.timer.kind });
  }
  if (firstReadings.size === 0) {
    return textCheck({ name, status: 'fail', expected, observed: timingText((w) => w.noSocketIn(expectation.state)), evidence: [] });
  }
  const evidence: Text[] = [];
  let pass = true;
  for (const [socket, reading] of firstReadings) {
    const off = Math.abs(reading.expiresMs - expectation.aboutMs);
    const ok = reading.kind !== 0 && off <= expectation.withinMs;
    pass &&= ok;
    const left = reading.kind === 0 ? undefined : seconds(reading.expiresMs);
    const away = ok ? undefined : seconds(off);
    evidence.push(timingText((w) => w.timerReading(socket, left, relTime(run, reading.timeUs), reading.kind, away, about)));
  }
  const observed = [...firstReadings.values()].map((r) => seconds(r.expiresMs)).join(', ');
  return textCheck({
    name,
    status: pass ? 'pass' : 'fail',
    expected,
    observed: timingText((w) => w.timeLeft(observed)),
    evidence,
    reference: 'include/net/tcp.h TCP_TIMEWAIT_LEN; tcp_minisocks.c tcp_time_wait(); tcp_ipv4.c get_timewait4_sock()',
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
