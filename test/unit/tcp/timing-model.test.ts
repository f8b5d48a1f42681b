import { describe, expect, it } from 'vitest';
import { DEFAULT_KERNEL_SETTINGS, resolveKernelSettings } from '../../../src/tcp/kernel-settings.js';
import { TCP_SYSCTL_RANGES } from '../../../src/tcp/sysctl-ranges.js';
import {
  compareSchedule,
  finWait2DurationMs,
  predictEstablishedSchedule,
  predictOrphanFinSchedule,
  effectiveSynAckRetries,
  possibleSynAckDropFires,
  predictSynAckSchedule,
  predictSynSchedule,
  scheduleTimeline,
  tcpModelTimeoutMs,
  timeWaitDurationMs,
  timerSlackMs,
  timerWheelGranularityJiffies,
} from '../../../src/tcp/timing-model.js';

const s = (seconds: number): number => Math.round(seconds * 1000);

describe('tcp_model_timeout()', () => {
  it('matches the kernel arithmetic', () => {
    expect(tcpModelTimeoutMs(3, 1000, 120_000)).toBe(15_000);
    expect(tcpModelTimeoutMs(6, 1000, 120_000)).toBe(127_000);
    expect(tcpModelTimeoutMs(7, 1000, 120_000)).toBe(247_000); // t = ilog2(120) = 6: 127 s + 1 × 120 s
    expect(tcpModelTimeoutMs(8, 200, 120_000)).toBe(102_200);
    expect(tcpModelTimeoutMs(15, 200, 120_000)).toBe(924_600);
  });
});

describe('predictSynSchedule (reference §2 table)', () => {
  const cases: Array<[string, Partial<typeof DEFAULT_KERNEL_SETTINGS>, number[], number, string]> = [
    ['R=1 L=4', { tcp_syn_retries: 1, tcp_syn_linear_timeouts: 4 }, [0, 1, 2], 3, 'time'],
    ['R=2 L=4', { tcp_syn_retries: 2, tcp_syn_linear_timeouts: 4 }, [0, 1, 2, 3, 4, 5], 7, 'time'],
    ['R=3 L=4', { tcp_syn_retries: 3, tcp_syn_linear_timeouts: 4 }, [0, 1, 2, 3, 4, 5, 7, 11], 19, 'count'],
    ['R=6 L=4', { tcp_syn_retries: 6, tcp_syn_linear_timeouts: 4 }, [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], 131, 'count'],
    ['R=3 L=0', { tcp_syn_retries: 3, tcp_syn_linear_timeouts: 0 }, [0, 1, 3, 7], 15, 'count'],
    ['R=3 L=4 U=5.5s', { tcp_syn_retries: 3, tcp_syn_linear_timeouts: 4, userTimeoutMs: 5500 }, [0, 1, 2, 3, 4, 5], 5.5, 'user-timeout'],
  ];
  it.each(cases)('%s', (_name, settings, sendsSeconds, failSeconds, reason) => {
    const observed = predictSynSchedule(settings);
    expect(observed.sends).toEqual(sendsSeconds.map(s));
    expect(observed.failAtMs).toBe(s(failSeconds));
    expect(observed.failReason).toBe(reason);
  });

  it('defaults (R=6, L=4) are the ip-sysctl.rst numbers: last SYN at 67 s, failure at 131 s', () => {
    const observed = predictSynSchedule();
    expect(observed.sends.at(-1)).toBe(67_000);
    expect(observed.failAtMs).toBe(131_000);
  });

  it('rto_max caps the exponential phase', () => {
    const observed = predictSynSchedule({ tcp_syn_retries: 6, tcp_syn_linear_timeouts: 0, tcp_rto_max_ms: 5000 });
    expect(observed.intervalsMs).toEqual([0, 1000, 2000, 4000, 5000, 5000, 5000]);
  });
});

