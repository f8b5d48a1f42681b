import { describe, expect, it } from 'vitest';
import { replayRun } from '../../../src/analysis/run-replay.js';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from '../verify/run-fixtures.js';

/*
 * A close asked for while data is still queued in the agent runs after the queue drained (agent/sockets.py
 * close_pending, as a blocking write() then close(2) would). Recorded: teacher lab bulk-transfer, 16 MB sent by the
 * server, its close step started before the last six write()s; the kernel traced CLOSE_WAIT → LAST_ACK 0.95 ms after
 * the last of them.
 */
describe('recorded bulk-transfer run: the server’s close ran after its queued 16 MB', () => {
  it('the replay places the close at the last write that drained the queue, before the traced LAST_ACK', async () => {
    const run = await loadFixtureRun('bulk-transfer');
    const server = run.hosts.find((h) => h.name === 'server')!;
    const closeStep = run.steps.find((s) => s.kind === 'close')!;
    const sent = server.events.filter((e): e is Extract<AgentEvent, { type: 'sent' }> => e.type === 'sent');
    const lastSent = sent.at(-1)!;
    expect(sent.filter((e) => e.timeUs >= closeStep.startUs).length).toBeGreaterThan(0);
    const lastAck = replayRun(run)
      .find((r) => r.host === 'server')!
      .timeline.find((e) => e.state === 'LAST_ACK')!;
    expect(lastAck.cause).toEqual({ kind: 'call', op: 'close' });
    expect(lastAck.timeUs).toBe(lastSent.timeUs);
    const traced = server.kernelEvents!.find((e) => e.kind === 'state' && e.to === 'LAST_ACK')!;
    expect(lastAck.timeUs).toBeLessThanOrEqual(traced.timeUs);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('all 16,000,000 bytes were written and read: the byte expectations FAIL when a write is missing', async () => {
    const run = await loadFixtureRun('bulk-transfer');
    const dropLast = withHost(run, 'server', (h) => ({ events: h.events.filter((e) => e !== h.events.filter((x) => x.type === 'sent').at(-1)) }));
    const failed = verifyRun(dropLast, 'x', 0)
      .checks.filter((c) => c.status === 'fail')
      .map((c) => c.name);
    expect(failed).toContain('server/accepted-1: bytes accepted by write()');
  });
});

/*
 * A close asked for behind a write that the peer's shut window never lets finish never runs (teacher lab
 * close-behind-shut-window, recorded): 200,000 bytes through a 4 KB send buffer to a reader that stopped; the kernel
 * took part of them, probed the zero window, and never left ESTABLISHED.
 */
describe('recorded close-behind-shut-window run: the close waiting for its data never ran', () => {
  it('the replay has no close() and no FIN_WAIT_1; the verdict is PASS', async () => {
    const run = await loadFixtureRun('close-behind-shut-window');
    const client = replayRun(run).find((r) => r.host === 'client')!;
    expect(client.timeline.map((e) => e.state)).not.toContain('FIN_WAIT_1');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('FAILs conformance when the agent had written every byte (the close would have run, and the kernel shows none)', async () => {
    const run = await loadFixtureRun('close-behind-shut-window');
    const allWritten = withHost(run, 'client', (h) => {
      const last = h.events.filter((e) => e.type === 'sent').at(-1)!;
      return { events: [...h.events, { ...last, bytes: 200_000 }].sort((a, b) => a.timeUs - b.timeUs) };
    });
    const conformance = verifyRun(allWritten, 'x', 0).checks.find((c) => c.name.startsWith('client ') && c.name.includes('follows the TCP state machine'))!;
    expect(conformance.status).toBe('fail');
    expect(conformance.observed).toMatch(/FIN_WAIT_1 .*never happened/);
  });
});
