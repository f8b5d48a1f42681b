import { parseRule, RuleError, type ParsedRule } from '../faults/iptables-rule.js';
import { matchCounterToRule, parseRuleCounters } from '../faults/rule-counters.js';
import { TcpFlag } from '../observe/packet.js';
import { DEFAULT_KERNEL_SETTINGS, LINUX_TCP_CONSTANTS, type KernelSettings } from '../tcp/kernel-settings.js';
import { assertNever, parseTcpState } from '../tcp/state.js';
import {
  compareSchedule,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  predictSynSchedule,
  scheduleTimeline,
  type FailReason,
  type RetransmissionSchedule,
  type ScheduleItemCheck,
} from '../tcp/timing-model.js';
import { SAMPLE_ALLOWANCE_US } from '../verify/conformance.js';
import { kindOf, type SegmentKind } from '../verify/connections.js';
import { missingSettings, readHostKernelSettings } from '../verify/host-kernel-settings.js';
import { replayRun, type EndpointReplay, type ReplayCause } from '../verify/replay.js';
import type { RunHost, RunRecord } from '../verify/run-record.js';
import { findConnTuple, segmentEndpoints, type SocketTuple } from '../verify/run-sockets.js';
import { sampleStates, type StateSample } from '../verify/socket-timeline.js';
import { estimateFinRto } from '../verify/timing-checks.js';
import type { Check, Verdict } from '../verify/verdict.js';
import { buildLadderModel, type LadderArrow, type LadderModel, type LadderPhase } from './ladder-model.js';
import { formatDuration, formatRelativeSeconds } from './time-format.js';

/*
 * Run commentary: what happened in a run, told in time order in English and Chinese, from the run's own
 * artifacts (captures through the ladder model, state samples, agent events, rule counters, the hosts'
 * kernel settings) and the verdict. Pure: nothing is read, nothing is invented; every number in a line
 * is a time, a count, a sequence number or a sysctl taken from the RunRecord, or a prediction of the
 * Linux timing model fed with the sending host's own recorded settings.
 *
 * How the timing commentary works. Segments that occupy sequence space are grouped into series of
 * copies (same direction, seq, flags and length: the ladder's retransmission key, so `#k` here is the
 * ladder's copy k). A series that was retransmitted or never answered is compared with its model —
 * SYN: predictSynSchedule (tcp_syn_retries, tcp_syn_linear_timeouts); SYN-ACK: predictSynAckSchedule
 * (tcp_synack_retries); FIN of a socket the application close()d: predictOrphanFinSchedule
 * (tcp_orphan_retries, RTO estimated from the gaps as the timing checks do). As in timing-checks.ts, each
 * send is checked against a window anchored at the previous *observed* send (a timer re-arms from the
 * moment it really fired), with compareSchedule(), and the on-time and the late-timer predictions are
 * both tried. Unlike the check, a send that is too late for its slot but fits the next one is taken as
 * "the previous one is missing", so a removed SYN is told as missing instead of as every later SYN being
 * late. "The model predicts the next at" is the observed send plus the model's next interval.
 * SYN-ACKs sent within 5 ms of a retransmitted SYN reaching TCP answer that SYN (tcp_check_req() →
 * inet_rtx_syn_ack()) and are left out of the timer schedule, as in the check.
 *
 * A line `departs` when the observation departed from the model there: a send outside its window, a send
 * the model expected but the capture lacks, a send beyond the model's count, a give-up outside its window,
 * or a failed check of the verdict (timing checks are told through their series instead, when the series
 * shows the departure). firstDeparture() is the earliest such line.
 */

/** What a commentary line is about (also its order among lines at the same instant). */
export type CommentaryKind = 'rule' | 'transmission' | 'model' | 'state' | 'phase' | 'application' | 'check';

/** One sentence of the commentary, in both languages. */
export interface CommentaryLine {
  /** µs relative to the run's start (`RunRecord.startedUs`), like every time in the reports. */
  readonly timeUs: number;
  readonly kind: CommentaryKind;
  readonly en: string;
  readonly zh: string;
  /** The ladder arrow (`seg-N`) the line is about, when there is one. */
  readonly arrowId?: string;
  /** True when the observation departed from the model (or a check failed) here. */
  readonly departs: boolean;
}

export type CommentaryLang = 'en' | 'zh';

interface Text {
  readonly en: string;
  readonly zh: string;
}

const KIND_ORDER: readonly CommentaryKind[] = ['rule', 'transmission', 'model', 'state', 'phase', 'application', 'check'];

