import type { Check, CheckOrigin, Evidence, Verdict } from '../../verify/verdict.js';
import { line, timeOfArrow, type CommentaryLine, type Context } from './commentary-text.js';
import type { ModelKind, SeriesNotes } from './transmissions.js';
import { checkLines } from '../../messages/text.js';

/*
 * Failed checks, told where they failed. A check is matched to what the commentary already told by its
 * typed origin (verify/verdict.ts CheckOrigin), never by its text: a failed timing expectation whose
 * series the commentary already showed departing is not told twice. Its moment comes from its typed
 * evidence: the earliest sample or event it names, else the first arrow its segment refs point at.
 */

/** The timing series (`SYN|client`) a check is about, from its origin. */
function timingSeriesOf(origin: CheckOrigin | undefined): string | undefined {
  if (origin?.kind !== 'expectation' || origin.host === undefined) return undefined;
  const kind: ModelKind | undefined =
    origin.expectation === 'syn-retransmits'
      ? 'SYN'
      : origin.expectation === 'synack-retransmits'
        ? 'SYN-ACK'
        : origin.expectation === 'fin-retransmits'
          ? 'FIN'
          : undefined;
  return kind === undefined ? undefined : `${kind}|${origin.host}`;
}

/** One line per failed check of the verdict that the series did not already tell. */
export function describeFailedChecks(context: Context, verdict: Verdict, notes: SeriesNotes): CommentaryLine[] {
  const lines: CommentaryLine[] = [];
  for (const check of verdict.checks) {
    if (check.status !== 'fail') continue;
    const seriesKey = timingSeriesOf(check.origin);
    if (seriesKey !== undefined && notes.departed.has(seriesKey)) continue; // told through its series
    // A timing check the series found no departure in failed on its ending (e.g. the state it gave up from).
    const end = seriesKey === undefined ? undefined : notes.ends.get(seriesKey);
    const { timeUs, arrowId } = end ?? whenCheckFailed(context, check);
    const [en, zh] = [checkLines(check, 'en'), checkLines(check, 'zh')];
    lines.push(
      line(
        timeUs,
        'check',
        {
          en: `check failed: ${en.name}: expected ${en.expected}; observed ${en.observed}${check.source === undefined ? '' : ` (${check.source})`}`,
          zh: `检查失败：${zh.name}：预期 ${zh.expected}；观察到 ${zh.observed}${check.source === undefined ? '' : `（${check.source}）`}`,
        },
        { arrowId, departs: true },
      ),
    );
  }
  return lines;
}

/**
 * Where a failed check points: for conformance, the first sample that breaks the replay; else its first
 * arrow; else the earliest sample, event or step it names; else the end of the run.
 */
function whenCheckFailed(context: Context, check: Check): { timeUs: number; arrowId?: string } {
  const refs: readonly Evidence[] = check.refs ?? [];
  const violation = firstViolatingSample(check);
  if (violation !== undefined) return { timeUs: context.rel(violation) };
  const arrows = context.model.checks.find((c) => c.name === check.name)?.arrowIds ?? [];
  const arrow = context.model.arrows.find((a) => arrows.includes(a.id));
  if (arrow !== undefined) return { timeUs: timeOfArrow(arrow), arrowId: arrow.id };
  const times = refs.flatMap((r) => (r.kind === 'sample' || r.kind === 'event' ? [r.timeUs] : r.kind === 'step' ? [r.startUs] : []));
  return { timeUs: times.length > 0 ? context.rel(Math.min(...times)) : context.endUs };
}

/** The moment of a failed check's first violation (its typed `violation` evidence). */
function firstViolatingSample(check: Check): number | undefined {
  return check.refs?.find((r): r is Extract<Evidence, { kind: 'violation' }> => r.kind === 'violation')?.timeUs;
}
