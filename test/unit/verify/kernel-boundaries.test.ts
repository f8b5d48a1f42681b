import { describe, expect, it } from 'vitest';
import { rtoCopies } from '../../../src/analysis/rto-copies.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import type { Check } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, segment, withHost, withSettings } from './run-fixtures.js';

/*
 * Three teacher labs of 2026-12-07 (test/fixtures/labs/teacher/), each once a false verdict, recorded:
 * - bulk-write-give-up: 100,000 bytes into a path that died after the handshake. The sender's capture shows the
 *   first flight as GSO super-segments (7,240 bytes); the RTO resends one MSS (1,448 bytes) from snd_una.
 * - syncookies-always: tcp_syncookies=2, so no request socket; the child is traced LISTEN → SYN_RECEIVED →
 *   ESTABLISHED 14 µs apart while the final ACK is processed.
 * - tw-bound-no-timestamps: a bound connect() from a port whose 4-tuple a TIME_WAIT socket holds fails with
 *   EADDRNOTAVAIL; the kernel traces the failed socket CLOSED → SYN_SENT → CLOSED on that 4-tuple.
 */

function failures(run: RunRecord): string[] {
  return verifyRun(run, 'x', 0)
    .checks.filter((c) => c.status === 'fail')
    .map((c) => `${c.name}: ${c.observed}`);
}

