import { analyzeRun, type RunAnalysis } from '../analysis/analyze-run.js';
import { relTime, stateSourceOf, type RunRecord } from '../analysis/run-record.js';
import { segmentAtFrame } from '../analysis/segment-trace.js';
import { checkExpectations } from './check-expectations.js';
import { checkConformance } from './conformance.js';
import { checkConsistency } from './consistency-checks.js';
import { checkListeners } from './listener-checks.js';
import { stepSource } from './check-source.js';
import { makeVerdict, textCheck, type Check, type Evidence, type Verdict } from './verdict.js';
import { RUN_WORDS, type RunWords } from '../messages/check-words/consistency-words.js';
import { describeStepIn } from '../messages/lab-words.js';
import { say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/** The sentence in every language, from the words of the run's checks. */
function words(sentence: (w: RunWords, lang: Lang) => string): Text {
  return say(RUN_WORDS, sentence);
}

/** Recomputes a run's verdict from its record alone (pure: no Docker, no clock); the analysis is computed once and shared. */
export function verifyRun(run: RunRecord, runDir: string, durationMs: number, analysis: RunAnalysis = analyzeRun(run)): Verdict {
  const checks: Check[] = [];
  for (const step of run.steps) {
    if (!step.error) continue;
    const error = step.error;
    // The recorded description is English (step-runner.ts); the lab's step says it in every language.
    const labStep = run.lab.steps[step.index];
    checks.push(
      textCheck({
        name: words((w, lang) => w.stepCompletes(step.index + 1, lang === 'en' || labStep === undefined ? step.description : describeStepIn(lang, labStep))),
        status: 'fail',
        expected: words((w) => w.theStepCompletes),
        observed: words((w) => w.stepError(error)),
        evidence: [words((w) => w.stepStarted(relTime(run, step.startUs)))],
        source: stepSource(run, step.index),
        origin: { kind: 'step', index: step.index },
        refs: [{ kind: 'step', index: step.index, startUs: step.startUs }],
      }),
    );
  }
  const skipped = run.lab.steps.length - run.steps.length;
  if (skipped > 0 && checks.length === 0) {
    checks.push(
      textCheck({
        name: words((w) => w.allStepsRan),
        status: 'fail',
        expected: words((w) => w.steps(run.lab.steps.length)),
        observed: words((w) => w.stepsCutShort(run.steps.length)),
        evidence: [],
        source: 'run record (steps.jsonl)',
        origin: { kind: 'steps-ran' },
        refs: [],
      }),
    );
  }
  checks.push(...checkExpectations(run, analysis));
  // Every lab is verified by the full verifier: each sampled socket against the machine and the replay.
  checks.push(...checkConformance(run, analysis.replays, analysis));
  checks.push(...checkListeners(run, analysis));
  // Every run: its sources (captures, counters, samples, events) must agree with each other.
  checks.push(...checkConsistency(run, analysis));
  const verdict = makeVerdict(
    run.lab.name,
    runDir,
    durationMs,
    checks.map((check) => withRuleRefs(check, analysis)),
  );
  verdict.hosts = run.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    ...(h.address6 !== undefined && { address6: h.address6 }),
    stateSource: stateSourceOf(h),
  }));
  const notes = observationNotes(run);
  if (notes.length > 0) {
    verdict.notes = notes.map((note) => note.en);
    verdict.zh = { notes: notes.map((note) => note.zh) };
  }
  return verdict;
}

/** Notes on how states were observed: hosts without a kernel trace, and why. */
function observationNotes(run: RunRecord): Text[] {
  const sampled = run.hosts.filter((h) => stateSourceOf(h) === 'sampled').map((h) => h.name);
  if (sampled.length === 0) return [];
  const recorded = run.kernelTraceUnavailable;
  const why = words((w) => (recorded === undefined ? w.noKernelTrace : w.recordedReason(recorded)));
  return [words((w, lang) => w.sampledStatesOnly(sampled, why[lang]))];
}

/** Adds a rule ref for every rule that dropped a segment the check's segment refs name (from the analysis' trace). */
function withRuleRefs(check: Check, analysis: RunAnalysis): Check {
  if (check.refs === undefined) return check;
  const rules = new Map<string, Evidence>();
  for (const ref of check.refs) {
    if (ref.kind !== 'segment') continue;
    const fate = segmentAtFrame(analysis.trace, ref.host, ref.frame)?.fate;
    if (fate?.kind === 'dropped') rules.set(`${fate.host}/${fate.rule}`, { kind: 'rule', host: fate.host, rule: fate.rule });
  }
  const known = new Set(check.refs.flatMap((r) => (r.kind === 'rule' ? [`${r.host}/${r.rule}`] : [])));
  const added = [...rules].filter(([key]) => !known.has(key)).map(([, ref]) => ref);
  return added.length === 0 ? check : { ...check, refs: [...check.refs, ...added] };
}

/** Whether a stored verdict predates what checks carry now (typed origins, Chinese words): attachRecomputed() completes it. */
export function isOlderVerdict(stored: Verdict): boolean {
  return stored.checks.some((c) => c.origin === undefined || c.zh === undefined) || (stored.notes !== undefined && stored.zh === undefined);
}

/**
 * A stored verdict from an older tcplab, completed from the recomputed check of the same name: its typed
 * origin and source; its refs and Chinese words when the recomputation says the same (status and English
 * text are kept as stored); the Chinese notes when the notes are the same.
 */
export function attachRecomputed(stored: Verdict, recomputed: Verdict): Verdict {
  const byName = new Map(recomputed.checks.map((c) => [c.name, c]));
  const sameNotes = JSON.stringify(stored.notes) === JSON.stringify(recomputed.notes);
  return {
    ...stored,
    ...(stored.zh === undefined && sameNotes && recomputed.zh !== undefined && { zh: recomputed.zh }),
    checks: stored.checks.map((check) => {
      const fresh = byName.get(check.name);
      if (fresh === undefined) return check;
      // The refs and words describe the recomputed observation: they are the stored check's only when it says the same.
      const same = fresh.status === check.status && fresh.observed === check.observed && fresh.expected === check.expected;
      return {
        ...check,
        ...(check.origin === undefined && fresh.source !== undefined && { source: fresh.source }),
        ...(check.origin === undefined && fresh.origin !== undefined && { origin: fresh.origin }),
        ...(check.origin === undefined && same && fresh.refs !== undefined && { refs: fresh.refs }),
        ...(check.zh === undefined && same && fresh.zh !== undefined && { zh: fresh.zh }),
      };
    }),
  };
}
