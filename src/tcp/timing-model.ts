import { LINUX_TCP_CONSTANTS, resolveKernelSettings, type KernelSettings } from './kernel-settings.js';

/*
 * Linux retransmission timing model (Linux 6.18, net/ipv4/tcp_timer.c, inet_connection_sock.c,
 * kernel/time/timer.c).
 *
 * How it works. A TCP socket has one retransmission timer. When it fires, the kernel first asks
 * whether to give up (tcp_write_timeout()), and only then retransmits the head segment, backs the
 * RTO off (doubling, capped at rto_max) and re-arms the timer from *now*: the moment the timer really
 * fired, not the moment it was due. Give-up is decided by a count (SYN states only) and by time:
 * `now − retrans_stamp ≥ limit`, where retrans_stamp is the first SYN's send time (active open) or the
 * time of the first RTO retransmission (data, FIN), and the limit is TCP_USER_TIMEOUT when set, else
 * tcp_model_timeout(boundary, base) — the time `boundary` doubling retransmissions from `base` would
 * take. The time test is skipped while nothing has been retransmitted yet.
 *
 * The predictions below are *nominal*: every timer fires exactly when due. Real timers fire late: the
 * timer wheel (calc_index()) rounds each expiry up to the granularity of the wheel level the timer
 * lands in (1, 8, 64, 512 … jiffies), so a timer is late by up to one granularity plus one jiffy, and
 * because each re-arm starts at the actual fire time the lateness of a schedule adds up. Measured in
 * real time they may also come a little early — up to one granularity of the level below
 * (timerEarlyMs()): the kernel arms from jiffies, which can lag the clock of the capture.
 * `compareSchedule()` therefore checks each observed send against a window that starts at the
 * *observed* previous send plus the nominal interval less timerEarlyMs(), and ends a slack later; a
 * send before the window is a violation, as is one after it.
 */

/** What a transmission was, as the model predicts it. */
export type SendKind = 'original' | 'rto' | 'tlp' | 'fast';
export type FailReason = 'count' | 'time' | 'user-timeout';

/** A predicted retransmission schedule; all times are ms offsets from the first transmission. */
export interface RetransmissionSchedule {
  /** Transmissions in order: the original, then retransmissions (and a TLP when one was given). */
  readonly sends: readonly number[];
  readonly kinds: readonly SendKind[];
  /** Nominal interval from the previous transmission to each one (0 for the first). */
  readonly intervalsMs: readonly number[];
  /** When the socket (or request) gives up: ETIMEDOUT, silent drop or destruction. */
  readonly failAtMs: number;
  /** Nominal interval from the last transmission to the give-up. */
  readonly failIntervalMs: number;
  readonly failReason: FailReason;
  /**
   * For a 'user-timeout' give-up: the send the user timeout counts from (retrans_stamp: the first SYN, or
   * the first RTO or fast retransmission) and its length. The give-up is a deadline from that send, not an interval
   * from the last one: every timer is clamped to what is left (tcp_clamp_rto_to_user_timeout()).
   */
  readonly userTimeout?: { readonly fromIndex: number; readonly ms: number };
}

/**
 * Options of every prediction. `timerLateness: 'max'` lets each timer fire as late as the wheel allows
 * (timerSlackMs) instead of on time. Give-up is a time test at a timer fire, so when a nominal fire
 * falls just short of the limit a late-running socket gives up one fire earlier: compare both
 * predictions when the nominal margin is small (e.g. an RTO of exactly 200 ms against the 200 ms base).
 */
export interface ScheduleOptions {
  readonly timerLateness?: 'none' | 'max';
}

function lateByMs(options: ScheduleOptions, timerMs: number, hz: number): number {
  return options.timerLateness === 'max' ? timerSlackMs(timerMs, hz) : 0;
}

