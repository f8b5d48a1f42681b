import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

/*
 * synack-icmp-host-unreachable (recorded): each SYN-ACK meets ICMP host unreachable, so each request dies at once
 * (tcp_req_err()) and every SYN retransmission makes a new request on the same 4-tuple: LISTEN → SYN_RECEIVED → LISTEN
 * six times. Seen in CI (2026-12-04, a loaded machine): the sampler read the second request's row, 12 ms after its
 * SYN-ACK, and saw it gone a few ms later. That row belongs to the second request, not the first.
 */
const REQUEST_2_SYNACK_US = 1796281636281046;

function withSecondRequestSampled(run: Awaited<ReturnType<typeof loadFixtureRun>>) {
  const tuple = { local: '198.19.101.2:8888', remote: '198.19.101.3:37222' };
  const row = { ...tuple, inode: 0, timer: { kind: 1, expiresMs: 990, retransmits: 0 }, txQueue: 0, rxQueue: 0 };
  const sampled = [
    { type: 'socket', timeUs: REQUEST_2_SYNACK_US + 12_000, state: 'SYN_RECEIVED', readFromUs: REQUEST_2_SYNACK_US + 11_000, ...row },
    { type: 'socket-gone', timeUs: REQUEST_2_SYNACK_US + 18_000, state: 'SYN_RECEIVED', ...tuple },
  ] as unknown as AgentEvent[];
  return withHost(run, 'server', (h) => ({ events: [...h.events, ...sampled].sort((a, b) => a.timeUs - b.timeUs) }));
}

describe('requests that repeat on one 4-tuple', () => {
  it('a sampled row of the second request is neither the first request’s give-up nor a state it had left', async () => {
    const run = withSecondRequestSampled(await loadFixtureRun('synack-icmp-host-unreachable'));
    const failed = verifyRun(run, 'x', 0).checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
  });

  it('a row sampled after the last request died still FAILs', async () => {
    const base = await loadFixtureRun('synack-icmp-host-unreachable');
    const late = withHost(base, 'server', (h) => {
      const lastUs = Math.max(...h.segments.map((s) => s.timeUs));
      const row = {
        local: '198.19.101.2:8888',
        remote: '198.19.101.3:37222',
        inode: 0,
        timer: { kind: 1, expiresMs: 990, retransmits: 0 },
        txQueue: 0,
        rxQueue: 0,
      };
      const sample = { type: 'socket', timeUs: lastUs + 300_000, state: 'SYN_RECEIVED', readFromUs: lastUs + 299_000, ...row } as unknown as AgentEvent;
      return { events: [...h.events, sample].sort((a, b) => a.timeUs - b.timeUs) };
    });
    const conformance = verifyRun(late, 'x', 0).checks.find((c) => c.name.startsWith('server ') && c.name.includes('follows the TCP state machine'))!;
    expect(conformance.status).toBe('fail');
  });
});

/*
 * write-after-peer-close (recorded under --load): the orphan's FIN_WAIT_2 was handed to a timewait socket at the ACK of
 * its FIN, and the client's data came 4.2 ms later; the timewait socket answered it with a RST (TCP_TIMEWAIT_SOCKET).
 * The replay closes the full socket on that data (TCPAbortOnData); the hand-over, 4 ms earlier, is not that close.
 */
describe('a hand-over to a timewait socket just before the peer’s data', () => {
  it('is judged as the hand-over, not as the close the data would have caused', async () => {
    const run = await loadFixtureRun('write-after-peer-close-quick-data');
    const failed = verifyRun(run, 'x', 0).checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
  });
});
