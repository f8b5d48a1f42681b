import { hostAnalysisOf } from '../../analysis/analyze-run.js';
import { missingSettings } from '../../analysis/host-kernel-settings.js';
import { REJECT_REPLY_WINDOW_US } from '../../analysis/rule-timeline.js';
import type { RunHost, RunRecord } from '../../analysis/run-record.js';
import { findConnTuple, segmentEndpoints, type SocketTuple } from '../../analysis/run-sockets.js';
import { kindOf, type SegmentKind } from '../../analysis/segment-kind.js';
import { estimateFinRto, fitRetransmissions } from '../../analysis/timing-fit.js';
import { assertNever } from '../../assert-never.js';
import { TcpFlag } from '../../observe/packet.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS, type KernelSettings } from '../../tcp/kernel-settings.js';
import { parseTcpState } from '../../tcp/state.js';
import {
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  scheduleTimeline,
  type FailReason,
  type RetransmissionSchedule,
  type ScheduleItemCheck,
} from '../../tcp/timing-model.js';
import type { LadderArrow } from '../ladder-model.js';
import { formatDuration, formatRelativeSeconds } from '../time-format.js';
import { fateOf, hostOf, joinParts, line, plural, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

/*
 * Transmissions and the timing model. Segments that occupy sequence space are grouped into series of
 * copies (the ladder's retransmission key, so `#k` here is the ladder's copy k). A series that was
 * retransmitted or never answered is fitted to its model by the run analysis' one fitter
 * (analysis/timing-fit.ts fitRetransmissions(), as the timing checks are); SYN-ACKs that answer a SYN are
 * the analysis' (analysis/syn-ack-replies.ts). "The model predicts the next at" is the observed send plus
 * the model's next interval.
 */

interface Series {
  readonly kind: SegmentKind;
  readonly from: string;
  readonly to: string;
  readonly tuple: SocketTuple;
  readonly copies: readonly LadderArrow[];
}

function groupSeries(arrows: readonly LadderArrow[]): Series[] {
  const byKey = new Map<string, LadderArrow[]>();
  for (const arrow of arrows) {
    const s = arrow.segment;
    const occupies = s.payloadLength > 0 || (s.flags & (TcpFlag.SYN | TcpFlag.FIN)) !== 0;
    // The ladder's retransmission key, so that copy numbers agree with the diagram.
    const key = occupies ? `${s.src}:${s.srcPort}>${s.dst}:${s.dstPort}|${s.seq}|${s.flags}|${s.payloadLength}` : arrow.id;
    const list = byKey.get(key) ?? [];
    list.push(arrow);
    byKey.set(key, list);
  }
  return [...byKey.values()].map((copies) => {
    const first = copies[0] as LadderArrow;
    const ends = segmentEndpoints(first.segment);
    return { kind: kindOf(first.segment.flags, first.segment.payloadLength), from: first.from, to: first.to, tuple: { local: ends.src, remote: ends.dst }, copies };
  });
}

function whatOf(series: Series): Text {
  switch (series.kind) {
    case 'SYN':
    case 'SYN-ACK':
    case 'FIN':
    case 'RST':
    case 'ACK':
      return { en: series.kind, zh: series.kind };
    case 'data': {
      const bytes = series.copies[0]?.segment.payloadLength ?? 0;
      return { en: `data (${bytes} bytes)`, zh: `数据（${bytes} 字节）` };
    }
    case 'none':
      return { en: 'segment', zh: '报文段' };
    default:
      return assertNever(series.kind);
  }
}

/** The first delivered segment of the peer on the reverse tuple that acknowledges the series (or resets it), after its first copy. */
function findAnswer(series: Series, arrows: readonly LadderArrow[]): LadderArrow | undefined {
  const first = series.copies[0] as LadderArrow;
  const s = first.segment;
  const end = (s.seq + s.payloadLength + ((s.flags & TcpFlag.SYN) !== 0 ? 1 : 0) + ((s.flags & TcpFlag.FIN) !== 0 ? 1 : 0)) >>> 0;
  return arrows.find((a) => {
    if (a.fate.kind !== 'delivered' || a.from !== series.to || a.to !== series.from) return false;
    const r = a.segment;
    if (r.src !== s.dst || r.srcPort !== s.dstPort || r.dst !== s.src || r.dstPort !== s.srcPort) return false;
    if ((a.arriveUs ?? timeOfArrow(a)) < timeOfArrow(first)) return false;
    if ((r.flags & TcpFlag.RST) !== 0) return true;
    return (r.flags & TcpFlag.ACK) !== 0 && ((r.ack - end) | 0) >= 0;
  });
}

export type ModelKind = 'SYN' | 'SYN-ACK' | 'FIN';

/** What the timing commentary learnt per modelled series (`<kind>|<host>`), for the failed-check lines. */
export interface SeriesNotes {
  /** Series where the commentary found a departure (their failed timing check is not told again). */
  readonly departed: Set<string>;
  /** Where each series' story ends: its give-up line, else its last copy. */
  readonly ends: Map<string, { readonly timeUs: number; readonly arrowId: string }>;
}

interface GiveUp {
  /** Relative µs when the socket gave up, if it was observed. */
  readonly timeUs: number | undefined;
  /** The agent error that is the give-up (so the application commentary does not tell it twice). */
  readonly error?: unknown;
  readonly describe: (at: string) => Text;
  /** "the model predicts … at <at>" in both languages. */
  readonly predicted: (at: string) => Text;
  /** The give-up as an expectation without a time. */
  readonly expected: Text;
}

/** The transmissions of the run, each series against its timing model where there is one. */
export function describeTransmissions(context: Context, departedSeries: SeriesNotes, handledErrors: Set<unknown>): CommentaryLine[] {
  const { model } = context;
  const lines: CommentaryLine[] = [];
  for (const series of groupSeries(model.arrows)) {
    const answer = findAnswer(series, model.arrows);
    const interesting =
      series.kind === 'SYN' || series.kind === 'SYN-ACK' || series.kind === 'FIN' || series.kind === 'RST' || series.copies.length > 1 || series.copies.some((c) => c.fate.kind !== 'delivered');
    if (!interesting) continue;
    const modelKind: ModelKind | undefined = series.kind === 'SYN' || series.kind === 'SYN-ACK' || series.kind === 'FIN' ? series.kind : undefined;
    const modelled = modelKind !== undefined && (series.copies.length > 1 || answer === undefined);
    if (!modelled) {
      series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, series.kind === 'RST' ? firewallReset(copy, model.arrows) : undefined)));
      continue;
    }
    lines.push(...describeModelledSeries(context, series, modelKind, answer, departedSeries, handledErrors));
  }
  return lines;
}

