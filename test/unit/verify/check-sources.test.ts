import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from './run-fixtures.js';

describe('every check says where it came from (source, origin)', async () => {
  const recorded = await loadFixtureRun('syn-sent');
  // As `tcplab run syn-sent` loads it: the catalog file named by its place in the package.
  const run = { ...recorded, lab: { ...recorded.lab, sourceFile: 'labs/syn-sent.yaml' } };
  const verdict = verifyRun(run, 'x', 0);
  const labLines = readFileSync(join(REPO_ROOT, 'labs/syn-sent.yaml'), 'utf8').split('\n');

  it('an expectation check names its lab line and column, and that line holds that expectation', () => {
    const expectations = verdict.checks.filter((c) => c.origin?.kind === 'expectation');
    expect(expectations).toHaveLength(run.lab.expectations.length);
    for (const check of expectations) {
      const origin = check.origin as Extract<typeof check.origin, { kind: 'expectation' }>;
      const match = /^labs\/syn-sent\.yaml:(\d+):(\d+)$/.exec(check.source ?? '');
      expect(match, check.source).not.toBeNull();
      const line = labLines[Number(match?.[1]) - 1] ?? '';
      expect(line.slice(Number(match?.[2]) - 1)).toMatch(new RegExp(`^${origin.expectation}\\s*:`));
    }
  });

  it('checks from no lab line say what produced them', () => {
    const conformance = verdict.checks.filter((c) => c.origin?.kind === 'conformance');
    expect(conformance.length).toBeGreaterThan(0);
    for (const check of conformance) expect(check.source).toMatch(/^conformance/);
    expect(verdict.checks.every((c) => c.source !== undefined && c.origin !== undefined && c.refs !== undefined)).toBe(true);
  });

  it('a failed step says which step and lab line', () => {
    const failedStep = { ...run, steps: run.steps.map((s, i) => (i === 2 ? { ...s, error: 'timed out' } : s)) };
    const check = verifyRun(failedStep, 'x', 0).checks.find((c) => c.origin?.kind === 'step');
    expect(check?.source).toMatch(/^labs\/syn-sent\.yaml:\d+:\d+ \(step 3\)$/);
  });

  it('the --json form of the verdict carries source on every check', () => {
    const json = JSON.parse(JSON.stringify({ labs: [verdict] })) as { labs: { checks: { source?: string }[] }[] };
    expect(json.labs[0]?.checks.every((c) => typeof c.source === 'string')).toBe(true);
  });

  it('typed evidence: the timing check points at each SYN frame of the client capture and carries the model windows', () => {
    const timing = verdict.checks.find((c) => c.origin?.kind === 'expectation' && c.origin.expectation === 'syn-retransmits');
    const client = run.hosts.find((h) => h.name === 'client')!;
    const syns = client.segments.filter((s) => s.src === client.address && s.flags === 0x02).map((s) => s.frame);
    expect(timing?.refs?.filter((r) => r.kind === 'segment').map((r) => (r.kind === 'segment' ? r.frame : 0))).toEqual(syns);
    expect(timing?.refs?.some((r) => r.kind === 'prediction' && r.earliestUs < r.latestUs)).toBe(true);
  });

  it('typed evidence names the rule that dropped the segments a check points at', () => {
    const timing = verdict.checks.find((c) => c.origin?.kind === 'expectation' && c.origin.expectation === 'syn-retransmits');
    expect(timing?.refs?.filter((r) => r.kind === 'rule')).toEqual([{ kind: 'rule', host: 'server', rule: 'drop-syn' }]);
    const handshakeLike = verdict.checks.find((c) => c.origin?.kind === 'expectation' && c.origin.expectation === 'states');
    expect(handshakeLike?.refs?.some((r) => r.kind === 'rule')).toBe(false);
  });
});
