// The two IPv6 catalog labs, re-verified offline from run folders recorded in real Docker on this
// project's machine (test/fixtures/runs/handshake-ipv6, syn-sent-ipv6): decoders, kernel trace, replay,
// timing and the ip6tables counter all read IPv6 as they read IPv4, and each claim can be made false.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Lab, Step } from '../../../src/lab/model.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { verifyRun } from '../../../src/verify/verify-run.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/runs');
const load = (name: string): Promise<RunRecord> => loadRunRecord(join(FIXTURES, name));
const verify = (record: RunRecord) => verifyRun(record, 'x', 0, analyzeRun(record));
const failing = (record: RunRecord): string[] =>
  verify(record)
    .checks.filter((c) => c.status === 'fail')
    .map((c) => c.name);

describe('handshake-ipv6, recorded', () => {
  it('passes offline: every segment is IPv6, states come from tracepoints, the handshake is found by IPv6 addresses', async () => {
    const record = await load('handshake-ipv6');
    const address6 = Object.fromEntries(record.hosts.map((h) => [h.name, h.address6]));
    expect(address6).toEqual({
      server: expect.stringMatching(/^fd00:7463:706c:[0-9a-f]+::2$/),
      client: expect.stringMatching(/^fd00:7463:706c:[0-9a-f]+::3$/),
    });
    expect(record.hosts.every((h) => h.segments.length > 0 && h.segments.every((s) => s.family === 6))).toBe(true);
    expect(record.hosts.every((h) => (h.kernelEvents ?? []).length > 0)).toBe(true);
    const verdict = verify(record);
    expect(verdict.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    expect(verdict.verdict).toBe('pass');
    expect(verdict.checks.find((c) => /three-way handshake/.test(c.name))?.observed).toMatch(/^SYN seq=\d+; SYN-ACK seq=\d+ ack=\d+/);
  });

  it('fails when the hosts lose their IPv6 addresses (the checks match segments by the hosts’ own addresses)', async () => {
    const record = await load('handshake-ipv6');
    const v4Only: RunRecord = { ...record, hosts: record.hosts.map(({ address6: _dropped, ...host }) => host) };
    expect(failing(v4Only)).toEqual(
      expect.arrayContaining([expect.stringMatching(/three-way handshake/), expect.stringMatching(/\[S\] segments client → server/)]),
    );
  });

  it('fails when a packets count is one too many (the false copy of the catalog test)', async () => {
    const record = await load('handshake-ipv6');
    const lab: Lab = {
      ...record.lab,
      expectations: record.lab.expectations.map((e) => (e.kind === 'packets' && e.flags === 'S' ? { ...e, count: 2 } : e)),
    };
    expect(failing({ ...record, lab })).toEqual([expect.stringMatching(/\[S\] segments client → server/)]);
  });
});

describe('syn-sent-ipv6, recorded', () => {
  it('passes offline: SYN retransmissions on the Linux model, the ip6tables counter agrees with the SYNs that arrived', async () => {
    const record = await load('syn-sent-ipv6');
    const server = record.hosts.find((h) => h.name === 'server')!;
    expect(server.ruleCounters6).toMatch(/\[\d+:\d+\] -A INPUT -s fd00:7463:706c:[0-9a-f]+::3\/128 .*tcplab:drop-syn/);
    expect(server.ruleCounters).not.toMatch(/tcplab:drop-syn/);
    const verdict = verify(record);
    expect(verdict.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    const counter = verdict.checks.find((c) => /rule drop-syn on server: its counter agrees/.test(c.name));
    expect(counter?.status).toBe('pass');
    expect(counter?.evidence.join('\n')).toMatch(/server's ip6tables-counters\.txt: [1-9]\d* packet\(s\)/);
    expect(verdict.checks.find((c) => /SYN retransmission/i.test(c.name))?.status).toBe('pass');
  });

  it('read as an IPv4 rule (no family: 6), the rule has no counter and drops nothing in the analysis', async () => {
    const record = await load('syn-sent-ipv6');
    const lab: Lab = {
      ...record.lab,
      steps: record.lab.steps.map((s): Step => (s.kind === 'rule' ? { kind: 'rule', host: s.host, name: s.name, text: s.text } : s)),
    };
    const analysis = analyzeRun({ ...record, lab });
    const rule = analysis.rules.rules.find((r) => r.name === 'drop-syn')!;
    expect(rule.parsed.tool).toBe('iptables');
    expect(rule.counter).toBeUndefined();
    expect(rule.droppedFrames).toEqual([]);
    const right = analyzeRun(record).rules.rules.find((r) => r.name === 'drop-syn')!;
    expect(right.parsed.tool).toBe('ip6tables');
    expect(right.counter?.pkts).toBeGreaterThan(0);
    expect(right.droppedFrames.length).toBe(right.counter?.pkts);
  });

  it('fails when the outcome claimed is connected', async () => {
    const record = await load('syn-sent-ipv6');
    const lab: Lab = { ...record.lab, expectations: record.lab.expectations.map((e) => (e.kind === 'outcome' ? { ...e, is: 'connected' } : e)) };
    expect(failing({ ...record, lab })).toEqual([expect.stringMatching(/^connect\(\) of client\/c/)]);
  });
});

describe('the text views of a recorded IPv6 run read back as IPv6', () => {
  it('tcpdump text (`IP6 addr.port > addr.port`) gives the same TCP segments as the pcap decoder', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseTcpdumpText } = await import('../../../src/observe/tcpdump-text.js');
    const record = await load('handshake-ipv6');
    for (const host of record.hosts) {
      const text = readFileSync(join(FIXTURES, 'handshake-ipv6', host.name, 'capture.txt'), 'utf8');
      const rows = parseTcpdumpText(text).rows;
      // tcpdump prints no seq on a segment without payload or SYN/FIN, so endpoints and flags are compared.
      expect(rows.map((r) => `${r.src}.${r.srcPort}>${r.dst}.${r.dstPort} ${r.flags}`)).toEqual(
        host.segments.map((s) => `${s.src}.${s.srcPort}>${s.dst}.${s.dstPort} ${s.flags}`),
      );
      expect(rows.every((r) => r.family === 6)).toBe(true);
    }
  });

  it('netstat snapshots hold the connection as tcp6 rows with the hosts’ IPv6 addresses', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseNetstatTan } = await import('../../../src/observe/netstat-tan.js');
    const record = await load('handshake-ipv6');
    const client = record.hosts.find((h) => h.name === 'client')!;
    const rows = parseNetstatTan(readFileSync(join(FIXTURES, 'handshake-ipv6', 'client', 'netstat.txt'), 'utf8')).rows;
    const established = rows.filter((r) => r.state === 'ESTABLISHED');
    expect(established.length).toBeGreaterThan(0);
    expect(established.every((r) => r.localAddress === client.address6)).toBe(true);
  });
});
