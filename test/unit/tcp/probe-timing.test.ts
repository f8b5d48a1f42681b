// The probe timers and the data give-up with TCP_USER_TIMEOUT against the schedules measured on Linux 6.18
// (docs/linux-timers.md; captures in test/fixtures/linux-timers). Each case also states a false model and FAILs it.
import { describe, expect, it } from 'vitest';
import { probeSeriesOf, type ProbeSeries } from '../../../src/analysis/probe-series.js';
import type { ObservedGiveUp } from '../../../src/analysis/sampled-reads.js';
import { fitProbes, fitRetransmissions } from '../../../src/analysis/timing-fit.js';
import type { KernelSettings } from '../../../src/tcp/kernel-settings.js';
import { predictKeepaliveSchedule, predictPersistSchedule, probe0BaseMs, type KeepaliveConfig } from '../../../src/tcp/probe-timing.js';
import { predictEstablishedSchedule } from '../../../src/tcp/timing-model.js';
import { CLIENT, timedOutAtUs, timerCapture, type TimerExperiment } from '../../helpers/linux-timer-fixtures.js';

const RTO_MS = 208; // the veth's RTO in these runs: the data experiments' copies (TLP 208 ms, RTO doubling from 208 ms)

function series(experiment: TimerExperiment, kind: 'keepalive' | 'zero-window probe'): ProbeSeries {
  const segments = timerCapture(experiment);
  const first = segments.find((s) => s.src === CLIENT);
  if (first === undefined) throw new Error(`${experiment}: no client segment`);
  return probeSeriesOf(segments, { local: `${CLIENT}:${first.srcPort}`, remote: `${first.dst}:${first.dstPort}` }, kind);
}

/** Probe offsets (ms) from the anchor, which peer answers, and the observed give-up (the RST, else ETIMEDOUT in user space). */
function observed(experiment: TimerExperiment, s: ProbeSeries): { probesMs: number[]; answered: (k: number) => boolean; giveUp: ObservedGiveUp | undefined } {
  const anchorUs = s.anchor?.timeUs ?? 0;
  const probesMs = s.probes.map((p) => (p.timeUs - anchorUs) / 1000);
  const answered = (k: number): boolean => s.probes[k]?.answeredByFrame !== undefined;
  let giveUp: ObservedGiveUp | undefined;
  if (s.rstAfter !== undefined) {
    const atMs = (s.rstAfter.timeUs - anchorUs) / 1000;
    giveUp = { afterMs: atMs, byMs: atMs, source: `RST #${s.rstAfter.frame}` };
  } else if (experiment === 'persist-drop' || experiment === 'persist-ut') {
    const atMs = (timedOutAtUs(experiment) - anchorUs) / 1000;
    giveUp = { afterMs: atMs - 50, byMs: atMs, source: 'ETIMEDOUT' };
  }
  return { probesMs, answered, giveUp };
}

function keepaliveFit(experiment: TimerExperiment, config: KeepaliveConfig, settings: Partial<KernelSettings> = {}) {
  const s = series(experiment, 'keepalive');
  const o = observed(experiment, s);
  const horizonMs = ((s.lastSegment?.timeUs ?? 0) - (s.anchor?.timeUs ?? 0)) / 1000;
  return fitProbes((lateness) => predictKeepaliveSchedule(config, settings, { ...lateness, answered: o.answered, horizonMs }), o.probesMs, o.giveUp, 250);
}

function persistFit(experiment: TimerExperiment, settings: Partial<KernelSettings>, rtoMs = RTO_MS) {
  const s = series(experiment, 'zero-window probe');
  const o = observed(experiment, s);
  const horizonMs = ((s.lastSegment?.timeUs ?? 0) - (s.anchor?.timeUs ?? 0)) / 1000 + (o.giveUp === undefined ? 0 : 10_000);
  return fitProbes((lateness) => predictPersistSchedule({ rtoMs }, settings, { ...lateness, answered: o.answered, horizonMs }), o.probesMs, o.giveUp, 250);
}