/** The arithmetic of tcp_model_timeout() (tcp_timer.c), in ms: the time `boundary` doubling RTOs take. */
export function tcpModelTimeoutMs(boundary: number, rtoBaseMs: number, rtoMaxMs: number): number {
  const linearBackoffThreshold = Math.floor(Math.log2(Math.floor(rtoMaxMs / rtoBaseMs)));
  if (boundary <= linearBackoffThreshold) return (2 ** (boundary + 1) - 1) * rtoBaseMs;
  return (2 ** (linearBackoffThreshold + 1) - 1) * rtoBaseMs + (boundary - linearBackoffThreshold) * rtoMaxMs;
}

/** Milliseconds rounded up to whole jiffies, as msecs_to_jiffies() does. */
export function roundUpToJiffiesMs(ms: number, hz: number): number {
  const jiffyMs = 1000 / hz;
  return Math.ceil(ms / jiffyMs - 1e-9) * jiffyMs;
}

/**
 * The next timer length after a retransmission, clamped to what is left of TCP_USER_TIMEOUT
 * (tcp_timer.c tcp_clamp_rto_to_user_timeout(): 1 jiffy once the user timeout has passed).
 */
function clampToUserTimeout(rtoMs: number, elapsedMs: number, settings: KernelSettings): number {
  const userTimeoutMs = settings.userTimeoutMs;
  if (userTimeoutMs === undefined) return rtoMs;
  // tcp_clamp_rto_to_user_timeout(): never less than one jiffy (a remainder that rounds to 0 jiffies is 1).
  const jiffyMs = 1000 / settings.hz;
  if (elapsedMs >= userTimeoutMs) return jiffyMs;
  return Math.min(rtoMs, Math.max(jiffyMs, roundUpToJiffiesMs(userTimeoutMs - elapsedMs, settings.hz)));
}

/**
 * SYN schedule of an active open (tcp_timer.c tcp_retransmit_timer(), tcp_write_timeout()):
 * the first tcp_syn_linear_timeouts RTOs stay at the initial RTO (counted with total_rto since v6.8),
 * then they double up to rto_max. Fails at fire k (k−1 retransmissions done) when k−1 ≥ R+L, or when
 * k ≥ 2 and the time since the first SYN reaches tcp_model_timeout(R, initial RTO) or TCP_USER_TIMEOUT.
 */
export function predictSynSchedule(input: Partial<KernelSettings> = {}, options: ScheduleOptions = {}): RetransmissionSchedule {
  const settings = resolveKernelSettings(input);
  const retries = settings.tcp_syn_retries;
  const linear = settings.tcp_syn_linear_timeouts;
  const rtoMaxMs = settings.tcp_rto_max_ms;
  const timeLimitMs = settings.userTimeoutMs ?? tcpModelTimeoutMs(retries, settings.initialRtoMs, rtoMaxMs);
  const sends: number[] = [0];
  const kinds: SendKind[] = ['original'];
  const intervalsMs: number[] = [0];
  let rtoMs = roundUpToJiffiesMs(settings.initialRtoMs, settings.hz);
  let timerMs = rtoMs; // tcp_connect() arms icsk_rto unclamped
  let lastSendMs = 0;
  for (;;) {
    const fireMs = lastSendMs + timerMs + lateByMs(options, timerMs, settings.hz);
    const retransmitsDone = sends.length - 1; // icsk_retransmits at this fire
    if (retransmitsDone >= retries + linear) {
      return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: timerMs, failReason: 'count' };
    }
    if (retransmitsDone > 0 && fireMs >= timeLimitMs) {
      if (settings.userTimeoutMs === undefined) return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: timerMs, failReason: 'time' };
      const userTimeout = { fromIndex: 0, ms: settings.userTimeoutMs };
      return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: timerMs, failReason: 'user-timeout', userTimeout };
    }
    sends.push(fireMs);
    kinds.push('rto');
    intervalsMs.push(timerMs);
    lastSendMs = fireMs;
    const totalRto = sends.length - 1; // tcp_update_rto_stats() ran before the backoff decision
    if (totalRto > linear) rtoMs = Math.min(rtoMs * 2, rtoMaxMs);
    timerMs = clampToUserTimeout(rtoMs, fireMs, settings); // retrans_stamp = first SYN = 0
  }
}

