import {
  CAPTURE_ALLOWANCE_MS,
  roundUpToJiffiesMs,
  compareSchedule,
  scheduleTimeline,
  timerEarlyMs,
  timerSlackMs,
  type RetransmissionSchedule,
  type ScheduleItemCheck,
} from '../tcp/timing-model.js';
import { compareProbeSchedule, type ProbeItemCheck, type ProbeSchedule } from '../tcp/probe-timing.js';
import type { ObservedGiveUp } from './sampled-reads.js';
import { timingText } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/*
 * Timing fits under one policy (packetdrill's single verify_time() with a tolerance is the model): the
 * observed transmissions of one retransmitted segment, and the moment its socket gave up, against the
 * Linux timing model's schedule (src/tcp/timing-model.ts). A timer fires early by at most timerEarlyMs()
 * and late by at most its timer-wheel granularity, so each send must fall in a window anchored at the
 * previous observed send (compareSchedule()). Give-up is a time test at a timer fire, so a schedule whose timers all ran late
 * can give up one fire earlier than the nominal one: both predictions (timers on time, timers as late as
 * the wheel allows) are fitted, and the fit kept is the late-timer one only when it has fewer problems than
 * the on-time one. The sends are placed in order for the checks; the commentary may let a late send fill a
 * later slot (SendPlacement), with the same windows, problems and choice. The replay's give-up windows come
 * from the same fit (predictGiveUpWindow(): the union over the predictions whose sends all fit). fitRetransmissions() is the one fitter: the timing checks, the replay's give-up windows
 * (predictGiveUpWindow()) and the report's commentary all read its result.
 */

/** One observed transmission: its offset from the first one and where it is in the capture. */
export interface ObservedSend {
  readonly offsetMs: number;
  /** The captured copy; 0 for a timer fire that sent nothing (`fireOnly`). */
  readonly frame: number;
  readonly timeUs: number;
  /** A fire of the timer that found the last copy still queued in the host: counted, never captured (traced-fires.ts). */
  readonly fireOnly?: true;
  /** How late the timer softirq ran for this send, traced (KernelEvent.timerLateJiffies): its window closes that much later. */
  readonly timerLateMs?: number;
}

/**
 * How observed sends are placed on the model's sends: `in-order` (the k-th observed is the model's k-th;
 * what the checks judge), or `allow-gaps` (a send too late for its slot that fits a later one is placed
 * there, the ones between counted missing; the commentary tells a removed SYN as missing this way).
 */
export type SendPlacement = 'in-order' | 'allow-gaps';

/** Which prediction a fit is of: timers on time, or as late as the timer wheel allows. */
export type TimerLateness = 'none' | 'max';

/** A model schedule fitted to the observation. */
export interface ScheduleFit {
  readonly lateness: TimerLateness;
  readonly schedule: RetransmissionSchedule;
  /** Model index each observed send was placed at, in observation order (−1: beyond the model). */
  readonly placement: readonly number[];
  /** One item per model send, then the give-up. */
  readonly items: readonly ScheduleItemCheck[];
  /** The observed send at each model index (undefined: missing). */
  readonly slotSends: readonly (ObservedSend | undefined)[];
  /** Observed sends the model does not have. */
  readonly extra: readonly ObservedSend[];
  /** Departures from the model, for people; empty when the observation fits. */
  readonly departures: readonly Text[];
  /** The departures in English (`departures[].en`). */
  readonly problems: readonly string[];
}

/** How a fit places sends, and when the series was answered (ms from the first send): the answer stops the timer. */
export interface FitOptions {
  readonly placement?: SendPlacement;
  /**
   * When the peer's answer (its SYN-ACK, the ACK completing a request, a RST: timing-series.ts findAnswer())
   * reached the sender's TCP. Transmissions and the give-up whose window had not closed by then are `not-due`
   * when unobserved (the answer may have come first); a transmission observed after it is a departure.
   */
  readonly answeredAtMs?: number;
  /**
   * When the sender restarted its pending timer without a fire (ms from the first send): a request's SYN-ACK
   * replies to retransmitted SYNs (tcp_check_req()); compareSchedule() re-anchors the next fire on each.
   */
  readonly rearmedAtMs?: readonly number[];
}

