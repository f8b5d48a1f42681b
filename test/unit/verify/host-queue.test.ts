import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Check } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

/*
 * Teacher lab closing-fin-lost, recorded on a loaded machine (2 busy loops): a's `hold` step kept its FIN in
 * the egress queue for 267 ms. Its retransmission timer fired at +0.218 s, found the first copy still queued
 * (tcp_retransmit_skb err -EBUSY), and TCP sent the copy as the queue drained (TSQ), restarting the timer there.
 * b's firewall dropped both copies (its counter, read just before the delete, says 2); the third reached b.
 */

function check(run: RunRecord, prefix: string): Check {
  const found = verifyRun(run, 'x', 0).checks.find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no check named ${prefix}…`);
  return found;
}

const EBUSY = -16;
const US = 1_000;

describe('a retransmission whose timer fired while the copy before was still queued in the host (deferred-sends.ts)', () => {
  it('counts the copy at its fire and the next interval from its send: the recorded run passes', async () => {
    const run = await loadFixtureRun('closing-fin-lost-deferred');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
    const fins = check(run, 'FIN retransmissions');
    expect(fins.observed).toMatch(/^3 FINs at 0, 0\.218, 0\.686 s/);
    expect(fins.evidence.join('\n')).toMatch(
      /copy 2 \(#12\): the timer fired at \+1\.216 s while the copy before was still queued in a .*TCP sent it at \+1\.264 s/,
    );
  });

  it('FAILs when the traced fire itself was late: the copy is judged at the fire', async () => {
    const base = await loadFixtureRun('closing-fin-lost-deferred');
    const run = withHost(base, 'a', (h) => ({
      kernelEvents: (h.kernelEvents ?? []).map((e) => (e.kind === 'retransmit' && e.error === EBUSY ? { ...e, timeUs: e.timeUs + 40 * US } : e)),
    }));
    const fins = check(run, 'FIN retransmissions');
    expect(fins.status).toBe('fail');
    expect(fins.observed).toMatch(/transmission 2 late \(0\.258 s/);
  });

  it('FAILs without the traced fire: the copy sent on release is then 49 ms late for its timer', async () => {
    const base = await loadFixtureRun('closing-fin-lost-deferred');
    const run = withHost(base, 'a', (h) => ({ kernelEvents: (h.kernelEvents ?? []).filter((e) => !(e.kind === 'retransmit' && e.error === EBUSY)) }));
    expect(check(run, 'FIN retransmissions').observed).toMatch(/transmission 2 late \(0\.267 s/);
  });
});

describe('packets that arrive while a rule step or unrule step runs (rule-timeline.ts uncountedAtEdges())', () => {
  /** The run with b's unrule step moved to run from `fromMs` to `untilMs` after a's third FIN reached b, and its counter set to `counted`. */
  async function unruleAround(fromMs: number, untilMs: number, counted: number): Promise<RunRecord> {
    const base = await loadFixtureRun('closing-fin-lost-deferred');
    const b = base.hosts.find((h) => h.name === 'b')!;
    const thirdFin = b.segments.filter((s) => s.srcPort !== 8888 && s.flags % 2 === 1)[2]!;
    const unrule = base.lab.steps.findIndex((s) => s.kind === 'unrule');
    const moved = {
      ...base,
      steps: base.steps.map((s) => (s.index === unrule ? { ...s, startUs: thirdFin.timeUs - fromMs * US, endUs: thirdFin.timeUs + untilMs * US } : s)),
    };
    return withHost(moved, 'b', (h) => ({
      removedRuleCounters: (h.removedRuleCounters ?? []).map((r) => ({ ...r, counters: r.counters.replace('[2:104]', `[${counted}:${counted * 52}]`) })),
    }));
  }

  it('takes the FIN the counter did not count, arriving during the delete, as delivered: b reaches TIME_WAIT by it', async () => {
    const run = await unruleAround(5, 5, 2);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('FAILs when the counter says the rule dropped it too: b then had no FIN to take it into TIME_WAIT', async () => {
    const run = await unruleAround(5, 5, 3);
    const verdict = verifyRun(run, 'x', 0);
    expect(verdict.verdict).toBe('fail');
    expect(
      verdict.checks
        .filter((c) => c.status === 'fail')
        .map((c) => c.observed)
        .join('\n'),
    ).toMatch(/TIME_WAIT .*has no cause/);
  });
});
