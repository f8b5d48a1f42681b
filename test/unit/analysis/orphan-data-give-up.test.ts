import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rtoCopies } from '../../../src/analysis/rto-copies.js';
import { parseKernelTrace } from '../../../src/observe/kernel-trace.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/*
 * close() with 1000 bytes unacknowledged to a silent peer (teacher lab orphan-data-give-up, recorded): [P.] then [F.],
 * a tail-loss probe of the FIN 7 ms later, then every RTO copy one [FP.] (tcp_retrans_try_collapse()); the orphan is
 * bounded by tcp_orphan_retries=3 and destroyed from FIN_WAIT_1 by tcp_done_with_error(), which reports no error.
 */
const FIXTURE = join(import.meta.dirname, '../../fixtures/runs/orphan-data-give-up');

function withOrphanRetries(run: RunRecord, retries: string): RunRecord {
  return {
    ...run,
    hosts: run.hosts.map((h) => (h.name === 'client' ? { ...h, kernelSettings: { ...h.kernelSettings, 'net.ipv4.tcp_orphan_retries': retries } } : h)),
  };
}

describe('recorded orphan-data-give-up run', () => {
  it('passes: the data and the FIN series are the timer’s merged copies, timed by tcp_orphan_retries', async () => {
    const run = await loadFixtureRun('orphan-data-give-up');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    const data = verdict.checks.find((c) => c.name.startsWith('data retransmissions'))!;
    expect(data.observed).toMatch(/^6 copies at 0, 0\.0\d+, 0\.2\d+, /);
    expect(data.expected).toMatch(/destroyed from FIN_WAIT_1 without a RST/);
  });

  it('FAILs when the orphan had tcp_orphan_retries 8 (the give-up comes far too early for it)', async () => {
    const run = withOrphanRetries(await loadFixtureRun('orphan-data-give-up'), '8');
    const verdict = verifyRun(run, 'x', 0);
    for (const name of ['data retransmissions', 'FIN retransmissions']) {
      const check = verdict.checks.find((c) => c.name.startsWith(name))!;
      expect(check.status, name).toBe('fail');
      expect(check.observed).toMatch(/give-up early/);
    }
  });

  it('the trace tells the orphan’s give-up from a hand-over to a timewait socket by its stack', () => {
    const run = JSON.parse(readFileSync(join(FIXTURE, 'run.json'), 'utf8')) as { hosts: { name: string; address: string }[] };
    const parsed = parseKernelTrace(readFileSync(join(FIXTURE, 'kernel-trace.txt'), 'utf8'), run.hosts, 'tai');
    const close = parsed.eventsByHost.get('client')!.find((e) => e.kind === 'state' && e.from === 'FIN_WAIT_1' && e.to === 'CLOSED')!;
    expect(close.handedToTimewait).toBeUndefined();
    const noStacks = readFileSync(join(FIXTURE, 'kernel-trace.txt'), 'utf8')
      .split('\n')
      .filter((l) => !/^\s*=> /.test(l))
      .join('\n');
    const guessed = parseKernelTrace(noStacks, run.hosts, 'tai')
      .eventsByHost.get('client')!
      .find((e) => e.kind === 'state' && e.to === 'CLOSED')!;
    expect(guessed.handedToTimewait).toBe(true);
  });
});

describe('rtoCopies', () => {
  const seg = (frame: number, ms: number, seq: number, payloadLength: number, flags: number): TcpSegment =>
    ({ frame, timeUs: ms * 1000, seq, payloadLength, flags, src: 'a', srcPort: 1, dst: 'b', dstPort: 2 }) as TcpSegment;
  const data = seg(1, 0, 100, 1000, TcpFlag.ACK | TcpFlag.PSH);
  const fin = seg(2, 4, 1100, 0, TcpFlag.ACK | TcpFlag.FIN);
  const probe = seg(3, 10, 1100, 0, TcpFlag.ACK | TcpFlag.FIN);
  const merged = [seg(4, 220, 100, 1000, TcpFlag.ACK | TcpFlag.PSH | TcpFlag.FIN), seg(5, 640, 100, 1000, TcpFlag.ACK | TcpFlag.PSH | TcpFlag.FIN)];
  const sent = [data, fin, probe, ...merged];

  it('gives the data its merged copies and the probe of the FIN behind it', () => {
    const copies = rtoCopies(sent, data);
    expect(copies.sends.map((s) => s.frame)).toEqual([1, 3, 4, 5]);
    expect(copies.probe?.frame).toBe(3);
  });

  it('gives the FIN its own probe (data was in flight before it) and the merged copies that carry it', () => {
    const copies = rtoCopies(sent, fin);
    expect(copies.sends.map((s) => s.frame)).toEqual([2, 3, 4, 5]);
    expect(copies.probe?.frame).toBe(3);
  });

  it('a lone FIN’s repeat is no short probe', () => {
    const lone = [fin, seg(3, 210, 1100, 0, TcpFlag.ACK | TcpFlag.FIN)];
    expect(rtoCopies(lone, fin).probe).toBeUndefined();
  });
});