/** Fits the observation to the on-time and the late-timer prediction; keeps the late one only when it has fewer problems. */
export function fitRetransmissions(
  predict: (options: { timerLateness: TimerLateness }) => RetransmissionSchedule,
  sends: readonly ObservedSend[],
  giveUp: ObservedGiveUp | undefined,
  hz: number,
  options: FitOptions = {},
): ScheduleFit {
  const [onTime, late] = (['none', 'max'] as const).map((lateness) =>
    fitOne(lateness, predict({ timerLateness: lateness }), sends, giveUp, hz, { ...options, allowanceMs: CAPTURE_ALLOWANCE_MS }),
  ) as [ScheduleFit, ScheduleFit];
  return late.problems.length < onTime.problems.length ? late : onTime;
}

function fitOne(
  lateness: TimerLateness,
  schedule: RetransmissionSchedule,
  sends: readonly ObservedSend[],
  giveUp: ObservedGiveUp | undefined,
  hz: number,
  options: FitOptions & { readonly allowanceMs: number },
): ScheduleFit {
  const { allowanceMs, answeredAtMs, rearmedAtMs = [] } = options;
  const mode = options.placement ?? 'in-order';
  const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
  const expectedSends = schedule.sends.length;
  const placement =
    mode === 'allow-gaps'
      ? alignSends(expectedOffsetsMs.slice(0, expectedSends), intervalsMs.slice(0, expectedSends), sends, hz, rearmedAtMs)
      : sends.map((_, i) => (i < expectedSends ? i : -1));
  const slotSends: (ObservedSend | undefined)[] = new Array<ObservedSend | undefined>(expectedSends).fill(undefined);
  const extra: ObservedSend[] = [];
  placement.forEach((m, i) => {
    const send = sends[i] as ObservedSend;
    if (m >= 0) slotSends[m] = send;
    else extra.push(send);
  });
  const compared = compareGiveUpInterval(
    userTimeoutDeadline(
      compareSchedule(
        expectedOffsetsMs,
        [...slotSends.map((s) => s?.offsetMs), giveUp?.byMs],
        intervalsMs,
        hz,
        allowanceMs,
        rearmedAtMs,
        slotSends.map((s) => s?.timerLateMs ?? 0),
      ),
      schedule,
      slotSends,
      hz,
      allowanceMs,
    ),
    giveUp,
  );
  const items = answeredAtMs === undefined ? compared : compared.map((item) => stoppedByAnswer(item, answeredAtMs));
  const departures: Text[] = [];
  if (answeredAtMs !== undefined) {
    const after = sends.filter((send) => send.offsetMs > answeredAtMs + allowanceMs);
    if (after.length > 0) departures.push(timingText((w) => w.afterAnswer(after.length, seconds(answeredAtMs))));
  }
  const failed = items.filter((item) => !item.ok);
  const missingSends = failed.filter((item) => item.verdict === 'unobserved' && item.index < expectedSends).length;
  const dueSends = expectedSends - items.filter((item) => item.verdict === 'not-due' && item.index < expectedSends).length;
  if (missingSends > 0) departures.push(timingText((w) => w.missingSends(missingSends, dueSends)));
  for (const item of failed) {
    if (item.verdict === 'early' || item.verdict === 'late') {
      const isGiveUp = item.index >= expectedSends;
      const interval = isGiveUp && giveUp !== undefined && giveUp.afterMs !== giveUp.byMs ? giveUp : undefined;
      departures.push(
        timingText((w) =>
          w.mistimed(
            isGiveUp ? w.theGiveUp : w.transmission(item.index),
            item.verdict,
            interval !== undefined ? w.between(seconds(interval.afterMs), seconds(interval.byMs)) : `${seconds(item.observedMs ?? 0)} s`,
            seconds(item.earliestMs ?? 0),
            seconds(item.latestMs ?? 0),
          ),
        ),
      );
    }
  }
  if (items.at(-1)?.verdict === 'unobserved') departures.push(timingText((w) => w.giveUpUnobserved));
  if (extra.length > 0) departures.push(timingText((w) => w.extraSends(extra.length)));
  return { lateness, schedule, placement, items, slotSends, extra, departures, problems: departures.map((d) => d.en) };
}

