import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Expectation } from '../../../src/lab/model.js';
import { checkExpectations } from '../../../src/verify/check-expectations.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

async function checkOn(fixture: string, expectation: Expectation) {
  const run = await loadRunRecord(join(REPO_ROOT, 'test/fixtures/runs', fixture));
  const withOne: RunRecord = { ...run, lab: { ...run.lab, expectations: [expectation] } };
  return checkExpectations(withOne)[0]!;
}

describe('error expectation', () => {
  it('passes on the error the application saw, fails on another or on none', async () => {
    const timedOut = await checkOn('syn-sent', { kind: 'error', host: 'client', conn: 'c', is: 'ETIMEDOUT' });
    expect(timedOut).toMatchObject({ status: 'pass', observed: 'ETIMEDOUT' });
    expect(timedOut.evidence[0]).toMatch(/failed with ETIMEDOUT at \+\d+\.\d{3} s/);
    expect(await checkOn('syn-sent', { kind: 'error', host: 'client', conn: 'c', is: 'ECONNRESET' })).toMatchObject({
      status: 'fail',
      expected: 'ECONNRESET',
      observed: 'ETIMEDOUT',
    });
    expect(await checkOn('handshake', { kind: 'error', host: 'client', conn: 'c', is: 'none' })).toMatchObject({ status: 'pass', observed: 'none' });
    expect(await checkOn('handshake', { kind: 'error', host: 'client', conn: 'c', is: 'ECONNRESET' })).toMatchObject({ status: 'fail', observed: 'none' });
  });
});

describe('sockets expectation (peak count in a state)', () => {
  it('counts sockets in a state at the same time from the samples', async () => {
    expect(await checkOn('syn-sent', { kind: 'sockets', host: 'client', state: 'SYN_SENT', min: 1, max: 1 })).toMatchObject({ status: 'pass', observed: '1' });
    expect(await checkOn('syn-sent', { kind: 'sockets', host: 'client', state: 'SYN_SENT', min: 2 })).toMatchObject({ status: 'fail', observed: '1' });
    expect(await checkOn('handshake', { kind: 'sockets', host: 'client', state: 'ESTABLISHED', max: 0 })).toMatchObject({ status: 'fail', observed: '1' });
    expect(await checkOn('handshake', { kind: 'sockets', host: 'server', state: 'SYN_RECEIVED', max: 0 })).toMatchObject({ status: 'pass', observed: '0' });
  });
});
