import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Check } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { TcpFlag } from '../../../src/observe/packet.js';
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

describe('a retransmission whose timer fired while the copy before was still queued in the host (traced-fires.ts)', () => {
  it('counts the copy at its fire and the next interval from its send: the recorded run passes', async () => {
    const run = await loadFixtureRun('closing-fin-lost-deferred');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
    const fins = check(run, 'FIN retransmissions');
    expect(fins.observed).toMatch(/^3 FINs at 0, 0\.218, 0\.686 s/);
    expect(fins.evidence.join('\n')).toMatch(
      /copy 2 \(#12\) belongs to the timer.s fire at \+1\.216 s, which found the copy before still queued in a .*TCP sent it at \+1\.264 s/,
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

/*
 * Teacher labs syn-held-long and data-held-sender (recorded): the first copy waits in the sender's held queue
 * across timer fires that find it still there (-EBUSY) and send nothing; on release only the original leaves
 * (SYN_SENT has no TSQ resend; the data's ACK comes back first). The fires count all the same: backoff and
 * retransmission count move on, so the schedule must have them.
 */
describe('timer fires that found the last copy still queued and sent nothing (queuedFiresOf())', () => {
  const withoutBusyFires = (run: RunRecord): RunRecord =>
    withHost(run, 'client', (h) => ({ kernelEvents: (h.kernelEvents ?? []).filter((e) => !(e.kind === 'retransmit' && e.error === EBUSY)) }));

  it('counts the SYN_SENT fires at 1, 2 and 3 s though one SYN is on the wire; without them the SYN check FAILs', async () => {
    const run = await loadFixtureRun('syn-held-long');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
    const syns = check(run, 'SYN retransmissions');
    expect(syns.evidence.join('\n')).toMatch(/the timer fired at .*, .*, .* and found the last copy still queued in client/);
    const bare = check(withoutBusyFires(run), 'SYN retransmissions');
    expect(bare.status).toBe('fail');
    expect(bare.observed).toMatch(/transmissions missing/);
  });

  it('counts the data fires at 0.2 and 0.6 s; without them there is no retransmission to check, and the check FAILs', async () => {
    const run = await loadFixtureRun('data-held-sender');
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
    expect(check(run, 'data retransmissions').observed).toMatch(
      /^3 copies at 0, 0\.2\d\d, 0\.6\d+ s \(2 of them timer fires that found the last copy still queued: nothing sent\); acknowledged/,
    );
    expect(check(withoutBusyFires(run), 'data retransmissions').status).toBe('fail');
  });
});

describe('a held host’s sampled retransmission counts (the timer counts the fires that sent nothing)', () => {
  it('are judged on traced runs: the three SYN_SENT fires that found the SYN queued back the rows’ counts', async () => {
    const run = await loadFixtureRun('syn-held-long');
    expect(check(run, 'samples agree with the captures').status).toBe('pass');
    expect(check(run, 'samples agree with the captures').observed).toMatch(/^[1-9]\d* sampled row\(s\) with retransmissions/);
  });

  it('FAIL when a row counts more than the capture and the trace show', async () => {
    const base = await loadFixtureRun('syn-held-long');
    const run = withHost(base, 'client', (h) => ({
      events: h.events.map((e) => (e.type === 'socket' && e.timer.retransmits > 0 ? { ...e, timer: { ...e.timer, retransmits: e.timer.retransmits + 5 } } : e)),
    }));
    expect(check(run, 'samples agree with the captures').status).toBe('fail');
  });
});

/*
 * Teacher lab both-fins-lost (recorded under load): both sides close while each firewall drops the other's FIN.
 * a's fourth FIN reached b while b's unrule step ran; b's trace shows it dropped (FIN_WAIT_1 → FIN_WAIT_2 on a's
 * ACK, never CLOSING). The counter read before the delete says 4; the count-only rule left in the rule's place says 1
 * (the FIN after it). unrule reads the counters and then deletes, so a packet between the two is dropped but not
 * counted: only the count-only rule tells where the delete fell.
 */
describe('an unrule during traffic: the count-only rule left in its place (step-runner.ts unruleArgv())', () => {
  /** The recorded run with b's counters changed: `before` read before the delete, `passed` by the count-only rule. */
  async function withCounters(before: number, passed: number | undefined): Promise<RunRecord> {
    const base = await loadFixtureRun('both-fins-lost');
    return withHost(base, 'b', (h) => ({
      removedRuleCounters: (h.removedRuleCounters ?? []).map((r) => ({
        rule: r.rule,
        counters: r.counters.replace('[4:208]', `[${before}:${before * 52}]`),
        ...(passed !== undefined && r.passedComment !== undefined && { passedComment: r.passedComment }),
      })),
      ruleCounters: (h.ruleCounters ?? '').replace(/\[1:52\](.*:passed:)/, `[${passed ?? 1}:${(passed ?? 1) * 52}]$1`),
    }));
  }

  it('passes as recorded: 4 FINs dropped, the fifth after the delete', async () => {
    expect(verifyRun(await withCounters(4, 1), 'x', 0).verdict).toBe('pass');
  });

  it('still passes when the counters were read before the fourth FIN arrived: the count-only rule says it came before the delete', async () => {
    expect(verifyRun(await withCounters(3, 1), 'x', 0).verdict).toBe('pass');
  });

  it('FAILs when the count-only rule says the fourth FIN came after the delete: b would have gone to CLOSING, which the trace contradicts', async () => {
    const verdict = verifyRun(await withCounters(3, 2), 'x', 0);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.checks.find((c) => c.status === 'fail')?.name).toMatch(/^b .* follows the TCP state machine/);
  });
});

/*
 * Teacher lab rule-twice (recorded): a SYN-dropping rule added and removed, then the same rule under a second name
 * for a second connection. The first rule's count-only copy sits below the second rule (inserted at the head
 * later), so it never saw the second connection's first SYN, which the second rule dropped: it counted 2.
 */
describe('a rule inserted above the count-only copy of a removed one (rulesAbove())', () => {
  it('passes as recorded: each connection loses its first SYN to its own rule', async () => {
    expect(verifyRun(await loadFixtureRun('rule-twice'), 'x', 0).verdict).toBe('pass');
  });

  it("FAILs had the second rule been appended (-A): the count-only copy would have seen its drop, so the first connection's retransmission is drawn as dropped", async () => {
    const base = await loadFixtureRun('rule-twice');
    const appended = base.lab.steps.map((s, i) => (s.kind === 'rule' && i > 1 ? { ...s, text: s.text.replace('-I INPUT', '-A INPUT') } : s));
    const verdict = verifyRun({ ...base, lab: { ...base.lab, steps: appended } }, 'x', 0);
    expect(verdict.verdict).toBe('fail');
  });
});

/*
 * catalog lab syn-sent, recorded with the TCP timers' expiries traced (timer_expire_entry of tcp_write_timer on the
 * CPU just before each tcp_retransmit_skb): the first SYN retransmission ran 1 jiffy after its wheel bucket. Under
 * load the timer softirq runs later (a syn-flood run of `run --all --parallel 4` sent its second SYN 65 ms after the
 * 1 s RTO, its next one on time): the traced lateness widens that send's window, and only that one.
 */
describe('a timer the softirq ran late, traced (KernelEvent.timerLateJiffies)', () => {
  /** The run with its timer's first fire `ms` late (everything from there on later too: the timer re-arms from the fire), the trace saying `jiffies`. */
  async function lateFirstFire(ms: number, jiffies: number | undefined): Promise<RunRecord> {
    const base = await loadFixtureRun('syn-sent-timer-expiries');
    const client = base.hosts.find((h) => h.name === 'client')!;
    const fromUs = client.segments.filter((s) => s.flags === TcpFlag.SYN)[1]!.timeUs - 100;
    const firstFire = (client.kernelEvents ?? []).find((e) => e.kind === 'retransmit')!;
    const later = <T extends { timeUs: number }>(x: T): T => (x.timeUs >= fromUs ? { ...x, timeUs: x.timeUs + ms * US } : x);
    const shifted = {
      ...base,
      hosts: base.hosts.map((h) => ({ ...h, segments: h.segments.map(later), events: h.events.map(later), kernelEvents: (h.kernelEvents ?? []).map(later) })),
    };
    return withHost(shifted, 'client', (h) => ({
      kernelEvents: (h.kernelEvents ?? []).map((e) => (e.line === firstFire.line ? { ...e, timerLateJiffies: jiffies } : e)),
    }));
  }

  it('passes as recorded, and widens the late send’s window by what the trace says', async () => {
    expect(check(await loadFixtureRun('syn-sent-timer-expiries'), 'SYN retransmissions').status).toBe('pass');
    const late = check(await lateFirstFire(60, 16), 'SYN retransmissions');
    expect(late.status).toBe('pass');
    expect(late.evidence.join('\n')).toMatch(/SYN 2: .*its timer ran 64 ms after its wheel bucket/);
  });

  it('FAILs the same late send when the trace does not say its timer ran late', async () => {
    const late = check(await lateFirstFire(60, undefined), 'SYN retransmissions');
    expect(late.status).toBe('fail');
    expect(late.observed).toMatch(/transmission 2 late/);
  });
});

describe('run folders without the count-only rule: packets that arrive while a rule step or unrule step runs (uncountedAtEdges())', () => {
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