/** Builds the commentary of a run (RunRecord + Verdict, and its ladder model when already built) in time order (pure). */
export function buildRunCommentary(record: RunRecord, verdict: Verdict, model: LadderModel = buildLadderModel(record, verdict)): CommentaryLine[] {
  const context = makeContext(record, model);
  const lines: CommentaryLine[] = [];
  const departedSeries: SeriesNotes = { departed: new Set(), ends: new Map() };
  const handledErrors = new Set<unknown>();
  lines.push(...describeRules(context));
  lines.push(...describeTransmissions(context, departedSeries, handledErrors));
  lines.push(...describeStates(context));
  lines.push(...describePhases(context));
  lines.push(...describeApplication(context, handledErrors));
  lines.push(...describeFailedChecks(context, verdict, departedSeries));
  return lines
    .map((line, index) => ({ line, index }))
    .sort((x, y) => x.line.timeUs - y.line.timeUs || KIND_ORDER.indexOf(x.line.kind) - KIND_ORDER.indexOf(y.line.kind) || x.index - y.index)
    .map(({ line }) => line);
}

/** The earliest line where the observation departed from the model, if any. */
export function firstDeparture(lines: readonly CommentaryLine[]): CommentaryLine | undefined {
  return lines.find((line) => line.departs);
}

/** Options of the plain-text rendering. */
export interface CommentaryTextOptions {
  readonly title?: string;
  readonly verdict?: 'pass' | 'fail';
}

/** The commentary as plain text, one line per entry (`  +0.807 s  …  (→ 1)`), the first departure marked (pure). */
export function renderCommentaryText(lines: readonly CommentaryLine[], lang: CommentaryLang, options: CommentaryTextOptions = {}): string {
  const out: string[] = [];
  if (options.title !== undefined || options.verdict !== undefined) {
    const verdict = options.verdict === undefined ? '' : lang === 'zh' ? (options.verdict === 'pass' ? ' — 通过' : ' — 失败') : ` — ${options.verdict.toUpperCase()}`;
    out.push(`${lang === 'zh' ? '过程解说' : 'What happened'}${options.title === undefined ? '' : `${lang === 'zh' ? '：' : ': '}${options.title}`}${verdict}`);
  }
  const first = firstDeparture(lines);
  const width = Math.max(0, ...lines.map((line) => formatRelativeSeconds(line.timeUs).length));
  for (const line of lines) {
    const marker = line === first ? '⚠ ' : line.departs ? '✗ ' : '  ';
    const arrow = line.arrowId === undefined ? '' : `  (→ ${line.arrowId.replace(/^seg-/, '')})`;
    const note = line === first ? (lang === 'zh' ? '  ← 观察首次偏离模型' : '  ← first departure from the model') : '';
    out.push(`${marker}${formatRelativeSeconds(line.timeUs).padStart(width)}  ${line[lang]}${arrow}${note}`);
  }
  if (lines.length === 0) out.push(lang === 'zh' ? '（本次运行没有可解说的内容）' : '(nothing to tell: the run recorded no segments, states or events)');
  return `${out.join('\n')}\n`;
}

// ---- shared context --------------------------------------------------------------------------------

interface Context {
  readonly record: RunRecord;
  readonly model: LadderModel;
  readonly rel: (us: number) => number;
  /** End of the observation, relative µs: the last step end or agent event. */
  readonly endUs: number;
  readonly replays: readonly EndpointReplay[];
  readonly addresses: Readonly<Record<string, string>>;
}

function makeContext(record: RunRecord, model: LadderModel): Context {
  const rel = (us: number): number => us - record.startedUs;
  const lastUs = Math.max(record.startedUs, ...record.steps.map((s) => s.endUs), ...record.hosts.flatMap((h) => h.events.map((e) => e.timeUs)));
  return {
    record,
    model,
    rel,
    endUs: rel(lastUs),
    replays: replayRun(record),
    addresses: Object.fromEntries(record.hosts.map((h) => [h.name, h.address])),
  };
}

function line(timeUs: number, kind: CommentaryKind, text: Text, extra: { arrowId?: string | undefined; departs?: boolean } = {}): CommentaryLine {
  return { timeUs, kind, en: text.en, zh: text.zh, ...(extra.arrowId !== undefined && { arrowId: extra.arrowId }), departs: extra.departs ?? false };
}


