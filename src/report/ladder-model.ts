import type { RunAnalysis } from '../analysis/analyze-run.js';
import { segmentAtFrame, type TracedSegment } from '../analysis/segment-trace.js';
import type { Check, Verdict } from '../verify/verdict.js';

export type { ArrowFate, LadderPhase, LadderPhaseKind, LifelineMark } from '../analysis/segment-trace.js';
import type { LadderPhase, LifelineMark } from '../analysis/segment-trace.js';

/**
 * The ladder (sequence) diagram of one run, as data: what the HTML and Mermaid renderers draw. Pure and
 * derived only: the segments, their copies and fates, the phases and the lifeline marks come from the run's
 * analysis (src/analysis/segment-trace.ts, rule-timeline.ts); this adds the checks that point at each arrow.
 */
export interface LadderModel {
  readonly lab: { readonly name: string; readonly title: string; readonly description: string; readonly descriptionZh?: string; readonly source?: string };
  /** What the diagram shows: a run of a lab, or one connection of a capture file. */
  readonly subject: LadderSubject;
  readonly lifelines: readonly Lifeline[];
  /** In time order (departure, or arrival when the sender's copy is missing). */
  readonly arrows: readonly LadderArrow[];
  /** State labels and rule events on the lifelines, in time order. */
  readonly marks: readonly LifelineMark[];
  readonly phases: readonly LadderPhase[];
  readonly checks: readonly LadderCheck[];
  /** Disagreements between the artifacts (counter vs capture, unmatched copies): never silently dropped. */
  readonly warnings: readonly string[];
}

export type LadderSubject =
  | { readonly kind: 'run'; readonly runId: string; readonly verdict: 'pass' | 'fail'; readonly durationMs: number }
  /** One capture point: each arrow is one captured frame (`senderFrame`), drawn at its capture time. */
  | { readonly kind: 'capture'; readonly file: string; readonly connection: number; readonly via?: string; readonly findings: CaptureFindings };

/** What `tcplab verify <capture>` says of a connection: each endpoint's replayed state path and the anomalies. */
export interface CaptureFindings {
  readonly paths: { readonly client: readonly string[]; readonly server: readonly string[] };
  readonly anomalies: readonly string[];
}

export interface Lifeline {
  readonly host: string;
  readonly address: string;
  /** e.g. `3 segments dropped by rule block-out before capture` (OUTPUT/POSTROUTING drops). */
  readonly notes: readonly string[];
}

/** A traced segment with the checks whose evidence points at it. */
export interface LadderArrow extends TracedSegment {
  /** Names of checks whose evidence points at this segment, and those of them that failed. */
  readonly checks: readonly string[];
  readonly failedChecks: readonly string[];
}

export interface LadderCheck extends Check {
  /** Arrows its evidence names (`client capture #7`). */
  readonly arrowIds: readonly string[];
}

/** Builds the ladder model of a run from its analysis and verdict (pure). */
export function buildLadderModel(analysis: RunAnalysis, verdict: Verdict): LadderModel {
  const { record, trace } = analysis;
  const evidence = linkEvidence(verdict.checks, trace.segments);
  const arrows: LadderArrow[] = trace.segments.map((segment) => {
    const linked = evidence.get(segment.id) ?? [];
    return { ...segment, checks: linked.map((c) => c.name), failedChecks: linked.filter((c) => c.status === 'fail').map((c) => c.name) };
  });
  const checks: LadderCheck[] = verdict.checks.map((check) => ({
    ...check,
    arrowIds: arrows.filter((a) => a.checks.includes(check.name)).map((a) => a.id),
  }));
  return {
    lab: {
      name: record.lab.name,
      title: record.lab.title,
      description: record.lab.description,
      ...(record.lab.descriptionZh !== undefined && { descriptionZh: record.lab.descriptionZh }),
      ...(record.lab.source !== undefined && { source: record.lab.source }),
    },
    subject: { kind: 'run', runId: record.runId, verdict: verdict.verdict, durationMs: verdict.durationMs },
    lifelines: record.hosts.map((h) => ({
      host: h.name,
      address: h.address6 !== undefined ? `${h.address} ${h.address6}` : h.address,
      notes: trace.notes.get(h.name) ?? [],
    })),
    arrows,
    marks: trace.marks,
    phases: trace.phases,
    checks,
    warnings: trace.warnings,
  };
}

/** A row of the diagram: an arrow (with its number) or a lifeline mark. */
export type LadderRow =
  | { readonly kind: 'arrow'; readonly timeUs: number; readonly arrow: LadderArrow; readonly index: number }
  | { readonly kind: 'mark'; readonly timeUs: number; readonly mark: LifelineMark };

/**
 * The diagram's rows in time order, what every renderer draws top to bottom. At one instant an endpoint's
 * first state comes first, then the arrow, then what it changed (a capture's state is stamped with the
 * frame that caused it).
 */
export function ladderRows(model: LadderModel): LadderRow[] {
  const rank = (row: LadderRow): number => (row.kind === 'arrow' ? 0 : row.mark.kind === 'state' && row.mark.initial === true ? -1 : 1);
  return [
    ...model.arrows.map((arrow, index): LadderRow => ({ kind: 'arrow', timeUs: arrow.departUs ?? arrow.arriveUs ?? 0, arrow, index })),
    ...model.marks.map((mark): LadderRow => ({ kind: 'mark', timeUs: mark.timeUs, mark })),
  ].sort((x, y) => x.timeUs - y.timeUs || rank(x) - rank(y));
}

/**
 * Maps each check to the arrows its evidence names: its typed segment refs; a check without refs (a
 * verdict.json written before checks carried them) by its `<host> capture #<frame>` evidence lines.
 */
function linkEvidence(checks: readonly Check[], segments: readonly TracedSegment[]): Map<string, Check[]> {
  const linked = new Map<string, Check[]>();
  const trace = { segments, phases: [], marks: [], notes: new Map(), warnings: [] };
  for (const check of checks) {
    const refs = check.refs?.flatMap((r) => (r.kind === 'segment' ? [{ host: r.host, frame: r.frame }] : [])) ?? legacySegmentRefs(check.evidence);
    for (const { host, frame } of refs) {
      const segment = segmentAtFrame(trace, host, frame);
      if (segment === undefined) continue;
      const list = linked.get(segment.id) ?? [];
      if (!list.includes(check)) list.push(check);
      linked.set(segment.id, list);
    }
  }
  return linked;
}

/** `<host> capture #<frame>` in the evidence lines of a stored check from before typed refs. */
function legacySegmentRefs(lines: readonly string[]): { host: string; frame: number }[] {
  return lines.flatMap((line) => [...line.matchAll(/([\w.-]+) capture #(\d+)/g)].map((m) => ({ host: m[1] as string, frame: Number(m[2]) })));
}