/** An unobserved item whose window had not closed when the answer arrived was not due: the answer stopped the timer first. */
function stoppedByAnswer(item: ScheduleItemCheck, answeredAtMs: number): ScheduleItemCheck {
  if (item.verdict !== 'unobserved' || (item.latestMs !== undefined && item.latestMs < answeredAtMs)) return item;
  return { ...item, verdict: 'not-due', ok: true };
}

/**
 * Places each observed send at a model index: the next free one, unless the send is late for it and
 * fits a later one (the sends in between are missing). −1 for sends beyond the model.
 */
function alignSends(
  expected: readonly number[],
  intervals: readonly number[],
  observed: readonly ObservedSend[],
  hz: number,
  rearmsMs: readonly number[],
): number[] {
  const slots: (ObservedSend | undefined)[] = [];
  const placement: number[] = [];
  observed.forEach((send, i) => {
    if (i === 0) {
      slots.push(send);
      placement.push(0);
      return;
    }
    const next = slots.length;
    if (next >= expected.length) {
      placement.push(-1);
      return;
    }
    const verdictAt = (j: number): ScheduleItemCheck['verdict'] | undefined => {
      const trial = [...slots, ...new Array<ObservedSend | undefined>(j - slots.length).fill(undefined), send];
      const offsets = trial.map((t) => t?.offsetMs);
      const late = trial.map((t) => t?.timerLateMs ?? 0);
      return compareSchedule(expected.slice(0, j + 1), offsets, intervals.slice(0, j + 1), hz, CAPTURE_ALLOWANCE_MS, rearmsMs, late)[j]?.verdict;
    };
    let chosen = next;
    if (verdictAt(next) === 'late') {
      for (let j = next + 1; j < expected.length; j += 1) {
        const verdict = verdictAt(j);
        if (verdict === 'ok') {
          chosen = j;
          break;
        }
        if (verdict === 'early') break;
      }
    }
    while (slots.length < chosen) slots.push(undefined);
    slots.push(send);
    placement.push(chosen);
  });
  return placement;
}

/**
 * Re-anchors a TCP_USER_TIMEOUT give-up on its deadline: the observed send the user timeout counts from
 * (retrans_stamp) plus the user timeout. Every timer is clamped to what is left of it, so the last fire comes
 * at the deadline, late by at most its timer's slack — whatever the lateness of the sends before it.
 */
function userTimeoutDeadline(
  items: ScheduleItemCheck[],
  schedule: RetransmissionSchedule,
  slotSends: readonly (ObservedSend | undefined)[],
  hz: number,
  allowanceMs: number,
): ScheduleItemCheck[] {
  const last = items.at(-1);
  const from = schedule.userTimeout === undefined ? undefined : slotSends[schedule.userTimeout.fromIndex];
  const lastSend = [...slotSends].reverse().find((s) => s !== undefined);
  if (last === undefined || schedule.userTimeout === undefined || from === undefined || lastSend === undefined) return items;
  const deadlineMs = from.offsetMs + schedule.userTimeout.ms;
  const remainingMs = Math.max(deadlineMs - lastSend.offsetMs, 1000 / hz);
  const earliestMs = deadlineMs - timerEarlyMs(remainingMs, hz) - allowanceMs;
  const latestMs = Math.max(deadlineMs, lastSend.offsetMs) + timerSlackMs(remainingMs, hz) + allowanceMs;
  const observedMs = last.observedMs;
  const verdict = observedMs === undefined ? 'unobserved' : observedMs < earliestMs ? 'early' : observedMs > latestMs ? 'late' : 'ok';
  return [...items.slice(0, -1), { ...last, expectedMs: deadlineMs, earliestMs, latestMs, verdict, ok: verdict === 'ok' }];
}

/**
 * Re-judges the last item (the give-up) when it is known only as an interval (a sampled disappearance):
 * it is early only if it was gone before the window opened, late only if it was still there after the
 * window closed; any overlap is consistent with the model.
 */
function compareGiveUpInterval(items: ScheduleItemCheck[], giveUp: ObservedGiveUp | undefined): ScheduleItemCheck[] {
  const last = items.at(-1);
  if (last === undefined || giveUp === undefined || giveUp.afterMs === giveUp.byMs || last.earliestMs === undefined || last.latestMs === undefined)
    return items;
  const verdict = giveUp.byMs < last.earliestMs ? 'early' : giveUp.afterMs > last.latestMs ? 'late' : 'ok';
  return [...items.slice(0, -1), { ...last, verdict, ok: verdict === 'ok' }];
}

