import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import { buildRuleTimeline } from '../../../src/analysis/rule-timeline.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { findSynAckReplies, SYN_REPLY_WINDOW_US } from '../../../src/analysis/syn-ack-replies.js';
import type { Step } from '../../../src/lab/model.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { checkSynAckRetransmits } from '../../../src/verify/timing-checks.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { at, loadFixtureRun, segment, SYN_ACK, syntheticRun, T0_US } from '../verify/run-fixtures.js';

describe('analyzeRun on the committed syn-sent run', async () => {
  const record = await loadFixtureRun('syn-sent');
  const analysis = analyzeRun(record);

  it('holds the rule timeline: drop-syn dropped every SYN the server captured, and its counter agrees', () => {
    const rule = analysis.rules.rules.find((r) => r.name === 'drop-syn');
    const server = record.hosts.find((h) => h.name === 'server')!;
    const receivedSyns = server.segments.filter((s) => s.dst === server.address && (s.flags & TcpFlag.SYN) !== 0);
    expect(receivedSyns.length).toBeGreaterThan(1);
    expect(rule?.droppedFrames).toEqual(receivedSyns.map((s) => s.frame));
    expect(rule?.counter?.pkts).toBe(receivedSyns.length);
    expect(analysis.rules.warnings).toEqual([]);
  });

  it('the ladder trace, the replay and the timeline tell one story about each dropped SYN', () => {
    const dropped = analysis.trace.segments.filter((s) => s.fate.kind === 'dropped');
    expect(dropped.map((s) => s.receiverFrame)).toEqual(analysis.rules.rules.find((r) => r.name === 'drop-syn')?.droppedFrames);
    const serverReplays = analysis.replays.filter((r) => r.host === 'server');
    for (const replay of serverReplays) {
      for (const skip of replay.skipped) expect(skip.reason).toMatch(/^dropped by server's rule drop-syn/);
    }
    expect(analysis.connections.length).toBe(1);
  });

  it('the verdict computed from the analysis is the verdict computed without it', () => {
    const once = verifyRun(record, 'x', 0, analysis);
    const twice = verifyRun(record, 'x', 0);
    expect(once).toEqual(twice);
  });

  it('a counter of 0 means the rule dropped nothing: the timeline, the trace and the replay all say delivered', () => {
    const zero = {
      ...record,
      hosts: record.hosts.map((h) => (h.name === 'server' ? { ...h, ruleCounters: h.ruleCounters.replace(/^\[\d+:\d+\] (-A INPUT)/m, '[0:0] $1') } : h)),
    };
    const timeline = buildRuleTimeline(zero);
    expect(timeline.rules.find((r) => r.name === 'drop-syn')?.droppedFrames).toEqual([]);
    expect(timeline.warnings.join('\n')).toMatch(/drop-syn .* its counter is 0/);
    expect(
      replayRun(zero, timeline)
        .flatMap((r) => r.skipped)
        .filter((s) => s.reason.includes('drop-syn')),
    ).toEqual([]);
  });
});

/** A request answered by timer SYN-ACKs at 0, 1.01, 3.03, 7.09 s, with one more SYN from the peer 2 ms before the third. */
function requestWithLateSyn(rule: boolean): RunRecord {
  const synAck = (frame: number, ms: number) => segment(frame, ms, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK, { seq: 9000, ack: 5001 });
  const syn = (frame: number, ms: number) => segment(frame, ms, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.SYN, { seq: 5000 });
  const segments = [syn(1, -0.1), synAck(2, 0), synAck(3, 1010), syn(4, 3028), synAck(5, 3030), synAck(6, 7090)];
  const events = [at(15_200, { type: 'socket-gone', local: '10.0.0.2:8888', remote: '10.0.0.3:40000', state: 'SYN_RECV' })];
  const steps: Step[] = [
    { kind: 'listen', host: 'server', port: 8888, accept: true },
    ...(rule ? [{ kind: 'rule', host: 'server', name: 'drop-later-syns', text: '-I INPUT -p tcp --syn -j DROP' } as const] : []),
  ];
  const run = syntheticRun({ steps, server: { segments, events }, settings: { 'net.ipv4.tcp_synack_retries': '3' } });
  const records = steps.map((step, index) => ({
    index,
    kind: step.kind,
    description: step.kind,
    startUs: T0_US + (index === 0 ? -50_000 : 2_000_000),
    endUs: T0_US + (index === 0 ? -40_000 : 2_001_000),
  }));
  return { ...run, steps: records };
}

describe('the SYN-ACK "reply, not a timer fire" rule (one place, one window)', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server' } as const;

  it('a SYN-ACK right after a SYN that reached TCP is a reply: left out of the schedule, and the check then fails', () => {
    const run = requestWithLateSyn(false);
    expect([
      ...analyzeRun(run)
        .hosts.find((h) => h.name === 'server')!
        .synAckReplies.keys(),
    ]).toEqual([5]);
    expect(checkSynAckRetransmits(expectation, run).status).toBe('fail');
  });

  it('a SYN the server firewall dropped never reached TCP: the SYN-ACK after it is a timer fire, and the check passes', () => {
    const run = requestWithLateSyn(true);
    expect(analyzeRun(run).hosts.find((h) => h.name === 'server')!.synAckReplies.size).toBe(0);
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
  });

  it('outside the window a SYN-ACK is a timer fire; inside it, a reply', () => {
    const synAcks = [segment(2, 0, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK), segment(4, 1000, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK)];
    const near = [segment(3, 1000 - SYN_REPLY_WINDOW_US / 1000 + 0.5, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.SYN)];
    const far = [segment(3, 1000 - SYN_REPLY_WINDOW_US / 1000 - 0.5, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.SYN)];
    expect(findSynAckReplies(synAcks, near, () => false).has(4)).toBe(true);
    expect(findSynAckReplies(synAcks, far, () => false).has(4)).toBe(false);
    expect(findSynAckReplies(synAcks, near, () => true).has(4)).toBe(false);
  });
});

describe('a close step without conn', async () => {
  const record = await loadFixtureRun('handshake');
  const closeIndex = record.lab.steps.findIndex((s) => s.kind === 'close' && s.host === 'server');
  const withoutConn: RunRecord = {
    ...record,
    lab: { ...record.lab, steps: record.lab.steps.map((s, i) => (i === closeIndex ? { kind: 'close', host: 'server' } : s)) },
  };
  const closeOf = (run: RunRecord) =>
    replayRun(run)
      .find((r) => r.host === 'server' && r.conn === 'accepted-1')
      ?.timeline.find((e) => e.cause.kind === 'call' && e.cause.op === 'close');

  it('is attributed to the connection it acted on, as steps.jsonl records it', () => {
    const recorded: RunRecord = { ...withoutConn, steps: withoutConn.steps.map((s) => (s.index === closeIndex ? { ...s, conn: 'accepted-1' } : s)) };
    const start = recorded.steps.find((s) => s.index === closeIndex)?.startUs;
    expect(closeOf(recorded)?.timeUs).toBe(start);
  });

  it('in an older run folder (no conn recorded) to the host latest connection, as the step runner resolves it', () => {
    expect(closeOf(withoutConn)?.timeUs).toBe(withoutConn.steps.find((s) => s.index === closeIndex)?.startUs);
  });

  it('and not to another connection when steps.jsonl says it acted on that one', () => {
    const other: RunRecord = { ...withoutConn, steps: withoutConn.steps.map((s) => (s.index === closeIndex ? { ...s, conn: 'accepted-2' } : s)) };
    expect(closeOf(other)).toBeUndefined();
  });
});
