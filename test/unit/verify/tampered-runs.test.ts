import { afterAll, describe, expect, it } from 'vitest';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { encodeTcpFrame, joinPcap, splitPcap } from '../../../src/observe/pcap-writer.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_RUNS } from './run-fixtures.js';
import {
  capturedSegments,
  copyFixtureRun,
  editCapture,
  failedChecks,
  forgeSegment,
  removeCopies,
  reverify,
  rewriteJsonLines,
  rewriteText,
} from './tamper-run-folder.js';

// The five tamperings that passed falsely before the consistency checks (issue 9, "False PASS"), each on a
// copy of the recorded syn-sent run (server drops every SYN with rule drop-syn; connect() times out).
afterAll(removeCopies);

const DELIVERY = "captures agree: every segment one host sent arrives in the other's capture, and every arrival was sent";
const COUNTER = 'rule drop-syn on server: its counter agrees with the captured packets it matches';
const SAMPLES = 'samples agree with the captures: no socket counts more retransmissions than its capture shows sent';
const STORY = 'socket states agree with the captures: no socket stays in SYN_SENT after its capture shows it left';

function firstSyn(dir: string): TcpSegment {
  const syn = capturedSegments(dir, 'client').find((s) => s.flags === TcpFlag.SYN);
  if (syn === undefined) throw new Error('syn-sent fixture without a SYN');
  return syn;
}

/** The [R.] a server would send to refuse `syn`: from its destination, acknowledging ISN+1. */
function resetAnswering(syn: TcpSegment) {
  return {
    src: syn.dst,
    dst: syn.src,
    srcPort: syn.dstPort,
    dstPort: syn.srcPort,
    seq: 0,
    ack: (syn.seq + 1) >>> 0,
    flags: TcpFlag.RST | TcpFlag.ACK,
    window: 0,
  };
}

