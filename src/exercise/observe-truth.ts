import type { RunAnalysis } from '../analysis/analyze-run.js';
import { relTime, type RunRecord } from '../analysis/run-record.js';
import { assertNever } from '../assert-never.js';
import type { ExerciseQuestion } from '../lab/model.js';
import type { TcpState } from '../tcp/state.js';
import { connectOutcomeOf, samplesOf, segmentsMatching, socketErrorOf, statePathOf } from '../verify/check-expectations.js';
import type { Evidence, Verdict } from '../verify/verdict.js';
import { formatFlags } from '../observe/packet.js';

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
      return {
        value: { kind: 'states', path },
        display: path.length === 0 ? 'no socket observed' : path.join(' → '),
        evidence: firsts.map((s) => `${truth.host} ${s.state} at ${relTime(run, s.timeUs)} (${s.local} ↔ ${s.remote})`),
        refs: firsts.map((s) => ({ kind: 'sample', host: truth.host, timeUs: s.timeUs, socket: s.socket, state: s.state })),
      };
    }
    case 'segments': {
      const { matching } = segmentsMatching(run, truth.from, truth.to, truth.flags);
      const evidence = matching
        .slice(0, 20)
        .map((s) => `${truth.from} capture #${s.frame} at ${relTime(run, s.timeUs)} [${formatFlags(s.flags)}] seq ${s.seq}`);
      if (matching.length === 0) evidence.push(`no [${truth.flags}] segment ${truth.from} → ${truth.to} in ${truth.from}'s capture`);
      const refs: Evidence[] = matching.map((s) => ({ kind: 'segment', host: truth.from, frame: s.frame }));
      if (question.answer.kind === 'yes-no') {
        return { value: { kind: 'yes-no', yes: matching.length > 0 }, display: matching.length > 0 ? 'yes' : 'no', evidence, refs };
      }
      return { value: { kind: 'count', count: matching.length }, display: String(matching.length), evidence, refs };
    }
    case 'outcome': {
      const { observed, decisive, ...outcome } = connectOutcomeOf(run, truth.host, truth.conn);
      const evidence = outcome.evidence.map((e) => e.en);
      const refs: Evidence[] =
        decisive === undefined ? [] : [{ kind: 'event', host: truth.host, timeUs: decisive.timeUs, event: decisive.type, conn: truth.conn }];
      if (decisive === undefined) return { value: { kind: 'none', why: observed }, display: observed, evidence, refs };
      return { value: { kind: 'choice', value: observed }, display: observed, evidence, refs };
    }
    case 'error': {
      const { observed, error, ...seen } = socketErrorOf(run, truth.host, truth.conn);
      const evidence = seen.evidence.map((e) => e.en);
      const refs: Evidence[] = error === undefined ? [] : [{ kind: 'event', host: truth.host, timeUs: error.timeUs, event: 'error', conn: truth.conn }];
      return { value: { kind: 'choice', value: observed }, display: observed, evidence, refs };
    }
    case 'give-up':
      return observeGiveUp(truth.host, truth.conn, run);
    case 'check': {
      const check = verdict.checks.find((c) => c.origin?.kind === 'expectation' && c.origin.index === truth.expect - 1);
      if (check === undefined) {
        const why = `the verdict has no check of expectation ${truth.expect}`;
        return { value: { kind: 'none', why }, display: why, evidence: [], refs: [] };
      }
      const yes = check.status === 'pass';
      return {
        value: { kind: 'yes-no', yes },
        display: yes ? 'yes' : 'no',
        evidence: [`check “${check.name}”: ${check.status.toUpperCase()}, observed ${check.observed}`, ...check.evidence.slice(0, 8)],
        refs: check.refs ?? [],
      };
    }
    default:
      return assertNever(truth);
  }
}

/** The time from the start of `conn`'s connect step to the first error the connection reported (connect's or a later call's); none without one. */
function observeGiveUp(host: string, conn: string, run: RunRecord): ObservedTruth {
  const stepIndex = run.lab.steps.findIndex((s) => s.kind === 'connect' && s.host === host && s.conn === conn);
  const step = run.steps.find((s) => s.index === stepIndex);
  const { error, ...seen } = socketErrorOf(run, host, conn);
  const evidence = seen.evidence.map((e) => e.en);
  if (step === undefined) {
    const why = `connect step of ${conn} never ran`;
    return { value: { kind: 'none', why }, display: why, evidence: [], refs: [] };
  }
  if (error === undefined) {
    const why = `connection ${conn} reported no error: it never gave up`;
    return { value: { kind: 'none', why }, display: why, evidence, refs: [] };
  }
  const ms = (error.timeUs - step.startUs) / 1000;
  return {
    value: { kind: 'duration', ms },
    display: `${(ms / 1000).toFixed(2)}s`,
    evidence: [`connect() called at ${relTime(run, step.startUs)} (step ${stepIndex + 1})`, ...evidence],
    refs: [
      { kind: 'step', index: stepIndex, startUs: step.startUs },
      { kind: 'event', host, timeUs: error.timeUs, event: 'error', conn },
    ],
  };
}

/** The observed truth of every question, by id. */
export function observeTruths(questions: readonly ExerciseQuestion[], analysis: RunAnalysis, verdict: Verdict): Map<string, ObservedTruth> {
  return new Map(questions.map((q) => [q.id, observeTruth(q, analysis, verdict)]));
}
