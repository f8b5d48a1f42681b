import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { generateQuestions, questionsOf } from '../../../src/exercise/exercise-questions.js';
import { gradeSheet } from '../../../src/exercise/grade-answer.js';
import { observeTruths } from '../../../src/exercise/observe-truth.js';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/* `tcplab exercise --lang zh`: the graded sheet tells what the run showed, its evidence and why an answer was unreadable in Chinese. */
const cjk = /[\u4e00-\u9fff]/;
const lab = await loadLabFile('labs/syn-sent.yaml');
const record = await loadFixtureRun('syn-sent-traced');
const analysis = analyzeRun(record);
const verdict = verifyRun(record, 'fixture', 0, analysis);

describe('graded in Chinese', () => {
  for (const [which, questions] of [
    ['teacher-written', questionsOf(lab).questions],
    ['generated', generateQuestions(lab)],
  ] as const) {
    it(`${which} questions: evidence lines and problems read in Chinese; the English sheet is unchanged`, () => {
      const truths = observeTruths(questions, analysis, verdict);
      const nonsense = new Map(questions.map((q) => [q.id, 'banana']));
      const zh = gradeSheet(questions, nonsense, truths, 'zh');
      const en = gradeSheet(questions, nonsense, truths, 'en');
      for (const [i, q] of zh.questions.entries()) {
        expect(q.points).toBe(0);
        for (const line of q.evidence) expect(line, `${q.id}: ${line}`).toMatch(cjk);
        if (q.problem !== undefined) expect(q.problem, q.id).toMatch(cjk);
        expect(en.questions[i]?.evidence).toEqual(truths.get(q.id)?.evidence);
        expect(en.questions[i]?.problem ?? '').not.toMatch(cjk);
      }
    });
  }
});