describe('predictSynAckSchedule', () => {
  it('default synack_retries=5: 0,1,3,7,15,31, dropped at 63 s', () => {
    const observed = predictSynAckSchedule();
    expect(observed.sends).toEqual([0, 1, 3, 7, 15, 31].map(s));
    expect(observed.failAtMs).toBe(63_000);
  });
  it('synack_retries=3: 0,1,3,7, gone at 15 s; no linear phase whatever tcp_syn_linear_timeouts says', () => {
    const observed = predictSynAckSchedule({ tcp_synack_retries: 3, tcp_syn_linear_timeouts: 10 });
    expect(observed.sends).toEqual([0, 1, 3, 7].map(s));
    expect(observed.failAtMs).toBe(15_000);
  });
  it('selftest tcp_accecn_multiple_syn_ack_drop.pkt: retransmissions +1, +2, +4 s', () => {
    expect(predictSynAckSchedule().intervalsMs.slice(1, 4)).toEqual([1000, 2000, 4000]);
  });
});

describe('a fast retransmission first (RtoScheduleOptions.fastRetransmitAtMs)', () => {
  it('re-arms the RTO from itself and starts retrans_stamp: tcp_retries2=4 gives up 6.2 s after it, not after the first RTO copy', () => {
    const observed = predictEstablishedSchedule({ tcp_retries2: 4 }, 200, { fastRetransmitAtMs: 1 });
    expect(observed.kinds).toEqual(['original', 'fast', 'rto', 'rto', 'rto', 'rto']);
    expect(observed.sends).toEqual([0, 1, 201, 601, 1401, 3001]);
    expect(observed.failAtMs).toBe(6201);
    const timerOnly = predictEstablishedSchedule({ tcp_retries2: 4 }, 200);
    expect(timerOnly.failAtMs - (timerOnly.sends[1] ?? 0)).toBeGreaterThan(observed.failAtMs - 1);
  });
});

describe('TCP_USER_TIMEOUT clamps the last RTO to what is left of it (tcp_clamp_rto_to_user_timeout())', () => {
  it('never to less than one jiffy: a remainder below a jiffy (1e-10 ms here) still fires, and the schedule ends', () => {
    // First RTO copy at 200 ms (retrans_stamp), then 600 and 1400: 1200 ms after the stamp, 1e-10 ms of the timeout left.
    const schedule = predictEstablishedSchedule({ tcp_retries2: 15, userTimeoutMs: 1200.0000000001 }, 200);
    expect(schedule.failReason).toBe('user-timeout');
    expect(schedule.sends).toEqual([0, 200, 600, 1400]);
    expect(schedule.failAtMs).toBe(1404);
  });
});

describe('predictOrphanFinSchedule', () => {
  it('RTO 204 ms with a TLP at 205 ms: 8 RTO retransmissions, destroyed at the first fire after 102.2 s', () => {
    const observed = predictOrphanFinSchedule({}, 204, { tlpAtMs: 205 });
    expect(observed.kinds.filter((kind) => kind === 'rto')).toHaveLength(8);
    expect(observed.kinds[1]).toBe('tlp');
    expect(observed.sends).toEqual([0, 205, 409, 817, 1633, 3265, 6529, 13057, 26113, 52225]);
    expect(observed.failAtMs).toBe(104_449);
    expect(observed.failReason).toBe('time');
  });

  it('tcp_orphan_retries=3, RTO 200 ms: time limit model(3, 200 ms) = 3 s from the first retransmission', () => {
    const observed = predictOrphanFinSchedule({ tcp_orphan_retries: 3 }, 200);
    expect(observed.sends).toEqual([0, 200, 600, 1400, 3000]);
    expect(observed.failAtMs).toBe(6200);
  });

  it('an RTO of exactly the 200 ms base sits on a knife edge: late timers give up one fire earlier', () => {
    const nominal = predictOrphanFinSchedule({}, 200);
    const late = predictOrphanFinSchedule({}, 200, { timerLateness: 'max' });
    expect(nominal.sends.length - 1).toBe(9); // fire at 102.2 s is 200 ms short of 0.2 s + 102.2 s
    expect(late.sends.length - 1).toBe(8);
    expect(late.failAtMs).toBeGreaterThan(102_400);
  });

  it('TCP_USER_TIMEOUT replaces the model and clamps the timer', () => {
    const observed = predictOrphanFinSchedule({ userTimeoutMs: 3000 }, 300);
    expect(observed.failReason).toBe('user-timeout');
    expect(observed.failAtMs).toBe(3300); // retrans_stamp 300 + 3000
    expect(observed.sends).toEqual([0, 300, 900, 2100]);
  });
});

