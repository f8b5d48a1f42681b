import { describe, expect, it } from 'vitest';
import { buildLadderModel } from '../../../src/report/ladder-model.js';
import type { Lab, Step } from '../../../src/lab/model.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { hostOf, loadFixtureRun, withHost } from './fixture-runs.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';

describe('ladder model of the handshake fixture', async () => {
  const { record, verdict } = await loadFixtureRun('handshake');
  const model = buildLadderModel(analyzeRun(record), verdict);
  const client = hostOf(record, 'client').address;

  it('has one lifeline per host in lab order', () => {
    expect(model.lifelines.map((l) => l.host)).toEqual(record.hosts.map((h) => h.name));
  });

  it('draws the three handshake segments, the data and four close segments, all delivered', () => {
    expect(model.arrows.map((a) => `${a.from}>${a.to} ${a.flags}`)).toEqual([
      'client>server S',
      'server>client S.',
      'client>server .',
      'client>server P.',
      'server>client .',
      'client>server F.',
      'server>client .',
      'server>client F.',
      'client>server .',
    ]);
    expect(model.arrows.every((a) => a.fate.kind === 'delivered')).toBe(true);
    const [syn, synAck, ack, data] = model.arrows;
    expect(synAck?.segment.ack).toBe(((syn?.segment.seq ?? 0) + 1) >>> 0);
    expect(ack?.segment.ack).toBe(((synAck?.segment.seq ?? 0) + 1) >>> 0);
    expect(data?.segment.payloadLength).toBe(64);
    expect(syn?.segment.src).toBe(client);
  });

  it('pairs the copies: departure from the sender, arrival at the receiver, in order and within a millisecond', () => {
    for (const arrow of model.arrows) {
      expect(arrow.departUs).toBeDefined();
      expect(arrow.arriveUs).toBeDefined();
      const transit = (arrow.arriveUs ?? 0) - (arrow.departUs ?? 0);
      expect(transit).toBeGreaterThanOrEqual(0);
      expect(transit).toBeLessThan(1000);
      expect(arrow.retransmission).toBeUndefined();
    }
    expect(model.arrows.map((a) => a.id)).toEqual(model.arrows.map((_, i) => `seg-${i + 1}`));
  });

  it('recognises the three-way handshake and the four-way close, and has no warnings', () => {
    expect(model.phases).toEqual([
      { kind: 'handshake', first: 'seg-1', last: 'seg-3' },
      { kind: 'four-way-close', first: 'seg-6', last: 'seg-9' },
    ]);
    expect(model.warnings).toEqual([]);
  });

  it('labels each state on its host from when it was first sampled', () => {
    const states = (host: string): string[] => model.marks.flatMap((m) => (m.kind === 'state' && m.host === host ? [m.state] : []));
    expect(states('client')).toEqual(['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT']);
    expect(states('server')).toEqual(['LISTEN', 'ESTABLISHED', 'CLOSE_WAIT', 'CLOSED']);
    const times = model.marks.map((m) => m.timeUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('links check evidence (`client capture #5`) to the arrow of that frame', () => {
    const handshake = model.checks.find((c) => c.name.startsWith('three-way handshake'));
    expect(handshake?.arrowIds).toEqual(['seg-1', 'seg-2', 'seg-3']);
    expect(model.arrows.every((a) => a.failedChecks.length === 0)).toBe(true);
  });
});

describe('ladder model of the syn-sent fixture', async () => {
  const { record, verdict } = await loadFixtureRun('syn-sent');
  const model = buildLadderModel(analyzeRun(record), verdict);
  const clientSyns = hostOf(record, 'client').segments.filter((s) => s.flags === 0x02);

  it('draws every SYN as dropped by rule drop-syn on the server, and no SYN-ACK', () => {
    expect(clientSyns.length).toBeGreaterThanOrEqual(3);
    expect(model.arrows).toHaveLength(clientSyns.length);
    for (const arrow of model.arrows) {
      expect(arrow.flags).toBe('S');
      expect(arrow.from).toBe('client');
      expect(arrow.fate).toEqual({ kind: 'dropped', rule: 'drop-syn', host: 'server', chain: 'INPUT', target: 'DROP' });
      expect(arrow.receiverFrame).toBeDefined();
    }
    expect(model.arrows.some((a) => a.flags === 'S.')).toBe(false);
    expect(model.warnings).toEqual([]);
  });

  it('numbers the retransmissions and measures their spacing ~1, 2, 4 s (timer slack only adds)', () => {
    const retransmissions = model.arrows.map((a) => a.retransmission);
    expect(retransmissions[0]).toBeUndefined();
    expect(retransmissions.slice(1).map((r) => r?.copy)).toEqual(clientSyns.slice(1).map((_, i) => i + 2));
    const intervals = retransmissions.slice(1, 4).map((r) => (r?.sinceUs ?? 0) / 1e6);
    [1, 2, 4].forEach((nominal, i) => {
      expect(intervals[i]).toBeGreaterThanOrEqual(nominal);
      expect(intervals[i]).toBeLessThan(nominal + 0.3);
    });
  });

  it('shows the rule being added on the server, and SYN_SENT then CLOSED on the client', () => {
    expect(model.marks.find((m) => m.kind === 'rule-added')).toMatchObject({ host: 'server', rule: 'drop-syn' });
    expect(model.marks.flatMap((m) => (m.kind === 'state' && m.host === 'client' ? [m.state] : []))).toEqual(['SYN_SENT', 'CLOSED']);
    expect(model.phases).toEqual([]);
  });

  it('warns when the rule counter disagrees with the capture', () => {
    const mutated = withHost(record, 'server', (h) => ({ ...h, ruleCounters: h.ruleCounters.replace(/\[\d+:\d+\] (-A INPUT)/, '[9:540] $1') }));
    const warned = buildLadderModel(analyzeRun(mutated), verdict);
    expect(warned.warnings.join('\n')).toMatch(
      new RegExp(`rule drop-syn on server \\(INPUT\\): its counter says 9 packet\\(s\\) dropped, but ${clientSyns.length} captured packet\\(s\\) match it`),
    );
    expect(warned.arrows.every((a) => a.fate.kind === 'dropped')).toBe(true);
  });

  it('draws nothing as dropped when the counter is 0, and says the rule matched anyway', () => {
    const mutated = withHost(record, 'server', (h) => ({ ...h, ruleCounters: h.ruleCounters.replace(/\[\d+:\d+\] (-A INPUT)/, '[0:0] $1') }));
    const zero = buildLadderModel(analyzeRun(mutated), verdict);
    expect(zero.arrows.every((a) => a.fate.kind === 'delivered')).toBe(true);
    expect(zero.warnings.join('\n')).toMatch(/matches \d+ captured packet\(s\) but its counter is 0/);
  });

  it('prefers the rule comment (tcplab:<name>) to find the counter', () => {
    const address = hostOf(record, 'client').address;
    const counters = [
      '*filter',
      `[2:120] -A INPUT -s ${address}/32 -p tcp -m tcp --dport 8888 -m comment --comment tcplab:other -j DROP`,
      `[${clientSyns.length}:0] -A INPUT -s ${address}/32 -p tcp -m tcp --dport 8888 -m comment --comment tcplab:drop-syn -j DROP`,
      'COMMIT',
    ].join('\n');
    const commented = buildLadderModel(analyzeRun(withHost(record, 'server', (h) => ({ ...h, ruleCounters: counters }))), verdict);
    expect(commented.warnings).toEqual([]);
    expect(commented.arrows.every((a) => a.fate.kind === 'dropped')).toBe(true);
  });
});

describe('ladder model of mutated records', async () => {
  const { record, verdict } = await loadFixtureRun('handshake');

  it('marks a segment whose receiver copy is missing as lost in the network', () => {
    const finalAck = buildLadderModel(analyzeRun(record), verdict).arrows[2];
    const mutated = withHost(record, 'server', (h) => ({ ...h, segments: h.segments.filter((s) => s.frame !== finalAck?.receiverFrame) }));
    const model = buildLadderModel(analyzeRun(mutated), verdict);
    expect(model.arrows).toHaveLength(9);
    expect(model.arrows[2]?.fate).toEqual({ kind: 'lost' });
    expect(model.arrows[2]?.arriveUs).toBeUndefined();
    expect(model.arrows.filter((a) => a.fate.kind === 'lost')).toHaveLength(1);
  });

  it('draws a segment missing from the sender capture from its arrival, with a warning', () => {
    const syn = buildLadderModel(analyzeRun(record), verdict).arrows[0];
    const mutated = withHost(record, 'client', (h) => ({ ...h, segments: h.segments.filter((s) => s.frame !== syn?.senderFrame) }));
    const model = buildLadderModel(analyzeRun(mutated), verdict);
    expect(model.arrows[0]?.departUs).toBeUndefined();
    expect(model.arrows[0]?.arriveUs).toBe(syn?.arriveUs);
    expect(model.warnings.join('\n')).toMatch(/has no copy in client's capture/);
  });

  it('highlights the arrows a failed check points at', () => {
    const frame = buildLadderModel(analyzeRun(record), verdict).arrows.find((a) => a.flags === 'S.')?.receiverFrame;
    const failing: Verdict = {
      ...verdict,
      verdict: 'fail',
      checks: [{ name: 'server answers with RST', status: 'fail', expected: '[R.]', observed: '[S.]', evidence: [`client capture #${frame} at +0.195 s`] }],
    };
    const model = buildLadderModel(analyzeRun(record), failing);
    const synAck = model.arrows.find((a) => a.flags === 'S.');
    expect(frame).toBeDefined();
    expect(synAck?.failedChecks).toEqual(['server answers with RST']);
    expect(model.checks[0]?.arrowIds).toEqual([synAck?.id]);
    expect(model.arrows.filter((a) => a.failedChecks.length > 0)).toHaveLength(1);
  });

  it('notes segments an OUTPUT rule dropped before the capture on the lifeline', () => {
    const rule: Step = { kind: 'rule', host: 'client', name: 'block-out', text: '-I OUTPUT -p tcp --dport 8888 -j DROP' };
    const lab: Lab = { ...record.lab, steps: [...record.lab.steps, rule] };
    const counters = '*filter\n[3:180] -A OUTPUT -p tcp -m tcp --dport 8888 -m comment --comment tcplab:block-out -j DROP\nCOMMIT\n';
    const model = buildLadderModel(analyzeRun({ ...withHost(record, 'client', (h) => ({ ...h, ruleCounters: counters })), lab }), verdict);
    expect(model.lifelines.find((l) => l.host === 'client')?.notes).toEqual(['3 segments dropped by rule block-out before capture (OUTPUT)']);
    expect(model.arrows.every((a) => a.fate.kind === 'delivered')).toBe(true);
  });

  it('says so when a rule uses matches it cannot evaluate', () => {
    const rule: Step = { kind: 'rule', host: 'server', name: 'owned', text: '-I INPUT -p tcp -m owner --uid-owner 0 -j DROP' };
    const sometimes: Step = { kind: 'rule', host: 'server', name: 'sometimes', text: '-I INPUT -p tcp -m statistic --mode random --probability 0.5 -j DROP' };
    const lab: Lab = { ...record.lab, steps: [...record.lab.steps, rule, sometimes] };
    const model = buildLadderModel(analyzeRun({ ...record, lab }), verdict);
    expect(model.warnings.join('\n')).toMatch(/rule owned on server \(INPUT\) uses options the report cannot match \(-m owner/);
    expect(model.warnings.join('\n')).toMatch(
      /rule sometimes on server \(INPUT\) uses -m statistic --mode random --probability 0\.5, whose effect the model cannot predict/,
    );
  });
});
