import { describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../../src/observe/kernel-trace.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost, withSettings } from './run-fixtures.js';

/** The conformance checks of a record, as verify computes them. */
function conformanceOf(run: RunRecord) {
  return checkConformance(run, analyzeRun(run).replays, analyzeRun(run));
}

/** The record with one kernel event of a host changed (matched by its trace line). */
function withKernelEvent(run: RunRecord, host: string, line: number, change: (e: KernelEvent) => KernelEvent | undefined): RunRecord {
  return withHost(run, host, (h) => ({
    kernelEvents: (h.kernelEvents ?? []).flatMap((e) => {
      if (e.line !== line) return [e];
      const changed = change(e);
      return changed === undefined ? [] : [changed];
    }),
  }));
}

describe('conformance on exact kernel events (recorded fin-wait-2-timeout run)', () => {
  it('passes as recorded: every tracepoint transition has its cause, the orphan FIN_WAIT_2 timeout fires before the late FIN', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.verdict).toBe('pass');
    const checks = conformanceOf(run);
    expect(checks).toHaveLength(2);
    for (const check of checks) {
      expect(check.status).toBe('pass');
      expect(check.source).toContain('exact kernel events');
      expect(check.observed).toContain('exact, from tracepoints');
    }
    const client = checks.find((c) => c.name.startsWith('client')) ?? expect.unreachable();
    expect(client.evidence?.join('\n')).toContain('handed to a timewait socket in FIN_WAIT_2');
  });

  it('the replay fires the FIN_WAIT_2 timeout between segments: before the peer late FIN, which then meets no connection', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    const replay = analyzeRun(run).replays.find((r) => r.host === 'client') ?? expect.unreachable();
    const states = replay.timeline.map((e) => e.state);
    expect(states).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSED']);
    const timeout = replay.timeline.at(-1) ?? expect.unreachable();
    expect(timeout.cause).toEqual({ kind: 'timer', name: 'FIN_WAIT_2 timeout (tcp_fin_timeout)' });
    const lateFin = run.hosts.find((h) => h.name === 'client')?.segments.find((s) => s.dst === run.hosts[0]?.address && (s.flags & 1) !== 0);
    expect(lateFin).toBeDefined();
    expect(timeout.timeUs).toBeLessThan((lateFin as { timeUs: number }).timeUs);
  });

  it('FAILs when the orphan timeout the samples show is not the host setting (tcp_fin_timeout 10 s)', async () => {
    const run = withSettings(await loadFixtureRun('fin-wait-2-timeout'), 'client', { 'net.ipv4.tcp_fin_timeout': '10' });
    const client = conformanceOf(run).find((c) => c.name.startsWith('client')) ?? expect.unreachable();
    expect(client.status).toBe('fail');
    expect(client.observed).toMatch(/CLOSED sampled at \+3\.\d+ s has no cause/);
  });

  it('FAILs a kernel transition no call, segment or timer explains, naming the kernel function a rule would need', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    // The server's CLOSE_WAIT → LAST_ACK (its close() at +3.40 s) moved to +1.5 s, when no step ran.
    const moved = withKernelEvent(run, 'server', 23, (e) => ({ ...e, timeUs: run.startedUs + 1_500_000 }));
    const server = conformanceOf(moved).find((c) => c.name.startsWith('server')) ?? expect.unreachable();
    expect(server.status).toBe('fail');
    expect(server.observed).toContain('CLOSE_WAIT → LAST_ACK at +1.500 s (kernel-trace.txt line 23) has no cause');
    expect(server.observed).toContain('tcp_close() → tcp_close_state()');
    expect(verifyRun(moved, 'x', 0).verdict).toBe('fail');
  });

  it('FAILs a kernel transition that is no edge of the Linux machine', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    // The client's FIN_WAIT_1 → FIN_WAIT_2 rewritten as FIN_WAIT_1 → CLOSE_WAIT.
    const bad = withKernelEvent(run, 'client', 20, (e) => ({ ...e, to: 'CLOSE_WAIT' }));
    const client = conformanceOf(bad).find((c) => c.name.startsWith('client')) ?? expect.unreachable();
    expect(client.status).toBe('fail');
    expect(client.observed).toContain('the Linux machine has no edge FIN_WAIT_1 → CLOSE_WAIT');
  });

  it('FAILs when the kernel never made a transition the replay predicts (the server close() LAST_ACK)', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    const noLastAck = withKernelEvent(run, 'server', 23, () => undefined);
    const bad = withKernelEvent(noLastAck, 'server', 26, (e) => ({ ...e, from: 'CLOSE_WAIT' }));
    const server = conformanceOf(bad).find((c) => c.name.startsWith('server')) ?? expect.unreachable();
    expect(server.status).toBe('fail');
    expect(server.observed).toMatch(/the replay's LAST_ACK at \+3\.\d+ s \(close\(\) call\) never happened/);
  });

  it('FAILs a sample that disagrees with the exact trace (cross-check)', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    const forged = withHost(run, 'server', (h) => ({
      events: h.events.map((e) => (e.type === 'socket' && e.state === 'CLOSE_WAIT' ? { ...e, state: 'SYN_SENT' } : e)),
    }));
    const server = conformanceOf(forged).find((c) => c.name.startsWith('server')) ?? expect.unreachable();
    expect(server.status).toBe('fail');
    expect(server.observed).toMatch(/sample SYN_SENT at \+\d\.\d+ s disagrees with the kernel's trace/);
  });

  it('judges up to the run boundary: a change sampled or traced after the last step is teardown, not the experiment', async () => {
    const run = await loadFixtureRun('fin-wait-2-timeout');
    const endUs = Math.max(...run.steps.map((s) => s.endUs));
    const server = run.hosts.find((h) => h.name === 'server') ?? expect.unreachable();
    /** The run with one more traced ESTABLISHED → FIN_WAIT_1 of the client's connection, at `timeUs`. */
    const withFinWait1TracedAt = (timeUs: number) =>
      withHost(run, 'client', (h) => ({
        kernelEvents: [
          ...(h.kernelEvents ?? []),
          {
            kind: 'state',
            tracepoint: 'inet_sock_set_state',
            local: `${h.address}:41000`,
            remote: `${server.address}:8888`,
            from: 'ESTABLISHED',
            to: 'FIN_WAIT_1',
            timeUs,
            traceUs: 0,
            line: 99,
          },
        ],
      }));
    const teardown = withFinWait1TracedAt(endUs + 50_000);
    expect(conformanceOf(teardown).map((c) => c.status)).toEqual(['pass', 'pass']);
    const inside = withFinWait1TracedAt(endUs - 50_000);
    expect(conformanceOf(inside).map((c) => c.status)).toContain('fail');
  });
});

