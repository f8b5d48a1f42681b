import { describe, expect, it } from 'vitest';
import { replayEndpoint } from '../../../src/analysis/endpoint-replay.js';
import { analyzeRun, hostAnalysisOf } from '../../../src/analysis/analyze-run.js';
import { ruleDropOf } from '../../../src/analysis/rule-timeline.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { TcpFlag, type IcmpMessage } from '../../../src/observe/packet.js';
import { icmpDropsRequest } from '../../../src/tcp/icmp-errors.js';
import { checkSynAckRetransmits } from '../../../src/verify/timing-checks.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, segment, SYN_ACK, T0_US, withHost } from './run-fixtures.js';

/*
 * ICMP errors in the handshake (tcp_v4_err(), measured on kernel 6.18 with the teacher labs
 * test/fixtures/labs/teacher/synack-icmp-*.yaml): a request socket is dropped by host unreachable quoting its
 * SYN-ACK (tcp_req_err()) but not by port unreachable; a SYN_SENT socket ends on either. And a SYN-ACK sent in
 * reply to a retransmitted SYN restarts the request's timer (tcp_check_req(): mod_timer_pending()). An ICMP error
 * the receiver's own INPUT rule drops is in its capture but never reached TCP (synack-icmp-filtered.yaml).
 */

const client = '10.0.0.3:40000';
const server = '10.0.0.2:8888';

/** An ICMP error the server received at `atMs`, quoting its own segment with sequence number `seq`. */
function icmpAtServer(frame: number, atMs: number, type: number, code: number, seq: number): IcmpMessage {
  return {
    frame,
    timeUs: T0_US + atMs * 1000,
    family: 4,
    src: '10.0.0.3',
    dst: '10.0.0.2',
    type,
    code,
    quoted: { src: '10.0.0.2', dst: '10.0.0.3', srcPort: 8888, dstPort: 40000, seq },
  };
}

function replayServer(icmp: IcmpMessage[], endMs = 500) {
  const segments = [segment(1, 0, client, server, TcpFlag.SYN, { seq: 100 }), segment(2, 0.1, server, client, SYN_ACK, { seq: 500, ack: 101 })];
  return replayEndpoint({
    host: 'server',
    tuple: { local: server, remote: client },
    segments,
    icmp,
    calls: [],
    settings: { tcp_synack_retries: 5 },
    endUs: T0_US + endMs * 1000,
  });
}

describe('the kernel rules: which ICMP errors end a handshake', () => {
  it('a request is dropped by IPv4 net/host unreachable, time exceeded and parameter problem, not by port unreachable', () => {
    expect([0, 1, 3, 13].map((code) => icmpDropsRequest(4, 3, code))).toEqual([true, true, false, false]);
    expect(icmpDropsRequest(4, 11, 0)).toBe(true);
    expect(icmpDropsRequest(4, 12, 0)).toBe(true);
    // IPv6: icmpv6_err_convert()'s fatal — port unreachable is, no route and address unreachable are not.
    expect([0, 1, 3, 4].map((code) => icmpDropsRequest(6, 1, code))).toEqual([false, true, false, true]);
    expect(icmpDropsRequest(6, 3, 0)).toBe(false);
  });
});

describe('the replay: an ICMP error quoting the handshake segment', () => {
  it('host unreachable quoting the SYN-ACK drops the request at its arrival (back to LISTEN, cause: the ICMP frame)', () => {
    const replay = replayServer([icmpAtServer(3, 0.2, 3, 1, 500)]);
    expect(replay.timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED', 'LISTEN']);
    const drop = replay.timeline[2]!;
    expect(drop.cause).toEqual({ kind: 'icmp', frame: 3, family: 4, type: 3, code: 1 });
    expect(drop.timeUs).toBe(T0_US + 200);
    expect(drop.row?.event).toBe('rcv-icmp-error');
  });

  it('port unreachable, or an error quoting another sequence number, leaves the request to its timer', () => {
    expect(replayServer([icmpAtServer(3, 0.2, 3, 3, 500)]).timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED']);
    expect(replayServer([icmpAtServer(3, 0.2, 3, 1, 777)]).timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED']);
  });
});

describe('recorded synack-icmp-host-unreachable run: the request dies at the ICMP, so no SYN-ACK retransmission is due', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server', port: 8888 } as const;
  const withIcmp = (run: RunRecord, change: (m: IcmpMessage) => IcmpMessage): RunRecord =>
    withHost(run, 'server', (h) => ({ icmp: (h.icmp ?? []).map(change) }));

  it('passes: one SYN-ACK, then host unreachable quoting it stops the timer', async () => {
    const check = checkSynAckRetransmits(expectation, await loadFixtureRun('synack-icmp-host-unreachable'));
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/^1 SYN-ACKs at 0 s; request dropped on ICMP type 3 code 1 \(host unreachable\) at 0\.000 s$/);
    expect(check.evidence.some((l) => /tcp_req_err\(\) drops the request silently/.test(l))).toBe(true);
  });

  it('fails when the same errors are port unreachable: the request would have retransmitted its SYN-ACK', async () => {
    const run = withIcmp(await loadFixtureRun('synack-icmp-host-unreachable'), (m) => ({ ...m, code: 3 }));
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/transmissions missing/);
  });

  it('fails when the errors quote another sequence number (not this request’s SYN-ACK)', async () => {
    const run = withIcmp(await loadFixtureRun('synack-icmp-host-unreachable'), (m) =>
      m.quoted ? { ...m, quoted: { ...m.quoted, seq: m.quoted.seq + 1 } } : m,
    );
    expect(checkSynAckRetransmits(expectation, run).status).toBe('fail');
  });
});

