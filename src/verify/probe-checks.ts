import type { AgentEvent } from '../agent/protocol.js';
import { connTimerOptions, describeKeepalive } from '../analysis/conn-timer-options.js';
import { readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { estimatePersistRto, probeSeriesOf, type ProbeSeries } from '../analysis/probe-series.js';
import { hostOf, type RunHost, type RunRecord } from '../analysis/run-record.js';
import { findConnTuple, type SocketTuple } from '../analysis/run-sockets.js';
import type { ObservedGiveUp } from '../analysis/sampled-reads.js';
import { fitProbes, type ProbeFit } from '../analysis/timing-fit.js';
import type { Expectation } from '../lab/model.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS } from '../tcp/kernel-settings.js';
import { predictKeepaliveSchedule, predictPersistSchedule } from '../tcp/probe-timing.js';
import { USERSPACE_ERROR_LATENCY_MS } from '../tcp/timing-model.js';
import { exactTransitionsOf } from './exact-conformance.js';
import { segmentRefs, type Check, type Evidence } from './verdict.js';

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
  const name = `keepalive probes of ${host.name}/${expectation.conn} follow the Linux timing model`;
  const tuple = findConnTuple(host.events, expectation.conn);
  if (tuple === undefined) return noConnectionCheck(name, host, expectation.conn, KEEPALIVE_REFERENCE);
  const options = connTimerOptions(run, host.name, expectation.conn, portOf(tuple.local));
  const keepalive = options.keepalive;
  if (keepalive === undefined) {
    return {
      name,
      status: 'fail',
      expected: `SO_KEEPALIVE set on ${expectation.conn} (a keepalive option on its connect, listen or setsockopt step)`,
      observed: `no keepalive option reaches ${expectation.conn}${options.sources.length > 0 ? ` (${options.sources.join('; ')})` : ''}`,
      evidence: ['add options: { keepalive: { idle: 2s, interval: 1s, count: 3 } } to the step that makes the connection'],
      reference: KEEPALIVE_REFERENCE,
    };
  }
  const series = probeSeriesOf(host.segments, tuple, 'keepalive');
  if (series.probes.length === 0) return noProbesCheck(name, host, tuple, 'keepalive probes', KEEPALIVE_REFERENCE);
  const anchorUs = series.anchor?.timeUs ?? series.probes[0]?.timeUs ?? 0;
  const settings = { ...readHostKernelSettings(host).settings, userTimeoutMs: options.userTimeoutMs };
  const failure = errorOf(host, expectation.conn);
  const giveUp = observedGiveUp(host, tuple, series, failure, anchorUs);
  const probesMs = series.probes.map((p) => (p.timeUs - anchorUs) / 1000);
  const answered = (k: number): boolean => series.probes[k]?.answeredByFrame !== undefined;
  const horizonMs = horizonOf(run, anchorUs, undefined);
  const fit = fitProbes(
    (o) => predictKeepaliveSchedule(keepalive, settings, { ...o, answered, horizonMs }),
    probesMs,
    giveUp,
    settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz,
  );
  const problems = [...fit.problems];
  const predicted = fit.schedule.giveUp;
  if (predicted !== undefined && giveUp !== undefined) {
    if (series.rstAfter === undefined) problems.push('no RST after the last probe (a keepalive give-up sends one: tcp_send_active_reset())');
    if (failure === undefined) problems.push('the application saw no error (expected ETIMEDOUT)');
    else if (failure.code !== 'ETIMEDOUT') problems.push(`the application saw ${failure.code}, expected ETIMEDOUT`);
  }
  const end =
    predicted === undefined
      ? 'no give-up before the end of the last step'
      : `RST and ETIMEDOUT at ${seconds(predicted.atMs)} s (${predicted.reason === 'user-timeout' ? 'TCP_USER_TIMEOUT' : 'TCP_KEEPCNT'} reached)`;
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${fit.schedule.probesMs.length} probes at ${offsets(fit.schedule.probesMs)} s after the last segment received; ${end}`,
    observed:
      `${probesMs.length} probes at ${offsets(probesMs)} s (${series.probes.filter((p) => p.answeredByFrame !== undefined).length} answered); ` +
      (giveUp === undefined ? 'no give-up' : `gave up ${describeGiveUp(giveUp)}`) +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence: [
      anchorLine(host, series, 'the last segment received before the first probe (keepalive idleness counts from it)'),
      ...itemLines(fit, host, series),
      `keepalive ${describeKeepalive(keepalive)}; user_timeout ${options.userTimeoutMs === undefined ? 'not set' : `${options.userTimeoutMs} ms`} (${options.sources.join('; ')})`,
      hzLine(settings.hz),
    ],
    refs: probeRefs(host.name, anchorUs, series, fit, 'keepalive'),
    reference: KEEPALIVE_REFERENCE,
  };
}

/** Zero-window probes of a connection (backoff from the RTO) and their end, vs predictPersistSchedule() under the lab's options. */
export function checkPersistProbes(expectation: PersistExpectation, run: RunRecord): Check {
  const host = hostOf(run, expectation.host);
  const name = `zero-window probes of ${host.name}/${expectation.conn} follow the Linux timing model`;
  const tuple = findConnTuple(host.events, expectation.conn);
  if (tuple === undefined) return noConnectionCheck(name, host, expectation.conn, PERSIST_REFERENCE);
  const series = probeSeriesOf(host.segments, tuple, 'zero-window probe');
  if (series.probes.length === 0) return noProbesCheck(name, host, tuple, 'zero-window probes', PERSIST_REFERENCE);
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
  const horizonMs = horizonOf(run, anchorUs, series.windowOpened?.timeUs);
  const fit = fitProbes((o) => predictPersistSchedule({ rtoMs: rto.rtoMs }, settings, { ...o, answered, horizonMs }), probesMs, giveUp, hz);
  const problems = [...fit.problems];
  const predicted = fit.schedule.giveUp;
  if (predicted !== undefined && giveUp !== undefined) {
    if (series.rstAfter !== undefined) problems.push(`a RST (#${series.rstAfter.frame}) after the probes (a persist give-up sends none: tcp_write_err())`);
    if (failure !== undefined && failure.code !== 'ETIMEDOUT') problems.push(`the application saw ${failure.code}, expected ETIMEDOUT`);
  }
  const reasonWords = { 'user-timeout': 'TCP_USER_TIMEOUT since the first probe', 'tcp-retries2': 'tcp_retries2 unanswered probes', 'keepalive-count': '' };
  const end =
    predicted === undefined
      ? series.windowOpened !== undefined
        ? `probing until the peer opened its window (#${series.windowOpened.frame})`
        : 'probing until the run ended'
      : `ETIMEDOUT without a RST at ${seconds(predicted.atMs)} s (${reasonWords[predicted.reason]})`;
  return {
    name,
    status: problems.length === 0 ? 'pass' : 'fail',
    expected: `${fit.schedule.probesMs.length} probes at ${offsets(fit.schedule.probesMs)} s after the window closed (intervals ${offsets(fit.schedule.intervalsMs)} s); ${end}`,
    observed:
      `${probesMs.length} probes at ${offsets(probesMs)} s (${series.probes.filter((p) => p.answeredByFrame !== undefined).length} answered); ` +
      (giveUp === undefined
        ? series.windowOpened !== undefined
          ? `window opened at ${seconds((series.windowOpened.timeUs - anchorUs) / 1000)} s`
          : 'no give-up'
        : `gave up ${describeGiveUp(giveUp)}`) +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''),
    evidence: [
      anchorLine(host, series, `the peer's last ACK before the first probe (window ${series.anchor?.window ?? '?'}; it arms the persist timer)`),
      ...itemLines(fit, host, series),
      `probe0 base max(RTO, TCP_RTO_MIN) = ${rto.rtoMs} ms (${rto.source}); tcp_retries2=${retries2}; user_timeout ${options.userTimeoutMs === undefined ? 'not set' : `${options.userTimeoutMs} ms`}`,
      hzLine(settings.hz),
    ],
    refs: probeRefs(host.name, anchorUs, series, fit, 'zero-window probe'),
    reference: PERSIST_REFERENCE,
  };
}

