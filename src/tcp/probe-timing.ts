import { resolveKernelSettings, type KernelSettings } from './kernel-settings.js';
import {
  CAPTURE_ALLOWANCE_MS,
  roundUpToJiffiesMs,
  timerEarlyMs,
  timerSlackMs,
  type ScheduleItemCheck,
  type ScheduleOptions,
  type ScheduleVerdict,
} from './timing-model.js';

/*
 * Linux probe timers (Linux 6.18; measured in docs/linux-timers.md): keepalive and zero-window (persist).
 *
 * How they work. Both send the same segment, tcp_xmit_probe_skb(sk, 0) (tcp_output.c): no payload,
 * seq = snd_una − 1, so the peer answers with an ACK; an answer resets icsk_probes_out (tcp_input.c
 * tcp_ack()). Each timer re-arms from the moment it really fired, so lateness adds up as for the RTO.
 *
 * Keepalive (tcp_timer.c tcp_keepalive_timer()). The timer measures idleness from the last segment
 * received (keepalive_time_elapsed()). At a fire with idle ≥ TCP_KEEPIDLE: give up when icsk_probes_out ≥
 * TCP_KEEPCNT — or, with TCP_USER_TIMEOUT U, when idle ≥ U and a probe is out (the count is then ignored) —
 * by sending a RST and failing with ETIMEDOUT; else send a probe and re-arm TCP_KEEPINTVL. A fire that
 * finds the connection idle for less than TCP_KEEPIDLE (an answer came) re-arms for the rest, so answered
 * probes come every max(idle, interval).
 *
 * Persist (tcp_timer.c tcp_probe_timer(), tcp_output.c tcp_send_probe0(), tcp_input.c tcp_ack_probe()).
 * Armed when the peer's window is 0 with nothing in flight and data queued, for tcp_probe0_when() =
 * min(base << icsk_backoff, tcp_rto_max) with base = tcp_probe0_base() = max(RTO, TCP_RTO_MIN). At a fire:
 * the first fire stamps icsk_probes_tstamp; later fires give up when TCP_USER_TIMEOUT is set and the time
 * since that stamp ≥ U (answered or not); any fire gives up when icsk_probes_out ≥ tcp_retries2; else a
 * probe goes out, icsk_backoff grows while it is below tcp_retries2, and the timer is re-armed (clamped to
 * what is left of U, at least TCP_TIMEOUT_MIN, tcp_clamp_probe0_to_user_timeout()). No RST on give-up
 * (tcp_write_err()). Not modelled: orphans (tcp_orphan_retries, tcp_out_of_resources()) and local
 * congestion (TCP_RESOURCE_PROBE_INTERVAL).
 */

/** Why a probing socket gave up. */
export type ProbeGiveUpReason = 'keepalive-count' | 'user-timeout' | 'tcp-retries2';

/** A predicted probe schedule; times are ms from the anchor (the last receipt, or the ACK that closed the window). */
export interface ProbeSchedule {
  readonly probesMs: readonly number[];
  /** Nominal interval from the previous probe (or the anchor) to each probe. */
  readonly intervalsMs: readonly number[];
  /** How late each probe's timer(s) may fire in all (an answered keepalive waits on two timers). */
  readonly slacksMs: readonly number[];
  /** The give-up; undefined when the socket still probes at the horizon. */
  readonly giveUp: ProbeGiveUp | undefined;
}

/** The fire at which a probing socket gives up. */
export interface ProbeGiveUp {
  readonly atMs: number;
  readonly intervalMs: number;
  readonly slackMs: number;
  readonly reason: ProbeGiveUpReason;
  /** Whether a RST goes out (keepalive: tcp_send_active_reset(); persist: none). */
  readonly sendsRst: boolean;
  /** A persist user-timeout give-up is a deadline: this long after the first probe's fire (icsk_probes_tstamp). */
  readonly deadlineAfterFirstProbeMs?: number;
}

/** Options of a probe prediction. */
export interface ProbeOptions extends ScheduleOptions {
  /** Whether the peer answered probe k (0-based); default: it never does (a silent peer). */
  readonly answered?: (probeIndex: number) => boolean;
  /** Predict no further than this many ms after the anchor (a peer that answers keeps the socket alive). */
  readonly horizonMs?: number;
}