function timeOfArrow(arrow: LadderArrow): number {
  return arrow.departUs ?? arrow.arriveUs ?? 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function hostOf(record: RunRecord, name: string): RunHost | undefined {
  return record.hosts.find((h) => h.name === name);
}

// ---- transmissions and the timing model --------------------------------------------------------------

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

type ModelKind = 'SYN' | 'SYN-ACK' | 'FIN';

/** What the timing commentary learnt per modelled series (`<kind>|<host>`), for the failed-check lines. */
interface SeriesNotes {
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

interface ModelFit {
  readonly schedule: RetransmissionSchedule;
  /** Per timer copy: the model's send index, or −1 for a send beyond the model. */
  readonly placement: readonly number[];
  readonly items: readonly ScheduleItemCheck[];
  readonly settings: string;
}

/** How close after a retransmitted SYN reached TCP a SYN-ACK counts as its answer (as timing-checks.ts). */
const SYN_REPLY_WINDOW_US = 5_000;
/** How long before an application error its RST may have arrived (agent timestamps come after the kernel's). */
const RST_BEFORE_ERROR_US = 5_000;

function describeTransmissions(context: Context, departedSeries: SeriesNotes, handledErrors: Set<unknown>): CommentaryLine[] {
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

function fateOf(copy: LadderArrow): Text[] {
  const fate = copy.fate;
  switch (fate.kind) {
    case 'delivered':
      return [];
    case 'dropped':
      return fate.target === 'REJECT'
        ? [{ en: `rejected by rule ${fate.rule} on ${fate.host} (REJECT)`, zh: `被 ${fate.host} 上的规则 ${fate.rule} 拒绝（REJECT）` }]
        : [{ en: `dropped by rule ${fate.rule} on ${fate.host}`, zh: `被 ${fate.host} 上的规则 ${fate.rule} 丢弃` }];
    case 'lost':
      return [{ en: `lost in the network: ${copy.to}'s capture never saw it`, zh: `在网络中丢失：${copy.to} 的抓包中没有它` }];
    case 'unconfirmed':
      return [{ en: `arrival unknown (${copy.to} has no capture)`, zh: `无法确认是否到达（${copy.to} 没有抓包）` }];
    default:
      return assertNever(fate);
  }
}

/** How soon after a segment a REJECT rule rejected, a RST from the same host is taken as the firewall's reply (as replay.ts does). */
const REJECT_REPLY_WINDOW_US = 10_000;

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

function joinParts(parts: readonly Text[]): Text {
  return { en: parts.map((p) => p.en).join('; '), zh: parts.map((p) => p.zh).join('；') };
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
  // SYN-ACKs answering a retransmitted SYN that reached TCP are replies, not timer fires.
  const replies = new Map<LadderArrow, LadderArrow>();
  if (kind === 'SYN-ACK') {
    for (const copy of series.copies.slice(1)) {
      const syn = context.model.arrows.find(
        (a) =>
          a.from === series.to &&
          a.to === series.from &&
          a.retransmission !== undefined &&
          a.fate.kind === 'delivered' &&
          (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN &&
          a.arriveUs !== undefined &&
          a.arriveUs <= timeOfArrow(copy) &&
          timeOfArrow(copy) - a.arriveUs <= SYN_REPLY_WINDOW_US,
      );
      if (syn !== undefined) replies.set(copy, syn);
    }
  }
  const timerCopies = series.copies.filter((c) => !replies.has(c));
  const firstUs = timeOfArrow(timerCopies[0] as LadderArrow);
  const prediction = host === undefined ? undefined : predictorFor(record, kind, host, timerCopies);
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
  const fit = fitSchedule(prediction.predict, offsets, giveUpOffsetMs, prediction.hz, prediction.settings);
  const sends = fit.schedule.sends.length;
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
  for (let m = 1; m < sends; m += 1) {
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
          en: `in answer to the retransmitted SYN that arrived at ${formatRelativeSeconds(reply.arriveUs ?? 0)} (tcp_check_req()), not a timer retransmission`,
          zh: `这是对 ${formatRelativeSeconds(reply.arriveUs ?? 0)} 到达的重传 SYN 的应答（tcp_check_req()），不是定时器重传`,
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
        en: `departs from the model: it allows only ${plural(sends, what.en)} (${fit.settings})`,
        zh: `与模型不符：模型只允许 ${sends} 个 ${what.zh}（${fit.settings}）`,
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
      if (m + 1 < sends) {
        const settings = index === 0 ? ` (${fit.settings})` : '';
        parts.push({ en: `the model predicts the next at ${formatRelativeSeconds(nextUs)}${settings}`, zh: `模型预测下一次在 ${formatRelativeSeconds(nextUs)}${settings === '' ? '' : `（${fit.settings}）`}` });
      } else if (m + 1 === sends && giveUp !== undefined) {
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
    const item = fit.items[sends];
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

function predictorFor(record: RunRecord, kind: ModelKind, host: RunHost, timerCopies: readonly LadderArrow[]): Predictor | { missing: string[] } | 'not-modelled' {
  const recorded = readHostKernelSettings(host);
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

/** Fits observed send offsets to the on-time and the late-timer prediction; keeps the one without departures, else the on-time one. */
function fitSchedule(
  predict: Predictor['predict'],
  offsets: readonly number[],
  giveUpOffsetMs: number | undefined,
  hz: number,
  settings: string,
): ModelFit {
  const fits = (['none', 'max'] as const).map((timerLateness) => {
    const schedule = predict({ timerLateness });
    const { expectedOffsetsMs, intervalsMs } = scheduleTimeline(schedule);
    const sends = schedule.sends.length;
    const placement = alignSends(expectedOffsetsMs.slice(0, sends), intervalsMs.slice(0, sends), offsets, hz);
    const slots: (number | undefined)[] = new Array<number | undefined>(sends).fill(undefined);
    placement.forEach((m, i) => {
      if (m >= 0) slots[m] = offsets[i];
    });
    const items = compareSchedule(expectedOffsetsMs, [...slots, giveUpOffsetMs], intervalsMs, hz);
    const departures = items.filter((item, i) => !item.ok && !(i === sends && giveUpOffsetMs === undefined)).length + placement.filter((m) => m < 0).length;
    return { schedule, placement, items, settings, departures };
  });
  return fits.find((f) => f.departures === 0) ?? (fits[0] as ModelFit);
}

/**
 * Places each observed send at a model index: the next free one, unless the send is late for it and
 * fits a later one (the sends in between are missing). −1 for sends beyond the model.
 */
function alignSends(expected: readonly number[], intervals: readonly number[], observed: readonly number[], hz: number): number[] {
  const slots: (number | undefined)[] = [];
  const placement: number[] = [];
  observed.forEach((offset, i) => {
    if (i === 0) {
      slots.push(offset);
      placement.push(0);
      return;
    }
    const next = slots.length;
    if (next >= expected.length) {
      placement.push(-1);
      return;
    }
    const verdictAt = (j: number): ScheduleItemCheck['verdict'] | undefined => {
      const trial = [...slots, ...new Array<number | undefined>(j - slots.length).fill(undefined), offset];
      return compareSchedule(expected.slice(0, j + 1), trial, intervals.slice(0, j + 1), hz)[j]?.verdict;
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
    slots.push(offset);
    placement.push(chosen);
  });
  return placement;
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

// ---- states ------------------------------------------------------------------------------------------

function describeStates(context: Context): CommentaryLine[] {
  const { record, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const host of record.hosts) {
    const bySocket = new Map<string, StateSample[]>();
    for (const sample of sampleStates(host.events)) {
      const list = bySocket.get(sample.socket) ?? [];
      list.push(sample);
      bySocket.set(sample.socket, list);
    }
    for (const samples of bySocket.values()) {
      const first = samples[0] as StateSample;
      if (first.remote.endsWith(':0')) {
        lines.push(...describeListener(context, host, samples));
        continue;
      }
      const replay = context.replays.find((r) => r.host === host.name && r.tuple.local === first.local && r.tuple.remote === first.remote);
      const who = replay?.conn === undefined ? host.name : `${host.name}/${replay.conn}`;
      if (replay === undefined) {
        for (const sample of samples) {
          lines.push(line(rel(sample.timeUs), 'state', { en: `${who} enters ${sample.state} at ${formatRelativeSeconds(rel(sample.timeUs))}`, zh: `${who} 在 ${formatRelativeSeconds(rel(sample.timeUs))} 进入 ${sample.state} 状态` }));
        }
        continue;
      }
      const timeline = replay.timeline;
      const passive = replay.role === 'passive';
      let position = 0;
      for (const sample of samples) {
        let found: number | undefined;
        for (let j = position + 1; j < timeline.length; j += 1) {
          const entry = timeline[j];
          if (entry === undefined || entry.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) break;
          if (entry.state === sample.state || (passive && sample.state === 'CLOSED' && entry.state === 'LISTEN')) {
            found = j;
            break;
          }
        }
        // The first sample may show the state the socket started from (or one it had entered before the replay began).
        if (found === undefined && position === 0 && timeline[0]?.state === sample.state) found = 0;
        const t = formatRelativeSeconds(rel(sample.timeUs));
        if (found === undefined) {
          lines.push(line(rel(sample.timeUs), 'state', { en: `${who} enters ${sample.state} at ${t}`, zh: `${who} 在 ${t} 进入 ${sample.state} 状态` }));
          continue;
        }
        for (let k = position + 1; k < found; k += 1) {
          const skipped = timeline[k];
          if (skipped === undefined) continue;
          const cause = describeCauseText(context, host, replay, skipped.cause, skipped.timeUs);
          const at = formatRelativeSeconds(rel(skipped.timeUs));
          lines.push(
            line(
              rel(skipped.timeUs),
              'state',
              {
                en: `${who} passes through ${skipped.state} at ${at} (${cause.text.en}); too brief for the 5 ms state sampling, known from the capture and calls`,
                zh: `${who} 在 ${at} 经过 ${skipped.state} 状态（${cause.text.zh}）；持续时间短于 5 ms 的状态采样间隔，由抓包和调用得知`,
              },
              { arrowId: cause.arrowId },
            ),
          );
        }
        const entry = timeline[found];
        position = Math.max(position, found);
        if (entry === undefined || found === 0) {
          lines.push(line(rel(sample.timeUs), 'state', { en: `${who} is in ${sample.state} at ${t}`, zh: `${who} 在 ${t} 处于 ${sample.state} 状态` }));
          continue;
        }
        const cause = describeCauseText(context, host, replay, entry.cause, entry.timeUs);
        const shown: string = sample.state === 'CLOSED' && entry.state === 'LISTEN' ? 'CLOSED' : sample.state;
        lines.push(
          line(rel(sample.timeUs), 'state', { en: `${who} enters ${shown} at ${t} (${cause.text.en})`, zh: `${who} 在 ${t} 进入 ${shown} 状态（${cause.text.zh}）` }, { arrowId: cause.arrowId }),
        );
      }
    }
  }
  return lines;
}

function describeListener(context: Context, host: RunHost, samples: readonly StateSample[]): CommentaryLine[] {
  const { record, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const sample of samples) {
    const t = formatRelativeSeconds(rel(sample.timeUs));
    const port = Number(sample.local.slice(sample.local.lastIndexOf(':') + 1));
    const stepIndex = record.lab.steps.findIndex((s) => s.kind === 'listen' && s.host === host.name && s.port === port);
    const step = record.steps.find((s) => s.index === stepIndex);
    const call: Text = step === undefined ? { en: '', zh: '' } : { en: ` (listen() at ${formatRelativeSeconds(rel(step.startUs))})`, zh: `（listen() 调用于 ${formatRelativeSeconds(rel(step.startUs))}）` };
    lines.push(line(rel(sample.timeUs), 'state', { en: `${host.name} listens on port ${port}: ${sample.state} at ${t}${call.en}`, zh: `${host.name} 在端口 ${port} 监听：${t} 进入 ${sample.state} 状态${call.zh}` }));
  }
  return lines;
}

const TIMER_NAMES_ZH: Readonly<Record<string, string>> = {
  'SYN retransmissions exhausted': 'SYN 重传次数用尽',
  'SYN-ACK retransmissions exhausted (request dropped)': 'SYN-ACK 重传次数用尽（半连接被丢弃）',
  'orphan FIN retransmissions exhausted': '孤儿套接字的 FIN 重传用尽',
  'FIN_WAIT_2 timeout (tcp_fin_timeout)': 'FIN_WAIT_2 超时（tcp_fin_timeout）',
  'TIME_WAIT expiry (TCP_TIMEWAIT_LEN)': 'TIME_WAIT 到期（TCP_TIMEWAIT_LEN）',
};

function describeCauseText(context: Context, host: RunHost, replay: EndpointReplay, cause: ReplayCause, timeUs: number): { text: Text; arrowId?: string } {
  const at = formatRelativeSeconds(context.rel(timeUs));
  switch (cause.kind) {
    case 'segment': {
      const arrow = context.model.arrows.find((a) =>
        cause.direction === 'sent' ? a.from === host.name && a.senderFrame === cause.frame : a.to === host.name && a.receiverFrame === cause.frame,
      );
      const text: Text =
        cause.direction === 'sent'
          ? { en: `sent [${cause.flags}] at ${at}`, zh: `${at} 发出 [${cause.flags}]` }
          : { en: `received [${cause.flags}] at ${at}`, zh: `${at} 收到 [${cause.flags}]` };
      return { text, ...(arrow !== undefined && { arrowId: arrow.id }) };
    }
    case 'call': {
      if (cause.op === 'connect') {
        const syn = context.model.arrows.find((a) => {
          const ends = segmentEndpoints(a.segment);
          return a.from === host.name && ends.src === replay.tuple.local && ends.dst === replay.tuple.remote && (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
        });
        if (syn !== undefined) {
          const synAt = formatRelativeSeconds(timeOfArrow(syn));
          const label = syn.retransmission === undefined && !context.model.arrows.some((a) => a !== syn && a.retransmission !== undefined && a.from === syn.from && a.segment.seq === syn.segment.seq) ? 'SYN' : 'SYN #1';
          return { text: { en: `connect() at ${at}, ${label} at ${synAt}`, zh: `connect() 调用于 ${at}，${label} 于 ${synAt} 发出` }, arrowId: syn.id };
        }
      }
      return { text: { en: `${cause.op}() at ${at}`, zh: `${cause.op}() 调用于 ${at}` } };
    }
    case 'timer': {
      if (cause.name.startsWith('connect()')) return { text: { en: `${cause.name} at ${at}`, zh: `${cause.name}，${at}` } };
      // The replay's expiry is a nominal prediction; the observed moment is the line's own time.
      return { text: { en: `timer: ${cause.name}`, zh: `定时器：${TIMER_NAMES_ZH[cause.name] ?? cause.name}` } };
    }
    default:
      return assertNever(cause);
  }
}

// ---- phases ------------------------------------------------------------------------------------------

function describePhases(context: Context): CommentaryLine[] {
  const { model } = context;
  const lines: CommentaryLine[] = [];
  const byId = new Map(model.arrows.map((a) => [a.id, a]));
  for (const phase of model.phases) {
    const first = byId.get(phase.first);
    const last = byId.get(phase.last);
    if (first === undefined || last === undefined) continue;
    const text = describePhase(phase, first, last, model.arrows);
    // The ladder recognises an exchange from the segments sent; say so when its last one never arrived.
    const missed = phase.kind === 'half-open' || phase.kind === 'simultaneous-open' ? undefined : fateOf(last)[0];
    const told = missed === undefined ? text : { en: `${text.en}; but its last segment, [${last.flags}] from ${last.from}, was ${missed.en}`, zh: `${text.zh}；但最后一个报文段（${last.from} 的 [${last.flags}]）${missed.zh}` };
    lines.push(line(timeOfArrow(last), 'phase', told, { arrowId: last.id }));
  }
  return lines;
}

function describePhase(phase: LadderPhase, first: LadderArrow, last: LadderArrow, arrows: readonly LadderArrow[]): Text {
  const t = formatRelativeSeconds(timeOfArrow(last));
  const done = last.fate.kind === 'delivered' || last.fate.kind === 'unconfirmed';
  const complete = done ? `complete at ${t}` : `not completed (last segment at ${t})`;
  const completeZh = done ? '完成' : '未完成';
  switch (phase.kind) {
    case 'handshake': {
      const synAck = arrows.find(
        (a) => a.from === first.to && (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK) && a.segment.ack === ((first.segment.seq + 1) >>> 0),
      );
      const numbers =
        synAck === undefined
          ? { en: '', zh: '' }
          : {
              en: ` (${first.from} ISN ${first.segment.seq}, SYN-ACK ack ${synAck.segment.ack}; ${synAck.from} ISN ${synAck.segment.seq}, ACK ack ${last.segment.ack})`,
              zh: `（${first.from} 的 ISN ${first.segment.seq}，SYN-ACK 的 ack 为 ${synAck.segment.ack}；${synAck.from} 的 ISN ${synAck.segment.seq}，ACK 的 ack 为 ${last.segment.ack}）`,
            };
      return {
        en: `three-way handshake ${complete}: ack = ISN + 1 on both sides${numbers.en}`,
        zh: `${t} 三次握手${completeZh}：双方的 ack 都等于对方的 ISN + 1${numbers.zh}`,
      };
    }
    case 'simultaneous-open':
      return {
        en: `simultaneous open: both ${first.from} and ${first.to} sent a SYN before receiving the other's (${formatRelativeSeconds(timeOfArrow(first))} … ${t})`,
        zh: `同时打开：${first.from} 与 ${first.to} 都在收到对方的 SYN 之前发出了自己的 SYN（${formatRelativeSeconds(timeOfArrow(first))} … ${t}）`,
      };
    case 'half-open':
      return {
        en: `half-open connection: ${first.to} answered the SYN of ${first.from} with a SYN-ACK, but no final ACK of the handshake was captured (by ${t})`,
        zh: `半连接：${first.to} 用 SYN-ACK 回应了 ${first.from} 的 SYN，但没有抓到三次握手的最后一个 ACK（截至 ${t}）`,
      };
    case 'four-way-close':
      return {
        en: `four-way close ${complete}: ${first.from} sent the first FIN; ${first.to}'s ACK and FIN were separate segments`,
        zh: `${t} 四次挥手${completeZh}：${first.from} 先发出 FIN；${first.to} 的 ACK 和 FIN 分成两个报文段发送`,
      };
    case 'close':
      return {
        en: `connection close ${complete}, in three segments: ${first.from} sent the first FIN; ${first.to}'s ACK rode on its FIN`,
        zh: `${t} 连接关闭${completeZh}，共三个报文段：${first.from} 先发出 FIN；${first.to} 的 ACK 与 FIN 合并在同一个报文段中`,
      };
    case 'simultaneous-close':
      return {
        en: `simultaneous close ${complete}: ${first.from} and ${first.to} each sent a FIN before receiving the other's`,
        zh: `${t} 同时关闭${completeZh}：${first.from} 与 ${first.to} 都在收到对方的 FIN 之前发出了自己的 FIN`,
      };
    default:
      return assertNever(phase.kind);
  }
}

// ---- rules -------------------------------------------------------------------------------------------

const RECEIVE_CHAINS = new Set(['INPUT', 'PREROUTING']);
const SEND_CHAINS = new Set(['OUTPUT', 'POSTROUTING']);

function describeRules(context: Context): CommentaryLine[] {
  const { record, model, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const mark of model.marks) {
    if (mark.kind === 'rule-added') {
      const t = formatRelativeSeconds(mark.timeUs);
      lines.push(line(mark.timeUs, 'rule', { en: `rule ${mark.rule} added on ${mark.host} at ${t}: iptables ${mark.text}`, zh: `${t} 在 ${mark.host} 上添加规则 ${mark.rule}：iptables ${mark.text}` }));
    } else if (mark.kind === 'rule-removed') {
      const t = formatRelativeSeconds(mark.timeUs);
      lines.push(line(mark.timeUs, 'rule', { en: `rule ${mark.rule} removed from ${mark.host} at ${t}`, zh: `${t} 从 ${mark.host} 上删除规则 ${mark.rule}` }));
    }
  }
  record.lab.steps.forEach((step, index) => {
    if (step.kind !== 'rule') return;
    const added = record.steps.find((s) => s.index === index);
    if (added === undefined) return;
    const host = hostOf(record, step.host);
    let parsed: ParsedRule;
    let tagged: ParsedRule;
    try {
      parsed = parseRule(step.text, context.addresses);
      tagged = parseRule(step.text, context.addresses, { comment: `tcplab:${step.name}` });
    } catch (err) {
      if (err instanceof RuleError) return;
      throw err;
    }
    const counters = parseRuleCounters(host?.ruleCounters ?? '');
    const counter = matchCounterToRule(tagged, counters) ?? matchCounterToRule(parsed, counters);
    const matched = model.arrows.filter((a) => a.fate.kind === 'dropped' && a.fate.rule === step.name && a.fate.host === step.host);
    const lastMatched = matched[matched.length - 1];
    const removalIndex = record.lab.steps.findIndex((s, i) => i > index && s.kind === 'unrule' && s.host === step.host && s.name === step.name);
    const removed = record.steps.find((s) => s.index === removalIndex);
    const timeUs = lastMatched !== undefined ? (lastMatched.arriveUs ?? timeOfArrow(lastMatched)) + 1 : removed !== undefined ? rel(removed.endUs) : rel(added.startUs) + 1;
    const counted: Text = counter === undefined ? { en: 'no counter recorded', zh: '没有记录计数器' } : { en: `counter ${counter.pkts}`, zh: `计数器 ${counter.pkts}` };
    let text: Text;
    if (SEND_CHAINS.has(parsed.chain)) {
      text =
        counter === undefined
          ? { en: `rule ${step.name} on ${step.host} (${parsed.chain}): no counter recorded, so the segments it dropped before capture cannot be counted`, zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）：没有记录计数器，无法统计它在抓包之前丢弃的报文段` }
          : {
              en: `rule ${step.name} on ${step.host} (${parsed.chain}) matched ${plural(counter.pkts, 'segment')} (counter ${counter.pkts}); they were dropped before ${step.host}'s capture, so no arrow shows them`,
              zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）共匹配 ${counter.pkts} 个报文段（计数器 ${counter.pkts}）；它们在 ${step.host} 抓包之前就被丢弃，图中没有对应的箭头`,
            };
    } else if (RECEIVE_CHAINS.has(parsed.chain)) {
      const disagree = counter !== undefined && counter.pkts !== matched.length;
      text = {
        en: `rule ${step.name} on ${step.host} matched ${plural(matched.length, 'segment')} (${counted.en})${disagree ? '; the counter and the capture disagree' : ''}`,
        zh: `${step.host} 上的规则 ${step.name} 共匹配 ${matched.length} 个报文段（${counted.zh}）${disagree ? '；计数器与抓包不一致' : ''}`,
      };
    } else {
      text = { en: `rule ${step.name} on ${step.host} (${parsed.chain}): ${counted.en}`, zh: `${step.host} 上的规则 ${step.name}（${parsed.chain}）：${counted.zh}` };
    }
    lines.push(line(timeUs, 'rule', text, { arrowId: lastMatched?.id }));
  });
  return lines;
}

// ---- application events ------------------------------------------------------------------------------

function describeApplication(context: Context, handledErrors: Set<unknown>): CommentaryLine[] {
  const { record, model, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const host of record.hosts) {
    for (const event of host.events) {
      const t = formatRelativeSeconds(rel(event.timeUs));
      switch (event.type) {
        case 'connected':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `connect() of ${host.name}/${event.conn} succeeds at ${t} (${event.local} → ${event.remote})`,
              zh: `${host.name}/${event.conn} 的 connect() 在 ${t} 成功返回（${event.local} → ${event.remote}）`,
            }),
          );
          break;
        case 'accepted':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name} accepts connection ${event.conn} from ${event.remote} at ${t}`,
              zh: `${host.name} 在 ${t} 通过 accept() 得到连接 ${event.conn}（来自 ${event.remote}）`,
            }),
          );
          break;
        case 'end':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name}/${event.conn} reads end of stream at ${t}: the peer's FIN has arrived`,
              zh: `${host.name}/${event.conn} 在 ${t} 读到流结束：对端的 FIN 已经到达`,
            }),
          );
          break;
        case 'error': {
          if (handledErrors.has(event)) break;
          const who = `${host.name}/${event.conn}`;
          const call = event.syscall === undefined ? 'the socket' : `${event.syscall}()`;
          const callZh = event.syscall === undefined ? '套接字' : `${event.syscall}()`;
          const tuple = findConnTuple(host.events, event.conn);
          const rst = [...model.arrows]
            .reverse()
            .find(
              (a) =>
                a.to === host.name &&
                (a.segment.flags & TcpFlag.RST) !== 0 &&
                (a.arriveUs ?? timeOfArrow(a)) <= rel(event.timeUs) + RST_BEFORE_ERROR_US &&
                (tuple === undefined || (segmentEndpoints(a.segment).dst === tuple.local && segmentEndpoints(a.segment).src === tuple.remote)),
            );
          const rstText: Text =
            rst === undefined ? { en: '', zh: '' } : { en: ` (the RST arrived at ${formatRelativeSeconds(rst.arriveUs ?? timeOfArrow(rst))})`, zh: `（RST 于 ${formatRelativeSeconds(rst.arriveUs ?? timeOfArrow(rst))} 到达）` };
          let text: Text;
          switch (event.code) {
            case 'ETIMEDOUT':
              text = { en: `${call} of ${who} failed with ETIMEDOUT at ${t} (timed out)`, zh: `${who} 的 ${callZh} 在 ${t} 以 ETIMEDOUT 失败（超时）` };
              break;
            case 'ECONNREFUSED':
              text = {
                en: `${call} of ${who} failed with ECONNREFUSED at ${t}: the SYN was answered with a RST${rstText.en}`,
                zh: `${who} 的 ${callZh} 在 ${t} 以 ECONNREFUSED 失败（连接被拒绝）：SYN 得到的回应是 RST${rstText.zh}`,
              };
              break;
            case 'ECONNRESET':
              text = {
                en: `${call} of ${who} failed with ECONNRESET at ${t}: the connection was reset by a RST${rstText.en}`,
                zh: `${who} 的 ${callZh} 在 ${t} 以 ECONNRESET 失败（连接被重置）：收到了 RST${rstText.zh}`,
              };
              break;
            default:
              text = { en: `${call} of ${who} failed with ${event.code} at ${t}: ${event.message}`, zh: `${who} 的 ${callZh} 在 ${t} 以 ${event.code} 失败：${event.message}` };
          }
          lines.push(line(rel(event.timeUs), 'application', text, { arrowId: rst?.id }));
          break;
        }
        case 'fatal':
          lines.push(line(rel(event.timeUs), 'application', { en: `${host.name}'s agent reported a problem at ${t}: ${event.message}`, zh: `${host.name} 的代理程序在 ${t} 报告问题：${event.message}` }));
          break;
        default:
          break;
      }
    }
  }
  return lines;
}

// ---- failed checks -----------------------------------------------------------------------------------

const TIMING_CHECK_NAME = /^(SYN|SYN-ACK|FIN) retransmissions of (?:orphaned )?([\w.-]+)/;
const RELATIVE_TIME = /\+(\d+(?:\.\d+)?) s\b/;

function describeFailedChecks(context: Context, verdict: Verdict, notes: SeriesNotes): CommentaryLine[] {
  const lines: CommentaryLine[] = [];
  for (const check of verdict.checks) {
    if (check.status !== 'fail') continue;
    const timing = TIMING_CHECK_NAME.exec(check.name);
    const seriesKey = timing === null ? undefined : `${timing[1]}|${timing[2]}`;
    if (seriesKey !== undefined && notes.departed.has(seriesKey)) continue; // told through its series
    // A timing check the series found no departure in failed on its ending (e.g. the state it gave up from).
    const end = seriesKey === undefined ? undefined : notes.ends.get(seriesKey);
    const { timeUs, arrowId } = end ?? whenCheckFailed(context, check);
    lines.push(
      line(
        timeUs,
        'check',
        { en: `check failed: ${check.name}: expected ${check.expected}; observed ${check.observed}`, zh: `检查失败：${check.name}：预期 ${check.expected}；观察到 ${check.observed}` },
        { arrowId, departs: true },
      ),
    );
  }
  return lines;
}

/** Where a failed check points: its first violation's time, else its first arrow, else a time it names, else the end of the run. */
function whenCheckFailed(context: Context, check: Check): { timeUs: number; arrowId?: string } {
  const seconds = (text: string | undefined): number | undefined => {
    const match = text === undefined ? null : RELATIVE_TIME.exec(text);
    return match === null ? undefined : Math.round(Number(match[1]) * 1e6);
  };
  const violation = seconds(check.evidence.find((e) => e.startsWith('violation:')));
  if (violation !== undefined) return { timeUs: violation };
  const arrows = context.model.checks.find((c) => c.name === check.name)?.arrowIds ?? [];
  const arrow = context.model.arrows.find((a) => arrows.includes(a.id));
  if (arrow !== undefined) return { timeUs: timeOfArrow(arrow), arrowId: arrow.id };
  const named = seconds(check.observed) ?? seconds(check.evidence.find((e) => RELATIVE_TIME.test(e)));
  return { timeUs: named ?? context.endUs };
}
