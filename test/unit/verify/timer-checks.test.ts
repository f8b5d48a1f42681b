import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import type { Lab } from '../../../src/lab/model.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { checkTimerReading } from '../../../src/verify/timer-checks.js';

const T0 = 1_800_000_000_000_000;
const LOCAL = '198.18.0.3:40000';
const REMOTE = '198.18.0.2:8888';

function socketEvent(atMs: number, state: string, timer: { kind: number; expiresMs: number }, remote = REMOTE): AgentEvent {
  return { type: 'socket', timeUs: T0 + atMs * 1000, local: LOCAL, remote, state, inode: 0, timer: { ...timer, retransmits: 0 }, txQueue: 0, rxQueue: 0 };
}

function runWith(events: AgentEvent[]): RunRecord {
  return {
    lab: { name: 'time-wait', expectations: [], steps: [] } as unknown as Lab,
    runId: 'r',
    startedUs: T0,
    steps: [],
    hosts: [{ name: 'client', address: '198.18.0.3', events, segments: [], kernelSettings: {}, ruleCounters: '' }],
  };
}

const timeWait60 = { kind: 'timer', host: 'client', state: 'TIME_WAIT', port: 8888, aboutMs: 60_000, withinMs: 1_000 } as const;

describe('checkTimerReading', () => {
  it('passes on the first TIME_WAIT sample reading 59.99 s (a real run: timewait (59.99/0/0))', () => {
    const check = checkTimerReading(
      timeWait60,
      runWith([
        socketEvent(100, 'ESTABLISHED', { kind: 0, expiresMs: 0 }),
        socketEvent(250, 'TIME_WAIT', { kind: 3, expiresMs: 59_990 }),
        // later samples of the same socket do not count: only the reading at entry measures the length
        socketEvent(20_250, 'TIME_WAIT', { kind: 3, expiresMs: 39_990 }),
      ]),
    );
    expect(check.status).toBe('pass');
    expect(check.observed).toBe('59.99 s left');
    expect(check.evidence[0]).toBe(`${LOCAL} ↔ ${REMOTE}: 59.99 s left at +0.250 s (/proc/net/tcp timer kind 3)`);
  });

  it('fails when the timer reads 30 s (as if TIME_WAIT were shorter), naming the distance', () => {
    const check = checkTimerReading(timeWait60, runWith([socketEvent(250, 'TIME_WAIT', { kind: 3, expiresMs: 30_000 })]));
    expect(check.status).toBe('fail');
    expect(check.expected).toBe('60.00 s ± 1.00 s left when first sampled in TIME_WAIT');
    expect(check.evidence[0]).toContain('— 30.00 s away from 60.00 s');
  });

  it('fails when no timer runs, and when the state was never sampled', () => {
    expect(checkTimerReading(timeWait60, runWith([socketEvent(250, 'TIME_WAIT', { kind: 0, expiresMs: 60_000 })])).status).toBe('fail');
    const never = checkTimerReading(timeWait60, runWith([socketEvent(100, 'ESTABLISHED', { kind: 0, expiresMs: 0 })]));
    expect(never.status).toBe('fail');
    expect(never.observed).toBe('no socket sampled in TIME_WAIT');
  });

  it('ignores sockets on other ports and loopback sockets', () => {
    const check = checkTimerReading(
      timeWait60,
      runWith([
        socketEvent(250, 'TIME_WAIT', { kind: 3, expiresMs: 10_000 }, '198.18.0.2:9999'),
        socketEvent(260, 'TIME_WAIT', { kind: 3, expiresMs: 59_980 }),
      ]),
    );
    expect(check.status).toBe('pass');
    expect(check.evidence).toHaveLength(1);
  });
});