/** The keepalive socket options (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT), in ms and probes. */
export interface KeepaliveConfig {
  readonly idleMs: number;
  readonly intervalMs: number;
  readonly count: number;
}

/** Linux defaults of a socket with SO_KEEPALIVE and no TCP_KEEP* options (tcp_keepalive_time 7200 s, intvl 75 s, probes 9). */
export const DEFAULT_KEEPALIVE: KeepaliveConfig = { idleMs: 7_200_000, intervalMs: 75_000, count: 9 };

const DEFAULT_HORIZON_MS = 600_000;
const MAX_PROBES = 1000;

/** Keepalive probes of an idle connection and the give-up (tcp_keepalive_timer()), from the last segment received. */
export function predictKeepaliveSchedule(config: KeepaliveConfig, input: Partial<KernelSettings> = {}, options: ProbeOptions = {}): ProbeSchedule {
  checkKeepalive(config);
  const settings = resolveKernelSettings(input);
  const hz = settings.hz;
  const idleMs = roundUpToJiffiesMs(config.idleMs, hz);
  const intervalMs = roundUpToJiffiesMs(config.intervalMs, hz);
  const userTimeoutMs = settings.userTimeoutMs;
  const horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
  const late = (timerMs: number): number => (options.timerLateness === 'max' ? timerSlackMs(timerMs, hz) : 0);
  const probesMs: number[] = [];
  const intervalsMs: number[] = [];
  const slacksMs: number[] = [];
  let lastReceiveMs = 0;
  let lastFireMs = 0;
  let probesOut = 0;
  // The timers between two probes: one of `idle` first; after an answer, `interval` then the rest of `idle`.
  let timers: number[] = [idleMs];
  while (probesMs.length < MAX_PROBES) {
    const fireMs = timers.reduce((at, timerMs) => at + timerMs + late(timerMs), lastFireMs);
    const nominalMs = timers.reduce((a, b) => a + b, 0);
    const slackMs = timers.reduce((sum, timerMs) => sum + timerSlackMs(timerMs, hz), 0);
    if (fireMs > horizonMs) return { probesMs, intervalsMs, slacksMs, giveUp: undefined };
    const idleForMs = fireMs - lastReceiveMs;
    const expired = userTimeoutMs !== undefined ? idleForMs >= roundUpToJiffiesMs(userTimeoutMs, hz) && probesOut > 0 : probesOut >= config.count;
    if (expired) {
      const reason: ProbeGiveUpReason = userTimeoutMs !== undefined ? 'user-timeout' : 'keepalive-count';
      return { probesMs, intervalsMs, slacksMs, giveUp: { atMs: fireMs, intervalMs: nominalMs, slackMs, reason, sendsRst: true } };
    }
    const index = probesMs.length;
    probesMs.push(fireMs);
    intervalsMs.push(nominalMs);
    slacksMs.push(slackMs);
    lastFireMs = fireMs;
    probesOut += 1;
    if (options.answered?.(index) === true) {
      probesOut = 0;
      lastReceiveMs = fireMs;
      timers = intervalMs >= idleMs ? [intervalMs] : [intervalMs, idleMs - intervalMs];
    } else {
      timers = [intervalMs];
    }
  }
  throw new RangeError(`keepalive: more than ${MAX_PROBES} probes before the horizon (${horizonMs} ms); pass a shorter horizonMs`);
}

/** The inputs of the persist timer besides the host's settings: the socket's RTO (ss -i `rto:`) in ms. */
export interface PersistConfig {
  readonly rtoMs: number;
}

/** tcp_probe0_base(): max(RTO, TCP_RTO_MIN), in whole jiffies. */
export function probe0BaseMs(rtoMs: number, hz: number, rtoMinMs = 200): number {
  return roundUpToJiffiesMs(Math.max(rtoMs, rtoMinMs), hz);
}

