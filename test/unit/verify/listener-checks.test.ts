import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { checkListeners } from '../../../src/verify/listener-checks.js';
import { loadFixtureRun } from './run-fixtures.js';

const listenerChecks = (run: RunRecord) => checkListeners(run, analyzeRun(run));

/** The run with every SYN-ACK of `port` taken out of all captures, and the server's samples of its connections. */
function silenced(run: RunRecord, port: number): RunRecord {
  const isSynAck = (flags: number): boolean => (flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
  return {
    ...run,
    hosts: run.hosts.map((h) => ({
      ...h,
      segments: h.segments.filter((s) => !(s.srcPort === port && isSynAck(s.flags))),
      events: h.events.filter((e) => !((e.type === 'socket' || e.type === 'socket-gone') && e.local.endsWith(`:${port}`) && !e.remote.endsWith(':0'))),
    })),
  };
}

describe('a listener answers every connection attempt that reaches it (tcp_conn_request())', () => {
  it('handshake: the one attempt is answered by a SYN-ACK', async () => {
    const [check] = listenerChecks(await loadFixtureRun('handshake'));
    expect(check?.name).toBe('listener server port 8888 answers every connection attempt that reaches it');
    expect(check?.status, check?.observed).toBe('pass');
    expect(check?.observed).toBe('1 attempt: 1 answered');
    expect(check?.evidence[0]).toMatch(
      /^SYN from 198\.\d+\.\d+\.\d+:\d+ \(server capture #\d+, \+\d\.\d{3} s\): answered by a SYN-ACK \(server capture #\d+\)$/,
    );
  });

  it('FAIL: the same run with the SYN-ACK and the request gone — the SYN reached TCP and nothing explains the silence', async () => {
    const [check] = listenerChecks(silenced(await loadFixtureRun('handshake'), 8888));
    expect(check?.status).toBe('fail');
    expect(check?.observed).toMatch(/^1 attempt: 0 answered, 1 unanswered — SYN from .* reached TCP and was never answered, and nothing explains the silence/);
  });

  it('SYNs a rule dropped before TCP are no attempt at the listener (syn-sent: no check)', async () => {
    expect(listenerChecks(await loadFixtureRun('syn-sent'))).toEqual([]);
  });

  it('a full accept queue explains the SYNs it dropped (accept-queue-overflow)', async () => {
    const run = await loadFixtureRun('accept-queue-overflow');
    const [check] = listenerChecks(run);
    expect(check?.status, check?.observed).toBe('pass');
    const [silencedCheck] = listenerChecks(silenced(run, 8888));
    expect(silencedCheck?.status, silencedCheck?.observed).toBe('fail');
  });

  it('IPv6: attempts are named and matched by bracketed endpoints, as the agent names sockets', async () => {
    const [check] = listenerChecks(await loadFixtureRun('handshake-ipv6'));
    expect(check?.status, check?.observed).toBe('pass');
    expect(check?.evidence[0]).toMatch(/^SYN from \[fd[0-9a-f:]+\]:\d+ /);
  });
});
