import type { RunAnalysis } from '../../analysis/analyze-run.js';
import type { EndpointReplay } from '../../analysis/endpoint-replay.js';
import type { RunHost, RunRecord } from '../../analysis/run-record.js';
import { assertNever } from '../../assert-never.js';
import type { TracedSegment } from '../../analysis/segment-trace.js';
import type { LadderModel } from '../ladder-model.js';

/* The commentary's shared vocabulary: its line type, the context every part reads, and small helpers. */

/** What a commentary line is about (also its order among lines at the same instant). */
export type CommentaryKind = 'rule' | 'transmission' | 'model' | 'state' | 'phase' | 'application' | 'check';

/** One sentence of the commentary, in both languages. */
export interface CommentaryLine {
  /** µs relative to the run's start (`RunRecord.startedUs`), like every time in the reports. */
  readonly timeUs: number;
  readonly kind: CommentaryKind;
  readonly en: string;
  readonly zh: string;
  /** The ladder arrow the line is about, when there is one: `seg-N` (a capture's: `c<conn>-seg-N`), N its number on the ladder. */
  readonly arrowId?: string;
  /** True when the observation departed from the model (or a check failed) here. */
  readonly departs: boolean;
}

export type CommentaryLang = 'en' | 'zh';

/** A sentence in both languages. */
export interface Text {
  readonly en: string;
  readonly zh: string;
}

/** What every part of the commentary reads: the run's analysis and its ladder. */
export interface Context {
  readonly record: RunRecord;
  readonly analysis: RunAnalysis;
  readonly model: LadderModel;
  readonly rel: (us: number) => number;
  /** End of the observation, relative µs: the last step end or agent event. */
  readonly endUs: number;
  readonly replays: readonly EndpointReplay[];
  readonly addresses: Readonly<Record<string, string>>;
}

/** The commentary's context, from the analysis (nothing recomputed). */
export function makeContext(analysis: RunAnalysis, model: LadderModel): Context {
  const { record } = analysis;
  const rel = (us: number): number => us - record.startedUs;
  return {
    record,
    analysis,
    model,
    rel,
    endUs: rel(analysis.endUs),
    replays: analysis.replays,
    addresses: Object.fromEntries(record.hosts.map((h) => [h.name, h.address])),
  };
}

/** One commentary line. */
export function line(timeUs: number, kind: CommentaryKind, text: Text, extra: { arrowId?: string | undefined; departs?: boolean } = {}): CommentaryLine {
  return { timeUs, kind, en: text.en, zh: text.zh, ...(extra.arrowId !== undefined && { arrowId: extra.arrowId }), departs: extra.departs ?? false };
}

/** When the arrow left (or arrived, without a sender copy), relative µs. */
export function timeOfArrow(arrow: TracedSegment): number {
  return arrow.departUs ?? arrow.arriveUs ?? 0;
}

/** `3 segments`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The run's host `name`, if any. */
export function hostOf(record: RunRecord, name: string): RunHost | undefined {
  return record.hosts.find((h) => h.name === name);
}

/** What happened to a copy, unless it was delivered. */
export function fateOf(copy: TracedSegment): Text[] {
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

/** Joins clauses with `; ` / `；`. */
export function joinParts(parts: readonly Text[]): Text {
  return { en: parts.map((p) => p.en).join('; '), zh: parts.map((p) => p.zh).join('；') };
}