/** Zero-window probes and the give-up (tcp_probe_timer(), tcp_send_probe0()), from the ACK that closed the window. */
export function predictPersistSchedule(config: PersistConfig, input: Partial<KernelSettings> = {}, options: ProbeOptions = {}): ProbeSchedule {
  if (!(config.rtoMs > 0)) throw new RangeError(`persist: expected a positive RTO in ms (ss -i "rto:"), received ${config.rtoMs}`);
  const settings = resolveKernelSettings(input);
  const hz = settings.hz;
  const jiffyMs = 1000 / hz;
  const baseMs = probe0BaseMs(config.rtoMs, hz);
  const rtoMaxMs = settings.tcp_rto_max_ms;
  const retries2 = settings.tcp_retries2;
  const userTimeoutMs = settings.userTimeoutMs === undefined ? undefined : roundUpToJiffiesMs(settings.userTimeoutMs, hz);
  const horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
  const late = (timerMs: number): number => (options.timerLateness === 'max' ? timerSlackMs(timerMs, hz) : 0);
  const probesMs: number[] = [];
  const intervalsMs: number[] = [];
  const slacksMs: number[] = [];
  let backoff = 0;
  let probesOut = 0;
  let probesStampMs: number | undefined;
  let lastFireMs = 0;
  let timerMs = Math.min(baseMs, rtoMaxMs);
  while (probesMs.length < MAX_PROBES) {
    const fireMs = lastFireMs + timerMs + late(timerMs);
    if (fireMs > horizonMs) return { probesMs, intervalsMs, slacksMs, giveUp: undefined };
    const giveUp = (reason: ProbeGiveUpReason): ProbeSchedule => ({
      probesMs,
      intervalsMs,
      slacksMs,
      giveUp: {
        atMs: fireMs,
        intervalMs: timerMs,
        slackMs: timerSlackMs(timerMs, hz),
        reason,
        sendsRst: false,
        ...(reason === 'user-timeout' && userTimeoutMs !== undefined && { deadlineAfterFirstProbeMs: userTimeoutMs }),
      },
    });
    if (probesStampMs === undefined) probesStampMs = fireMs;
    else if (userTimeoutMs !== undefined && fireMs - probesStampMs >= userTimeoutMs) return giveUp('user-timeout');
    if (probesOut >= retries2) return giveUp('tcp-retries2');
    const index = probesMs.length;
    probesMs.push(fireMs);
    intervalsMs.push(timerMs);
    slacksMs.push(timerSlackMs(timerMs, hz));
    lastFireMs = fireMs;
    probesOut = options.answered?.(index) === true ? 0 : probesOut + 1;
    if (backoff < retries2) backoff += 1;
    timerMs = Math.min(baseMs * 2 ** backoff, rtoMaxMs);
    if (userTimeoutMs !== undefined) {
      const remainingMs = Math.max(userTimeoutMs - (fireMs - probesStampMs), 2 * jiffyMs); // TCP_TIMEOUT_MIN: 2 jiffies
      timerMs = Math.min(timerMs, remainingMs);
    }
  }
  throw new RangeError(`persist: more than ${MAX_PROBES} probes before the horizon (${horizonMs} ms); pass a shorter horizonMs`);
}

function checkKeepalive(config: KeepaliveConfig): void {
  // tcp.c tcp_sock_set_keepidle_locked() / TCP_KEEPINTVL / TCP_KEEPCNT: 1..MAX_TCP_KEEPIDLE (32767 s), 1..32767 s, 1..127.
  const checks: Array<[string, boolean, string]> = [
    ['idle', config.idleMs >= 1000 && config.idleMs <= 32_767_000, '1 s..32767 s (TCP_KEEPIDLE)'],
    ['interval', config.intervalMs >= 1000 && config.intervalMs <= 32_767_000, '1 s..32767 s (TCP_KEEPINTVL)'],
    ['count', Number.isInteger(config.count) && config.count >= 1 && config.count <= 127, 'an integer 1..127 (TCP_KEEPCNT)'],
  ];
  for (const [name, ok, expected] of checks) {
    if (!ok) throw new RangeError(`keepalive ${name}: expected ${expected}, received ${JSON.stringify(config)}; fix the lab's keepalive option`);
  }
}

/** One item of a probe comparison: a probe, or the give-up (index = number of predicted probes). */
export interface ProbeItemCheck extends ScheduleItemCheck {
  readonly what: 'probe' | 'give-up';
}