function check(verdict: Verdict, name: string) {
  const found = verdict.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check "${name}" in ${verdict.checks.map((c) => c.name).join(' | ')}`);
  return found;
}

describe('the pcap writer round-trips through the decoder', () => {
  it('split + join is byte-identical, and a built frame decodes to the same segment', () => {
    const bytes = readFileSync(join(FIXTURE_RUNS, 'syn-sent', 'client', 'capture.pcap'));
    const file = splitPcap(bytes);
    expect(joinPcap(file, file.records).equals(bytes)).toBe(true);
    const syn = decodeCaptureBuffer(bytes).segments[0] as TcpSegment;
    const frame = encodeTcpFrame(syn);
    const again = decodeCaptureBuffer(joinPcap(file, [{ timeUs: syn.timeUs, originalLength: frame.length, frame }])).segments[0];
    expect(again).toMatchObject({
      src: syn.src,
      dst: syn.dst,
      srcPort: syn.srcPort,
      dstPort: syn.dstPort,
      seq: syn.seq,
      ack: syn.ack,
      flags: syn.flags,
      window: syn.window,
      ipId: syn.ipId,
      options: syn.options,
      timeUs: syn.timeUs,
    });
  });
});

describe('tampered syn-sent run folders FAIL on re-verification (each on its own copy)', () => {
  it('the untouched copy passes every consistency check', async () => {
    const verdict = await reverify(copyFixtureRun('syn-sent'));
    expect(verdict.verdict).toBe('pass');
    for (const name of [DELIVERY, COUNTER, SAMPLES, STORY]) expect(check(verdict, name).status).toBe('pass');
  });

  it('a) a forged [R.] (ack = ISN+1) reaching the client in SYN_SENT, while the record still shows SYN_SENT and ETIMEDOUT', async () => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    const rst = resetAnswering(syn);
    forgeSegment(dir, 'client', syn.timeUs + 300_000, rst);
    const verdict = await reverify(dir);
    expect(verdict.verdict).toBe('fail');
    expect(check(verdict, DELIVERY).observed).toMatch(
      /client capture #\d+ at \+\d\.\d+ s shows \[R\.\] seq 0 arriving from server, but server's capture never sent it/,
    );
    expect(check(verdict, STORY).status).toBe('fail');
  });

  it("a′) the same [R.] forged in both captures (sent and arrived): the client's own story still contradicts it", async () => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    const rst = { ...resetAnswering(syn), ipId: 0 };
    forgeSegment(dir, 'server', syn.timeUs + 300_000, rst);
    forgeSegment(dir, 'client', syn.timeUs + 300_050, rst);
    const verdict = await reverify(dir);
    expect(check(verdict, DELIVERY).status).toBe('pass');
    const story = check(verdict, STORY);
    expect(story.status).toBe('fail');
    expect(story.observed).toMatch(
      /was sampled in SYN_SENT at \+3\.\d+ s, but client capture #\d+ shows an acceptable \[R\.\] \(ack ISN\+1 = \d+\) reach 198\.19\.90\.3:52818 in SYN_SENT/,
    );
    expect(verdict.verdict).toBe('fail');
  });

  it('b) a forged handshake-completing ACK in the client capture, whose samples never leave SYN_SENT', async () => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    const ack = { src: syn.src, dst: syn.dst, srcPort: syn.srcPort, dstPort: syn.dstPort, seq: (syn.seq + 1) >>> 0, ack: 777, flags: TcpFlag.ACK, window: 502 };
    forgeSegment(dir, 'client', syn.timeUs + 100_000, ack);
    const verdict = await reverify(dir);
    expect(verdict.verdict).toBe('fail');
    // An ACK carries no sequence space: the server cannot acknowledge it, so its absence there is no proof; the story is.
    expect(check(verdict, DELIVERY).observed).toMatch(/1 lost on the way, never acknowledged \(client #\d+ \[\.\] at/);
    expect(check(verdict, STORY).observed).toMatch(
      /was sampled in SYN_SENT at \+\d\.\d+ s, but client capture #\d+ shows 198\.19\.90\.3:52818 sent the handshake-completing ACK/,
    );
  });

  it('c) a server capture missing the 3 retransmitted SYNs the client capture shows sent', async () => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    editCapture(dir, 'server', (records, segmentOf) =>
      records.filter((r) => {
        const s = segmentOf(r);
        return s === undefined || s.flags !== TcpFlag.SYN || s.timeUs < syn.timeUs + 500_000;
      }),
    );
    expect(capturedSegments(dir, 'server').filter((s) => s.flags === TcpFlag.SYN)).toHaveLength(1);
    const verdict = await reverify(dir);
    expect(verdict.verdict).toBe('fail');
    // Unanswered SYNs could have been lost on the way, so the delivery check only says so; the rule's counter
    // proves they reached the server's netfilter, which runs after its capture tap: it now exceeds what the
    // server's capture could have let the rule count (4 > 1).
    expect(check(verdict, DELIVERY).observed).toMatch(/3 lost on the way, never acknowledged \(client #\d+ \[S\] at \+1\.\d+ s/);
    expect(check(verdict, COUNTER).status).toBe('fail');
  });

  it("c′) a server capture emptied of every segment (its ARP frames kept): the client's SYNs were sent to a host that captured nothing", async () => {
    const dir = copyFixtureRun('syn-sent');
    editCapture(dir, 'server', (records, segmentOf) => records.filter((r) => segmentOf(r) === undefined));
    expect(capturedSegments(dir, 'server')).toHaveLength(0);
    const verdict = await reverify(dir);
    expect(verdict.verdict).toBe('fail');
    expect(check(verdict, DELIVERY).observed).toMatch(/server's capture holds no segment at all, but client's capture shows 4 segment\(s\) sent to it/);
  });

  it('d) a sample claiming 7 retransmissions where the capture has 3', async () => {
    const dir = copyFixtureRun('syn-sent');
    rewriteJsonLines(dir, 'client/events.jsonl', (e) =>
      e.type === 'socket' && (e.timer as { retransmits: number }).retransmits === 3 ? { ...e, timer: { ...(e.timer as object), retransmits: 7 } } : e,
    );
    const verdict = await reverify(dir);
    expect(verdict.verdict).toBe('fail');
    const samples = check(verdict, SAMPLES);
    expect(samples.status).toBe('fail');
    expect(samples.observed).toMatch(/counts 7 retransmission\(s\), but client's capture shows 3 retransmitted copies of any one segment by then/);
    expect(failedChecks(verdict)).toEqual([SAMPLES]);
  });

  it('e) a fault rule whose counter says it never matched (and the other way: more than could reach it)', async () => {
    const never = copyFixtureRun('syn-sent');
    rewriteText(never, 'server/iptables-counters.txt', (t) => t.replace('[4:240] -A INPUT', '[0:0] -A INPUT'));
    const verdict = await reverify(never);
    expect(verdict.verdict).toBe('fail');
    const counter = check(verdict, COUNTER);
    expect(counter).toMatchObject({
      status: 'fail',
      observed: 'counter 0 packet(s)',
      expected: '4 packet(s): the captured arrivals it matches while in place',
    });
    expect(counter.evidence.at(-1)).toMatch(/took 0, but 4 captured segment\(s\) reached it while it was in place/);

    const more = copyFixtureRun('syn-sent');
    rewriteText(more, 'server/iptables-counters.txt', (t) => t.replace('[4:240] -A INPUT', '[9:540] -A INPUT'));
    expect(check(await reverify(more), COUNTER)).toMatchObject({ status: 'fail', observed: 'counter 9 packet(s)' });
  });

  it.each([
    [
      'after the last sample but before the last SYN: the SYN sent again tells',
      7_000_000,
      /client capture #\d+ shows 198\.19\.90\.3:52818 sending its SYN again at \+8\.\d+ s, but client capture #\d+ shows an acceptable \[R\.\]/,
    ],
    [
      'after the last SYN: the outcome tells (ETIMEDOUT, not ECONNREFUSED)',
      7_350_000,
      /connection c reports ETIMEDOUT at \+16\.\d+ s, but .*tcp_reset\(\) in SYN_SENT reports ECONNREFUSED/,
    ],
  ])('a″) a [R.] forged in both captures %s', async (_what, afterUs, finding) => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    const rst = { ...resetAnswering(syn), ipId: 0 };
    forgeSegment(dir, 'server', syn.timeUs + afterUs, rst);
    forgeSegment(dir, 'client', syn.timeUs + afterUs + 50, rst);
    const verdict = await reverify(dir);
    expect(check(verdict, DELIVERY).status).toBe('pass');
    expect(check(verdict, STORY)).toMatchObject({ status: 'fail', observed: expect.stringMatching(finding) });
  });

  it('an [R.] whose ack is not ISN+1 is no reset of a SYN_SENT socket: the story holds (only the delivery check sees the forgery)', async () => {
    const dir = copyFixtureRun('syn-sent');
    const syn = firstSyn(dir);
    forgeSegment(dir, 'client', syn.timeUs + 300_000, {
      src: syn.dst,
      dst: syn.src,
      srcPort: syn.dstPort,
      dstPort: syn.srcPort,
      seq: 0,
      ack: (syn.seq + 5) >>> 0,
      flags: TcpFlag.RST | TcpFlag.ACK,
      window: 0,
    });
    const verdict = await reverify(dir);
    expect(check(verdict, STORY).status).toBe('pass');
    expect(failedChecks(verdict)).toEqual([DELIVERY]);
  });
});

const TRACE = 'tracepoints agree with the samples and captures: each sampled state and count, and each repeated SYN, is one the kernel traced';

describe('a tampered syn-sent run with a kernel trace (recorded 2026-12-01 on this machine) FAILs against its tracepoints', () => {
  it('the untouched copy passes, the trace check among its checks', async () => {
    const verdict = await reverify(copyFixtureRun('syn-sent-traced'));
    expect(verdict.verdict).toBe('pass');
    expect(check(verdict, TRACE)).toMatchObject({ status: 'pass', observed: '4 sampled row(s) of traced sockets, all as traced' });
  });

  it('a sampled row turned ESTABLISHED while the trace has the socket in SYN_SENT', async () => {
    const dir = copyFixtureRun('syn-sent-traced');
    rewriteJsonLines(dir, 'client/events.jsonl', (e) =>
      e.type === 'socket' && (e.timer as { retransmits: number }).retransmits === 2 ? { ...e, state: 'ESTABLISHED' } : e,
    );
    const trace = check(await reverify(dir), TRACE);
    expect(trace.status).toBe('fail');
    expect(trace.observed).toMatch(/was sampled in ESTABLISHED at \+\d+\.\d+ s, but its kernel trace has it in SYN_SENT then \(kernel-events\.jsonl line 14\)/);
  });

  it('a retransmission removed from the trace: the capture repeats the SYN more often than the kernel retransmitted it', async () => {
    const dir = copyFixtureRun('syn-sent-traced');
    let removed = false;
    rewriteText(dir, 'client/kernel-events.jsonl', (text) =>
      text
        .split('\n')
        .filter((line) => {
          if (removed || !line.includes('"retransmit"')) return true;
          removed = true;
          return false;
        })
        .join('\n'),
    );
    const trace = check(await reverify(dir), TRACE);
    expect(trace.status).toBe('fail');
    expect(trace.evidence.join('\n')).toMatch(/sending its SYN 4 times \(#\d+, #\d+, #\d+, #\d+\), but its kernel trace has 2 retransmission\(s\) sent on it/);
    expect(trace.evidence.join('\n')).toMatch(/counts 3 retransmission\(s\), but its kernel trace has 2 retransmission attempt\(s\) on it by then/);
  });

  it('a sample claiming 7 retransmissions: both the capture and the trace contradict it', async () => {
    const dir = copyFixtureRun('syn-sent-traced');
    rewriteJsonLines(dir, 'client/events.jsonl', (e) =>
      e.type === 'socket' && (e.timer as { retransmits: number }).retransmits === 3 ? { ...e, timer: { ...(e.timer as object), retransmits: 7 } } : e,
    );
    const verdict = await reverify(dir);
    expect(failedChecks(verdict)).toEqual([SAMPLES, TRACE]);
  });
});
