import { describe, expect, it } from 'vitest';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { join } from 'node:path';
import { loadFixtureRun } from './run-fixtures.js';

// host-unreachable recorded with the socket worker: the connection failed 2 ms after connect(2), before any
// sample saw its socket, so only the worker's connect-returned event (the endpoint tcp_v4_connect() bound)
// ties the traced socket to connection c.
describe('a connection known only from connect-returned', () => {
  it('is the socket of its conn for the conn-filtered states check and the replay', async () => {
    const run = await loadFixtureRun('host-unreachable-worker');
    const verdict = verifyRun(run, 'x', 0);
    const states = verdict.checks.find((c) => c.name === 'client/c passes through SYN_SENT → CLOSED') ?? expect.unreachable();
    expect(states.status).toBe('pass');
    const replay = verdict.checks.find((c) => c.name.endsWith('follows the TCP state machine') && c.name.startsWith('client')) ?? expect.unreachable();
    expect(replay.status).toBe('pass');
    expect(verdict.verdict).toBe('pass');
  });

  it('without that event the conn filter finds no socket (the check can fail)', async () => {
    const run = await loadFixtureRun('host-unreachable-worker');
    const client = run.hosts.find((h) => h.name === 'client') ?? expect.unreachable();
    const stripped = { ...run, hosts: run.hosts.map((h) => (h === client ? { ...h, events: h.events.filter((e) => e.type !== 'connect-returned') } : h)) };
    const states = verifyRun(stripped, 'x', 0).checks.find((c) => c.name === 'client/c passes through SYN_SENT → CLOSED') ?? expect.unreachable();
    expect(states.status).toBe('fail');
  });
});

describe('family: 6 on a connect reaches the lab model', () => {
  it('syn-sent-ipv6 connects over IPv6', async () => {
    const lab = await loadLabFile(join(REPO_ROOT, 'labs', 'syn-sent-ipv6.yaml'));
    expect(lab.steps.find((s) => s.kind === 'connect')).toMatchObject({ family: 6 });
  });
});