/**
 * The window (ms offsets from the first send) in which the model lets a retransmitting socket give up,
 * after the sends observed so far (the replay's timer windows): the same fitter, for the on-time and the
 * late-timer prediction, its give-up item anchored at the last observed send (no capture allowance: the
 * caller adds its own). Only predictions whose sends all fit are kept; if none fits, both are (`fits` false).
 */
export function predictGiveUpWindow(
  predict: (options: { timerLateness: TimerLateness }) => RetransmissionSchedule,
  sendOffsetsMs: readonly number[],
  hz: number,
  rearmedAtMs: readonly number[] = [],
): { earliestMs: number; latestMs: number; fits: boolean } {
  const sends = sendOffsetsMs.map((offsetMs, frame) => ({ offsetMs, frame, timeUs: 0 }));
  const windows = (['none', 'max'] as const).map((lateness) => {
    const fit = fitOne(lateness, predict({ timerLateness: lateness }), sends, undefined, hz, { allowanceMs: 0, rearmedAtMs });
    const giveUp = fit.items.at(-1) as ScheduleItemCheck;
    // The give-up is not observed yet: the prediction fits when that is its only problem.
    const fits = fit.problems.length === 1 && giveUp.verdict === 'unobserved';
    return { earliestMs: giveUp.earliestMs ?? fit.schedule.failAtMs, latestMs: giveUp.latestMs ?? fit.schedule.failAtMs, fits };
  });
  const fitting = windows.filter((w) => w.fits);
  const kept = fitting.length > 0 ? fitting : windows;
  return { earliestMs: Math.min(...kept.map((w) => w.earliestMs)), latestMs: Math.max(...kept.map((w) => w.latestMs)), fits: fitting.length > 0 };
}

/** A probe schedule (keepalive or persist) fitted to the observation. */
export interface ProbeFit {
  readonly lateness: TimerLateness;
  readonly schedule: ProbeSchedule;
  readonly items: readonly ProbeItemCheck[];
  /** Departures from the model, for people; empty when the observation fits. */
  readonly departures: readonly Text[];
  /** The departures in English (`departures[].en`). */
  readonly problems: readonly string[];
}

/**
 * Fits observed probes (ms from the timer's anchor) and the give-up (an instant, or an interval when only
 * user space saw it) to the on-time and the late-timer prediction, under the same policy as
 * fitRetransmissions(): the late one is kept only when it has fewer problems.
 */
export function fitProbes(
  predict: (options: { timerLateness: TimerLateness }) => ProbeSchedule,
  probesMs: readonly number[],
  giveUp: ObservedGiveUp | undefined,
  hz: number,
): ProbeFit {
  const fitAt = (lateness: TimerLateness): ProbeFit => {
    const schedule = predict({ timerLateness: lateness });
    const raw = compareProbeSchedule(schedule, probesMs, giveUp?.byMs, hz);
    const items = raw.map((item) => {
      // A give-up known only as an interval is early only if over before the window, late only if it began after it.
      if (item.what !== 'give-up' || giveUp === undefined || giveUp.afterMs === giveUp.byMs || item.earliestMs === undefined || item.latestMs === undefined) {
        return item;
      }
      const verdict: ProbeItemCheck['verdict'] = giveUp.byMs < item.earliestMs ? 'early' : giveUp.afterMs > item.latestMs ? 'late' : 'ok';
      return { ...item, verdict, ok: verdict === 'ok' };
    });
    const departures = items
      .filter((item) => !item.ok)
      .map((item) =>
        timingText((w) => {
          const what = item.what === 'give-up' ? w.theGiveUp : w.probe(item.index);
          if (item.verdict === 'unobserved') return w.probeUnobserved(what, seconds(item.expectedMs ?? 0));
          if (item.verdict === 'unexpected') return w.probeUnexpected(what, seconds(item.observedMs ?? 0));
          return w.mistimed(what, item.verdict, `${seconds(item.observedMs ?? 0)} s`, seconds(item.earliestMs ?? 0), seconds(item.latestMs ?? 0));
        }),
      );
    return { lateness, schedule, items, departures, problems: departures.map((d) => d.en) };
  };
  const onTime = fitAt('none');
  const late = fitAt('max');
  return late.problems.length < onTime.problems.length ? late : onTime;
}