/**
 * The listener's request queue as reqsk_timer_handler() reads it when a request's timer fires.
 * Observable: `requests` are the listener's SYN_RECV rows with inode 0 in /proc/net/tcp, `young` those of
 * them whose retransmit count (the request's num_timeout, get_openreq4()) is still 0.
 */
export interface SynQueuePressure {
  /** reqsk_queue_len(): request sockets of the listener (half-open, not yet children). */
  readonly requests: number;
  /** reqsk_queue_len_young(): requests whose timer has not fired yet (num_timeout 0). */
  readonly young: number;
  /** sk_max_ack_backlog: listen()'s backlog, capped at net.core.somaxconn by __sys_listen(). */
  readonly backlog: number;
}

/**
 * The SYN-ACK retry limit a request gets at one timer fire (net/ipv4/inet_connection_sock.c
 * reqsk_timer_handler(), Linux ≥ 4.4 through 6.18): when `requests·2 > max(8, backlog)` — the queue more
 * than half full — the limit drops by one per doubling of `young·2` that is still ≤ `requests`, down to
 * 2: "we reserve half of room for young embrions; and abort old ones without pity". (Kernels before 4.4
 * wrote the test as `qlen >> (max_qlen_log − 1)` against tcp_max_syn_backlog; 6.18 uses the listener's
 * backlog, and tcp_max_syn_backlog only gates admission in tcp_conn_request().)
 */
export function effectiveSynAckRetries(retries: number, pressure: SynQueuePressure | undefined): number {
  if (pressure === undefined || pressure.requests * 2 <= Math.max(8, pressure.backlog)) return retries;
  let limit = retries;
  let youngTwice = pressure.young * 2;
  while (limit > 2) {
    if (pressure.requests < youngTwice) break;
    limit -= 1;
    youngTwice *= 2;
  }
  return limit;
}

/** One fire of a request's timer: its num_timeout before the fire and the nominal time (ms from the first SYN-ACK). */
export interface SynAckFire {
  readonly numTimeout: number;
  readonly atMs: number;
}

/** Options of the SYN-ACK schedule. */
export interface SynAckScheduleOptions extends ScheduleOptions {
  /** The queue at each fire (or at every fire), for reqsk_timer_handler()'s cut of the limit; none: no cut. */
  readonly queuePressure?: SynQueuePressure | ((fire: SynAckFire) => SynQueuePressure | undefined);
  /** The limit in force, when the caller already knows it (overrides tcp_synack_retries and queuePressure). */
  readonly retriesLimit?: number;
  /**
   * TCP_DEFER_ACCEPT of the listener (rskq_defer_accept SYN-ACK timeouts) and when the request was acked by a
   * bare ACK it dropped (ms from the first SYN-ACK; analysis/accept-queue.ts deferredRequestOf()).
   */
  readonly deferAccept?: { readonly retrans: number; readonly ackedAtMs: number };
}

/**
 * SYN-ACK schedule of a request socket (inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc(),
 * reqsk_timeout()): no linear phase; after fire n the timer is min(initial RTO << n, TCP_RTO_MAX); the
 * request is dropped silently at the fire where num_timeout ≥ the limit: tcp_synack_retries, or less when
 * the SYN queue is more than half full of old requests (effectiveSynAckRetries(), evaluated at every fire
 * from `queuePressure`). The cap is the constant TCP_RTO_MAX in 6.18 (tcp_rto_max for SYN-ACKs is a 6.19
 * change). Under TCP_DEFER_ACCEPT (`deferAccept`), once acked a fire resends only when num_timeout ≥
 * rskq_defer_accept − 1, and expires only when num_timeout ≥ both the limit and rskq_defer_accept
 * (syn_ack_recalc()); a silent fire still re-arms the timer and counts.
 */
