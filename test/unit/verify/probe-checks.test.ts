// keepalive-probes and persist-probes on run records made from the captures measured in private namespaces
// (docs/linux-timers.md): each passes with the lab's true options and FAILs with one false one.
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Lab } from '../../../src/lab/model.js';
import { checkKeepaliveProbes, checkPersistProbes } from '../../../src/verify/probe-checks.js';
import { checkDataRetransmits } from '../../../src/verify/timing-checks.js';
import { CLIENT, timerCapture, timerEvents, type TimerExperiment } from '../../helpers/linux-timer-fixtures.js';
import { syntheticRun } from './run-fixtures.js';

interface Options {
  keepalive?: boolean | { idleMs?: number; intervalMs?: number; count?: number };
  userTimeoutMs?: number;
}

/** A record of one measured experiment: the client's capture and events, a connect step with `options`. */
function measuredRun(experiment: TimerExperiment, options: Options | undefined, settings: Record<string, string> = {}): RunRecord {
  const segments = timerCapture(experiment);
  const first = segments[0] ?? expect.unreachable();
  const local = `${CLIENT}:${first.srcPort}`;
  const remote = `${first.dst}:${first.dstPort}`;
  const events: AgentEvent[] = [{ type: 'connected', timeUs: first.timeUs, conn: 'c', local, remote }];
  for (const e of timerEvents(experiment)) {
    if (e.event === 'error') events.push({ type: 'error', timeUs: e.timeUs, conn: 'c', code: e.name ?? '', message: e.name ?? '' });
  }
  const connect = { kind: 'connect', host: 'client', to: 'server', port: 8080, conn: 'c', ...(options !== undefined && { options }) };
  const run = syntheticRun({ steps: [connect] as unknown as Lab['steps'], client: { address: CLIENT, segments, events }, settings });
  const endUs = Math.max(...segments.map((s) => s.timeUs), ...events.map((e) => e.timeUs)) + 500_000;
  return { ...run, startedUs: first.timeUs, steps: [{ index: 0, kind: 'connect', description: 'connect', conn: 'c', startUs: first.timeUs, endUs }] };
}

const KEEPALIVE = { kind: 'keepalive-probes', host: 'client', conn: 'c' } as const;
const PERSIST = { kind: 'persist-probes', host: 'client', conn: 'c' } as const;

