import type { TracedSegment } from '../../analysis/segment-trace.js';
import type { AnalysedSeries, ModelKind, ModelledSeries, SegmentSeries, SeriesGiveUp } from '../../analysis/timing-series.js';
import { assertNever } from '../../assert-never.js';
import { TcpFlag } from '../../observe/packet.js';
import { scheduleTimeline, type FailReason, type ScheduleItemCheck } from '../../tcp/timing-model.js';
import { REJECT_REPLY_WINDOW_US } from '../../analysis/rule-timeline.js';
import { formatDuration, formatRelativeSeconds } from '../time-format.js';
import { fateOf, joinParts, line, plural, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

export type { ModelKind } from '../../analysis/timing-series.js';

/*
 * Transmissions and the timing model, told from the analysis: its series of copies and, for each
 * retransmitted or unanswered SYN, SYN-ACK or orphan FIN, its fit to the model (analysis/timing-series.ts,
 * through the one fitter analysis/timing-fit.ts), with the SYN-ACKs that answer a SYN left out
 * (analysis/syn-ack-replies.ts). Nothing is fitted or predicted here. "The model predicts the next at" is the observed send plus
 * the model's next interval.
 */

function whatOf(series: SegmentSeries): Text {
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

/** What the timing commentary learnt per modelled series (`<kind>|<host>`), for the failed-check lines. */
export interface SeriesNotes {
  /** SegmentSeries where the commentary found a departure (their failed timing check is not told again). */
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
  for (const analysed of context.analysis.series) {
    const { series, answer } = analysed;
    const interesting =
      series.kind === 'SYN' ||
      series.kind === 'SYN-ACK' ||
      series.kind === 'FIN' ||
      series.kind === 'RST' ||
      series.copies.length > 1 ||
      series.copies.some((c) => c.fate.kind !== 'delivered');
    if (!interesting) continue;
    if (analysed.modelled === undefined) {
      series.copies.forEach((copy, i) =>
        lines.push(describeCopy(series, copy, i, answer, series.kind === 'RST' ? firewallReset(copy, model.arrows) : undefined)),
      );
      continue;
    }
    lines.push(...describeModelledSeries(context, analysed, analysed.modelled, departedSeries, handledErrors));
  }
  return lines;
}

/** A transmission line without a timing prediction. */
function describeCopy(series: SegmentSeries, copy: TracedSegment, index: number, answer: TracedSegment | undefined, extra: Text | undefined): CommentaryLine {
  const parts: Text[] = [headOf(series, copy, index), ...fateOf(copy)];
  if (extra !== undefined) parts.push(extra);
  if (answer !== undefined && index === series.copies.length - 1 && series.copies.length > 1) parts.push(answeredBy(answer));
  return line(timeOfArrow(copy), 'transmission', joinParts(parts), { arrowId: copy.id });
}

function headOf(series: SegmentSeries, copy: TracedSegment, index: number, modelIndex?: number): Text {
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
  const previous = series.copies[index - 1] as TracedSegment;
  const gap = formatDuration(timeOfArrow(copy) - timeOfArrow(previous));
  const shifted = modelIndex !== undefined && modelIndex >= 0 && modelIndex !== index;
  return {
    en: `${what.en} #${index + 1} sent by ${series.from} at ${t}, ${gap} after #${index}${shifted ? ` (the model's #${modelIndex + 1})` : ''}`,
    zh: `${series.from} 在 ${t} 发送 ${what.zh} #${index + 1}（第 ${index} 次重传），距 #${index} ${gap}${shifted ? `（模型中的 #${modelIndex + 1}）` : ''}`,
  };
}

/** For a RST that answers a segment a REJECT rule of its sender rejected: it came from netfilter, not from TCP. */
function firewallReset(rst: TracedSegment, arrows: readonly TracedSegment[]): Text | undefined {
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

function answeredBy(answer: TracedSegment): Text {
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
      return { en: 'early: sooner than any timer fires', zh: '过早：早于定时器可能触发的时刻' };
    case 'late':
      return { en: 'late: later than the timer wheel allows', zh: '过晚：超出定时器轮允许的延迟' };
    case 'unobserved':
      return { en: 'not observed', zh: '未观察到' };
    case 'unexpected':
      return { en: 'not in the model', zh: '模型中没有' };
    case 'not-due':
      return { en: 'not due: the answer came first and stopped the timer', zh: '未到期：应答先到，定时器已停止' };
    case 'ok':
      return { en: 'on time', zh: '按时' };
    default:
      return assertNever(verdict);
  }
}

function describeModelledSeries(
  context: Context,
  analysed: AnalysedSeries,
  modelled: ModelledSeries,
  notes: SeriesNotes,
  handledErrors: Set<unknown>,
): CommentaryLine[] {
  const { series, answer } = analysed;
  const kind = modelled.kind;
  const lines: CommentaryLine[] = [];
  const what = whatOf(series);
  const { replies, timerCopies, model } = modelled;
  const firstUs = timeOfArrow(timerCopies[0] as TracedSegment);
  if (model.kind === 'not-modelled') {
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, undefined)));
    return lines;
  }
  if (model.kind === 'forged') {
    const forged: Text = {
      en: `a forged source address (${model.source}, not ${series.from}'s own): no socket of ${series.from} sent it, so no timer retransmits it`,
      zh: `伪造的源地址（${model.source}，不是 ${series.from} 自己的地址）：它不是 ${series.from} 的套接字发出的，没有定时器会重传它`,
    };
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, i === 0 ? forged : undefined)));
    return lines;
  }
  if (model.kind === 'injected') {
    const injected: Text = {
      en: `injected by step ${model.step + 1} (hping3 on a raw socket): no socket of ${series.from} sent it, so no timer retransmits it`,
      zh: `由第 ${model.step + 1} 步注入（hping3 原始套接字）：它不是 ${series.from} 的套接字发出的，没有定时器会重传它`,
    };
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, i === 0 ? injected : undefined)));
    return lines;
  }
  if (model.kind === 'no-host' || model.kind === 'missing-settings') {
    const reason: Text =
      model.kind === 'no-host'
        ? { en: `no timing prediction: ${series.from} is not a host of the run`, zh: `无法给出时间预测：${series.from} 不是本次运行的主机` }
        : {
            en: `no timing prediction: ${series.from}'s kernel-settings.json lacks ${model.missing.join(', ')}`,
            zh: `无法给出时间预测：${series.from} 的 kernel-settings.json 缺少 ${model.missing.join('、')}`,
          };
    series.copies.forEach((copy, i) => lines.push(describeCopy(series, copy, i, answer, i === 0 ? reason : undefined)));
    return lines;
  }
  const giveUp = modelled.giveUp === undefined ? undefined : giveUpTexts(kind, modelled.giveUp, series);
  const fit = { ...model.fit, settings: model.settings };
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
    // Not due (the fit's verdict: an answer, or an ICMP error that dropped the request, stopped the timer first).
    if (item.verdict === 'not-due' || (answer !== undefined && m > lastPlaced)) continue;
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
    const rearmedBy = modelled.rearmed?.get(copy.id);
    if (rearmedBy !== undefined) {
      lines.push(
        describeCopy(series, copy, index, answer, {
          en: `sent at once because the segment that arrived at ${formatRelativeSeconds(rearmedBy)} did not acknowledge the SYN: SYN_SENT answers it with RST and re-arms its timer at 2 jiffies (tcp_rcv_synsent_state_process()), not a backoff retransmission`,
          zh: `${formatRelativeSeconds(rearmedBy)} 到达的报文段没有确认这个 SYN：SYN_SENT 用 RST 回应，并把定时器重设为 2 个 jiffy（tcp_rcv_synsent_state_process()），所以立即重发，不是退避重传`,
        }),
      );
      return;
    }
    const reply = replies.get(copy.id);
    if (reply !== undefined) {
      lines.push(
        describeCopy(series, copy, index, answer, {
          en: `in answer to the retransmitted SYN that arrived at ${formatRelativeSeconds(reply)} (tcp_check_req()), not a timer retransmission`,
          zh: `这是对 ${formatRelativeSeconds(reply)} 到达的重传 SYN 的应答（tcp_check_req()），不是定时器重传`,
        }),
      );
      return;
    }
    const timerIndex = timerCopies.indexOf(copy);
    const m = fit.placement[model.sendOfCopy[timerIndex] ?? -1] ?? -1;
    const parts: Text[] = [headOf(series, copy, index, m), ...fateOf(copy)];
    if (fit.schedule.kinds[m] === 'tlp') parts.push({ en: 'a tail-loss probe, not an RTO retransmission', zh: '这是尾部丢失探测（TLP），不是 RTO 重传' });
    if (fit.schedule.kinds[m] === 'fast')
      parts.push({ en: 'a fast retransmission on the peer’s duplicate ACKs, not an RTO retransmission', zh: '这是对端重复 ACK 触发的快速重传，不是 RTO 重传' });
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
        parts.push({
          en: `the model predicts the next at ${formatRelativeSeconds(nextUs)}${settings}`,
          zh: `模型预测下一次在 ${formatRelativeSeconds(nextUs)}${settings === '' ? '' : `（${fit.settings}）`}`,
        });
      } else if (m + 1 === modelSends && giveUp !== undefined) {
        const reason = failReasonText(fit.schedule.failReason);
        const predicted = giveUp.predicted(formatRelativeSeconds(nextUs));
        parts.push({
          en: `the model predicts ${predicted.en} (${reason.en}; ${fit.settings})`,
          zh: `模型预测${predicted.zh}（${reason.zh}；${fit.settings}）`,
        });
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
    const lastCopy = timerCopies[timerCopies.length - 1] as TracedSegment;
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
              : {
                  en: `${said.en}; departs from the model: expected ${window.en} (${verdict.en})`,
                  zh: `${said.zh}；与模型不符：预期${window.zh}（${verdict.zh}）`,
                },
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
  const last = lines.reduce<CommentaryLine | undefined>(
    (latest, l) => (l.arrowId !== undefined && (latest === undefined || l.timeUs >= latest.timeUs) ? l : latest),
    undefined,
  );
  if (last?.arrowId !== undefined) notes.ends.set(seriesKey, { timeUs: last.timeUs, arrowId: last.arrowId });
  return lines;
}

