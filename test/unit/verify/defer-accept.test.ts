import { describe, expect, it } from 'vitest';
import { deferAcceptRetrans } from '../../../src/analysis/accept-queue.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { predictSynAckSchedule } from '../../../src/tcp/timing-model.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { checkSynAckRetransmits } from '../../../src/verify/timing-checks.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

/*
 * TCP_DEFER_ACCEPT (test/fixtures/labs/teacher/defer-accept.yaml, measured on kernel 6.18): with 3 s the
 * server dropped the client's bare final ACK and kept its request in SYN_RECV; the request's 1 s timeout
 * resent nothing (its row counted 1 retransmission, its capture none), the 3 s one resent the SYN-ACK, and
 * the client's ACK of it made the child (SYN_RECV → ESTABLISHED at +3.088 s). A second connection's first
 * data segment made its child at once (+3.115 s).
 */

const serverChecks = (run: RunRecord) => checkConformance(run).filter((c) => c.name.startsWith('server '));

/** The run as if the listen step had no TCP_DEFER_ACCEPT. */
function withoutDefer(run: RunRecord): RunRecord {
  const steps = run.lab.steps.map((s) => (s.kind === 'listen' ? { ...s, options: {} } : s));
  return { ...run, lab: { ...run.lab, steps } };
}

describe('TCP_DEFER_ACCEPT (tcp_check_req(), syn_ack_recalc())', () => {
  it('secs_to_retrans(): seconds become SYN-ACK timeouts of 1, 2, 4 … s', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 15, 16].map(deferAcceptRetrans)).toEqual([0, 1, 2, 2, 3, 3, 4, 4, 5]);
  });

  it('an acked request resends only from num_timeout = rskq_defer_accept − 1 and expires at max(limit, rskq_defer_accept)', () => {
    const acked = (retrans: number, synackRetries: number) =>
      predictSynAckSchedule({ tcp_synack_retries: synackRetries }, { deferAccept: { retrans, ackedAtMs: 0 } });
    expect(acked(2, 5)).toMatchObject({ sends: [0, 3000, 7000, 15000, 31000], failAtMs: 63000 });
    expect(acked(4, 2)).toMatchObject({ sends: [0, 15000], failAtMs: 31000 });
    // Not acked (the bare ACK never came): the plain schedule.
    expect(predictSynAckSchedule({ tcp_synack_retries: 2 }, { deferAccept: { retrans: 4, ackedAtMs: Infinity } }).sends).toEqual([0, 1000, 3000]);
  });

  it('the measured run passes: the bare ACK is no child, the ACK of the last-chance SYN-ACK and a data segment are', async () => {
    const run = await loadFixtureRun('defer-accept');
    const verdict = verifyRun(run, 'x', 0);
    expect(
      verdict.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.observed}`),
      'no check fails',
    ).toEqual([]);
    const [first] = serverChecks(run);
    expect(first?.evidence.join('\n')).toMatch(/bare ACK dropped: TCP_DEFER_ACCEPT 3 s = 2 SYN-ACK timeouts/);
  });

  it('FAIL without the model of the option: the children come later than any final ACK explains', async () => {
    const checks = serverChecks(withoutDefer(await loadFixtureRun('defer-accept')));
    expect(checks.map((c) => c.status)).toEqual(['fail', 'fail']);
    expect(checks[0]?.observed).toMatch(/SYN_RECEIVED → ESTABLISHED at \+3\.088 s .* has no cause/);
  });

  it('FAIL: a child made at the bare ACK (a kernel that ignored the option) is not what the model allows', async () => {
    const base = await loadFixtureRun('defer-accept');
    const server = base.hosts.find((h) => h.name === 'server')!;
    const bareAck = server.segments.find((s) => s.srcPort !== 8888 && s.payloadLength === 0 && (s.flags & 0x12) === 0x10)!;
    const run = withHost(base, 'server', (h) => ({
      kernelEvents: h.kernelEvents!.map((e) => (e.kind === 'state' && e.to === 'ESTABLISHED' && e.line === 159 ? { ...e, timeUs: bareAck.timeUs } : e)),
    }));
    expect(serverChecks(run)[0]?.status).toBe('fail');
  });

  it('SYN-ACK timing: an acked request resends only at its last chance (3 s), which the model predicts; without the option it cannot', async () => {
    const run = await loadFixtureRun('defer-accept');
    const expectation = { kind: 'synack-retransmits', host: 'server', port: 8888 } as const;
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/^2 SYN-ACKs at 0, 3\.\d{3} s/);
    expect(check.evidence.join('\n')).toMatch(/TCP_DEFER_ACCEPT|SYN-ACK 2: expected 3\.000 s/);
    expect(checkSynAckRetransmits(expectation, withoutDefer(run)).status).toBe('fail');
  });
});
