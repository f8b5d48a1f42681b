import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Check } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from './run-fixtures.js';

/*
 * Two timer series that end by something other than their count, recorded from teacher labs:
 * - syn-user-timeout: TCP_USER_TIMEOUT 3 s on connect(), every SYN dropped. SYNs at 0, 1.016, 2.04 s, ETIMEDOUT at
 *   3.032 s: tcp_write_timeout() tests the user timeout in SYN_SENT too (since v5.4), and the last RTO is clamped to it.
 * - keepalive-peer-reset: the server aborted with its RST dropped; the client's first keepalive probe (2 s idle) is
 *   answered by the server's RST, which resets the client (ECONNRESET): not a keepalive give-up.
 */

function check(run: RunRecord, prefix: string): Check {
  const found = verifyRun(run, 'x', 0).checks.find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no check named ${prefix}…`);
  return found;
}

/** The run as if the lab's connect step had set TCP_USER_TIMEOUT `ms` (undefined: not at all). */
function withUserTimeout(run: RunRecord, ms: number | undefined): RunRecord {
  const steps = run.lab.steps.map((s) => (s.kind === 'connect' ? { ...s, options: ms === undefined ? {} : { ...s.options, userTimeoutMs: ms } } : s));
  return { ...run, lab: { ...run.lab, steps } };
}

describe('recorded syn-user-timeout run', () => {
  it('passes: three SYNs, then ETIMEDOUT at the fire that finds the 3 s user timeout passed', async () => {
    const run = await loadFixtureRun('syn-user-timeout');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    const syn = check(run, 'SYN retransmissions');
    expect(syn.expected).toMatch(/3 SYNs at 0, 1, 2 s; connect\(\) fails with ETIMEDOUT at 3\.000 s \(user-timeout limit\)/);
    expect(syn.evidence.join('\n')).toMatch(/TCP_USER_TIMEOUT 3000 ms \(connect step 3/);
  });

  it('FAILs without the user timeout (the SYN retries alone last 127 s) and with a longer one', async () => {
    const run = await loadFixtureRun('syn-user-timeout');
    const none = check(withUserTimeout(run, undefined), 'SYN retransmissions');
    expect(none.status).toBe('fail');
    expect(none.observed).toMatch(/give-up early/);
    const longer = check(withUserTimeout(run, 6000), 'SYN retransmissions');
    expect(longer.status).toBe('fail');
    expect(longer.expected).toMatch(/ETIMEDOUT at 6\.000 s/);
  });
});

describe('recorded keepalive-peer-reset run', () => {
  it('passes: one probe, answered by the peer RST that ends the series; no give-up is claimed', async () => {
    const run = await loadFixtureRun('keepalive-peer-reset');
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.observed}`)).toEqual([]);
    const probes = check(run, 'keepalive probes');
    expect(probes.observed).toMatch(/^1 probes at 2\.0\d+ s \(1 answered\); no give-up/);
    expect(probes.evidence.join('\n')).toMatch(/the peer answered with a RST \(#\d+\)/);
  });

  it('FAILs when the probes should have come sooner (idle 1 s): the probe is late', async () => {
    const run = await loadFixtureRun('keepalive-peer-reset');
    const steps = run.lab.steps.map((s) =>
      s.kind === 'connect' ? { ...s, options: { ...s.options, keepalive: { idleMs: 1000, intervalMs: 1000, count: 3 } } } : s,
    );
    expect(check({ ...run, lab: { ...run.lab, steps } }, 'keepalive probes').status).toBe('fail');
  });

  it('FAILs when the application saw another error than the reset reports', async () => {
    const run = await loadFixtureRun('keepalive-peer-reset');
    const hosts = run.hosts.map((h) =>
      h.name === 'client' ? { ...h, events: h.events.map((e) => (e.type === 'error' ? { ...e, code: 'ETIMEDOUT' } : e)) } : h,
    );
    const probes = check({ ...run, hosts }, 'keepalive probes');
    expect(probes.status).toBe('fail');
    expect(probes.observed).toMatch(/saw ETIMEDOUT, but a reset reports ECONNRESET/);
  });
});
