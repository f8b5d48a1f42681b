import type { RunAnalysis } from '../analysis/analyze-run.js';
import { relTime, type RunRecord } from '../analysis/run-record.js';
import { assertNever } from '../assert-never.js';
import type { ExerciseQuestion } from '../lab/model.js';
import type { TcpState } from '../tcp/state.js';
import { connectOutcomeOf, samplesOf, segmentsMatching, socketErrorOf, statePathOf } from '../verify/check-expectations.js';
import type { Evidence, Verdict } from '../verify/verdict.js';
import { formatFlags } from '../observe/packet.js';
import { EXERCISE_WORDS, type ExerciseWords } from '../messages/exercise-words.js';
import { checkLines, same, say, type Text } from '../messages/text.js';

/*
 * The truth of each question, read from the run's own analysis and verdict objects (pure): the states a host
 * passed through (the analysis' samples, with the exact traced transitions), segment counts in the sender's
 * capture, connect()'s outcome and error from the agent's events, the time connect() took to fail, and a
 * check's status found by its typed origin (the expectation's index), never by its text.
 */

/** What the run showed, in the form the question's answer takes. */
export type TruthValue =
  | { readonly kind: 'states'; readonly path: readonly TcpState[] }
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'duration'; readonly ms: number }
  | { readonly kind: 'choice'; readonly value: string }
  | { readonly kind: 'yes-no'; readonly yes: boolean }
  /** The run holds no truth for this question (e.g. a give-up time of a connect() that succeeded); every answer scores 0. */
  | { readonly kind: 'none'; readonly why: string };

/** One question's truth: its value, the value as an answer would write it, and where to look in the run folder. */
export interface ObservedTruth {
  readonly value: TruthValue;
  /** The truth written as an answer (`SYN_SENT → CLOSED`, `4`, `15.4s`, `ETIMEDOUT`, `yes`), or why there is none. */
  readonly display: string;
  readonly evidence: readonly string[];
  readonly refs: readonly Evidence[];
  /** The display and evidence in Chinese (`--lang zh`); those above are English. */
  readonly zh: { readonly display: string; readonly evidence: readonly string[] };
}

/** A truth whose words are Texts (every language). */
function truthOf(value: TruthValue, display: Text, evidence: readonly Text[], refs: readonly Evidence[]): ObservedTruth {
  return { value, display: display.en, evidence: evidence.map((e) => e.en), refs, zh: { display: display.zh, evidence: evidence.map((e) => e.zh) } };
}

/** A question the run holds no truth for, and why. */
function noTruth(why: Text, evidence: readonly Text[] = []): ObservedTruth {
  return truthOf({ kind: 'none', why: why.en }, why, evidence, []);
}

function words(sentence: (w: ExerciseWords) => string): Text {
  return say(EXERCISE_WORDS, sentence);
}

