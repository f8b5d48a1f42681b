import type { RunAnalysis } from '../analysis/analyze-run.js';
import type { Verdict } from '../verify/verdict.js';
import { describeApplication } from './commentary/application.js';
import { makeContext, type CommentaryKind, type CommentaryLang, type CommentaryLine } from './commentary/commentary-text.js';
import { describeFailedChecks } from './commentary/failed-checks.js';
import { describePhases } from './commentary/phases.js';
import { describeRules } from './commentary/rules.js';
import { describeStates } from './commentary/states.js';
import { describeTransmissions, type SeriesNotes } from './commentary/transmissions.js';
import { buildLadderModel, type LadderModel } from './ladder-model.js';
import { message } from '../messages/catalog.js';
import { formatRelativeSeconds } from './time-format.js';

export type { CommentaryKind, CommentaryLang, CommentaryLine } from './commentary/commentary-text.js';

/*
 * Run commentary (this file assembles it; its parts are in report/commentary/): what happened in a run, told in time order in English and Chinese, from the run's own
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
 * (tcp_orphan_retries, RTO estimated from the gaps as the timing checks do). The fit is the analysis'
 * one fitter (analysis/timing-fit.ts fitRetransmissions()), the one the timing checks use: each send is
 * checked against a window anchored at the previous *observed* send, a send too late for its slot but
 * fitting a later one is taken as "the ones between are missing", and the on-time and the late-timer
 * predictions are both tried. "The model predicts the next at" is the observed send plus the model's next interval.
 * SYN-ACKs that answer a retransmitted SYN reaching TCP (tcp_check_req() → inet_rtx_syn_ack()) are left
 * out of the timer schedule, as the analysis decided (analysis/syn-ack-replies.ts).
 *
 * A line `departs` when the observation departed from the model there: a send outside its window, a send
 * the model expected but the capture lacks, a send beyond the model's count, a give-up outside its window,
 * or a failed check of the verdict (timing checks are told through their series instead, when the series
 * shows the departure). firstDeparture() is the earliest such line.
 */

/** Order of lines at the same instant. */
const KIND_ORDER: readonly CommentaryKind[] = ['rule', 'transmission', 'model', 'state', 'phase', 'application', 'check'];

/** Builds the commentary of a run (its analysis + verdict, and its ladder model when already built) in time order (pure). */
export function buildRunCommentary(analysis: RunAnalysis, verdict: Verdict, model: LadderModel = buildLadderModel(analysis, verdict)): CommentaryLine[] {
  const context = makeContext(analysis, model);
  const lines: CommentaryLine[] = [];
  const departedSeries: SeriesNotes = { departed: new Set(), ends: new Map() };
  const handledErrors = new Set<unknown>();
  lines.push(...describeRules(context));
  lines.push(...describeTransmissions(context, departedSeries, handledErrors));
  lines.push(...describeStates(context));
  lines.push(...describePhases(context));
  lines.push(...describeApplication(context, handledErrors));
  lines.push(...describeFailedChecks(context, verdict, departedSeries));
  return inTimeOrder(lines);
}

/** Commentary lines in time order; at one instant in KIND_ORDER, else as given (pure; a capture's commentary too). */
export function inTimeOrder(lines: readonly CommentaryLine[]): CommentaryLine[] {
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
    const verdict =
      options.verdict === undefined
        ? ''
        : message(lang, 'commentary.verdict', { verdict: message(lang, options.verdict === 'pass' ? 'commentary.verdict.pass' : 'commentary.verdict.fail') });
    out.push(
      `${message(lang, 'commentary.title')}${options.title === undefined ? '' : `${message(lang, 'commentary.titleSeparator')}${options.title}`}${verdict}`,
    );
  }
  const first = firstDeparture(lines);
  const width = Math.max(0, ...lines.map((line) => formatRelativeSeconds(line.timeUs).length));
  for (const line of lines) {
    const marker = line === first ? '⚠ ' : line.departs ? '✗ ' : '  ';
    const arrow = line.arrowId === undefined ? '' : `  (→ ${line.arrowId.slice(line.arrowId.lastIndexOf('-') + 1)})`;
    const note = line === first ? message(lang, 'commentary.firstDeparture') : '';
    out.push(`${marker}${formatRelativeSeconds(line.timeUs).padStart(width)}  ${line[lang]}${arrow}${note}`);
  }
  if (lines.length === 0) out.push(message(lang, 'commentary.empty'));
  return `${out.join('\n')}\n`;
}
