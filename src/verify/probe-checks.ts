import { portOf } from '../analysis/socket-timeline.js';
import type { AgentEvent } from '../agent/protocol.js';
import { connTimerOptions } from '../analysis/conn-timer-options.js';
import { readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { estimatePersistRto, probeSeriesOf, type ProbeSeries } from '../analysis/probe-series.js';
import { hostOf, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { findConnTuple, type SocketTuple } from '../analysis/run-sockets.js';
import type { ObservedGiveUp } from '../analysis/sampled-reads.js';
import { fitProbes, type ProbeFit } from '../analysis/timing-fit.js';
import type { Expectation } from '../lab/model.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS } from '../tcp/kernel-settings.js';
import { predictKeepaliveSchedule, predictPersistSchedule } from '../tcp/probe-timing.js';
import { USERSPACE_ERROR_LATENCY_MS } from '../tcp/timing-model.js';
import { exactTransitionsOf } from './exact-conformance.js';
import { segmentRefs, textCheck, type Check, type Evidence } from './verdict.js';
import { timingText, type TimingWords } from '../messages/check-words/timing-words.js';
import type { ProbeKindWords } from '../messages/check-words/probe-words.js';
import type { Text } from '../messages/text.js';

/*
 * Probe checks: a connection's keepalive or zero-window probes, read from the prober's own capture
 * (analysis/probe-series.ts), against the Linux probe timers (tcp/probe-timing.ts) under the options the
 * lab set on that connection (analysis/conn-timer-options.ts) and the host's recorded sysctls. The policy
 * is the retransmission checks' (fitProbes(): windows anchored at the previous observed probe; timers
 * early by at most timerEarlyMs(), late by at most the wheel's slack, plus the capture allowance; the on-time and the
 * late-timer prediction both tried). The timer's anchor is the last segment the socket received before
 * its first probe; the prediction stops at the end of the last step (or when the peer opened its window).
 * The give-up is the keepalive's RST in the capture (an instant), else the kernel's exact → CLOSED, else the
 * application's ETIMEDOUT with the user-space delivery bound.
 */

const KEEPALIVE_REFERENCE = 'tcp_timer.c tcp_keepalive_timer(), keepalive_time_elapsed(); tcp_output.c tcp_write_wakeup(), tcp_xmit_probe_skb()';
const PERSIST_REFERENCE = 'tcp_timer.c tcp_probe_timer(); tcp_output.c tcp_send_probe0(), tcp_probe0_when(); tcp_input.c tcp_ack_probe()';

type KeepaliveExpectation = Extract<Expectation, { kind: 'keepalive-probes' }>;
type PersistExpectation = Extract<Expectation, { kind: 'persist-probes' }>;

/** Keepalive probes of a connection and its give-up (RST + ETIMEDOUT), vs predictKeepaliveSchedule() under the lab's options. */
export function checkKeepaliveProbes(expectation: KeepaliveExpectation, run: RunRecord): Check {
  const host = hostOf(run, expectation.host);
  const name = timingText((w) => w.keepaliveName(`${host.name}/${expectation.conn}`));
  const tuple = findConnTuple(host.events, expectation.conn);
  if (tuple === undefined) return noConnectionCheck(name, host, expectation.conn, KEEPALIVE_REFERENCE);
  const options = connTimerOptions(run, host.name, expectation.conn, portOf(tuple.local));
  const keepalive = options.keepalive;
  if (keepalive === undefined) {
    return textCheck({
      name,
      status: 'fail',
      expected: timingText((w) => w.keepaliveNotSet(expectation.conn)),
      observed: timingText((w) =>
        w.noKeepaliveReaches(
          expectation.conn,
          options.sources.map((s) => w.optionSource(s)),
        ),
      ),
      evidence: [timingText((w) => w.keepaliveFix)],
      reference: KEEPALIVE_REFERENCE,
    });
  }
  const series = probeSeriesOf(host.segments, tuple, 'keepalive');
  if (series.probes.length === 0) return noProbesCheck(name, host, tuple, 'keepalive', KEEPALIVE_REFERENCE);
  const anchorUs = series.anchor?.timeUs ?? series.probes[0]?.timeUs ?? 0;
  const settings = { ...readHostKernelSettings(host).settings, userTimeoutMs: options.userTimeoutMs };
  const failure = errorOf(host, expectation.conn);
  const giveUp = observedGiveUp(host, tuple, series, failure, anchorUs);
  const probesMs = series.probes.map((p) => (p.timeUs - anchorUs) / 1000);
  const answered = (k: number): boolean => series.probes[k]?.answeredByFrame !== undefined;
  const horizonMs = horizonOf(run, anchorUs, series.resetBy?.timeUs);
  const fit = fitProbes(
    (o) => predictKeepaliveSchedule(keepalive, settings, { ...o, answered, horizonMs }),
    probesMs,
    giveUp,
    settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz,
  );
  const problems = [...fit.departures];
  const predicted = fit.schedule.giveUp;
  if (predicted !== undefined && giveUp !== undefined) {
    if (series.rstAfter === undefined) problems.push(timingText((w) => w.noRstAfterProbes));
    if (failure === undefined) problems.push(timingText((w) => w.sawNoError('ETIMEDOUT')));
    else if (failure.code !== 'ETIMEDOUT') problems.push(timingText((w) => w.sawInstead(failure.code, 'ETIMEDOUT')));
  }
  problems.push(...resetProblems(series, failure));
  const answeredCount = series.probes.filter((p) => p.answeredByFrame !== undefined).length;
  return textCheck({
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: timingText((w) =>
      w.keepaliveExpected(
        fit.schedule.probesMs.length,
        offsets(w, fit.schedule.probesMs),
        predicted === undefined ? w.keepaliveNoGiveUp : w.keepaliveGiveUp(seconds(predicted.atMs), predicted.reason === 'user-timeout'),
      ),
    ),
    observed: timingText(
      (w, lang) =>
        w.probesObserved(probesMs.length, offsets(w, probesMs), answeredCount) +
        w.clause +
        (giveUp === undefined ? w.noGiveUp : w.gaveUp(giveUpTime(w, giveUp))) +
        w.departures(problems.map((p) => p[lang])),
    ),
    evidence: [
      anchorLine(host, series, (w) => w.keepaliveAnchor),
      ...itemLines(fit, host, series),
      ...resetLines(series),
      timingText((w) =>
        w.keepaliveLine(
          w.keepaliveValues(keepalive),
          options.userTimeoutMs,
          options.sources.map((s) => w.optionSource(s)),
        ),
      ),
      hzLine(settings.hz),
    ],
    refs: probeRefs(host.name, anchorUs, series, fit, 'keepalive'),
    reference: KEEPALIVE_REFERENCE,
  });
}

/** Zero-window probes of a connection (backoff from the RTO) and their end, vs predictPersistSchedule() under the lab's options. */
export function checkPersistProbes(expectation: PersistExpectation, run: RunRecord): Check {
  const host = hostOf(run, expectation.host);
  const name = timingText((w) => w.persistName(`${host.name}/${expectation.conn}`));
  const tuple = findConnTuple(host.events, expectation.conn);
  if (tuple === undefined) return noConnectionCheck(name, host, expectation.conn, PERSIST_REFERENCE);
  const series = probeSeriesOf(host.segments, tuple, 'zero-window probe');
  if (series.probes.length === 0) return noProbesCheck(name, host, tuple, 'zero-window probe', PERSIST_REFERENCE);
  const options = connTimerOptions(run, host.name, expectation.conn, portOf(tuple.local));
  const recorded = readHostKernelSettings(host);
  const settings = { ...recorded.settings, userTimeoutMs: options.userTimeoutMs };
  const retries2 = settings.tcp_retries2 ?? DEFAULT_KERNEL_SETTINGS.tcp_retries2;
  const hz = settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz;
  const anchorUs = series.anchor?.timeUs ?? series.probes[0]?.timeUs ?? 0;
  const probesMs = series.probes.map((p) => (p.timeUs - anchorUs) / 1000);
  const rto = estimatePersistRto(probesMs, retries2, settings.tcp_rto_max_ms ?? LINUX_TCP_CONSTANTS.TCP_RTO_MAX_MS, recorded.rtoMinMs ?? 200, hz);
  const failure = errorOf(host, expectation.conn);
  const giveUp = observedGiveUp(host, tuple, series, failure, anchorUs);
  const answered = (k: number): boolean => series.probes[k]?.answeredByFrame !== undefined;
  const horizonMs = horizonOf(run, anchorUs, Math.min(series.windowOpened?.timeUs ?? Infinity, series.resetBy?.timeUs ?? Infinity));
  const fit = fitProbes((o) => predictPersistSchedule({ rtoMs: rto.rtoMs }, settings, { ...o, answered, horizonMs }), probesMs, giveUp, hz);
  const problems = [...fit.departures];
  const predicted = fit.schedule.giveUp;
  if (predicted !== undefined && giveUp !== undefined) {
    const rst = series.rstAfter;
    if (rst !== undefined) problems.push(timingText((w) => w.rstAfterProbes(rst.frame)));
    if (failure !== undefined && failure.code !== 'ETIMEDOUT') problems.push(timingText((w) => w.sawInstead(failure.code, 'ETIMEDOUT')));
  }
  problems.push(...resetProblems(series, failure));
  const opened = series.windowOpened;
  const answeredCount = series.probes.filter((p) => p.answeredByFrame !== undefined).length;
  return textCheck({
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: timingText((w) =>
      w.persistExpected(
        fit.schedule.probesMs.length,
        offsets(w, fit.schedule.probesMs),
        offsets(w, fit.schedule.intervalsMs),
        predicted === undefined
          ? opened !== undefined
            ? w.probingUntilOpened(opened.frame)
            : w.probingUntilEnd
          : w.persistGiveUp(seconds(predicted.atMs), w.persistReason(predicted.reason)),
      ),
    ),
    observed: timingText(
      (w, lang) =>
        w.probesObserved(probesMs.length, offsets(w, probesMs), answeredCount) +
        w.clause +
        (giveUp === undefined
          ? opened !== undefined
            ? w.windowOpenedAt(seconds((opened.timeUs - anchorUs) / 1000))
            : w.noGiveUp
          : w.gaveUp(giveUpTime(w, giveUp))) +
        w.departures(problems.map((p) => p[lang])),
    ),
    evidence: [
      anchorLine(host, series, (w) => w.persistAnchor(String(series.anchor?.window ?? '?'))),
      ...itemLines(fit, host, series),
      ...resetLines(series),
      timingText((w, lang) => w.probe0Line(rto.rtoMs, rto.source[lang], retries2, options.userTimeoutMs)),
      hzLine(settings.hz),
    ],
    refs: probeRefs(host.name, anchorUs, series, fit, 'zero-window probe'),
    reference: PERSIST_REFERENCE,
  });
}

function errorOf(host: RunHost, conn: string): Extract<AgentEvent, { type: 'error' }> | undefined {
  return host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
}

/** What a peer's RST that ends the probes requires: the application saw ECONNRESET (or nothing yet). */
function resetProblems(series: ProbeSeries, failure: Extract<AgentEvent, { type: 'error' }> | undefined): Text[] {
  if (series.resetBy === undefined || failure === undefined || failure.code === 'ECONNRESET') return [];
  const code = failure.code;
  return [timingText((w) => w.resetNotSeen(code))];
}

function resetLines(series: ProbeSeries): Text[] {
  const reset = series.resetBy;
  return reset === undefined ? [] : [timingText((w) => w.resetByPeer(reset.frame))];
}

/**
 * The give-up: the RST in the capture, else the kernel's exact → CLOSED, else ETIMEDOUT in user space (its latency bound).
 * None when the peer's RST (series.resetBy) came first: the socket closed by that reset, not by its timer.
 */
function observedGiveUp(
  host: RunHost,
  tuple: SocketTuple,
  series: ProbeSeries,
  failure: Extract<AgentEvent, { type: 'error' }> | undefined,
  anchorUs: number,
): ObservedGiveUp<Text> | undefined {
  const rst = series.rstAfter;
  const exact = exactTransitionsOf(host, tuple.local, tuple.remote).find((t) => t.to === 'CLOSED');
  const reset = series.resetBy;
  if (reset !== undefined && (rst === undefined || rst.timeUs >= reset.timeUs) && (exact === undefined || exact.timeUs >= reset.timeUs)) return undefined;
  if (rst !== undefined) {
    const atMs = (rst.timeUs - anchorUs) / 1000;
    return { afterMs: atMs, byMs: atMs, source: timingText((w) => w.rstGiveUp(host.name, rst.frame)) };
  }
  if (exact !== undefined) {
    const atMs = (exact.timeUs - anchorUs) / 1000;
    return { afterMs: atMs, byMs: atMs, source: timingText((w) => w.kernelClose(exact.from, exact.line, false)) };
  }
  if (failure === undefined) return undefined;
  const byMs = (failure.timeUs - anchorUs) / 1000;
  return {
    afterMs: byMs - USERSPACE_ERROR_LATENCY_MS,
    byMs,
    source: timingText((w) => w.agentError(failure.code)),
    afterSource: timingText((w) => w.latencyBefore(USERSPACE_ERROR_LATENCY_MS, false)),
    why: timingText((w) => w.latencyWhy),
  };
}

/** How far the prediction goes: the end of the last step, or an earlier window opening. */
function horizonOf(run: RunRecord, anchorUs: number, windowOpenedUs: number | undefined): number {
  const lastStepEndUs = Math.max(stepsEndUs(run), anchorUs);
  return (Math.min(lastStepEndUs, windowOpenedUs ?? Number.POSITIVE_INFINITY) - anchorUs) / 1000;
}

function anchorLine(host: RunHost, series: ProbeSeries, what: (w: TimingWords) => string): Text {
  const anchor = series.anchor;
  return timingText((w) => (anchor === undefined ? w.anchorNone : w.anchor(host.name, anchor.frame, what(w))));
}

function itemLines(fit: ProbeFit, host: RunHost, series: ProbeSeries): Text[] {
  return fit.items.map((item) =>
    timingText((w) => {
      const probe = item.what === 'probe' ? series.probes[item.index] : undefined;
      const label = w.probeLabel(item.what === 'give-up' ? undefined : item.index);
      const where = probe === undefined ? '' : w.probeWhere(host.name, probe.frame, probe.answeredByFrame);
      const window = item.earliestMs === undefined ? '' : w.window(seconds(item.earliestMs), seconds(item.latestMs ?? 0));
      const expected = item.expectedMs === undefined ? undefined : seconds(item.expectedMs);
      const observed = item.observedMs === undefined ? undefined : seconds(item.observedMs);
      return w.probeItemLine(label, expected, window, observed, where, w.verdict(item.verdict));
    }),
  );
}

function probeRefs(host: string, anchorUs: number, series: ProbeSeries, fit: ProbeFit, what: string): Evidence[] {
  const frames = [
    ...(series.anchor === undefined ? [] : [series.anchor.frame]),
    ...series.probes.map((p) => p.frame),
    ...(series.rstAfter === undefined ? [] : [series.rstAfter.frame]),
  ];
  const refs: Evidence[] = segmentRefs(host, frames);
  for (const item of fit.items) {
    if (item.earliestMs === undefined || item.latestMs === undefined) continue;
    const label = item.what === 'give-up' ? `${host} gives up (${what})` : `${what} ${item.index + 1} from ${host}`;
    refs.push({ kind: 'prediction', what: label, earliestUs: anchorUs + item.earliestMs * 1000, latestUs: anchorUs + item.latestMs * 1000 });
  }
  return refs;
}

function noConnectionCheck(name: Text, host: RunHost, conn: string, reference: string): Check {
  const known = [...new Set(host.events.flatMap((e) => ('conn' in e && typeof e.conn === 'string' ? [e.conn] : [])))];
  return textCheck({
    name,
    status: 'fail',
    expected: timingText((w) => w.noConnectionExpected(conn, host.name)),
    observed: timingText((w) => w.noConnectionObserved(conn, host.name, known)),
    evidence: [],
    reference,
  });
}

function noProbesCheck(name: Text, host: RunHost, tuple: SocketTuple, kind: ProbeKindWords, reference: string): Check {
  return textCheck({
    name,
    status: 'fail',
    expected: timingText((w) => w.noProbesExpected(kind, host.name, tuple.local, tuple.remote)),
    observed: timingText((w) => w.noProbesObserved(kind, host.name, tuple.local, host.segments.length)),
    evidence: [],
    reference,
  });
}

/** `at 6.828 s` or `between 6.808 and 6.828 s (seen in user space)`, in the words `w`. */
function giveUpTime(w: TimingWords, giveUp: ObservedGiveUp): string {
  return giveUp.afterMs === giveUp.byMs ? w.giveUpAt(seconds(giveUp.byMs)) : w.giveUpInUserSpace(seconds(giveUp.afterMs), seconds(giveUp.byMs));
}

function hzLine(hz: number | undefined): Text {
  return timingText((w) => w.hzLine(hz ?? DEFAULT_KERNEL_SETTINGS.hz, hz !== undefined));
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** `0, 2, 3` (seconds), or that there are none, in the words `w`. */
function offsets(w: TimingWords, values: readonly number[]): string {
  return w.offsetsOrNone(values.map((ms) => String(Number((ms / 1000).toFixed(3)))).join(', '));
}
