import { describe, expect, it } from 'vitest';
import { buildRuleTimeline } from '../../../src/analysis/rule-timeline.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from '../verify/run-fixtures.js';

describe('counters of a rule removed by unrule: read just before the delete (old-duplicate-syn as recorded)', () => {
  it('the -m limit rule removed by step 8 has its counter [1:60]: it dropped the first SYN, the real one', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    expect(run.hosts.find((h) => h.name === 'server')?.ruleCounters).not.toContain('tcplab:hold-back-first-syn');
    const rule = buildRuleTimeline(run).rules.find((r) => r.name === 'hold-back-first-syn') ?? expect.unreachable();
    expect(rule.counter?.pkts).toBe(1);
    expect(rule.droppedFrames).toEqual([3]);
    const verdict = verifyRun(run, 'x', 0);
    const check = verdict.checks.find((c) => c.name.startsWith('rule hold-back-first-syn on server')) ?? expect.unreachable();
    expect(check.status).toBe('pass');
    expect(check.evidence).toContain("counter read just before its unrule (server's removed-rule-counters.jsonl): 1 packet(s)");
  });

  it('a counter of 0 read before the delete means the rule dropped nothing: the first SYN is then taken as delivered', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const zero = withHost(run, 'server', (h) => ({
      removedRuleCounters: h.removedRuleCounters?.map((r) => ({ ...r, counters: r.counters.replace('[1:60]', '[0:0]') })),
    }));
    expect(buildRuleTimeline(zero).rules.find((r) => r.name === 'hold-back-first-syn')?.droppedFrames).toEqual([]);
  });

  it('FAILs when the counter counts more than could reach the rule', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const many = withHost(run, 'server', (h) => ({
      removedRuleCounters: h.removedRuleCounters?.map((r) => ({ ...r, counters: r.counters.replace('[1:60]', '[9:540]') })),
    }));
    const check = verifyRun(many, 'x', 0).checks.find((c) => c.name.startsWith('rule hold-back-first-syn on server')) ?? expect.unreachable();
    expect(check.status).toBe('fail');
    expect(check.observed).toBe('counter 9 packet(s)');
  });

  it('without the file (run folders recorded before), the removed rule has no counter and its drop is undecided', async () => {
    const run = await loadFixtureRun('old-duplicate-syn');
    const none = withHost(run, 'server', () => ({ removedRuleCounters: undefined }));
    expect(buildRuleTimeline(none).rules.find((r) => r.name === 'hold-back-first-syn')?.counter).toBeUndefined();
  });
});
