import type { RunHost } from '../analysis/run-record.js';
import type { SocketTuple } from '../analysis/run-sockets.js';
import type { ObservedGiveUp } from '../analysis/sampled-reads.js';
import type { FinRtoEstimate, ObservedSend, ScheduleFit } from '../analysis/timing-fit.js';
import type { IcmpDuringSeries } from '../analysis/icmp-during-series.js';
import { DEFAULT_KERNEL_SETTINGS, type KernelSettings } from '../tcp/kernel-settings.js';
import { segmentRefs, textCheck, type Check, type Evidence } from './verdict.js';
import { TIMING_WORDS, timingText, type SentKind, type TimingWords } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/* The evidence lines of the timing checks (timing-checks.ts): each fitted item, the model's windows, the RTO and settings used. */

export function dueSends(fit: ScheduleFit): number[] {
  return fit.items
    .slice(0, fit.schedule.sends.length)
    .filter((item) => item.verdict !== 'not-due')
    .map((item) => item.expectedMs ?? 0);
}

export function describeItems(
  fit: ScheduleFit,
  host: string,
  kind: SentKind,
  giveUp: ObservedGiveUp<Text> | undefined,
  giveUpLabel: (w: TimingWords) => string,
): Text[] {
  const { items, slotSends } = fit;
  return items.map((item) =>
    timingText((w, lang) => {
      const isGiveUp = item.index === items.length - 1;
      const label = isGiveUp ? giveUpLabel(w) : w.segmentItem(kind, item.index);
      const window = item.earliestMs === undefined ? '' : w.window(seconds(item.earliestMs), seconds(item.latestMs ?? 0));
      const expected = seconds(item.expectedMs ?? 0);
      if (isGiveUp && giveUp !== undefined && giveUp.afterMs !== giveUp.byMs) {
        const interval = {
          after: seconds(giveUp.afterMs),
          afterSource: giveUp.afterSource?.[lang] ?? w.lastEvidence,
          by: seconds(giveUp.byMs),
          source: giveUp.source[lang],
          why: giveUp.why?.[lang] ?? w.sampledWhy,
        };
        return w.intervalItemLine(label, expected, window, interval, item.verdict);
      }
      const send = slotSends[item.index];
      const seen = send === undefined ? w.notInCapture : send.fireOnly ? w.fireOnly : w.captureFrame(host, send.frame);
      const late = send?.timerLateMs === undefined ? '' : w.timerRanLate(send.timerLateMs);
      const where = isGiveUp ? (giveUp?.source[lang] ?? w.notObserved) : seen + late;
      return w.itemLine(label, expected, window, item.observedMs === undefined ? undefined : seconds(item.observedMs), where, item.verdict);
    }),
  );
}

/** Typed evidence of a fit: each observed send's frame and the model's window for every item. */
export function fitRefs(host: string, firstUs: number, fit: ScheduleFit, kind: SentKind): Evidence[] {
  const what = TIMING_WORDS.en.segment(kind);
  const refs: Evidence[] = segmentRefs(host, [
    ...fit.slotSends.flatMap((s) => (s === undefined || s.fireOnly ? [] : [s.frame])),
    ...fit.extra.map((s) => s.frame),
  ]);
  for (const item of fit.items) {
    if (item.earliestMs === undefined || item.latestMs === undefined) continue;
    const label = item.index === fit.schedule.sends.length ? `${host} gives up (${what})` : `${what} ${item.index + 1} from ${host}`;
    refs.push({ kind: 'prediction', what: label, earliestUs: firstUs + item.earliestMs * 1000, latestUs: firstUs + item.latestMs * 1000 });
  }
  return refs;
}

/** One evidence line per observed send the model does not have. */
export function extraLines(fit: ScheduleFit, host: string, kind: SentKind): Text[] {
  return fit.extra.map((send) => timingText((w) => w.extraLine(host, send.frame, kind, seconds(send.offsetMs), fit.schedule.sends.length)));
}

/** The RTO the fit took, and how the estimate was made. */
export function rtoLine(rtoMs: number, estimate: FinRtoEstimate): Text {
  const tlpAt = estimate.tlpAtMs === undefined ? undefined : seconds(estimate.tlpAtMs);
  return timingText((w, lang) => w.rtoLine(rtoMs, estimate.source[lang], tlpAt));
}

/** The ICMP errors from the peer during the series (icmpDuringSeries()): the soft error they leave (`withSoftError`), the RTO doublings they undid. */
export function icmpLines(icmp: IcmpDuringSeries, withSoftError: boolean): Text[] {
  const { softErrorLine, revertLine, zh } = icmp;
  return [
    ...(withSoftError && softErrorLine !== undefined ? [{ en: softErrorLine, zh: zh?.softErrorLine ?? softErrorLine }] : []),
    ...(revertLine !== undefined ? [{ en: revertLine, zh: zh?.revertLine ?? revertLine }] : []),
  ];
}

export function missingSettingsCheck(name: Text, host: RunHost, missing: readonly string[], reference: string): Check {
  return textCheck({
    name,
    status: 'fail',
    expected: timingText((w) => w.missingExpected(missing)),
    observed: timingText((w) => w.missingObserved(host.name, missing)),
    evidence: [timingText((w) => w.missingFix)],
    reference,
  });
}

export function noSendsCheck(name: Text, host: RunHost, tuple: SocketTuple | undefined, kind: SentKind, reference: string): Check {
  const addresses = [host.address, ...(host.address6 !== undefined ? [host.address6] : [])];
  return textCheck({
    name,
    status: 'fail',
    expected: timingText((w) => w.noSendsExpected(kind, host.name, tuple)),
    observed: timingText((w) => w.noSendsObserved(kind, host.name, addresses, host.segments.length)),
    evidence: [],
    reference,
  });
}

export function hzOf(settings: Partial<KernelSettings>): number {
  return settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz;
}

export function settingsLine(settings: Partial<KernelSettings>, names: readonly (keyof KernelSettings)[]): Text {
  const values = names.map((name) => ({
    name,
    recorded: settings[name] === undefined ? undefined : String(settings[name]),
    fallback: String(DEFAULT_KERNEL_SETTINGS[name]),
  }));
  return timingText((w) => w.settingsLine(values, hzOf(settings)));
}

export function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** `3 FINs at 0, 0.2, 0.6 s`, and how many of them were fires that sent nothing (the last copy still queued in the host). */
export function observedSends(w: TimingWords, kind: SentKind, sends: readonly ObservedSend[]): string {
  const queued = sends.filter((s) => s.fireOnly === true).length;
  return w.sends(kind, sends.length, formatOffsets(sends.map((s) => s.offsetMs))) + (queued > 0 ? w.queuedNote(queued) : '');
}

export function formatOffsets(offsetsMs: readonly number[]): string {
  return offsetsMs.map((ms) => String(Number((ms / 1000).toFixed(3)))).join(', ');
}
