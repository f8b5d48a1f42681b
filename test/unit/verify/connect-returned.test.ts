import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Expectation } from '../../../src/lab/model.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { checkExpectations } from '../../../src/verify/check-expectations.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

/** The nonblocking-connect run (real Docker, this session), with only `expectation` checked; `edit` may change its events. */
async function checkOn(expectation: Expectation, edit: (run: RunRecord) => RunRecord = (run) => run) {
  const run = edit(await loadRunRecord(join(REPO_ROOT, 'test/fixtures/runs/nonblocking-connect')));
  return checkExpectations({ ...run, lab: { ...run.lab, expectations: [expectation] } })[0]!;
}

/** The run with each connect-returned event's errno replaced (or, for undefined, the event removed). */
const withoutReturn =
  (errno: string | undefined) =>
  (run: RunRecord): RunRecord => ({
    ...run,
    hosts: run.hosts.map((host) => ({
      ...host,
      events: host.events.flatMap((e): AgentEvent[] => (e.type !== 'connect-returned' ? [e] : errno === undefined ? [] : [{ ...e, errno }])),
    })),
  });

describe('returned: what the nonblocking connect(2) returned', () => {
  it('passes on the EINPROGRESS of the run, with the time and the bound port as evidence', async () => {
    const check = await checkOn({ kind: 'connect-returned', host: 'client', conn: 'c', is: 'EINPROGRESS' });
    expect(check).toMatchObject({ status: 'pass', expected: 'EINPROGRESS', observed: 'EINPROGRESS' });
    expect(check.evidence[0]).toMatch(/^connect\(2\) returned -1 with errno EINPROGRESS at \+\d+\.\d{3} s \(bound to 198\.19\.60\.3:46188\)$/);
  });

  it('fails when the claim is false: ok claimed, EINPROGRESS observed', async () => {
    expect(await checkOn({ kind: 'connect-returned', host: 'client', conn: 'c', is: 'ok' })).toMatchObject({ status: 'fail', observed: 'EINPROGRESS' });
  });

  it('fails when connect(2) returned something else, or was never called', async () => {
    expect(await checkOn({ kind: 'connect-returned', host: 'client', conn: 'c', is: 'EINPROGRESS' }, withoutReturn('ENETUNREACH'))).toMatchObject({
      status: 'fail',
      observed: 'ENETUNREACH',
    });
    const never = await checkOn({ kind: 'connect-returned', host: 'client', conn: 'c', is: 'EINPROGRESS' }, withoutReturn(undefined));
    expect(never).toMatchObject({ status: 'fail' });
    expect(never.observed).toContain('no connect-returned event');
  });
});
