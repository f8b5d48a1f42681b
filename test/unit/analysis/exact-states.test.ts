import { describe, expect, it } from 'vitest';
import { analyzeRun, hostAnalysisOf } from '../../../src/analysis/analyze-run.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

describe('the analysis states of a traced host include the exact transitions the sampler missed', () => {
  it('four-way-close where the sampler missed the server ESTABLISHED (34 ms, a stalled read): the trace fills it in; PASS', async () => {
    const run = await loadFixtureRun('four-way-close-missed-sample');
    const server = hostAnalysisOf(analyzeRun(run), 'server');
    const states = server.samples.filter((s) => s.local.endsWith(':8888') && !s.remote.endsWith(':0')).map((s) => s.state);
    expect(states).toEqual(['SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('the same run judged on its samples alone (no kernel trace) FAILs the states expectation: the sampler never saw ESTABLISHED', async () => {
    const run = await loadFixtureRun('four-way-close-missed-sample');
    const verdict = verifyRun({ ...run, hosts: run.hosts.map(({ kernelEvents: _, ...h }) => h) }, 'x', 0);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.checks.find((c) => c.status === 'fail')?.observed).toBe('LISTEN → CLOSE_WAIT → CLOSED');
  });
});