export function predictSynAckSchedule(input: Partial<KernelSettings> = {}, options: SynAckScheduleOptions = {}): RetransmissionSchedule {
  const settings = resolveKernelSettings(input);
  const pressureAt = (fire: SynAckFire): SynQueuePressure | undefined =>
    typeof options.queuePressure === 'function' ? options.queuePressure(fire) : options.queuePressure;
  const limitAt = (fire: SynAckFire): number => options.retriesLimit ?? effectiveSynAckRetries(settings.tcp_synack_retries, pressureAt(fire));
  const initialMs = roundUpToJiffiesMs(settings.initialRtoMs, settings.hz);
  const sends: number[] = [0];
  const kinds: SendKind[] = ['original'];
  const intervalsMs: number[] = [0];
  let numTimeout = 0;
  let timerMs = initialMs;
  let lastFireMs = 0;
  let sinceSendMs = 0;
  const defer = options.deferAccept;
  for (;;) {
    const fireMs = lastFireMs + timerMs + lateByMs(options, timerMs, settings.hz);
    sinceSendMs += timerMs;
    const acked = defer !== undefined && defer.ackedAtMs <= fireMs;
    if (numTimeout >= limitAt({ numTimeout, atMs: fireMs }) && (!acked || numTimeout >= defer.retrans)) {
      return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: sinceSendMs, failReason: 'count' };
    }
    if (!acked || numTimeout >= defer.retrans - 1) {
      sends.push(fireMs);
      kinds.push('rto');
      intervalsMs.push(sinceSendMs);
      sinceSendMs = 0;
    }
    lastFireMs = fireMs;
    numTimeout += 1;
    timerMs = Math.min(initialMs * 2 ** numTimeout, LINUX_TCP_CONSTANTS.TCP_RTO_MAX_MS);
  }
}

/**
 * The num_timeout values at which a request may be dropped when each fire's limit is only known to lie in
 * a set (e.g. the queue was sampled just before and just after other requests' timers changed it): fire k
 * may drop the request when k ≥ the smallest possible limit there and no earlier fire surely dropped it
 * (j ≥ the largest limit there). `limitsAt(numTimeout)` gives the possible limits at that fire; `fromNumTimeout`
 * skips fires the capture shows passed with a retransmission, unless the limits say the request surely died there.
 */
export function possibleSynAckDropFires(limitsAt: (numTimeout: number) => readonly number[], fromNumTimeout = 0, maxFires = 64): number[] {
  const fires: number[] = [];
  for (let k = 0; k < maxFires; k += 1) {
    const limits = limitsAt(k);
    if (limits.length === 0) continue;
    const certain = k >= Math.max(...limits);
    // A fire that surely dropped the request stays a prediction even if the capture shows it survived.
    if ((k >= fromNumTimeout || certain) && k >= Math.min(...limits)) fires.push(k);
    if (certain) break;
  }
  return fires;
}

/** Options of the FIN / data schedules. */
export interface RtoScheduleOptions extends ScheduleOptions {
  /**
   * Time of a tail-loss probe, when one was sent (tcp_output.c tcp_send_loss_probe()). A TLP is not an
   * RTO retransmission (no retrans_stamp, `ss` retrans stays 0), but the RTO timer is re-armed from it
   * (tcp_rearm_rto()), so the first RTO retransmission comes one RTO after the probe.
   */
  readonly tlpAtMs?: number;
  /**
   * Time of the first repeat when loss recovery sent it on the peer's ACKs, not the timer: duplicate ACKs or
   * SACKs (tcp_fastretrans_alert(), RFC 6675, RFC 8985). It is a retransmission (retrans_stamp starts there,
   * tcp_retransmit_skb()), and the RTO is re-armed from it without backoff (tcp_xmit_retransmit_queue() →
   * tcp_reset_xmit_timer(icsk_rto)), so the first RTO retransmission comes one RTO after it.
   */
  readonly fastRetransmitAtMs?: number;
  /**
   * The RTO retransmissions (1 = the first) after which an ICMP net or host unreachable quoting the segment
   * arrived before the timer fired again: each undoes one doubling (tcp_ipv4.c tcp_ld_RTO_revert(), RFC 6069:
   * backoff − 1, the timer re-armed from that copy's send time), so such a path is probed at the base RTO.
   */
  readonly revertedAfterRto?: ReadonlySet<number>;
}

