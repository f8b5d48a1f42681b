import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { buildRuleTimeline, conntrackStateOf, decideUnpredictableDrops } from '../../../src/analysis/rule-timeline.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, segment, SYN_ACK, withHost } from '../verify/run-fixtures.js';

describe('rules with hidden-state matches (-m limit, -m statistic, …): decided from the counter, and said so', () => {
  it('synack-lost-once as recorded: the -m limit rule dropped the first SYN-ACK ([1:60]), the verdict PASSes with a note', async () => {
    const run = await loadFixtureRun('synack-lost-once');
    const timeline = buildRuleTimeline(run);
    expect(timeline.rules.find((r) => r.name === 'drop-first-synack')?.droppedFrames).toEqual([4]);
    expect(timeline.decisions.get('client')?.[0]).toContain('decided from the rule counter — its counter reads 1 of 3 matching: the first 1');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.verdict).toBe('pass');
    const client = verdict.checks.find((c) => c.name.startsWith('client') && c.name.endsWith('state machine')) ?? expect.unreachable();
    expect(client.evidence?.some((e) => e.startsWith('note: rule drop-first-synack on client (INPUT) uses -m limit'))).toBe(true);
  });

  it('FAILs when the counter says the rule dropped nothing: the first SYN-ACK reached TCP, yet the kernel stayed in SYN_SENT', async () => {
    const run = await loadFixtureRun('synack-lost-once');
    const zero = withHost(run, 'client', (h) => ({ ruleCounters: h.ruleCounters.replace('[1:60]', '[0:0]') }));
    const verdict = verifyRun(zero, 'x', 0);
    expect(verdict.verdict).toBe('fail');
    const client = verdict.checks.find((c) => c.name.startsWith('client') && c.name.endsWith('state machine')) ?? expect.unreachable();
    expect(client.status).toBe('fail');
    expect(client.evidence?.some((e) => e.includes('its counter reads 0: none dropped'))).toBe(true);
  });

  it('an undecidable drop (no counter) is said to be treated as delivered, and FAILs here rather than passing silently', async () => {
    const run = await loadFixtureRun('synack-lost-once');
    const none = withHost(run, 'client', () => ({ ruleCounters: '' }));
    expect(buildRuleTimeline(none).decisions.get('client')?.[0]).toContain('cannot be placed: they are treated as delivered');
    expect(verifyRun(none, 'x', 0).verdict).toBe('fail');
  });

  it('decideUnpredictableDrops: 0, all, the first N for -m limit, undecided for -m statistic', () => {
    const c = [1, 2, 3].map((f) => segment(f, f * 1000, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK));
    const random = [{ module: 'statistic', text: '-m statistic --mode random --probability 0.5', last: true }];
    const limit = [{ module: 'limit', text: '-m limit --limit 1/hour', last: true }];
    expect(decideUnpredictableDrops(c, 0, random)?.dropped).toEqual([]);
    expect(decideUnpredictableDrops(c, 3, random)?.dropped).toEqual(c);
    expect(decideUnpredictableDrops(c, 1, limit)?.dropped).toEqual([c[0]]);
    expect(decideUnpredictableDrops(c, 1, random)).toBeUndefined();
    expect(decideUnpredictableDrops(c, undefined, limit)).toBeUndefined();
  });

  it('decideUnpredictableDrops for -m statistic --mode nth ending the rule: packets P, P+E, … when the counter agrees', () => {
    const c = [1, 2, 3, 4, 5].map((f) => segment(f, f * 1000, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK));
    const nth = (text: string, last = true) => [{ module: 'statistic', text, last }];
    expect(decideUnpredictableDrops(c, 1, nth('-m statistic --mode nth --every 100 --packet 0'))?.dropped).toEqual([c[0]]);
    expect(decideUnpredictableDrops(c, 2, nth('-m statistic --mode nth --every 2 --packet 1'))?.dropped).toEqual([c[1], c[3]]);
    expect(decideUnpredictableDrops(c, 2, nth('-m statistic --mode nth --every 3'))?.dropped).toEqual([c[0], c[3]]);
    // The counter disagrees, a later test decides which packets reach the counter, or the mode is random: undecided.
    expect(decideUnpredictableDrops(c, 2, nth('-m statistic --mode nth --every 100 --packet 0'))).toBeUndefined();
    expect(decideUnpredictableDrops(c, 1, nth('-m statistic --mode nth --every 100 --packet 0', false))).toBeUndefined();
    expect(decideUnpredictableDrops(c, 1, nth('-m statistic --mode random --probability 0.2'))).toBeUndefined();
  });

  it('conntrack state: NEW until the host sent a packet in the reply direction of the 4-tuple, then ESTABLISHED', async () => {
    const run = await loadFixtureRun('synack-lost-once');
    const server = run.hosts.find((h) => h.name === 'server') ?? expect.unreachable();
    const syns = server.segments.filter((s) => s.dst === server.address && (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
    expect(syns.map((s) => conntrackStateOf(server, s))).toEqual(['NEW', 'ESTABLISHED']);
    expect(analyzeRun(run).rules.warnings).toEqual([]);
  });
});