describe('established data', () => {
  it('tcp_retries2=15 with RTO 200 ms: the 924.6 s limit', () => {
    const observed = predictEstablishedSchedule({}, 200);
    expect(observed.intervalsMs.slice(-1)[0]).toBe(120_000);
    expect(observed.failAtMs - 200).toBeGreaterThanOrEqual(924_600);
  });
});

describe('durations', () => {
  it('TIME_WAIT is 60 s; orphan FIN_WAIT_2 is max(tcp_fin_timeout, 3.5·RTO)', () => {
    expect(timeWaitDurationMs()).toBe(60_000);
    expect(finWait2DurationMs({}, 204)).toBe(60_000);
    expect(finWait2DurationMs({ tcp_fin_timeout: 5 }, 2000)).toBe(7000);
    expect(finWait2DurationMs({ tcp_fin_timeout: 5 }, 200)).toBe(5000);
  });
});

describe('timer slack (kernel/time/timer.c)', () => {
  it('wheel granularity by level', () => {
    expect(timerWheelGranularityJiffies(62)).toBe(1);
    expect(timerWheelGranularityJiffies(63)).toBe(8);
    expect(timerWheelGranularityJiffies(503)).toBe(8);
    expect(timerWheelGranularityJiffies(504)).toBe(64);
    expect(timerWheelGranularityJiffies(4032)).toBe(512);
  });
  it('slack at HZ=250 and HZ=1000', () => {
    expect(timerSlackMs(200, 250)).toBe(8);
    expect(timerSlackMs(1000, 250)).toBe(36);
    expect(timerSlackMs(4000, 250)).toBe(260);
    expect(timerSlackMs(64_000, 250)).toBe(2052);
    expect(timerSlackMs(1000, 1000)).toBe(65); // 1000 jiffies: level 2, 64 + 1
  });
});

