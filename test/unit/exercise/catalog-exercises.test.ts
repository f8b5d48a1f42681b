import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { questionsOf } from '../../../src/exercise/exercise-questions.js';
import { gradeSheet } from '../../../src/exercise/grade-answer.js';
import { observeTruths } from '../../../src/exercise/observe-truth.js';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { FIXTURE_RUNS } from '../verify/run-fixtures.js';

const LAB_NAMES = readdirSync(join(REPO_ROOT, 'labs'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

describe('teacher-written exercises of the catalog', () => {
  it.each(LAB_NAMES)('%s: a seed-sourced lab has its own questions, at least 3, each in English and Chinese', async (name) => {
    const lab = await loadLabFile(join(REPO_ROOT, 'labs', `${name}.yaml`));
    expect(lab.source).toBeDefined();
    const exercise = questionsOf(lab);
    expect(exercise.generated).toBe(false);
    expect(exercise.questions.length).toBeGreaterThanOrEqual(3);
    expect(exercise.intro).toBeDefined();
    expect(exercise.introZh).toBeDefined();
    for (const q of exercise.questions) expect(q.promptZh, q.id).toBeDefined();
  });

  // Real runs recorded on this machine: each question of the lab must find its truth in them, the truth as
  // answers must score full marks and a blank sheet 0. Fixtures recorded from an older form of the lab (other
  // expectations) are left out: a `check` truth numbers the expectations of the lab file.
  const fixtures = readdirSync(FIXTURE_RUNS).filter((d) => !d.startsWith('.'));
  it.each(fixtures)('fixture run %s: every truth observed, truth scores full, blank scores 0', async (fixture) => {
    const record = await loadRunRecord(join(FIXTURE_RUNS, fixture));
    if (!LAB_NAMES.includes(record.lab.name)) return;
    const lab = await loadLabFile(join(REPO_ROOT, 'labs', `${record.lab.name}.yaml`));
    const { questions } = questionsOf(lab);
    const numbersExpectations = questions.some((q) => q.truth.kind === 'check');
    if (numbersExpectations && JSON.stringify(record.lab.expectations) !== JSON.stringify(lab.expectations)) return;
    const analysis = analyzeRun(record);
    const verdict = verifyRun(record, fixture, 0, analysis);
    const truths = observeTruths(questions, analysis, verdict);
    const none = [...truths].filter(([, t]) => t.value.kind === 'none').map(([id, t]) => `${id}: ${t.display}`);
    expect(none).toEqual([]);
    const full = gradeSheet(questions, new Map([...truths].map(([id, t]) => [id, t.display])), truths);
    expect(full.questions.filter((q) => !q.correct).map((q) => q.id)).toEqual([]);
    expect(gradeSheet(questions, new Map(), truths).score).toBe(0);
  });
});
