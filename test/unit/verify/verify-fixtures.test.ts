import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareVerdicts } from '../../../src/cli/verify-command.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { FIXTURE_RUNS, loadFixtureRun, withHost } from './run-fixtures.js';

describe('verifyRun on the committed runs (the full verifier: expectations, timing, conformance)', () => {
  for (const name of ['handshake', 'syn-sent', 'last-ack-orphan', 'syn-sent-traced'] as const) {
    it(`${name}: the recomputed verdict equals the stored verdict.json`, async () => {
      const stored = JSON.parse(readFileSync(join(FIXTURE_RUNS, name, 'verdict.json'), 'utf8')) as Verdict;
      const verdict = verifyRun(await loadFixtureRun(name), join(FIXTURE_RUNS, name), stored.durationMs);
      expect(compareVerdicts(stored, verdict)).toEqual([]);
      expect(verdict.verdict).toBe('pass');
      expect(verdict.checks.filter((c) => c.name.endsWith('follows the TCP state machine')).length).toBeGreaterThan(0);
    });
  }

  it('syn-sent carries the timing expectation, and a mutated record turns the verdict to FAIL', async () => {
    const run = await loadFixtureRun('syn-sent');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.map((c) => c.name)).toContain('SYN retransmissions of client/c follow the Linux timing model');
    const mutated = withHost(run, 'client', (h) => ({ kernelSettings: { ...h.kernelSettings, 'net.ipv4.tcp_syn_retries': '4' } }));
    const failed = verifyRun(mutated, 'x', 0);
    expect(failed.verdict).toBe('fail');
    expect(failed.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['SYN retransmissions of client/c follow the Linux timing model']);
  });
});