describe('compareSchedule against the measured [exp] lines', () => {
  function check(expected: ReturnType<typeof scheduleTimeline>, observed: Array<number | undefined>) {
    return compareSchedule(expected.expectedOffsetsMs, observed, expected.intervalsMs, 250);
  }
  const observedItems = (checks: ReturnType<typeof check>) => checks.filter((c) => c.observedMs !== undefined);

  it('R=3 L=4: SYNs 0,1.02,2.05,3.08,4.10,5.12,7.14,11.33, fail 19.52', () => {
    const timeline = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 3, tcp_syn_linear_timeouts: 4 }));
    const checks = check(timeline, [0, 1.02, 2.05, 3.08, 4.1, 5.12, 7.14, 11.33, 19.52].map(s));
    expect(checks.map((c) => c.verdict)).toEqual(Array(9).fill('ok'));
  });

  it('R=3 L=0: SYNs 0,1.02,3.03,7.26, fail 15.45', () => {
    const timeline = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 3, tcp_syn_linear_timeouts: 0 }));
    expect(check(timeline, [0, 1.02, 3.03, 7.26, 15.45].map(s)).every((c) => c.ok)).toBe(true);
  });

  it.each([
    ['R=1 L=4 fail 3.08', { tcp_syn_retries: 1 }, 3.08],
    ['R=2 L=4 fail 7.13', { tcp_syn_retries: 2 }, 7.13],
    ['R=3 L=4 U=5.5 s fail 5.53', { tcp_syn_retries: 3, userTimeoutMs: 5500 }, 5.53],
  ])('%s (only the failure observed)', (_name, settings, failSeconds) => {
    const timeline = scheduleTimeline(predictSynSchedule(settings));
    const observed: Array<number | undefined> = timeline.expectedOffsetsMs.map(() => undefined);
    observed[0] = 0;
    observed[observed.length - 1] = s(failSeconds);
    const checks = check(timeline, observed);
    expect(observedItems(checks).map((c) => c.verdict)).toEqual(['ok', 'ok']);
    expect(checks.filter((c) => c.observedMs === undefined).every((c) => c.verdict === 'unobserved')).toBe(true);
  });

  it('R=6 L=4: last SYN 67.76, fail 133.3', () => {
    const timeline = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 6 }));
    const observed: Array<number | undefined> = timeline.expectedOffsetsMs.map(() => undefined);
    observed[0] = 0;
    observed[10] = s(67.76);
    observed[11] = s(133.3);
    expect(observedItems(check(timeline, observed)).every((c) => c.ok)).toBe(true);
  });

  it('SYN-ACK, synack_retries=3: 0, 1.01, 3.03, 7.09, gone ≈15.2', () => {
    const timeline = scheduleTimeline(predictSynAckSchedule({ tcp_synack_retries: 3 }));
    expect(check(timeline, [0, 1.01, 3.03, 7.09, 15.2].map(s)).every((c) => c.ok)).toBe(true);
  });

  it('orphaned FIN_WAIT_1, RTO 204 ms: TLP 0.205, RTOs 0.42 … 54.2, destroyed 107.5', () => {
    const timeline = scheduleTimeline(predictOrphanFinSchedule({}, 204, { tlpAtMs: 205 }));
    const observed = [0, 0.205, 0.42, 0.83, 1.66, 3.33, 6.62, 13.3, 26.6, 54.2, 107.5].map(s);
    const checks = check(timeline, observed);
    expect(checks.map((c) => `${c.index}:${c.verdict}`)).toEqual(observed.map((_, index) => `${index}:ok`));
  });

  it('TIME_WAIT lasted 60.4 s and the FIN_WAIT2 timewait socket 60.2 s', () => {
    expect(compareSchedule([0, 60_000], [0, 60_400], [0, timeWaitDurationMs()], 250).every((c) => c.ok)).toBe(true);
    const finWait2 = finWait2DurationMs({}, 204);
    expect(compareSchedule([0, finWait2], [0, 60_200], [0, finWait2], 250).every((c) => c.ok)).toBe(true);
  });
});