/**
 * Orphaned FIN_WAIT_1 after close() (tcp_timer.c tcp_write_timeout(), tcp_orphan_retries()): the FIN is
 * retransmitted with RTO doubling up to rto_max; at each fire the socket is destroyed — without a RST
 * (tcp_write_err()) — when now − retrans_stamp ≥ tcp_model_timeout(retries, TCP_RTO_MIN) or
 * TCP_USER_TIMEOUT, where retries = tcp_orphan_retries, read as 8 while the RTO is below rto_max. There is
 * no count test outside SYN states: the count is implied by the time. Not modelled: an orphan with an ICMP
 * soft error and a capped RTO (retries 0: tcp_orphan_retries()) and tcp_out_of_resources() killing orphans
 * early with a RST.
 */
export function predictOrphanFinSchedule(input: Partial<KernelSettings>, rtoMs: number, options: RtoScheduleOptions = {}): RetransmissionSchedule {
  const settings = resolveKernelSettings(input);
  return simulateRtoTimer(settings, rtoMs, options, (currentRtoMs) => {
    const alive = currentRtoMs < settings.tcp_rto_max_ms;
    const sysctl = settings.tcp_orphan_retries;
    return sysctl === 0 && alive ? 8 : sysctl;
  });
}

/** Retransmission of established data until tcp_retries2 (a time limit, via tcp_model_timeout()). */
export function predictEstablishedSchedule(input: Partial<KernelSettings>, rtoMs: number, options: RtoScheduleOptions = {}): RetransmissionSchedule {
  const settings = resolveKernelSettings(input);
  return simulateRtoTimer(settings, rtoMs, options, () => settings.tcp_retries2);
}

/** The RTO timer outside SYN states: time-based give-up from the first RTO retransmission. */
function simulateRtoTimer(
  settings: KernelSettings,
  initialRtoMs: number,
  options: RtoScheduleOptions,
  boundaryFor: (currentRtoMs: number) => number,
): RetransmissionSchedule {
  if (!(initialRtoMs > 0)) {
    throw new RangeError(`RTO: expected a positive number of ms (ss -i "rto:"), received ${initialRtoMs}`);
  }
  const rtoMaxMs = settings.tcp_rto_max_ms;
  const sends: number[] = [0];
  const kinds: SendKind[] = ['original'];
  const intervalsMs: number[] = [0];
  let rtoMs = Math.min(roundUpToJiffiesMs(initialRtoMs, settings.hz), rtoMaxMs);
  let lastSendMs = 0;
  let retransStampMs: number | undefined;
  // A repeat before the first RTO fire re-arms the timer from itself; only a fast retransmission is a retransmission (retrans_stamp).
  for (const [option, kind] of [
    ['tlpAtMs', 'tlp'],
    ['fastRetransmitAtMs', 'fast'],
  ] as const) {
    const atMs = options[option];
    if (atMs === undefined) continue;
    if (!(atMs > 0)) throw new RangeError(`${option}: expected a positive time in ms (when it was sent), received ${atMs}`);
    sends.push(atMs);
    kinds.push(kind);
    intervalsMs.push(atMs);
    lastSendMs = atMs;
    if (kind === 'fast') retransStampMs = atMs;
  }
  let timerMs = retransStampMs === undefined ? rtoMs : clampToUserTimeout(rtoMs, 0, settings);
  const baseRtoMs = rtoMs;
  let backoff = 0;
  let rtoCount = 0;
  for (;;) {
    const fireMs = lastSendMs + timerMs + lateByMs(options, timerMs, settings.hz);
    if (retransStampMs !== undefined) {
      const limitMs = settings.userTimeoutMs ?? tcpModelTimeoutMs(boundaryFor(rtoMs), LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS, rtoMaxMs);
      if (fireMs - retransStampMs >= limitMs) {
        if (settings.userTimeoutMs === undefined) return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: timerMs, failReason: 'time' };
        const userTimeout = { fromIndex: kinds.findIndex((k) => k === 'rto' || k === 'fast'), ms: settings.userTimeoutMs };
        return { sends, kinds, intervalsMs, failAtMs: fireMs, failIntervalMs: timerMs, failReason: 'user-timeout', userTimeout };
      }
    }
    sends.push(fireMs);
    kinds.push('rto');
    intervalsMs.push(timerMs);
    lastSendMs = fireMs;
    retransStampMs ??= fireMs;
    rtoCount += 1;
    backoff += options.revertedAfterRto?.has(rtoCount) === true ? 0 : 1;
    rtoMs = Math.min(baseRtoMs * 2 ** backoff, rtoMaxMs);
    timerMs = clampToUserTimeout(rtoMs, fireMs - retransStampMs, settings);
  }
}