describe('keepalive (tcp_keepalive_timer())', () => {
  it('idle 2 s, interval 1 s, count 3, silent peer: probes at 2, 3, 4 s, RST and ETIMEDOUT at 5 s', () => {
    const s = series('keepalive', 'keepalive');
    expect(s.probes.map((p) => [p.seq === ((s.anchor?.ack ?? 0) - 1) >>> 0, p.length])).toEqual([
      [true, 0],
      [true, 0],
      [true, 0],
    ]);
    const fit = keepaliveFit('keepalive', { idleMs: 2000, intervalMs: 1000, count: 3 });
    expect(fit.schedule.probesMs).toEqual([2000, 3000, 4000]);
    expect(fit.schedule.giveUp).toMatchObject({ atMs: 5000, reason: 'keepalive-count', sendsRst: true });
    expect(fit.problems).toEqual([]);
  });

  it('FAILs a count of 2 on the same capture (the third probe and the later RST do not fit)', () => {
    const fit = keepaliveFit('keepalive', { idleMs: 2000, intervalMs: 1000, count: 2 });
    expect(fit.problems.length).toBeGreaterThan(0);
  });

  it('TCP_USER_TIMEOUT 3.5 s overrides count 9: two probes, RST at the 4 s fire', () => {
    const fit = keepaliveFit('keepalive-ut', { idleMs: 2000, intervalMs: 1000, count: 9 }, { userTimeoutMs: 3500 });
    expect(fit.schedule.giveUp).toMatchObject({ atMs: 4000, reason: 'user-timeout' });
    expect(fit.problems).toEqual([]);
    expect(keepaliveFit('keepalive-ut', { idleMs: 2000, intervalMs: 1000, count: 9 }).problems.length).toBeGreaterThan(0);
  });

  it('answered probes come every max(idle, interval) and never give up; a model that ignores the answers FAILs', () => {
    const fit = keepaliveFit('keepalive-answered', { idleMs: 2000, intervalMs: 1000, count: 3 });
    expect(fit.schedule.probesMs).toEqual([2000, 4000, 6000, 8000]);
    expect(fit.schedule.giveUp).toBeUndefined();
    expect(fit.problems).toEqual([]);
    const s = series('keepalive-answered', 'keepalive');
    const o = observed('keepalive-answered', s);
    const deaf = fitProbes((lateness) => predictKeepaliveSchedule({ idleMs: 2000, intervalMs: 1000, count: 3 }, {}, lateness), o.probesMs, undefined, 250);
    expect(deaf.problems.length).toBeGreaterThan(0);
  });

  it('refuses options Linux refuses (TCP_KEEPIDLE below 1 s)', () => {
    expect(() => predictKeepaliveSchedule({ idleMs: 500, intervalMs: 1000, count: 3 })).toThrow(/TCP_KEEPIDLE/);
  });
});

describe('persist / zero-window probes (tcp_probe_timer(), tcp_send_probe0())', () => {
  it('peer answering: probes from max(RTO, 200 ms), doubling, never giving up', () => {
    const s = series('persist', 'zero-window probe');
    expect(s.anchor?.window).toBe(0);
    expect(s.probes.every((p) => p.length === 0 && p.seq === ((s.anchor?.ack ?? 0) - 1) >>> 0)).toBe(true);
    const fit = persistFit('persist', {});
    expect(fit.schedule.intervalsMs).toEqual([208, 416, 832, 1664, 3328, 6656]);
    expect(fit.problems).toEqual([]);
  });

  it('FAILs a model without backoff doubling past tcp_retries2=3 on the default-settings capture', () => {
    expect(persistFit('persist', { tcp_retries2: 3 }).problems.length).toBeGreaterThan(0);
  });

  it('tcp_retries2=3, peer dropped: backoff stops at 2^3, give-up after 3 unanswered probes, no RST', () => {
    const fit = persistFit('persist-drop', { tcp_retries2: 3 });
    expect(fit.schedule.intervalsMs).toEqual([208, 416, 832, 1664]);
    expect(fit.schedule.giveUp).toMatchObject({ reason: 'tcp-retries2', sendsRst: false, intervalMs: 1664 });
    expect(fit.problems).toEqual([]);
    expect(series('persist-drop', 'zero-window probe').rstAfter).toBeUndefined();
    expect(persistFit('persist-drop', {}).problems.length).toBeGreaterThan(0); // tcp_retries2=15 would still be probing
  });

  it('TCP_USER_TIMEOUT 3 s ends probing 3 s after the first probe although the peer answers', () => {
    const fit = persistFit('persist-ut', { userTimeoutMs: 3000 });
    expect(fit.schedule.giveUp?.reason).toBe('user-timeout');
    expect(fit.problems).toEqual([]);
    expect(persistFit('persist-ut', {}).problems.length).toBeGreaterThan(0);
  });

  it('the probe base is max(RTO, TCP_RTO_MIN) in whole jiffies', () => {
    expect(probe0BaseMs(150, 250)).toBe(200);
    expect(probe0BaseMs(207, 250)).toBe(208);
  });
});