describe('compareSchedule catches wrong schedules', () => {
  it('exponential backoff observed where linear is expected', () => {
    const expected = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 3, tcp_syn_linear_timeouts: 4 }));
    const checks = compareSchedule(expected.expectedOffsetsMs, [0, 1.02, 3.03, 7.26, 15.45].map(s), expected.intervalsMs, 250);
    expect(checks[2]?.verdict).toBe('late');
    expect(checks[2]?.ok).toBe(false);
  });

  it('linear timeouts observed where exponential is expected (kernel before 6.5)', () => {
    const expected = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 3, tcp_syn_linear_timeouts: 0 }));
    const checks = compareSchedule(expected.expectedOffsetsMs, [0, 1.02, 2.05, 3.08].map(s), expected.intervalsMs, 250);
    expect(checks[2]?.verdict).toBe('early');
  });

  it('a retransmission 100 ms early is a violation, and one just after the window is late', () => {
    const expected = scheduleTimeline(predictSynAckSchedule({ tcp_synack_retries: 3 }));
    const early = compareSchedule(expected.expectedOffsetsMs, [0, 1010, 2910], expected.intervalsMs, 250);
    expect(early[2]).toMatchObject({ index: 2, expectedMs: 3000, observedMs: 2910, earliestMs: 2986, verdict: 'early', ok: false });
    const late = compareSchedule(expected.expectedOffsetsMs, [0, 1010, 3067], expected.intervalsMs, 250);
    expect(late[2]).toMatchObject({ latestMs: 3066, verdict: 'late' });
  });

  it('windows start from the observed previous send (lateness accumulates)', () => {
    const expected = scheduleTimeline(predictSynSchedule({ tcp_syn_retries: 3 }));
    const checks = compareSchedule(expected.expectedOffsetsMs, [0, 1030, 2060, 3090], expected.intervalsMs, 250, 0);
    expect(checks[3]).toMatchObject({ expectedMs: 3000, earliestMs: 3056, latestMs: 3096, verdict: 'ok' });
  });

  it('an extra retransmission is unexpected', () => {
    const expected = scheduleTimeline(predictSynAckSchedule({ tcp_synack_retries: 1 }));
    const checks = compareSchedule(expected.expectedOffsetsMs, [0, 1000, 3000, 7000], expected.intervalsMs, 250);
    expect(checks.map((c) => c.verdict)).toEqual(['ok', 'ok', 'ok', 'unexpected']);
  });

  it('a re-arm restarts the pending timer with its own interval: the fire and every later nominal offset move', () => {
    // tcp_synack_retries=2: SYN-ACKs at 0, 1, 3 s and the drop at 7 s; a reply at 2.033 s re-arms the 2 s timer.
    const expected = scheduleTimeline(predictSynAckSchedule({ tcp_synack_retries: 2 }));
    const rearmed = compareSchedule(expected.expectedOffsetsMs, [0, 1009, 4049, 8100], expected.intervalsMs, 250, 20, [1009.2, 2033]);
    expect(rearmed.map((c) => c.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(rearmed[2]).toMatchObject({ expectedMs: 4033, earliestMs: 4033 - 4 - 20 });
    expect(rearmed[3]?.expectedMs).toBe(8033);
    // The same sends without the re-arm: the third is late; a fire before the re-armed window is early.
    expect(compareSchedule(expected.expectedOffsetsMs, [0, 1009, 4049], expected.intervalsMs, 250)[2]?.verdict).toBe('late');
    expect(compareSchedule(expected.expectedOffsetsMs, [0, 1009, 3010], expected.intervalsMs, 250, 20, [2033])[2]?.verdict).toBe('early');
    // A re-arm after the fire it could have moved changes nothing.
    expect(compareSchedule(expected.expectedOffsetsMs, [0, 1009, 3010], expected.intervalsMs, 250, 20, [3500])[2]?.verdict).toBe('ok');
  });

  it('rejects mismatched inputs with a remedy', () => {
    expect(() => compareSchedule([0, 1000], [0], [0], 250)).toThrow(/one interval per expected offset.*scheduleTimeline/);
  });
});