/** The RTO an orphan's FIN timer used, and whether the first repeat was a tail-loss probe. */
export interface FinRtoEstimate {
  /** The smallest whole-jiffy RTO the gaps allow. */
  readonly rtoMs: number;
  /** The largest one (rtoCandidates()); equal to rtoMs when the gaps pin one down. */
  readonly latestRtoMs: number;
  readonly tlpAtMs: number | undefined;
  /** How the estimate was made, for people. */
  readonly source: Text;
}

/**
 * The RTO the gaps allow is a range, and a give-up comes R·2^k after the last copy, so its uncertainty is multiplied
 * into it: measured, gaps 208, 436, 832 ms after a tail-loss probe allow 200–212 ms, and the give-up came 1.668 s
 * after the last copy (8 × 208 ms), 12 ms past the window 200 ms gives. So a prediction is made under each
 * whole-jiffy RTO of the range in turn: a fit of the series keeps the one with the fewest problems (the smallest RTO
 * on a tie: fitOverRtos()), a window of when the give-up is due spans all of them (giveUpWindowOverRtos()).
 */
function rtoCandidates(estimate: FinRtoEstimate, hz: number): number[] {
  const candidates = [estimate.rtoMs];
  for (let rtoMs = estimate.rtoMs + 1000 / hz; rtoMs <= estimate.latestRtoMs + 1e-9; rtoMs += 1000 / hz) candidates.push(rtoMs);
  return candidates;
}

/** `204 ms`, or `204–208 ms` when the gaps allow a range. */
export function describeRto(estimate: FinRtoEstimate): string {
  return estimate.latestRtoMs > estimate.rtoMs ? `${estimate.rtoMs}–${estimate.latestRtoMs} ms` : `${estimate.rtoMs} ms`;
}

/** The fit under each RTO the estimate allows (see rtoCandidates()), with the RTO it took. */
export function fitOverRtos(estimate: FinRtoEstimate, hz: number, fitWith: (rtoMs: number) => ScheduleFit): { fit: ScheduleFit; rtoMs: number } {
  let best: { fit: ScheduleFit; rtoMs: number } | undefined;
  for (const rtoMs of rtoCandidates(estimate, hz)) {
    const fit = fitWith(rtoMs);
    if (best === undefined || fit.problems.length < best.fit.problems.length) best = { fit, rtoMs };
    if (fit.problems.length === 0) break;
  }
  return best as { fit: ScheduleFit; rtoMs: number };
}

/**
 * predictGiveUpWindow() under each RTO the estimate allows (see rtoCandidates()): the span of them all. Every candidate
 * already fits the gaps within the capture allowance; picking among them by a fit without it dropped the true one at
 * its slack's edge (measured 2026-12-04, orphan-data-give-up: gaps 208, 412, 832, 1668 ms fit R = 204 ms 36 ms late at
 * the last, the wheel's slack exactly; the give-up came 3.292 s later, 16 × 204 + 28 ms, 4 ms before the window of 208 ms).
 */
export function giveUpWindowOverRtos(
  estimate: FinRtoEstimate,
  hz: number,
  predictWith: (rtoMs: number, options: { timerLateness: TimerLateness }) => RetransmissionSchedule,
  sendOffsetsMs: readonly number[],
): { earliestMs: number; latestMs: number; fits: boolean } {
  const windows = rtoCandidates(estimate, hz).map((rtoMs) => predictGiveUpWindow((options) => predictWith(rtoMs, options), sendOffsetsMs, hz));
  return {
    earliestMs: Math.min(...windows.map((w) => w.earliestMs)),
    latestMs: Math.max(...windows.map((w) => w.latestMs)),
    fits: windows.some((w) => w.fits),
  };
}