/** The expected timeline of a schedule for compareSchedule: every send, then the give-up. */
export function scheduleTimeline(schedule: RetransmissionSchedule): { expectedOffsetsMs: number[]; intervalsMs: number[] } {
  return {
    expectedOffsetsMs: [...schedule.sends, schedule.failAtMs],
    intervalsMs: [...schedule.intervalsMs, schedule.failIntervalMs],
  };
}

/** TIME_WAIT length on Linux: TCP_TIMEWAIT_LEN, 60 s, whatever the settings (no sysctl in 6.18). */
export function timeWaitDurationMs(): number {
  return LINUX_TCP_CONSTANTS.TCP_TIMEWAIT_LEN_MS;
}

/** Life of an orphaned FIN_WAIT_2: tcp_fin_time() = max(tcp_fin_timeout, 4·RTO − RTO/2), in whole jiffies. */
export function finWait2DurationMs(input: Partial<KernelSettings>, rtoMs: number): number {
  const settings = resolveKernelSettings(input);
  const jiffyMs = 1000 / settings.hz;
  const rtoJiffies = Math.ceil(rtoMs / jiffyMs - 1e-9);
  const floorJiffies = 4 * rtoJiffies - (rtoJiffies >> 1);
  return Math.max(settings.tcp_fin_timeout * 1000, floorJiffies * jiffyMs);
}

// kernel/time/timer.c: LVL_CLK_SHIFT 3, LVL_BITS 6; LVL_START(n) = 63 << ((n − 1) · 3).
const LVL_CLK_SHIFT = 3;
const LVL_SIZE = 64;

/** Granularity in jiffies of the timer-wheel level a timer of this many jiffies lands in (calc_wheel_index()). */
export function timerWheelGranularityJiffies(durationJiffies: number): number {
  let level = 0;
  while (durationJiffies >= (LVL_SIZE - 1) * 2 ** (level * LVL_CLK_SHIFT)) level += 1;
  return 2 ** (level * LVL_CLK_SHIFT);
}

/**
 * How late a timer of this length may fire (kernel/time/timer.c calc_index() rounds the expiry up to the
 * level granularity): one granularity plus one jiffy. At HZ=250: 8 ms below 252 ms, 36 ms below
 * 2.016 s, 260 ms below 16.128 s, 2.052 s below 129 s.
 */
export function timerSlackMs(durationMs: number, hz: number): number {
  const jiffyMs = 1000 / hz;
  const durationJiffies = Math.ceil(durationMs / jiffyMs - 1e-9);
  return (timerWheelGranularityJiffies(durationJiffies) + 1) * jiffyMs;
}