describe('SYN-ACK limit under queue pressure (reqsk_timer_handler())', () => {
  it('keeps tcp_synack_retries while the queue is at most half full (requests·2 ≤ max(8, backlog))', () => {
    expect(effectiveSynAckRetries(5, { requests: 8, young: 0, backlog: 16 })).toBe(5);
    expect(effectiveSynAckRetries(5, { requests: 4, young: 0, backlog: 1 })).toBe(5); // max(8, backlog) floor
    expect(effectiveSynAckRetries(5, undefined)).toBe(5);
  });

  it('cuts one retry per doubling of young·2 that is still ≤ requests, down to 2', () => {
    // 17 requests, backlog 16: no young request left → limit 2 (the syn-flood lab).
    expect(effectiveSynAckRetries(5, { requests: 17, young: 0, backlog: 16 })).toBe(2);
    // young·2 = 2, 4, 8, 16 ≤ 17 → 5→4→3→2 (stops at 2).
    expect(effectiveSynAckRetries(5, { requests: 17, young: 1, backlog: 16 })).toBe(2);
    // young·2 = 8 ≤ 17 → 4; 16 ≤ 17 → 3; 32 > 17 → stop.
    expect(effectiveSynAckRetries(5, { requests: 17, young: 4, backlog: 16 })).toBe(3);
    // young·2 = 18 > 17: all young enough, no cut.
    expect(effectiveSynAckRetries(5, { requests: 17, young: 9, backlog: 16 })).toBe(5);
    // Never raised, never below 2, and a limit already ≤ 2 is left alone.
    expect(effectiveSynAckRetries(1, { requests: 100, young: 0, backlog: 16 })).toBe(1);
  });

  it('drops an old request at 7 s (SYN-ACKs at 0, 1, 3 s) when the queue stays full of old requests', () => {
    const flooded = predictSynAckSchedule({}, { queuePressure: { requests: 17, young: 0, backlog: 16 } });
    expect(flooded.sends).toEqual([0, 1000, 3000]);
    expect(flooded.failAtMs).toBe(7000);
    // Without the pressure the same request lives to 63 s: the gap the replay used to have.
    expect(predictSynAckSchedule().failAtMs).toBe(63000);
  });

  it('evaluates the queue at each fire', () => {
    // Young requests at the 3 s fire keep the limit high; at the 7 s fire they have aged: dropped at 7 s.
    const seen: number[] = [];
    const schedule = predictSynAckSchedule(
      {},
      {
        queuePressure: (fire) => {
          seen.push(fire.numTimeout);
          return fire.atMs < 5000 ? { requests: 17, young: 17, backlog: 16 } : { requests: 17, young: 0, backlog: 16 };
        },
      },
    );
    expect(schedule.failAtMs).toBe(7000);
    expect(seen).toEqual([0, 1, 2]);
    expect(predictSynAckSchedule({}, { retriesLimit: 3 }).failAtMs).toBe(15000);
  });

  it('lists every drop the possible limits allow, and only those', () => {
    // Limit 2 or 3 at every fire: dropped at num_timeout 2 (7 s) or 3 (15 s), never later.
    expect(possibleSynAckDropFires(() => [2, 3])).toEqual([2, 3]);
    // Known limit: one drop.
    expect(possibleSynAckDropFires(() => [5])).toEqual([5]);
    // The capture shows 3 retransmissions: the num_timeout 2 drop did not happen.
    expect(possibleSynAckDropFires(() => [2, 4], 3)).toEqual([3, 4]);
    // A fire that surely dropped it stays the prediction even if the capture shows more SYN-ACKs.
    expect(possibleSynAckDropFires(() => [2], 4)).toEqual([2]);
  });
});

describe('the model takes every value the kernel takes for its sysctls (tcp/sysctl-ranges.ts)', () => {
  it('tcp_synack_retries=0: no SYN-ACK retransmission, the request dropped at its first timeout (syn_ack_recalc())', () => {
    const schedule = predictSynAckSchedule({ tcp_synack_retries: 0 });
    expect(schedule.sends).toEqual([0]);
    expect(schedule.failAtMs).toBe(1000);
  });

  it('accepts both ends of each range and refuses one past them, naming the sysctl', () => {
    for (const name of ['tcp_syn_retries', 'tcp_syn_linear_timeouts', 'tcp_synack_retries', 'tcp_orphan_retries', 'tcp_retries2', 'tcp_rto_max_ms'] as const) {
      const range = TCP_SYSCTL_RANGES[name]!;
      for (const value of [range.min, range.max]) expect(() => resolveKernelSettings({ [name]: Number(value) })).not.toThrow();
      expect(() => resolveKernelSettings({ [name]: Number(range.max) + 1 })).toThrow(new RegExp(`net\\.ipv4\\.${name}`));
    }
  });
});