function errorOf(host: RunHost, conn: string): Extract<AgentEvent, { type: 'error' }> | undefined {
  return host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
}

/** The give-up: the RST in the capture, else the kernel's exact → CLOSED, else ETIMEDOUT in user space (its latency bound). */
function observedGiveUp(
  host: RunHost,
  tuple: SocketTuple,
  series: ProbeSeries,
  failure: Extract<AgentEvent, { type: 'error' }> | undefined,
  anchorUs: number,
): ObservedGiveUp | undefined {
  if (series.rstAfter !== undefined) {
    const atMs = (series.rstAfter.timeUs - anchorUs) / 1000;
    return { afterMs: atMs, byMs: atMs, source: `${host.name} capture #${series.rstAfter.frame} (RST)` };
  }
  const exact = exactTransitionsOf(host, tuple.local, tuple.remote).find((t) => t.to === 'CLOSED');
  if (exact !== undefined) {
    const atMs = (exact.timeUs - anchorUs) / 1000;
    return { afterMs: atMs, byMs: atMs, source: `kernel ${exact.from} → CLOSED (kernel-trace.txt line ${exact.line})` };
  }
  if (failure === undefined) return undefined;
  const byMs = (failure.timeUs - anchorUs) / 1000;
  return {
    afterMs: byMs - USERSPACE_ERROR_LATENCY_MS,
    byMs,
    source: `agent error event ${failure.code}`,
    afterSource: `${USERSPACE_ERROR_LATENCY_MS} ms before it (user-space delivery latency bound)`,
    why: 'an error seen in user space comes after the kernel gave up, by at most the user-space delivery latency bound',
  };
}