/**
 * Default allowance for capture and agent latency, in ms, on both edges of every window. The kernel arms
 * a timer from the tick counter (up to a jiffy before the packet we saw left), the packet reaches the
 * capture point after the softirq, qdisc and veth/bridge hops, and an agent's error timestamp is taken
 * in user space after a wake-up; on a loaded 2-core machine running Docker these add a few ms each.
 */
export const CAPTURE_ALLOWANCE_MS = 20;

/**
 * How much earlier (ms, real time) than its nominal interval a timer of this length may fire after the
 * packet that armed it: one granularity of the wheel level below its own, 0 on level 0. Measured on this
 * project's 2-core VM under load, tracepoint to tracepoint (µs-exact, HZ=250): 3.328 s orphan RTOs (level 2,
 * 64-jiffy granularity) fired after 3.296 s in 3 of 13 runs, 8 jiffies early; 416 ms RTOs (level 1) after
 * 412 ms, 1 jiffy early; never more (docs/linux-timers.md). The kernel arms from jiffies
 * (inet_csk_reset_xmit_timer(): jiffies + when), which lags real time while the tick that advances it
 * runs late on a busy vCPU; a window that let no timer fire early gave false FAILs on such runs.
 */
export function timerEarlyMs(durationMs: number, hz: number): number {
  const jiffyMs = 1000 / hz;
  const granularity = timerWheelGranularityJiffies(Math.ceil(durationMs / jiffyMs - 1e-9));
  return granularity > 1 ? (granularity / 2 ** LVL_CLK_SHIFT) * jiffyMs : 0;
}

/**
 * Bound on how long after the kernel gives up an application sees the error (ETIMEDOUT from connect()):
 * tcp_write_err() → sk_error_report() wakes the socket, then the agent's event loop runs, reads the error
 * and stamps it. Measured on this project's machines: 53 ms (kernel SYN_SENT → CLOSED at 7.137 s,
 * ETIMEDOUT stamped at 7.190 s) and 236 ms with both cores busy; 500 ms bounds both with room. Used only
 * when a host has no exact kernel event for the give-up; never mixed with CAPTURE_ALLOWANCE_MS.
 */
export const USERSPACE_ERROR_LATENCY_MS = 500;

/** `not-due`: never observed, and the series was answered before the item could be due (the answer stopped the timer). */
export type ScheduleVerdict = 'ok' | 'early' | 'late' | 'unobserved' | 'unexpected' | 'not-due';

export interface ScheduleItemCheck {
  readonly index: number;
  /** Nominal offset of the prediction; undefined for an observed item the prediction does not have. */
  readonly expectedMs: number | undefined;
  readonly observedMs: number | undefined;
  /** Window from the last observed item plus nominal intervals; undefined for unexpected items. */
  readonly earliestMs: number | undefined;
  readonly latestMs: number | undefined;
  readonly verdict: ScheduleVerdict;
  readonly ok: boolean;
}

/**
 * The last moment before a timer's fire at which something re-armed it to the same duration from then on
 * (mod_timer_pending()), or undefined: `rearmsMs` in order; the timer was pending from `afterMs` and, if not
 * re-armed, fires at `dueMs` — or it was seen firing at `observedMs`, which every re-arm must precede.
 */
function lastRearmMs(rearmsMs: readonly number[], afterMs: number, dueMs: number, durationMs: number, observedMs: number | undefined): number | undefined {
  let last: number | undefined;
  let due = observedMs ?? dueMs;
  for (const r of rearmsMs) {
    if (r <= afterMs || r >= due) continue;
    last = r;
    if (observedMs === undefined) due = r + durationMs;
  }
  return last;
}

