import { describe, expect, it } from 'vitest';
import { analyzeRun, hostAnalysisOf } from '../../../src/analysis/analyze-run.js';
import { findSynAckReplies } from '../../../src/analysis/syn-ack-replies.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/*
 * Copies a `hold` kept in the host's egress queue, timed from TCP's send (analysis/held-sends.ts). Recorded: teacher lab
 * synack-held-dup-syn. The server's egress is held; the client retransmits its SYN at 1 s; the request's timer fires
 * and the duplicate SYN is answered, so three SYN-ACKs wait in the queue and the server's capture stamps all three at
 * the release (+1.9 s).
 */
describe('recorded synack-held-dup-syn run: SYN-ACKs held in the queue', () => {
  it('dates each held SYN-ACK: the first by the SYN it answers, the others by the traced retransmissions', async () => {
    const run = await loadFixtureRun('synack-held-dup-syn');
    const server = run.hosts.find((h) => h.name === 'server')!;
    const synAcks = server.segments.filter((s) => s.srcPort === 8888 && (s.flags & 0x12) === 0x12);
    expect(synAcks).toHaveLength(3);
    const held = hostAnalysisOf(analyzeRun(run), 'server').heldSends;
    const [first, second, third] = synAcks.map((s) => held.get(s.frame)!);
    expect(first!.how.kind).toBe('syn-arrival');
    expect([second!.how.kind, third!.how.kind]).toEqual(['retransmit', 'retransmit']);
    // TCP sent them about 1.5 s and 0.5 s before the release: far from the capture's one moment.
    expect((synAcks[0]!.timeUs - first!.sentUs) / 1e6).toBeGreaterThan(1.2);
    expect((third!.sentUs - first!.sentUs) / 1e6).toBeGreaterThan(0.9);
  });

  it('the SYN-ACK timing check passes from the sends, and FAILs when the copies are timed at their release', async () => {
    const run = await loadFixtureRun('synack-held-dup-syn');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([]);
    const check = verdict.checks.find((c) => c.name.startsWith('SYN-ACK retransmissions'))!;
    expect(check.evidence.join('\n')).toMatch(
      /copy 1 \(#\d+\) waited in server's held queue \(steps 2–6\): TCP sent it at \+0\.\d{3} s \(on the SYN's arrival/,
    );
    expect(check.evidence.join('\n')).toMatch(/SYN-ACK answering a retransmitted SYN \(tcp_check_req\(\)\)/);
    const unheld = { ...run, lab: { ...run.lab, steps: run.lab.steps.map((s) => (s.kind === 'hold' || s.kind === 'release' ? { ...s, host: 'nobody' } : s)) } };
    const early = verifyRun(unheld, 'x', 0).checks.find((c) => c.name.startsWith('SYN-ACK retransmissions'))!;
    expect(early.status).toBe('fail');
    expect(early.observed).toMatch(/early/);
  });
});

describe('findSynAckReplies', () => {
  const segment = (frame: number, timeUs: number): TcpSegment => ({ frame, timeUs }) as TcpSegment;
  it('answers each retransmitted SYN once: a timer fire just after the reply is no second answer', () => {
    const synAcks = [segment(1, 0), segment(3, 1_000_100), segment(4, 1_000_300)];
    const syns = [segment(2, 1_000_000)];
    expect([...findSynAckReplies(synAcks, syns, () => false).keys()]).toEqual([3]);
  });
  it('times a SYN-ACK by its send when one is given', () => {
    const synAcks = [segment(1, 0), segment(3, 2_000_000)];
    const syns = [segment(2, 1_000_000)];
    expect(findSynAckReplies(synAcks, syns, () => false).size).toBe(0);
    expect([
      ...findSynAckReplies(
        synAcks,
        syns,
        () => false,
        (s) => (s.frame === 3 ? 1_000_200 : s.timeUs),
      ).keys(),
    ]).toEqual([3]);
  });
});