/** How far the prediction goes: the end of the last step, or an earlier window opening. */
function horizonOf(run: RunRecord, anchorUs: number, windowOpenedUs: number | undefined): number {
  const lastStepEndUs = Math.max(...run.steps.map((s) => s.endUs), anchorUs);
  return (Math.min(lastStepEndUs, windowOpenedUs ?? Number.POSITIVE_INFINITY) - anchorUs) / 1000;
}

function anchorLine(host: RunHost, series: ProbeSeries, what: string): string {
  return series.anchor === undefined
    ? `no segment received before the first probe: the first probe is the anchor`
    : `anchor: ${host.name} capture #${series.anchor.frame}, ${what}`;
}

function itemLines(fit: ProbeFit, host: RunHost, series: ProbeSeries): string[] {
  return fit.items.map((item) => {
    const probe = item.what === 'probe' ? series.probes[item.index] : undefined;
    const label = item.what === 'give-up' ? 'give-up' : `probe ${item.index + 1}`;
    const where =
      probe === undefined
        ? ''
        : ` (${host.name} capture #${probe.frame}${probe.answeredByFrame === undefined ? ', unanswered' : `, answered by #${probe.answeredByFrame}`})`;
    const window = item.earliestMs === undefined ? '' : `, window ${seconds(item.earliestMs)}–${seconds(item.latestMs ?? 0)} s`;
    const expected = item.expectedMs === undefined ? 'not in the model' : `expected ${seconds(item.expectedMs)} s${window}`;
    return `${label}: ${expected}; observed ${item.observedMs === undefined ? 'nothing' : `${seconds(item.observedMs)} s`}${where} — ${item.verdict}`;
  });
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

function noConnectionCheck(name: string, host: RunHost, conn: string, reference: string): Check {
  const known = [...new Set(host.events.flatMap((e) => ('conn' in e && typeof e.conn === 'string' ? [e.conn] : [])))];
  return {
    name,
    status: 'fail',
    expected: `a connection ${conn} on ${host.name}`,
    observed: `no connection ${conn}: ${host.name}'s connections were ${known.join(', ') || '(none)'}`,
    evidence: [],
    reference,
  };
}

function noProbesCheck(name: string, host: RunHost, tuple: SocketTuple, what: string, reference: string): Check {
  return {
    name,
    status: 'fail',
    expected: `${what} from ${host.name} on ${tuple.local} → ${tuple.remote}`,
    observed: `no ${what} from ${tuple.local} in ${host.name}'s capture (${host.segments.length} TCP segments)`,
    evidence: [],
    reference,
  };
}

function portOf(endpoint: string): number | undefined {
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  return Number.isInteger(port) ? port : undefined;
}

function describeGiveUp(giveUp: ObservedGiveUp): string {
  return giveUp.afterMs === giveUp.byMs
    ? `at ${seconds(giveUp.byMs)} s`
    : `between ${seconds(giveUp.afterMs)} and ${seconds(giveUp.byMs)} s (seen in user space)`;
}

function hzLine(hz: number | undefined): string {
  return `HZ=${hz ?? DEFAULT_KERNEL_SETTINGS.hz}${hz === undefined ? ' (not recorded, model default)' : ''}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function offsets(values: readonly number[]): string {
  return values.map((ms) => String(Number((ms / 1000).toFixed(3)))).join(', ') || '(none)';
}