/** A transmission line without a timing prediction. */
function describeCopy(series: Series, copy: LadderArrow, index: number, answer: LadderArrow | undefined, extra: Text | undefined): CommentaryLine {
  const parts: Text[] = [headOf(series, copy, index), ...fateOf(copy)];
  if (extra !== undefined) parts.push(extra);
  if (answer !== undefined && index === series.copies.length - 1 && series.copies.length > 1) parts.push(answeredBy(answer));
  return line(timeOfArrow(copy), 'transmission', joinParts(parts), { arrowId: copy.id });
}

function headOf(series: Series, copy: LadderArrow, index: number, modelIndex?: number): Text {
  const what = whatOf(series);
  const t = formatRelativeSeconds(timeOfArrow(copy));
  const s = copy.segment;
  if (series.copies.length === 1) {
    const ack = (s.flags & TcpFlag.ACK) !== 0 ? `, ack ${s.ack}` : '';
    return {
      en: `${what.en} [${copy.flags}] sent by ${series.from} at ${t} (seq ${s.seq}${ack}, to ${series.to})`,
      zh: `${series.from} 在 ${t} 向 ${series.to} 发送 ${what.zh} [${copy.flags}]（seq ${s.seq}${ack}）`,
    };
  }
  if (index === 0) {
    return {
      en: `${what.en} #1 sent by ${series.from} at ${t} (seq ${s.seq}, to ${series.to})`,
      zh: `${series.from} 在 ${t} 向 ${series.to} 发送 ${what.zh} #1（seq ${s.seq}）`,
    };
  }
  const previous = series.copies[index - 1] as LadderArrow;
  const gap = formatDuration(timeOfArrow(copy) - timeOfArrow(previous));
  const shifted = modelIndex !== undefined && modelIndex >= 0 && modelIndex !== index;
  return {
    en: `${what.en} #${index + 1} sent by ${series.from} at ${t}, ${gap} after #${index}${shifted ? ` (the model's #${modelIndex + 1})` : ''}`,
    zh: `${series.from} 在 ${t} 发送 ${what.zh} #${index + 1}（第 ${index} 次重传），距 #${index} ${gap}${shifted ? `（模型中的 #${modelIndex + 1}）` : ''}`,
  };
}

/** For a RST that answers a segment a REJECT rule of its sender rejected: it came from netfilter, not from TCP. */
function firewallReset(rst: LadderArrow, arrows: readonly LadderArrow[]): Text | undefined {
  const sentUs = timeOfArrow(rst);
  const rejected = arrows.find(
    (a) =>
      a.fate.kind === 'dropped' &&
      a.fate.target === 'REJECT' &&
      a.to === rst.from &&
      a.from === rst.to &&
      a.arriveUs !== undefined &&
      a.arriveUs <= sentUs &&
      sentUs - a.arriveUs <= REJECT_REPLY_WINDOW_US,
  );
  if (rejected === undefined || rejected.fate.kind !== 'dropped') return undefined;
  return {
    en: `sent by ${rst.from}'s firewall (rule ${rejected.fate.rule}, REJECT --reject-with tcp-reset) in reply to the rejected [${rejected.flags}], not by TCP`,
    zh: `由 ${rst.from} 的防火墙（规则 ${rejected.fate.rule}，REJECT --reject-with tcp-reset）回应被拒绝的 [${rejected.flags}] 而发出，不是 TCP 发出的`,
  };
}

function answeredBy(answer: LadderArrow): Text {
  const t = formatRelativeSeconds(answer.arriveUs ?? timeOfArrow(answer));
  return { en: `answered by [${answer.flags}] from ${answer.from} at ${t}`, zh: `${answer.from} 在 ${t} 以 [${answer.flags}] 应答` };
}

function failReasonText(reason: FailReason): Text {
  switch (reason) {
    case 'count':
      return { en: 'count limit', zh: '次数上限' };
    case 'time':
      return { en: 'time limit', zh: '时间上限' };
    case 'user-timeout':
      return { en: 'TCP_USER_TIMEOUT', zh: 'TCP_USER_TIMEOUT' };
    default:
      return assertNever(reason);
  }
}

function verdictReason(verdict: ScheduleItemCheck['verdict']): Text {
  switch (verdict) {
    case 'early':
      return { en: 'early: a timer never fires early', zh: '过早：定时器不会提前触发' };
    case 'late':
      return { en: 'late: later than the timer wheel allows', zh: '过晚：超出定时器轮允许的延迟' };
    case 'unobserved':
      return { en: 'not observed', zh: '未观察到' };
    case 'unexpected':
      return { en: 'not in the model', zh: '模型中没有' };
    case 'ok':
      return { en: 'on time', zh: '按时' };
    default:
      return assertNever(verdict);
  }
}

function describeModelledSeries(
  context: Context,
  series: Series,
  kind: ModelKind,
  answer: LadderArrow | undefined,
  notes: SeriesNotes,
  handledErrors: Set<unknown>,
): CommentaryLine[] {
  const { record } = context;
  const host = hostOf(record, series.from);
  const lines: CommentaryLine[] = [];
  const what = whatOf(series);
  // SYN-ACKs answering a retransmitted SYN that reached TCP are replies, not timer fires (the analysis decides).
  const replies = new Map<LadderArrow, { arriveUs: number }>();
  if (kind === 'SYN-ACK') {
    const answered = context.analysis.hosts.find((h) => h.name === series.from)?.synAckReplies;
    for (const copy of series.copies) {
      const syn = copy.senderFrame === undefined ? undefined : answered?.get(copy.senderFrame);
      if (syn !== undefined) replies.set(copy, { arriveUs: context.rel(syn.timeUs) });
    }
  }
  const timerCopies = series.copies.filter((c) => !replies.has(c));
  const firstUs = timeOfArrow(timerCopies[0] as LadderArrow);
  const prediction = host === undefined ? undefined : predictorFor(context, kind, host, timerCopies);
  if (prediction === 'not-modelled') {
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, undefined)));
    return lines;
  }
  if (prediction === undefined || 'missing' in prediction) {
    const reason: Text =
      prediction === undefined
        ? { en: `no timing prediction: ${series.from} is not a host of the run`, zh: `无法给出时间预测：${series.from} 不是本次运行的主机` }
        : {
            en: `no timing prediction: ${series.from}'s kernel-settings.json lacks ${prediction.missing.join(', ')}`,
            zh: `无法给出时间预测：${series.from} 的 kernel-settings.json 缺少 ${prediction.missing.join('、')}`,
          };
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, i === 0 ? reason : undefined)));
    return lines;
  }
  const giveUp = answer === undefined && host !== undefined ? findGiveUp(context, host, series, kind) : undefined;
  const offsets = timerCopies.map((c) => (timeOfArrow(c) - firstUs) / 1000);
  const giveUpOffsetMs = giveUp?.timeUs === undefined ? undefined : (giveUp.timeUs - firstUs) / 1000;
  const sends = timerCopies.map((c, i) => ({ offsetMs: offsets[i] ?? 0, frame: c.senderFrame ?? c.receiverFrame ?? 0, timeUs: timeOfArrow(c) }));
  const observedGiveUp = giveUpOffsetMs === undefined ? undefined : { afterMs: giveUpOffsetMs, byMs: giveUpOffsetMs, source: 'the give-up' };
  const fit = { ...fitRetransmissions(prediction.predict, sends, observedGiveUp, prediction.hz, 'allow-gaps'), settings: prediction.settings };
  const modelSends = fit.schedule.sends.length;
  const intervals = scheduleTimeline(fit.schedule).intervalsMs;
  const endOffsetMs = (context.endUs - firstUs) / 1000;
  const windowText = (item: ScheduleItemCheck): Text => {
    const a = formatRelativeSeconds(firstUs + (item.earliestMs ?? 0) * 1000);
    const b = formatRelativeSeconds(firstUs + (item.latestMs ?? 0) * 1000);
    return { en: `between ${a} and ${b}`, zh: `在 ${a} 与 ${b} 之间` };
  };
  const seriesKey = `${kind}|${series.from}`;
  const lastPlaced = fit.placement.reduce((max, m) => Math.max(max, m), -1);

  // Model items with no observed send: departures (when the run lasted long enough to see them).
  for (let m = 1; m < modelSends; m += 1) {
    if (fit.placement.includes(m)) continue;
    const item = fit.items[m];
    if (item === undefined || item.earliestMs === undefined) continue;
    if (answer !== undefined && m > lastPlaced) continue; // answered: the timer stopped
    const window = windowText(item);
    const timeUs = firstUs + item.earliestMs * 1000;
    if (item.earliestMs > endOffsetMs) {
      lines.push(
        line(timeUs, 'model', {
          en: `the run ended at ${formatRelativeSeconds(context.endUs)}, before the model's ${what.en} #${m + 1} from ${series.from} (${window.en})`,
          zh: `运行在 ${formatRelativeSeconds(context.endUs)} 结束，早于模型预测的 ${series.from} 的 ${what.zh} #${m + 1}（${window.zh}）`,
        }),
      );
      continue;
    }
    notes.departed.add(seriesKey);
    lines.push(
      line(
        timeUs,
        'model',
        {
          en: `departs from the model: expected ${what.en} #${m + 1} from ${series.from} ${window.en}; none is in ${series.from}'s capture`,
          zh: `与模型不符：预期 ${series.from} ${window.zh}发送 ${what.zh} #${m + 1}；其抓包中没有`,
        },
        { departs: true },
      ),
    );
  }

  // Each copy, with its window verdict and the model's next send.
  series.copies.forEach((copy, index) => {
    const reply = replies.get(copy);
    if (reply !== undefined) {
      lines.push(
        describeCopy(series, copy, index, answer, {
          en: `in answer to the retransmitted SYN that arrived at ${formatRelativeSeconds(reply.arriveUs)} (tcp_check_req()), not a timer retransmission`,
          zh: `这是对 ${formatRelativeSeconds(reply.arriveUs)} 到达的重传 SYN 的应答（tcp_check_req()），不是定时器重传`,
        }),
      );
      return;
    }
    const timerIndex = timerCopies.indexOf(copy);
    const m = fit.placement[timerIndex] ?? -1;
    const parts: Text[] = [headOf(series, copy, index, m), ...fateOf(copy)];
    if (fit.schedule.kinds[m] === 'tlp') parts.push({ en: 'a tail-loss probe, not an RTO retransmission', zh: '这是尾部丢失探测（TLP），不是 RTO 重传' });
    let departs = false;
    const item = m >= 0 ? fit.items[m] : undefined;
    if (m < 0) {
      departs = true;
      parts.push({
        en: `departs from the model: it allows only ${plural(modelSends, what.en)} (${fit.settings})`,
        zh: `与模型不符：模型只允许 ${modelSends} 个 ${what.zh}（${fit.settings}）`,
      });
    } else if (item !== undefined && !item.ok && item.verdict !== 'unobserved') {
      departs = true;
      const reason = verdictReason(item.verdict);
      const window = windowText(item);
      parts.push({
        en: `departs from the model: expected ${what.en} #${m + 1} ${window.en}, observed at ${formatRelativeSeconds(timeOfArrow(copy))} (${reason.en})`,
        zh: `与模型不符：预期 ${what.zh} #${m + 1} ${window.zh}发出，实际在 ${formatRelativeSeconds(timeOfArrow(copy))}（${reason.zh}）`,
      });
    }
    const isLast = timerIndex === timerCopies.length - 1;
    if (m >= 0 && !(isLast && answer !== undefined)) {
      const nextUs = timeOfArrow(copy) + (intervals[m + 1] ?? fit.schedule.failIntervalMs) * 1000;
      if (m + 1 < modelSends) {
        const settings = index === 0 ? ` (${fit.settings})` : '';
        parts.push({ en: `the model predicts the next at ${formatRelativeSeconds(nextUs)}${settings}`, zh: `模型预测下一次在 ${formatRelativeSeconds(nextUs)}${settings === '' ? '' : `（${fit.settings}）`}` });
      } else if (m + 1 === modelSends && giveUp !== undefined) {
        const reason = failReasonText(fit.schedule.failReason);
        const predicted = giveUp.predicted(formatRelativeSeconds(nextUs));
        parts.push({ en: `the model predicts ${predicted.en} (${reason.en}; ${fit.settings})`, zh: `模型预测${predicted.zh}（${reason.zh}；${fit.settings}）` });
      }
    } else if (isLast && answer !== undefined && series.copies.length > 1) {
      parts.push(answeredBy(answer));
    }
    if (departs) notes.departed.add(seriesKey);
    lines.push(line(timeOfArrow(copy), 'transmission', joinParts(parts), { arrowId: copy.id, departs }));
  });

  // The give-up: observed (in or out of its window) or missing.
  if (giveUp !== undefined) {
    if (giveUp.error !== undefined) handledErrors.add(giveUp.error);
    const item = fit.items[modelSends];
    const lastCopy = timerCopies[timerCopies.length - 1] as LadderArrow;
    if (item !== undefined && item.earliestMs !== undefined) {
      const window = windowText(item);
      const reason = failReasonText(fit.schedule.failReason);
      if (giveUp.timeUs !== undefined) {
        const said = giveUp.describe(formatRelativeSeconds(giveUp.timeUs));
        const ok = item.ok;
        if (!ok) notes.departed.add(seriesKey);
        const verdict = verdictReason(item.verdict);
        lines.push(
          line(
            giveUp.timeUs,
            kind === 'SYN' ? 'application' : 'model',
            ok
              ? { en: `${said.en}: within the model's window, ${window.en} (${reason.en})`, zh: `${said.zh}：在模型的时间窗内，${window.zh}（${reason.zh}）` }
              : { en: `${said.en}; departs from the model: expected ${window.en} (${verdict.en})`, zh: `${said.zh}；与模型不符：预期${window.zh}（${verdict.zh}）` },
            { arrowId: lastCopy.id, departs: !ok },
          ),
        );
      } else if (item.earliestMs <= endOffsetMs) {
        notes.departed.add(seriesKey);
        lines.push(
          line(
            firstUs + item.earliestMs * 1000,
            'model',
            {
              en: `departs from the model: it expects ${giveUp.expected.en} ${window.en} (${reason.en}); not observed by the end of the run at ${formatRelativeSeconds(context.endUs)}`,
              zh: `与模型不符：预期${window.zh}${giveUp.expected.zh}（${reason.zh}）；直到运行结束（${formatRelativeSeconds(context.endUs)}）都没有观察到`,
            },
            { arrowId: lastCopy.id, departs: true },
          ),
        );
      }
    }
  }
  const last = lines.reduce<CommentaryLine | undefined>((latest, l) => (l.arrowId !== undefined && (latest === undefined || l.timeUs >= latest.timeUs) ? l : latest), undefined);
  if (last?.arrowId !== undefined) notes.ends.set(seriesKey, { timeUs: last.timeUs, arrowId: last.arrowId });
  return lines;
}