describe('data retransmission with TCP_USER_TIMEOUT (retransmits_timed_out(), tcp_clamp_rto_to_user_timeout())', () => {
  function dataFit(experiment: TimerExperiment, settings: Partial<KernelSettings>) {
    const segments = timerCapture(experiment).filter((s) => s.src === CLIENT && s.payloadLength === 100);
    const firstUs = segments[0]?.timeUs ?? 0;
    const sends = segments.map((s) => ({ offsetMs: (s.timeUs - firstUs) / 1000, frame: s.frame, timeUs: s.timeUs }));
    const failMs = (timedOutAtUs(experiment) - firstUs) / 1000;
    const giveUp = { afterMs: failMs - 50, byMs: failMs, source: 'ETIMEDOUT' };
    return fitRetransmissions((o) => predictEstablishedSchedule(settings, RTO_MS, { ...o, tlpAtMs: sends[1]?.offsetMs ?? 0 }), sends, giveUp, 250);
  }

  it('user timeout 3 s counts from the first RTO retransmission; the last RTO is clamped to what is left', () => {
    const fit = dataFit('data-ut', { userTimeoutMs: 3000 });
    expect(fit.schedule.failReason).toBe('user-timeout');
    expect(fit.problems).toEqual([]);
  });

  it('FAILs the same capture without the user timeout (tcp_retries2=15 would go on for minutes)', () => {
    expect(dataFit('data-ut', {}).problems.length).toBeGreaterThan(0);
  });

  it('tcp_retries2=4 without a user timeout: tcp_model_timeout(4) = 6.2 s after the first RTO retransmission', () => {
    const fit = dataFit('data', { tcp_retries2: 4 });
    expect(fit.schedule.failReason).toBe('time');
    expect(fit.problems).toEqual([]);
    // tcp_retries2=3 gives up at the same fire (3.0 s after 0.415 s falls between the fires at 3.335 and 6.663 s); 2 does not.
    expect(dataFit('data', { tcp_retries2: 2 }).problems.length).toBeGreaterThan(0);
  });
});

describe('a TCP_USER_TIMEOUT give-up is a deadline from retrans_stamp (the user-timeout lab, run 1)', () => {
  // Observed in Docker: copies at 0 (original), 0.206 (TLP), 0.418, 0.858, 1.694, 3.354 s; kernel CLOSED at 3.426 s.
  const offsets = [0, 206, 418, 858, 1694, 3354];
  const sends = offsets.map((offsetMs, i) => ({ offsetMs, frame: i + 1, timeUs: offsetMs * 1000 }));
  const fit = (giveUpMs: number) =>
    fitRetransmissions(
      (o) => predictEstablishedSchedule({ userTimeoutMs: 3000 }, 204, { ...o, tlpAtMs: 206 }),
      sends,
      { afterMs: giveUpMs, byMs: giveUpMs, source: 'kernel' },
      250,
    );

  it('late copies leave less of the 3 s: the give-up at 3.426 s (0.418 + 3.000, 8 ms late) fits', () => {
    const result = fit(3426);
    expect(result.problems).toEqual([]);
    expect(result.items.at(-1)).toMatchObject({ expectedMs: 3418 });
  });

  it('a give-up before the deadline FAILs as early, one long after it as late', () => {
    expect(fit(3300).problems.join('; ')).toContain('the give-up early');
    expect(fit(3600).problems.join('; ')).toContain('the give-up late');
  });
});
