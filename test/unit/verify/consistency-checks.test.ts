import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { checkConsistency } from '../../../src/verify/consistency-checks.js';
import { checkRuleCounters } from '../../../src/verify/rule-counter-checks.js';
import { at, loadFixtureRun, segment, syntheticRun, T0_US, withHost } from './run-fixtures.js';

// Synthetic records for what the recorded runs lack: a send-chain rule, a rule before others in its path.
const CLIENT = '10.0.0.3:40000';
const SERVER = '10.0.0.2:8888';

function withRule(text: string, counters: string, clientSends: number[], extra: Partial<RunRecord> = {}): RunRecord {
  const syns = clientSends.map((ms, i) => segment(i + 1, ms, CLIENT, SERVER, TcpFlag.SYN, { ipId: 100 + i }));
  const run = syntheticRun({
    steps: [{ kind: 'rule', host: 'client', name: 'drop-out', text }],
    client: { segments: syns, ruleCounters: counters },
    server: { segments: syns.map((s) => ({ ...s, timeUs: s.timeUs + 30 })) },
  });
  return {
    ...run,
    steps: [
      { index: 0, kind: 'rule', description: 'rule', startUs: T0_US - 200_000, endUs: T0_US - 100_000 },
      { index: 1, kind: 'sleep', description: 'sleep', startUs: T0_US, endUs: T0_US + 5_000_000 },
    ],
    ...extra,
  };
}

const saved = (pkts: number, chain: string, spec: string): string =>
  `*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[${pkts}:${pkts * 60}] -A ${chain} ${spec} -m comment --comment "tcplab:drop-out" -j DROP\nCOMMIT\n`;

describe('send-chain rules: a captured departure past a DROP that was in place FAILs', () => {
  const text = '-I OUTPUT -d server -p tcp --dport 8888 -j DROP';
  const counters = saved(0, 'OUTPUT', '-d 10.0.0.2/32 -p tcp -m tcp --dport 8888');

  it('FAIL: two SYNs left the client while its OUTPUT DROP rule matched them', () => {
    const run = withRule(text, counters, [0, 1000]);
    const [check] = checkRuleCounters(run, analyzeRun(run));
    expect(check).toMatchObject({ name: 'rule drop-out on client: no captured segment left past it', status: 'fail', observed: '2 left client: #1, #2' });
  });

  it('PASS: a SYN sent before the rule step began is no contradiction', () => {
    const run = withRule(text, counters, [-500]);
    expect(checkRuleCounters(run, analyzeRun(run))[0]).toMatchObject({ status: 'pass' });
  });
});

describe('receive-chain counters: bounds from the captures', () => {
  it('a segment arriving while the rule step ran may or may not be counted: both 1 and 2 pass, 0 and 3 FAIL', () => {
    const text = '-I INPUT -s client -p tcp --dport 8888 -j DROP';
    const make = (pkts: number): RunRecord => {
      const syns = [-150, 500].map((ms, i) => segment(i + 1, ms, CLIENT, SERVER, TcpFlag.SYN, { ipId: 100 + i }));
      const run = syntheticRun({
        steps: [{ kind: 'rule', host: 'server', name: 'drop-out', text }],
        client: { segments: syns },
        server: {
          segments: syns.map((s) => ({ ...s, timeUs: s.timeUs + 30 })),
          ruleCounters: saved(pkts, 'INPUT', '-s 10.0.0.3/32 -p tcp -m tcp --dport 8888'),
        },
      });
      return {
        ...run,
        steps: [
          { index: 0, kind: 'rule', description: 'rule', startUs: T0_US - 200_000, endUs: T0_US - 100_000 },
          { index: 1, kind: 'sleep', description: 'sleep', startUs: T0_US, endUs: T0_US + 5_000_000 },
        ],
      };
    };
    const status = (pkts: number): string | undefined => checkRuleCounters(make(pkts), analyzeRun(make(pkts)))[0]?.status;
    expect([0, 1, 2, 3].map(status)).toEqual(['fail', 'pass', 'pass', 'fail']);
    expect(checkRuleCounters(make(3), analyzeRun(make(3)))[0]?.expected).toBe('between 1 and 2 packet(s): the captured arrivals it matches while in place');
  });
});