interface Predictor {
  readonly predict: (options: { timerLateness: 'none' | 'max' }) => RetransmissionSchedule;
  readonly hz: number;
  readonly settings: string;
}

function predictorFor(context: Context, kind: ModelKind, host: RunHost, timerCopies: readonly LadderArrow[]): Predictor | { missing: string[] } | 'not-modelled' {
  const { record } = context;
  const recorded = hostAnalysisOf(context.analysis, host.name).settings;
  const settings = recorded.settings;
  const hz = settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz;
  switch (kind) {
    case 'SYN': {
      const missing = missingSettings(recorded, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']);
      if (missing.length > 0) return { missing };
      return { predict: (o) => predictSynSchedule(settings, o), hz, settings: settingsText(settings, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']) };
    }
    case 'SYN-ACK': {
      const missing = missingSettings(recorded, ['tcp_synack_retries']);
      if (missing.length > 0) return { missing };
      return { predict: (o) => predictSynAckSchedule(settings, o), hz, settings: settingsText(settings, ['tcp_synack_retries']) };
    }
    case 'FIN': {
      // Only a socket the application close()d is an orphan; after shutdown() tcp_retries2 applies (not modelled here).
      if (!closesWithClose(record, host)) return 'not-modelled';
      const missing = missingSettings(recorded, ['tcp_orphan_retries']);
      if (missing.length > 0) return { missing };
      const first = timerCopies[0] as LadderArrow;
      const offsets = timerCopies.map((c) => (timeOfArrow(c) - timeOfArrow(first)) / 1000);
      const estimate = estimateFinRto(offsets, recorded.rtoMinMs ?? LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS, hz);
      const options = estimate.tlpAtMs === undefined ? {} : { tlpAtMs: estimate.tlpAtMs };
      return {
        predict: (o) => predictOrphanFinSchedule(settings, estimate.rtoMs, { ...o, ...options }),
        hz,
        settings: `${settingsText(settings, ['tcp_orphan_retries'])}, RTO ${estimate.rtoMs} ms`,
      };
    }
    default:
      return assertNever(kind);
  }
}

/** Whether the sender's application closed the connection with close() (an orphan), not shutdown(). */
function closesWithClose(record: RunRecord, host: RunHost): boolean {
  return !record.lab.steps.some((s) => s.kind === 'shutdown' && s.host === host.name);
}

function settingsText(settings: Partial<KernelSettings>, names: readonly (keyof KernelSettings)[]): string {
  return names.map((n) => `${n}=${String(settings[n])}`).join(', ');
}

/** How the series' socket gives up, and whether (when) the run saw it. */
function findGiveUp(context: Context, host: RunHost, series: Series, kind: ModelKind): GiveUp {
  const { rel } = context;
  switch (kind) {
    case 'SYN': {
      const error = host.events.find((e): e is Extract<RunHost['events'][number], { type: 'error' }> => {
        if (e.type !== 'error') return false;
        const tuple = findConnTuple(host.events, e.conn);
        return tuple !== undefined && tuple.local === series.tuple.local && tuple.remote === series.tuple.remote;
      });
      const who = error === undefined ? `${host.name}` : `${host.name}/${error.conn}`;
      const timedOut = error !== undefined && error.code === 'ETIMEDOUT';
      return {
        timeUs: timedOut ? rel(error.timeUs) : undefined,
        ...(timedOut && { error }),
        describe: (at) => ({
          en: `connect() of ${who} failed with ETIMEDOUT at ${at} (timed out)`,
          zh: `${who} 的 connect() 在 ${at} 以 ETIMEDOUT 失败（连接超时）`,
        }),
        predicted: (at) => ({ en: `connect() gives up at ${at}`, zh: ` connect() 在 ${at} 放弃` }),
        expected: { en: 'connect() to fail with ETIMEDOUT', zh: ' connect() 以 ETIMEDOUT 失败' },
      };
    }
    case 'SYN-ACK': {
      const gone = host.events.find(
        (e) => e.type === 'socket-gone' && e.local === series.tuple.local && e.remote === series.tuple.remote && parseTcpState(e.state) === 'SYN_RECEIVED',
      );
      return {
        timeUs: gone === undefined ? undefined : rel(gone.timeUs),
        describe: (at) => ({
          en: `${host.name}'s half-open request (SYN_RECEIVED) for ${series.tuple.remote} is dropped silently at ${at} (its row left /proc/net/tcp)`,
          zh: `${host.name} 上来自 ${series.tuple.remote} 的半连接（SYN_RECEIVED）在 ${at} 被悄悄丢弃（从 /proc/net/tcp 中消失）`,
        }),
        predicted: (at) => ({ en: `the half-open request is dropped at ${at}`, zh: `半连接在 ${at} 被丢弃` }),
        expected: { en: 'the half-open request to be dropped', zh: '半连接被丢弃' },
      };
    }
    case 'FIN': {
      const gone = host.events.find((e) => e.type === 'socket-gone' && e.local === series.tuple.local && e.remote === series.tuple.remote);
      const state = gone?.type === 'socket-gone' ? (parseTcpState(gone.state) ?? gone.state) : undefined;
      return {
        timeUs: gone === undefined ? undefined : rel(gone.timeUs),
        describe: (at) => ({
          en: `${host.name}'s orphaned socket ${series.tuple.local} is destroyed at ${at}, last seen in ${state ?? '?'} (its row left /proc/net/tcp)`,
          zh: `${host.name} 的孤儿套接字 ${series.tuple.local} 在 ${at} 被销毁，最后的状态为 ${state ?? '?'}（从 /proc/net/tcp 中消失）`,
        }),
        predicted: (at) => ({ en: `the orphaned socket is destroyed at ${at}`, zh: `孤儿套接字在 ${at} 被销毁` }),
        expected: { en: 'the orphaned socket to be destroyed', zh: '孤儿套接字被销毁' },
      };
    }
    default:
      return assertNever(kind);
  }
}