describe('conformance on exact kernel events (recorded fin-icmp-host-unreachable run)', () => {
  it('a traced timer fire may come late past its window by the timing allowance (a busy softirq), no more', async () => {
    const run = await loadFixtureRun('fin-icmp-host-unreachable');
    const replay = analyzeRun(run).replays.find((r) => r.host === 'client') ?? expect.unreachable();
    const giveUp = replay.timeline.find((e) => e.cause.kind === 'timer' && e.state === 'CLOSED') ?? expect.unreachable();
    const client = run.hosts.find((h) => h.name === 'client') ?? expect.unreachable();
    const close = client.kernelEvents?.find((e) => e.kind === 'state' && e.from === 'FIN_WAIT_1' && e.to === 'CLOSED') ?? expect.unreachable();
    // The close moved later, with the samples after the recorded one left out (they show the socket gone) and
    // the last step (the wait for that) ending 1 s later, so that the moved close is inside the run.
    const longer: RunRecord = { ...run, steps: run.steps.map((s, i) => (i === run.steps.length - 1 ? { ...s, endUs: s.endUs + 1_000_000 } : s)) };
    const closedAt = (timeUs: number) => {
      const unsampled = withHost(longer, 'client', (h) => ({
        events: h.events.filter((e) => !((e.type === 'socket' || e.type === 'socket-gone') && e.timeUs > close.timeUs)),
      }));
      const moved = withKernelEvent(unsampled, 'client', close.line, (e) => ({ ...e, timeUs }));
      return conformanceOf(moved).find((c) => c.name.startsWith('client')) ?? expect.unreachable();
    };
    // Measured under load: the orphan's give-up traced 8 ms past the timer wheel's slack.
    const late = closedAt(giveUp.latestUs + 8_000);
    expect(late.status, late.observed).toBe('pass');
    const tooLate = closedAt(giveUp.latestUs + 30_000);
    expect(tooLate.status).toBe('fail');
    expect(tooLate.observed).toContain('tcp_time_wait() handed the socket to a timewait socket, but the replay is in CLOSED');
  });
});