describe('consistency checks on a synthetic record', () => {
  it('every check carries the consistency origin and its source', () => {
    const run = withRule('-I OUTPUT -d server -p tcp --dport 8888 -j DROP', saved(0, 'OUTPUT', '-d 10.0.0.2/32 -p tcp -m tcp --dport 8888'), [-500]);
    const checks = checkConsistency(run, analyzeRun(run));
    expect(checks.map((c) => c.origin)).toEqual([
      { kind: 'consistency', consistency: 'delivery' },
      { kind: 'consistency', consistency: 'rule-counter', host: 'client' },
      { kind: 'consistency', consistency: 'sample-retransmits' },
      { kind: 'consistency', consistency: 'socket-story' },
    ]);
    expect(checks.every((c) => c.status === 'pass')).toBe(true);
  });

  it('a segment re-cut on the way (one sent, two arriving that cover it) counts as delivered; a missing half FAILs once the receiver acknowledged it', () => {
    const sent = segment(1, 0, CLIENT, SERVER, TcpFlag.ACK | TcpFlag.PSH, { payloadLength: 2000, seq: 5000, ipId: 7 });
    const halves = [
      segment(1, 0.05, CLIENT, SERVER, TcpFlag.ACK, { payloadLength: 1000, seq: 5000, ipId: 7 }),
      segment(2, 0.06, CLIENT, SERVER, TcpFlag.ACK | TcpFlag.PSH, { payloadLength: 1000, seq: 6000, ipId: 8 }),
    ];
    // The server acknowledging all 2000 bytes: it got them, so a half missing from its capture is a disagreement.
    const acked = segment(3, 0.1, SERVER, CLIENT, TcpFlag.ACK, { seq: 1, ack: 7000, ipId: 9 });
    const make = (arrived: typeof halves, acks = [acked]): RunRecord => {
      const run = syntheticRun({ steps: [], client: { segments: [sent] }, server: { segments: [...arrived, ...acks] } });
      return { ...run, steps: [{ index: 0, kind: 'sleep', description: 'sleep', startUs: T0_US - 1000, endUs: T0_US + 1_000_000 }] };
    };
    const delivery = (run: RunRecord) => checkConsistency(run, analyzeRun(run))[0];
    expect(delivery(make(halves))?.status).toBe('pass');
    expect(delivery(make([halves[0]!]))?.status).toBe('fail');
    // Never acknowledged: lost on the way (a busy machine loses segments between two captures), said, not failed.
    const unanswered = delivery(make([halves[0]!], []));
    expect(unanswered?.status).toBe('pass');
    expect(unanswered?.observed).toMatch(/; 1 lost on the way, never acknowledged \(client #1 /);
  });

  it('a request socket (SYN_RECV) counting more SYN-ACK retransmissions than its capture shows FAILs', () => {
    const synAcks = [0, 1000].map((ms, i) => segment(i + 1, ms, SERVER, CLIENT, TcpFlag.SYN | TcpFlag.ACK, { seq: 9, ack: 1001, ipId: i }));
    const row = (retransmits: number) =>
      at(2500, {
        type: 'socket',
        local: SERVER,
        remote: CLIENT,
        state: 'SYN_RECV',
        inode: 0,
        timer: { kind: 1, expiresMs: 2000, retransmits },
        txQueue: 0,
        rxQueue: 0,
      });
    const make = (retransmits: number): RunRecord => {
      const run = syntheticRun({
        steps: [],
        server: { segments: synAcks, events: [row(retransmits)] },
        client: { segments: synAcks.map((s) => ({ ...s, timeUs: s.timeUs + 20 })) },
      });
      return { ...run, steps: [{ index: 0, kind: 'sleep', description: 'sleep', startUs: T0_US - 1000, endUs: T0_US + 3_000_000 }] };
    };
    const samples = (retransmits: number) =>
      checkConsistency(make(retransmits), analyzeRun(make(retransmits))).find(
        (c) => c.origin?.kind === 'consistency' && c.origin.consistency === 'sample-retransmits',
      );
    expect(samples(1)?.status).toBe('pass');
    expect(samples(2)).toMatchObject({
      status: 'fail',
      observed: expect.stringContaining("counts 2 retransmission(s), but server's capture shows 1 retransmitted copy"),
    });
  });

  it("a reused tuple: a SYN_SENT row of the second connection is no contradiction of the first one's handshake; one before it FAILs", () => {
    const S = TcpFlag.SYN;
    const client = [
      segment(1, 0, CLIENT, SERVER, S, { seq: 100, ipId: 1 }),
      segment(2, 1, SERVER, CLIENT, S | TcpFlag.ACK, { seq: 900, ack: 101, ipId: 2 }),
      segment(3, 2, CLIENT, SERVER, TcpFlag.ACK, { seq: 101, ack: 901, ipId: 3 }),
      segment(4, 3000, CLIENT, SERVER, S, { seq: 5000, ipId: 4 }),
    ];
    const server = client.map((s) => ({ ...s, timeUs: s.timeUs + (s.src === '10.0.0.3' ? 20 : -20) }));
    const row = (ms: number) =>
      at(ms, {
        type: 'socket',
        local: CLIENT,
        remote: SERVER,
        state: 'SYN_SENT',
        inode: 1,
        timer: { kind: 1, expiresMs: 1000, retransmits: 0 },
        txQueue: 1,
        rxQueue: 0,
        readFromUs: T0_US + ms * 1000 - 500,
      });
    const story = (rowAtMs: number) => {
      const run = syntheticRun({ steps: [], client: { segments: client, events: [row(rowAtMs)] }, server: { segments: server } });
      const timed = { ...run, steps: [{ index: 0, kind: 'sleep', description: 'sleep', startUs: T0_US - 1000, endUs: T0_US + 5_000_000 }] };
      return checkConsistency(timed, analyzeRun(timed)).find((c) => c.origin?.kind === 'consistency' && c.origin.consistency === 'socket-story');
    };
    expect(story(3010)?.status).toBe('pass');
    expect(story(1500)).toMatchObject({
      status: 'fail',
      observed: expect.stringMatching(/sampled in SYN_SENT at .* but client capture #3 shows 10\.0\.0\.3:40000 sent the handshake-completing ACK/),
    });
  });
});

describe('a conntrack rule counts what its ctstate lets it see', () => {
  it('syn-rcvd as recorded: --syn -m conntrack --ctstate ESTABLISHED took the 5 later SYNs, and its counter agrees', async () => {
    const { loadRunRecord } = await import('../../../src/run/load-run.js');
    const run = await loadRunRecord(new URL('../../fixtures/runs/syn-rcvd-conntrack', import.meta.url).pathname);
    const counter = checkConsistency(run, analyzeRun(run)).find((c) => c.name.startsWith('rule drop-later-syns on server'));
    expect(counter?.status).toBe('pass');
    expect(counter?.evidence?.[0]).toBe("counter in server's iptables-counters.txt: 5 packet(s)");
  });
});

describe('a retransmission the kernel counted but refused to send (recorded nonblocking-connect run, catalog --parallel 4)', () => {
  // The timer fired while the original SYN was still in the host queue: tcp_retransmit_skb() returned -EBUSY
  // (skb_still_in_host_queue()), the row counted 1 retransmission, and no second SYN reached the capture.
  const sampleCheck = (run: RunRecord) => checkConsistency(run, analyzeRun(run)).find((c) => c.name.startsWith('samples agree with the captures'))!;
  const withRetransmitError = (run: RunRecord, error: number | undefined): RunRecord =>
    withHost(run, 'client', (h) => ({
      kernelEvents: (h.kernelEvents ?? []).flatMap((e) => (e.kind !== 'retransmit' ? [e] : error === undefined ? [] : [{ ...e, error }])),
    }));

  it('passes: the trace shows the attempt refused (err -16)', async () => {
    const check = sampleCheck(await loadFixtureRun('nonblocking-connect-refused-retransmit'));
    expect(check.status, check.observed).toBe('pass');
  });

  it('fails when the trace says the attempt was sent (err 0), or has no attempt: a count the capture does not back', async () => {
    const run = await loadFixtureRun('nonblocking-connect-refused-retransmit');
    for (const error of [0, undefined]) {
      const check = sampleCheck(withRetransmitError(run, error));
      expect(check.status).toBe('fail');
      expect(check.observed).toMatch(/counts 1 retransmission\(s\), but client's capture shows 0 retransmitted copies/);
    }
  });
});

describe('capture counters: a capture that lost packets proves nothing', () => {
  const NAME = 'captures are complete: tcpdump lost no packet on any host';
  const counters = (droppedByKernel: number, droppedByInterface = 0) => ({
    captured: 9,
    receivedByFilter: 9 + droppedByKernel,
    droppedByKernel,
    droppedByInterface,
  });

  it('PASS when every host counted 0 dropped; no check for a run folder recorded without counters', async () => {
    const base = await loadFixtureRun('handshake');
    expect(checkConsistency(base, analyzeRun(base)).map((c) => c.name)).not.toContain(NAME);
    const run = withHost(
      withHost(base, 'client', () => ({ captureCounters: counters(0) })),
      'server',
      () => ({ captureCounters: counters(0) }),
    );
    const check = checkConsistency(run, analyzeRun(run)).find((c) => c.name === NAME);
    expect(check).toMatchObject({ status: 'pass', observed: 'server: 9 captured, 0 dropped by kernel; client: 9 captured, 0 dropped by kernel' });
  });

  it('FAIL when one host’s tcpdump dropped packets (by kernel or by interface), naming the host and the count', async () => {
    const base = await loadFixtureRun('handshake');
    for (const [kernel, iface] of [
      [3, 0],
      [0, 2],
    ] as const) {
      const run = withHost(
        withHost(base, 'client', () => ({ captureCounters: counters(0) })),
        'server',
        () => ({ captureCounters: counters(kernel, iface) }),
      );
      const check = checkConsistency(run, analyzeRun(run)).find((c) => c.name === NAME);
      expect(check?.status).toBe('fail');
      expect(check?.evidence.join('\n')).toMatch(new RegExp(`^server's tcpdump had no room for ${kernel + iface} packet\\(s\\)`));
    }
  });
});