/** The words for a series' give-up, from what the analysis found (analysis/timing-series.ts). */
function giveUpTexts(kind: ModelKind, giveUp: SeriesGiveUp, series: SegmentSeries): GiveUp {
  const host = series.from;
  switch (kind) {
    case 'SYN':
      return {
        timeUs: giveUp.timeUs,
        ...(giveUp.error !== undefined && { error: giveUp.error }),
        describe: (at) => ({
          en: `connect() of ${giveUp.who} failed with ETIMEDOUT at ${at} (timed out)`,
          zh: `${giveUp.who} 的 connect() 在 ${at} 以 ETIMEDOUT 失败（连接超时）`,
        }),
        predicted: (at) => ({ en: `connect() gives up at ${at}`, zh: ` connect() 在 ${at} 放弃` }),
        expected: { en: 'connect() to fail with ETIMEDOUT', zh: ' connect() 以 ETIMEDOUT 失败' },
      };
    case 'SYN-ACK':
      return {
        timeUs: giveUp.timeUs,
        describe: (at) => ({
          en: `${host}'s half-open request (SYN_RECEIVED) for ${series.tuple.remote} is dropped silently at ${at} (its row left /proc/net/tcp)`,
          zh: `${host} 上来自 ${series.tuple.remote} 的半连接（SYN_RECEIVED）在 ${at} 被悄悄丢弃（从 /proc/net/tcp 中消失）`,
        }),
        predicted: (at) => ({ en: `the half-open request is dropped at ${at}`, zh: `半连接在 ${at} 被丢弃` }),
        expected: { en: 'the half-open request to be dropped', zh: '半连接被丢弃' },
      };
    case 'FIN': {
      const state = giveUp.goneState;
      return {
        timeUs: giveUp.timeUs,
        describe: (at) => ({
          en: `${host}'s orphaned socket ${series.tuple.local} is destroyed at ${at}, last seen in ${state ?? '?'} (its row left /proc/net/tcp)`,
          zh: `${host} 的孤儿套接字 ${series.tuple.local} 在 ${at} 被销毁，最后的状态为 ${state ?? '?'}（从 /proc/net/tcp 中消失）`,
        }),
        predicted: (at) => ({ en: `the orphaned socket is destroyed at ${at}`, zh: `孤儿套接字在 ${at} 被销毁` }),
        expected: { en: 'the orphaned socket to be destroyed', zh: '孤儿套接字被销毁' },
      };
    }
    default:
      return assertNever(kind);
  }
}