/** The observed truth of `question` in a run (its record's analysis and verdict). */
export function observeTruth(question: ExerciseQuestion, analysis: RunAnalysis, verdict: Verdict): ObservedTruth {
  const run = analysis.record;
  const truth = question.truth;
  switch (truth.kind) {
    case 'states': {
      const samples = samplesOf(analysis, run, { host: truth.host, ...(truth.port !== undefined && { port: truth.port }) });
      const path = statePathOf(samples);
      const firsts = path.map((state) => samples.find((s) => s.state === state)).filter((s) => s !== undefined);
      return truthOf(
        { kind: 'states', path },
        path.length === 0 ? words((w) => w.noSocketObserved) : same(path.join(' → ')),
        firsts.map((s) => words((w) => w.stateAt(truth.host, s.state, relTime(run, s.timeUs), s.local, s.remote))),
        firsts.map((s) => ({ kind: 'sample', host: truth.host, timeUs: s.timeUs, socket: s.socket, state: s.state })),
      );
    }
    case 'segments': {
      const { matching } = segmentsMatching(run, truth.from, truth.to, truth.flags);
      const evidence = matching.slice(0, 20).map((s) => words((w) => w.segmentAt(truth.from, s.frame, relTime(run, s.timeUs), formatFlags(s.flags), s.seq)));
      if (matching.length === 0) evidence.push(words((w) => w.noSegment(truth.flags, truth.from, truth.to)));
      const refs: Evidence[] = matching.map((s) => ({ kind: 'segment', host: truth.from, frame: s.frame }));
      const yes = matching.length > 0;
      if (question.answer.kind === 'yes-no')
        return truthOf(
          { kind: 'yes-no', yes },
          words((w) => w.yesNo(yes)),
          evidence,
          refs,
        );
      return truthOf({ kind: 'count', count: matching.length }, same(matching.length), evidence, refs);
    }
    case 'outcome': {
      const { observed, text, evidence, decisive } = connectOutcomeOf(run, truth.host, truth.conn);
      if (decisive === undefined) return noTruth(text, evidence);
      const refs: Evidence[] = [{ kind: 'event', host: truth.host, timeUs: decisive.timeUs, event: decisive.type, conn: truth.conn }];
      return truthOf({ kind: 'choice', value: observed }, same(observed), evidence, refs);
    }
    case 'error': {
      const { observed, error, evidence } = socketErrorOf(run, truth.host, truth.conn);
      const refs: Evidence[] = error === undefined ? [] : [{ kind: 'event', host: truth.host, timeUs: error.timeUs, event: 'error', conn: truth.conn }];
      return truthOf({ kind: 'choice', value: observed }, same(observed), evidence, refs);
    }
    case 'give-up':
      return observeGiveUp(truth.host, truth.conn, run);
    case 'check': {
      const check = verdict.checks.find((c) => c.origin?.kind === 'expectation' && c.origin.index === truth.expect - 1);
      if (check === undefined) return noTruth(words((w) => w.noCheckOf(truth.expect)));
      const yes = check.status === 'pass';
      const lines = { en: checkLines(check, 'en'), zh: checkLines(check, 'zh') };
      const evidence = [
        say(EXERCISE_WORDS, (w, lang) => w.checkLine(lines[lang].name, yes, lines[lang].observed)),
        ...lines.en.evidence.slice(0, 8).map((en, i) => ({ en, zh: lines.zh.evidence[i] ?? en })),
      ];
      return truthOf(
        { kind: 'yes-no', yes },
        words((w) => w.yesNo(yes)),
        evidence,
        check.refs ?? [],
      );
    }
    default:
      return assertNever(truth);
  }
}

/** The time from the start of `conn`'s connect step to the first error the connection reported (connect's or a later call's); none without one. */
function observeGiveUp(host: string, conn: string, run: RunRecord): ObservedTruth {
  const stepIndex = run.lab.steps.findIndex((s) => s.kind === 'connect' && s.host === host && s.conn === conn);
  const step = run.steps.find((s) => s.index === stepIndex);
  const { error, evidence } = socketErrorOf(run, host, conn);
  if (step === undefined) return noTruth(words((w) => w.connectStepNeverRan(conn)));
  if (error === undefined)
    return noTruth(
      words((w) => w.neverGaveUp(conn)),
      evidence,
    );
  const ms = (error.timeUs - step.startUs) / 1000;
  return truthOf(
    { kind: 'duration', ms },
    same(`${(ms / 1000).toFixed(2)}s`),
    [words((w) => w.connectCalledAt(relTime(run, step.startUs), stepIndex + 1)), ...evidence],
    [
      { kind: 'step', index: stepIndex, startUs: step.startUs },
      { kind: 'event', host, timeUs: error.timeUs, event: 'error', conn },
    ],
  );
}

/** The observed truth of every question, by id. */
export function observeTruths(questions: readonly ExerciseQuestion[], analysis: RunAnalysis, verdict: Verdict): Map<string, ObservedTruth> {
  return new Map(questions.map((q) => [q.id, observeTruth(q, analysis, verdict)]));
}