function check(run: RunRecord, prefix: string): Check {
  const found = verifyRun(run, 'x', 0).checks.find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no check named ${prefix}…`);
  return found;
}

describe('RTO copies of a GSO super-segment (rto-copies.ts)', () => {
  const data = (frame: number, atMs: number, seq: number, payloadLength: number) =>
    segment(frame, atMs, '10.0.0.3:40000', '10.0.0.2:8080', TcpFlag.ACK | TcpFlag.PSH, { seq, payloadLength });

  it('takes a later send that starts at the first byte as a copy, shorter or longer, and nothing that starts after it', () => {
    const first = data(1, 0, 1000, 7240);
    const next = data(2, 0.1, 8240, 7240);
    const mss = data(3, 210, 1000, 1448);
    const later = data(4, 220, 2448, 1448);
    const merged = data(5, 630, 1000, 14480);
    expect(rtoCopies([first, next, mss, later, merged], first).sends).toEqual([first, mss, merged]);
  });
});

describe('recorded bulk-write-give-up run', () => {
  it('passes: the 7,240-byte original and four 1,448-byte copies, then ETIMEDOUT by tcp_retries2=4', async () => {
    const run = await loadFixtureRun('bulk-write-give-up');
    expect(failures(run)).toEqual([]);
    const data = check(run, 'data retransmissions');
    expect(data.observed).toMatch(/^5 copies at 0, 0\.21\d, 0\.6\d+, 1\.4\d+, 3\.1\d+ s; gave up at 6\.\d+ s \(ETIMEDOUT\)/);
  });

  it('FAILs when tcp_retries2 should have kept it going (8): the give-up is early', async () => {
    const run = withSettings(await loadFixtureRun('bulk-write-give-up'), 'client', { 'net.ipv4.tcp_retries2': '8' });
    const data = check(run, 'data retransmissions');
    expect(data.status).toBe('fail');
    expect(data.observed).toMatch(/give-up early/);
  });
});

describe('recorded syncookies-always run', () => {
  it('passes: with tcp_syncookies=2 the server is never in SYN_RECEIVED, though its child is traced there for 14 µs', async () => {
    const run = await loadFixtureRun('syncookies-always');
    expect(failures(run)).toEqual([]);
    expect(check(run, 'server never in SYN_RECEIVED').observed).toMatch(/^LISTEN → ESTABLISHED/);
  });

  it('FAILs "never SYN_RECEIVED" when the same trace comes from a host that kept request sockets (tcp_syncookies=1)', async () => {
    const run = withSettings(await loadFixtureRun('syncookies-always'), 'server', { 'net.ipv4.tcp_syncookies': '1' });
    const never = check(run, 'server never in SYN_RECEIVED');
    expect(never.status).toBe('fail');
    expect(never.observed).toMatch(/^SYN_RECEIVED at \+0\.0\d+ s/);
  });
});

describe('recorded tw-bound-no-timestamps run', () => {
  it('passes: the failed connect’s CLOSED → SYN_SENT → CLOSED is not the TIME_WAIT socket’s', async () => {
    const run = await loadFixtureRun('tw-bound-no-timestamps');
    expect(failures(run)).toEqual([]);
    expect(check(run, 'connect() of client/c2').observed).toMatch(/EADDRNOTAVAIL/);
  });

  it('FAILs conformance when no connect() returned EADDRNOTAVAIL: the 4-tuple’s socket left TIME_WAIT for SYN_SENT', async () => {
    const run = withHost(await loadFixtureRun('tw-bound-no-timestamps'), 'client', (h) => ({
      events: h.events.map((e) => (e.type === 'connect-returned' && e.errno === 'EADDRNOTAVAIL' ? { ...e, errno: 'ok' } : e)),
    }));
    const conformance = check(run, 'client 198.');
    expect(conformance.status).toBe('fail');
    expect(conformance.observed).toMatch(/TIME_WAIT → SYN_SENT|after the socket was handed to a timewait socket/);
  });
});

/*
 * fast-retransmit and sack-off-recovery: one data packet dropped mid-transfer. Its first repeat leaves on the peer's
 * duplicate ACKs (one SACKing the next packet; or, with SACK off, the third), microseconds later, not an RTO later.
 */
describe('fast retransmissions (rto-copies.ts fastRetransmitOf())', () => {
  /** The run without the peer's duplicate ACKs for the lost packet: nothing but the timer could have resent it. */
  async function withoutDupAcks(name: 'fast-retransmit' | 'sack-off-recovery'): Promise<RunRecord> {
    const run = await loadFixtureRun(name);
    const client = run.hosts.find((h) => h.name === 'client');
    const copy = client?.segments.find(
      (s, i, all) => s.payloadLength > 0 && all.slice(0, i).some((o) => o.payloadLength > 0 && o.seq === s.seq && o.srcPort === s.srcPort),
    );
    if (copy === undefined) throw new Error('no repeated data segment in the fixture');
    const isDupAck = (s: { srcPort: number; ack: number; payloadLength: number }): boolean => s.srcPort === 8080 && s.ack === copy.seq && s.payloadLength === 0;
    return withHost(run, 'client', (h) => ({ segments: h.segments.filter((s) => !isDupAck(s)) }));
  }

  for (const [name, trigger] of [
    ['fast-retransmit', /duplicate ACK #\d+ SACKs data above it/],
    ['sack-off-recovery', /duplicate ACK #\d+ is number 3 \(tcp_reordering\)/],
  ] as const) {
    it(`${name}: passes, the copy named a fast retransmission and what set it off`, async () => {
      const run = await loadFixtureRun(name);
      expect(failures(run)).toEqual([]);
      const data = check(run, 'data retransmissions');
      expect(data.observed).toMatch(/^2 copies at 0, 0(\.00\d)? s; acknowledged/);
      expect(data.evidence.join('\n')).toMatch(trigger);
    });

    it(`${name}: FAILs "early" when no duplicate ACK came before the copy`, async () => {
      const data = check(await withoutDupAcks(name), 'data retransmissions');
      expect(data.status).toBe('fail');
      expect(data.observed).toMatch(/transmission 2 early/);
    });
  }
});

/*
 * fin-data-lost-once: `-m statistic --mode nth --every 100000 --packet 0` on the server's INPUT drops the first segment
 * carrying the client's FIN, the [FP.] of its close(); the RTO copy 0.2 s later is delivered. The rule's counter (1)
 * and nth mode decide which segment it was (rule-timeline.ts decideUnpredictableDrops()).
 */
describe('recorded fin-data-lost-once run', () => {
  it('passes: the first [FP.] is the dropped one, so CLOSE_WAIT comes with the copy', async () => {
    const run = await loadFixtureRun('fin-data-lost-once');
    expect(failures(run)).toEqual([]);
    expect(check(run, 'FIN retransmissions').observed).toMatch(/^2 FINs at 0, 0\.2\d+ s; answered/);
  });

  it('FAILs conformance when the same counter is read for --packet 1: the second FIN would be the lost one', async () => {
    const run = await loadFixtureRun('fin-data-lost-once');
    const steps = run.lab.steps.map((s) => (s.kind === 'rule' ? { ...s, text: s.text.replace('--packet 0', '--packet 1') } : s));
    const conformance = check({ ...run, lab: { ...run.lab, steps } }, 'server 198.');
    expect(conformance.status).toBe('fail');
    expect(conformance.observed).toMatch(/ESTABLISHED → CLOSE_WAIT at \+0\.\d+ s \(kernel-trace\.txt line \d+\) has no cause/);
  });
});