/**
 * Checks observed probe times (and the give-up, when one was observed) against a probe schedule, as
 * compareSchedule() does for retransmissions: item k's window starts at the last observed item plus the
 * nominal intervals since (minus the allowance) and ends the timers' slack plus the allowance later; a
 * probe before it is early (sooner than any timer fires: timerEarlyMs()), after it late. A give-up the model has but the
 * observation lacks is 'unobserved'; an observed one the model lacks (or probes beyond it) 'unexpected'.
 */
export function compareProbeSchedule(
  schedule: ProbeSchedule,
  observedProbesMs: readonly number[],
  observedGiveUpMs: number | undefined,
  hz: number,
  allowanceMs: number = CAPTURE_ALLOWANCE_MS,
): ProbeItemCheck[] {
  const checks: ProbeItemCheck[] = [];
  let anchorMs = 0;
  let nominalSinceAnchor = 0;
  let slackSinceAnchor = 0;
  let earlySinceAnchor = 0;
  const judge = (
    index: number,
    what: ProbeItemCheck['what'],
    expectedMs: number,
    intervalMs: number,
    slackMs: number,
    observedMs: number | undefined,
  ): void => {
    nominalSinceAnchor += intervalMs;
    slackSinceAnchor += slackMs;
    earlySinceAnchor += timerEarlyMs(intervalMs, hz);
    const earliestMs = anchorMs + nominalSinceAnchor - earlySinceAnchor - allowanceMs;
    const latestMs = anchorMs + nominalSinceAnchor + slackSinceAnchor + allowanceMs;
    const verdict: ScheduleVerdict = observedMs === undefined ? 'unobserved' : observedMs < earliestMs ? 'early' : observedMs > latestMs ? 'late' : 'ok';
    checks.push({ index, what, expectedMs, observedMs, earliestMs, latestMs, verdict, ok: verdict === 'ok' });
    if (observedMs !== undefined) {
      anchorMs = observedMs;
      nominalSinceAnchor = 0;
      slackSinceAnchor = 0;
      earlySinceAnchor = 0;
    }
  };
  schedule.probesMs.forEach((expectedMs, index) => {
    judge(index, 'probe', expectedMs, schedule.intervalsMs[index] ?? 0, schedule.slacksMs[index] ?? 0, observedProbesMs[index]);
  });
  for (let index = schedule.probesMs.length; index < observedProbesMs.length; index += 1) {
    const observedMs = observedProbesMs[index];
    checks.push({ index, what: 'probe', expectedMs: undefined, observedMs, earliestMs: undefined, latestMs: undefined, verdict: 'unexpected', ok: false });
  }
  const index = schedule.probesMs.length;
  const { giveUp } = schedule;
  const firstProbeMs = observedProbesMs[0];
  const lastProbeMs = observedProbesMs.at(-1);
  if (giveUp?.deadlineAfterFirstProbeMs !== undefined && firstProbeMs !== undefined && lastProbeMs !== undefined) {
    // Every persist timer is clamped to what is left of the user timeout: the give-up comes at the deadline, late by one timer's slack.
    const deadlineMs = firstProbeMs + giveUp.deadlineAfterFirstProbeMs;
    const earliestMs = deadlineMs - timerEarlyMs(giveUp.intervalMs, hz) - allowanceMs;
    const latestMs = Math.max(deadlineMs, lastProbeMs) + giveUp.slackMs + allowanceMs;
    const verdict: ScheduleVerdict =
      observedGiveUpMs === undefined ? 'unobserved' : observedGiveUpMs < earliestMs ? 'early' : observedGiveUpMs > latestMs ? 'late' : 'ok';
    checks.push({ index, what: 'give-up', expectedMs: deadlineMs, observedMs: observedGiveUpMs, earliestMs, latestMs, verdict, ok: verdict === 'ok' });
  } else if (giveUp !== undefined) judge(index, 'give-up', giveUp.atMs, giveUp.intervalMs, giveUp.slackMs, observedGiveUpMs);
  else if (observedGiveUpMs !== undefined) {
    checks.push({
      index,
      what: 'give-up',
      expectedMs: undefined,
      observedMs: observedGiveUpMs,
      earliestMs: undefined,
      latestMs: undefined,
      verdict: 'unexpected',
      ok: false,
    });
  }
  return checks;
}