describe('recorded synack-icmp-port-unreachable run: replies to retransmitted SYNs restart the request timer', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server', port: 8888 } as const;

  it('passes: timer SYN-ACKs at 0, 1.009 and 4.049 s — the reply at 2.033 s moved the third from 3 s to 4.033 s', async () => {
    const check = checkSynAckRetransmits(expectation, await loadFixtureRun('synack-icmp-port-unreachable'));
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/^3 SYN-ACKs at 0, 1, 4\.033 s; the request is dropped silently at 8\.033 s$/);
    expect(check.evidence.filter((l) => /it restarts the request's timer$/.test(l))).toHaveLength(2);
  });

  it('fails when the replies are gone from the capture: nothing restarted the timer, so 4.049 s is late', async () => {
    const base = await loadFixtureRun('synack-icmp-port-unreachable');
    const timerFrames = new Set([4, 6, 14]);
    const run = withHost(base, 'server', (h) => ({
      segments: h.segments.filter((s) => (s.flags & SYN_ACK) !== SYN_ACK || timerFrames.has(s.frame)),
    }));
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/transmission 3 late \(4\.049 s, window 2\.9\d\d–3\.\d{3} s\)/);
  });
});

describe('recorded host-unreachable run under load: the kernel closed SYN_SENT 5.4 ms after the ICMP, in process context', () => {
  it('the replay does not put the close at the ICMP; the client conforms, its close bounded by connect()’s error', async () => {
    const run = await loadFixtureRun('host-unreachable-late-icmp');
    const client = replayRun(run).find((r) => r.host === 'client')!;
    expect(client.timeline.at(-1)?.cause).toEqual({ kind: 'timer', name: 'connect() EHOSTUNREACH' });
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });
});

describe('recorded synack-icmp-filtered run: the server’s own INPUT rule drops the ICMP errors, so the request lives on', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server', port: 8888 } as const;

  it('the rule timeline takes the ICMP frames; TCP saw none of them, and the request retransmits on its timer', async () => {
    const run = await loadFixtureRun('synack-icmp-filtered');
    const analysis = analyzeRun(run);
    const server = run.hosts.find((h) => h.name === 'server')!;
    const received = (server.icmp ?? []).filter((m) => m.dst === server.address);
    expect(received.length).toBeGreaterThanOrEqual(4);
    for (const m of received) expect(ruleDropOf(analysis.rules, 'server', m.frame)?.rule).toBe('drop-unreachable');
    expect(hostAnalysisOf(analysis, 'server').icmp).toEqual([]);
    const check = checkSynAckRetransmits(expectation, run, analysis);
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/the request is dropped silently at/);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  /** The run, its rule drop-unreachable written as `text` (the counters stay what the kernel counted). */
  async function withDropRule(text: string): Promise<RunRecord> {
    const base = await loadFixtureRun('synack-icmp-filtered');
    const steps = base.lab.steps.map((s) => (s.kind === 'rule' && s.name === 'drop-unreachable' ? { ...s, text } : s));
    return { ...base, lab: { ...base.lab, steps } };
  }

  it('an ICMP error quoting a segment the host sent is RELATED in conntrack (nf_conntrack_inet_error()), not NEW', async () => {
    const related = await withDropRule('-I INPUT -s client -p icmp -m conntrack --ctstate RELATED -j DROP');
    expect(checkSynAckRetransmits(expectation, related).status).toBe('pass');
    const asNew = await withDropRule('-I INPUT -s client -p icmp -m conntrack --ctstate NEW -j DROP');
    expect(checkSynAckRetransmits(expectation, asNew).status).toBe('fail');
  });

  it('fails when the rule would not match the errors (port unreachable): they reach TCP and end the request at once', async () => {
    const run = await withDropRule('-I INPUT -s client -p icmp --icmp-type port-unreachable -j DROP');
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/after the answer at 0\.00\d s stopped the timer/);
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.find((c) => c.name.startsWith('rule drop-unreachable on server'))?.status).toBe('fail');
  });
});
