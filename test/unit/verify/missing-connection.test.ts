import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Expectation } from '../../../src/lab/model.js';
import { checkExpectations } from '../../../src/verify/check-expectations.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

// An expectation about a connection that never existed is false: "observed none" must not pass it.
async function checkOn(fixture: string, expectation: Expectation, change: (run: RunRecord) => RunRecord = (r) => r) {
  const run = change(await loadRunRecord(join(REPO_ROOT, 'test/fixtures/runs', fixture)));
  return checkExpectations({ ...run, lab: { ...run.lab, expectations: [expectation] } })[0]!;
}

describe('expectations naming a connection that never existed FAIL', () => {
  it('error: {conn: accepted-7, is: none} when the listener accepted 1', async () => {
    const check = await checkOn('handshake', { kind: 'error', host: 'server', conn: 'accepted-7', is: 'none' });
    expect(check).toMatchObject({ status: 'fail', expected: 'none', observed: 'no connection accepted-7: the listener accepted 1' });
    expect(check.evidence[0]).toBe("server's agent events hold 1 accept() (accepted-1), none named accepted-7");
    // The connection that did exist still passes.
    expect(await checkOn('handshake', { kind: 'error', host: 'server', conn: 'accepted-1', is: 'none' })).toMatchObject({ status: 'pass' });
  });

  it('accepted-1 on the host that never listened FAILs: the listener accepted 0', async () => {
    expect(await checkOn('handshake', { kind: 'error', host: 'client', conn: 'accepted-1', is: 'none' })).toMatchObject({
      status: 'fail',
      observed: 'no connection accepted-1: the listener accepted 0',
    });
  });

  it('outcome and error of a connect whose step never ran (the run was cut short)', async () => {
    const cut = (run: RunRecord): RunRecord => {
      const connect = run.lab.steps.findIndex((s) => s.kind === 'connect');
      return {
        ...run,
        steps: run.steps.filter((s) => s.index < connect),
        hosts: run.hosts.map((h) => ({ ...h, events: h.events.filter((e) => !('conn' in e) || e.conn !== 'c') })),
      };
    };
    const outcome = await checkOn('syn-sent', { kind: 'outcome', host: 'client', conn: 'c', is: 'ETIMEDOUT' }, cut);
    expect(outcome).toMatchObject({ status: 'fail', observed: 'no connection c: its connect step (step 3) never ran' });
    const none = await checkOn('syn-sent', { kind: 'error', host: 'client', conn: 'c', is: 'none' }, cut);
    expect(none).toMatchObject({ status: 'fail', observed: 'no connection c: its connect step (step 3) never ran' });
  });

  it('timing expectations naming a connection: syn-retransmits of accepted-3 FAILs', async () => {
    const check = await checkOn('syn-sent', { kind: 'syn-retransmits', host: 'client', conn: 'accepted-3' });
    expect(check).toMatchObject({ status: 'fail', observed: 'no connection accepted-3: the listener accepted 0' });
  });
});