/**
 * Checks observed send times (ms offsets, `undefined` where a send was not observed) against a predicted
 * schedule. Item k's window is anchored at the last observed item j < k: [obs_j + Σ nominal − allowance,
 * obs_j + Σ (nominal + slack) + allowance], the sums over intervals j+1..k. Item 0 is the reference.
 * `rearmsMs` are moments (same offsets) at which the pending timer was restarted with its current duration:
 * a request's SYN-ACK sent in reply to a retransmitted SYN (tcp_minisocks.c tcp_check_req(): "Reset timer
 * after retransmitting SYNACK", mod_timer_pending(rsk_timer, now + reqsk_timeout()); num_timeout unchanged).
 * An item whose timer was re-armed is anchored at the re-arm with its own interval only, and its nominal
 * offset, and every later one, moves by as much.
 */
export function compareSchedule(
  expectedOffsetsMs: readonly number[],
  observedOffsetsMs: ReadonlyArray<number | undefined>,
  intervalsMs: readonly number[],
  hz: number,
  allowanceMs: number = CAPTURE_ALLOWANCE_MS,
  rearmsMs: readonly number[] = [],
  /** Per observed send: how late its timer softirq ran, traced (0: not known). Its window closes that much later. */
  softirqLateMs: readonly number[] = [],
): ScheduleItemCheck[] {
  if (intervalsMs.length !== expectedOffsetsMs.length) {
    throw new RangeError(
      `compareSchedule: expected one interval per expected offset (${expectedOffsetsMs.length}), received ${intervalsMs.length}; ` +
        'pass scheduleTimeline(schedule)',
    );
  }
  const checks: ScheduleItemCheck[] = [];
  let anchorMs = observedOffsetsMs[0] ?? expectedOffsetsMs[0] ?? 0;
  let nominalSinceAnchor = 0;
  let slackSinceAnchor = 0;
  let earlySinceAnchor = 0;
  let shiftMs = 0;
  const total = Math.max(expectedOffsetsMs.length, observedOffsetsMs.length);
  for (let index = 0; index < total; index += 1) {
    const nominalMs = expectedOffsetsMs[index];
    const observedMs = observedOffsetsMs[index];
    if (nominalMs === undefined) {
      checks.push({ index, expectedMs: undefined, observedMs, earliestMs: undefined, latestMs: undefined, verdict: 'unexpected', ok: false });
      continue;
    }
    let earliestMs: number;
    let latestMs: number;
    let expectedMs = nominalMs + shiftMs;
    if (index === 0) {
      earliestMs = expectedMs - allowanceMs;
      latestMs = expectedMs + allowanceMs;
    } else {
      const intervalMs = intervalsMs[index] ?? 0;
      const rearmMs = lastRearmMs(rearmsMs, anchorMs, anchorMs + nominalSinceAnchor + intervalMs, intervalMs, observedMs);
      if (rearmMs !== undefined) {
        shiftMs = rearmMs + intervalMs - nominalMs;
        expectedMs = rearmMs + intervalMs;
        anchorMs = rearmMs;
        nominalSinceAnchor = 0;
        slackSinceAnchor = 0;
        earlySinceAnchor = 0;
      }
      nominalSinceAnchor += intervalMs;
      slackSinceAnchor += timerSlackMs(intervalMs, hz);
      earlySinceAnchor += timerEarlyMs(intervalMs, hz);
      earliestMs = anchorMs + nominalSinceAnchor - earlySinceAnchor - allowanceMs;
      latestMs = anchorMs + nominalSinceAnchor + slackSinceAnchor + allowanceMs + (softirqLateMs[index] ?? 0);
    }
    let verdict: ScheduleVerdict;
    if (observedMs === undefined) verdict = 'unobserved';
    else if (observedMs < earliestMs) verdict = 'early';
    else if (observedMs > latestMs) verdict = 'late';
    else verdict = 'ok';
    checks.push({ index, expectedMs, observedMs, earliestMs, latestMs, verdict, ok: verdict === 'ok' });
    if (observedMs !== undefined) {
      anchorMs = observedMs;
      nominalSinceAnchor = 0;
      slackSinceAnchor = 0;
      earlySinceAnchor = 0;
    }
  }
  return checks;
}