/**
 * Estimates the RTO of an orphan's FIN (or of established data) from its send offsets. A tail-loss probe
 * (tcp_output.c tcp_send_loss_probe(), capped at the RTO for a lone FIN) shows as a first gap about equal
 * to the second instead of half of it. The RTO is srtt + max(4·rttvar, tcp_rto_min) (tcp_input.c
 * __tcp_set_rto(), tcp_rtt_estimator()), so on a busy machine it is a few ms above tcp_rto_min, and the
 * doubling multiplies that by 2^k. Each gap k is R·2^k fired up to its wheel slack late (or a jiffy-level
 * early), within the capture allowance — the windows compareSchedule() gives — so the gaps bound R from
 * both sides. The estimate is the smallest whole-jiffy R (never below tcp_rto_min) in those bounds: a timer
 * mostly fires late, and a larger R would be multiplied into the predictions still ahead (the give-up at
 * R·2^k): measured under load, gaps 212, 440, 832, 1668 ms allow 204 or 208 ms, and the give-up came 4 ms
 * before 208 ms would allow. With no R in the bounds, the largest one no gap falls short of.
 */
export function estimateFinRto(
  offsetsMs: readonly number[],
  rtoMinMs: number,
  hz: number,
  /** The RTO retransmissions after which an ICMP undid a doubling (RtoScheduleOptions.revertedAfterRto). */
  revertedAfterRto?: ReadonlySet<number>,
  /** The first repeat is a tail-loss probe of a later segment (RtoCopies.probe). */
  probeFirst = false,
  /** Moments at which TCP restarted the timer between two sends (a deferred copy's send): the gap after runs from there. */
  restartsMs: readonly number[] = [],
): FinRtoEstimate {
  const gaps = offsetsMs.slice(1).map((t, i) => {
    const from = offsetsMs[i] ?? 0;
    return t - Math.max(from, ...restartsMs.filter((r) => r > from && r < t));
  });
  const [first, second] = gaps;
  // A probe of a lone segment waits about one RTO (capped at it); one sent with more in flight resends the last segment
  // after 2·srtt + 2 jiffies (tcp_schedule_loss_probe()), sooner than any RTO: the caller knows it (rto-copies.ts).
  const hasTlp = probeFirst || (first !== undefined && second !== undefined && second < 1.5 * first);
  const rtoGaps = hasTlp ? gaps.slice(1) : gaps;
  const tlpAtMs = hasTlp ? offsetsMs[1] : undefined;
  if (rtoGaps.length === 0) return { rtoMs: rtoMinMs, latestRtoMs: rtoMinMs, tlpAtMs: undefined, source: timingText((w) => w.rtoNoRetransmission) };
  const jiffyMs = 1000 / hz;
  const minMs = roundUpToJiffiesMs(rtoMinMs, hz);
  // Gap k is the timer armed after RTO retransmission k: 2^backoff RTOs, backoff one up per retransmission, one down per revert.
  const factors = rtoGaps.map((_, k) => 2 ** (k - [...(revertedAfterRto ?? [])].filter((n) => n <= k).length));
  const bound = Math.floor(Math.min(...rtoGaps.map((gap, k) => gap / (factors[k] ?? 1))) / jiffyMs + 1e-9) * jiffyMs;
  const rtoMs = Math.max(minMs, bound);
  // The RTOs for which every gap k lies in [R·2^k − early − allowance, R·2^k + slack + allowance].
  const low = Math.max(...rtoGaps.map((gap, k) => (gap - timerSlackMs(gap, hz) - CAPTURE_ALLOWANCE_MS) / (factors[k] ?? 1)));
  const high = Math.min(...rtoGaps.map((gap, k) => (gap + timerEarlyMs(gap, hz) + CAPTURE_ALLOWANCE_MS) / (factors[k] ?? 1)));
  const fitting = Math.max(minMs, Math.ceil(low / jiffyMs - 1e-9) * jiffyMs);
  const latest = Math.max(fitting, Math.floor(high / jiffyMs + 1e-9) * jiffyMs);
  if (fitting <= high) return { rtoMs: fitting, latestRtoMs: latest, tlpAtMs, source: timingText((w) => w.rtoRange(fitting, latest)) };
  return {
    rtoMs,
    latestRtoMs: rtoMs,
    tlpAtMs,
    source: timingText((w) => (bound >= rtoMinMs ? w.rtoFromGaps : w.gapsBelowRtoMin(rtoMinMs))),
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}