describe('keepalive-probes', () => {
  it('PASSes the measured schedule (idle 2 s, interval 1 s, count 3): 3 probes, RST and ETIMEDOUT at 5 s', () => {
    const check = checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', { keepalive: { idleMs: 2000, intervalMs: 1000, count: 3 } }));
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toBe('3 probes at 2, 3, 4 s after the last segment received; RST and ETIMEDOUT at 5.000 s (TCP_KEEPCNT reached)');
    expect(check.observed).toMatch(/^3 probes at 2\.0\d+, 3\.0\d+, 4\.0\d+ s \(0 answered\); gave up at 5\.1\d+ s$/);
  });

  it('FAILs a lab that claims count 4, or interval 2 s, or sets no keepalive at all', () => {
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', { keepalive: { idleMs: 2000, intervalMs: 1000, count: 4 } })).status).toBe('fail');
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', { keepalive: { idleMs: 2000, intervalMs: 2000, count: 3 } })).status).toBe('fail');
    const off = checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', undefined));
    expect(off.status).toBe('fail');
    expect(off.observed).toContain('no keepalive option reaches c');
  });

  it('with user_timeout 3.5 s the count is ignored: PASS; without it the same capture FAILs', () => {
    const options = { keepalive: { idleMs: 2000, intervalMs: 1000, count: 9 }, userTimeoutMs: 3500 };
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive-ut', options)).status).toBe('pass');
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive-ut', { keepalive: options.keepalive })).status).toBe('fail');
  });

  it('answered probes every 2 s until the run ends: PASS; a forged ETIMEDOUT the model does not predict FAILs', () => {
    const options = { keepalive: { idleMs: 2000, intervalMs: 1000, count: 3 } };
    const run = measuredRun('keepalive-answered', options);
    expect(checkKeepaliveProbes(KEEPALIVE, run).status).toBe('pass');
    const client = run.hosts.find((h) => h.name === 'client') ?? expect.unreachable();
    const lastProbeUs = Math.max(...client.segments.map((s) => s.timeUs));
    const forged: AgentEvent = { type: 'error', timeUs: lastProbeUs - 100_000, conn: 'c', code: 'ETIMEDOUT', message: 'forged' };
    const tampered = { ...run, hosts: run.hosts.map((h) => (h.name === 'client' ? { ...h, events: [...h.events, forged] } : h)) };
    expect(checkKeepaliveProbes(KEEPALIVE, tampered).status).toBe('fail');
  });

  it('FAILs an expectation about a connection that does not exist', () => {
    const check = checkKeepaliveProbes({ ...KEEPALIVE, conn: 'nope' }, measuredRun('keepalive', { keepalive: true }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('no connection nope');
  });
});

describe('persist-probes', () => {
  it('PASSes the measured backoff with the peer answering (defaults: doubling from the RTO)', () => {
    const check = checkPersistProbes(PERSIST, measuredRun('persist', undefined));
    expect(check.status, check.observed).toBe('pass');
    expect(check.evidence?.join('\n')).toContain('window 0');
  });

  it('FAILs the same capture under tcp_retries2=3 (the backoff would stop doubling at 2^3)', () => {
    expect(checkPersistProbes(PERSIST, measuredRun('persist', undefined, { 'net.ipv4.tcp_retries2': '3' })).status).toBe('fail');
  });

  it('tcp_retries2=3 and a silent peer: ETIMEDOUT after 3 unanswered probes, no RST: PASS; with 15, FAIL', () => {
    expect(checkPersistProbes(PERSIST, measuredRun('persist-drop', undefined, { 'net.ipv4.tcp_retries2': '3' })).status).toBe('pass');
    expect(checkPersistProbes(PERSIST, measuredRun('persist-drop', undefined)).status).toBe('fail');
  });

  it('user_timeout 3 s ends probing though the peer answers: PASS; without the option, FAIL', () => {
    expect(checkPersistProbes(PERSIST, measuredRun('persist-ut', { userTimeoutMs: 3000 })).status).toBe('pass');
    expect(checkPersistProbes(PERSIST, measuredRun('persist-ut', undefined)).status).toBe('fail');
  });

  it('FAILs a connection that sent no zero-window probe (keepalives are not window probes)', () => {
    const check = checkPersistProbes(PERSIST, measuredRun('keepalive', { keepalive: true }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('no zero-window probes');
  });
});

describe('data-retransmits learns user_timeout from the lab', () => {
  const DATA = { kind: 'data-retransmits', host: 'client', conn: 'c' } as const;
  it('PASSes the measured TCP_USER_TIMEOUT 3 s give-up when the connect step sets user_timeout: 3s', () => {
    const check = checkDataRetransmits(DATA, measuredRun('data-ut', { userTimeoutMs: 3000 }));
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toContain('user-timeout limit');
    expect(check.evidence?.join('\n')).toContain('TCP_USER_TIMEOUT 3000 ms (connect step 1: user_timeout 3000 ms)');
  });

  it('FAILs the same capture when the lab sets no user timeout (tcp_retries2=15 would retransmit for minutes)', () => {
    const check = checkDataRetransmits(DATA, measuredRun('data-ut', undefined));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the give-up early');
  });
});

describe('the replay knows the persist give-up', () => {
  const lastOf = (run: RunRecord) =>
    analyzeRun(run)
      .replays.find((r) => r.host === 'client')
      ?.timeline.at(-1) ?? expect.unreachable();

  it('tcp_retries2=3: ESTABLISHED → CLOSED by the persist timer after 3 unanswered probes', () => {
    const last = lastOf(measuredRun('persist-drop', undefined, { 'net.ipv4.tcp_retries2': '3' }));
    expect(last.state).toBe('CLOSED');
    expect(last.cause.kind === 'timer' && last.cause.name).toContain('zero-window probes exhausted in ESTABLISHED (tcp_retries2=3');
  });

  it('tcp_retries2=15: no give-up is due before the run ends, so the replay stays ESTABLISHED', () => {
    expect(lastOf(measuredRun('persist-drop', undefined)).state).toBe('ESTABLISHED');
  });
});

describe('keepalive: true takes the host sysctls', () => {
  it('tcp_keepalive_time 2, intvl 1, probes 3 on the host: the measured capture PASSes; the Linux defaults (7200 s) would FAIL it', () => {
    const sysctls = { 'net.ipv4.tcp_keepalive_time': '2', 'net.ipv4.tcp_keepalive_intvl': '1', 'net.ipv4.tcp_keepalive_probes': '3' };
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', { keepalive: true }, sysctls)).status).toBe('pass');
    expect(checkKeepaliveProbes(KEEPALIVE, measuredRun('keepalive', { keepalive: true })).status).toBe('fail');
  });
});
