import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { parseAnswerSheet, renderBlankSheet } from '../../../src/exercise/answer-sheet.js';
import { generateQuestions, questionsOf } from '../../../src/exercise/exercise-questions.js';
import { gradeSheet, parseAnswer } from '../../../src/exercise/grade-answer.js';
import { observeTruths } from '../../../src/exercise/observe-truth.js';
import { LabError } from '../../../src/lab/lab-error.js';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

const lab = await loadLabFile('labs/syn-sent.yaml');
const record = await loadFixtureRun('syn-sent-traced');
const analysis = analyzeRun(record);
const verdict = verifyRun(record, 'fixture', 0, analysis);
const { questions } = questionsOf(lab);
const truths = observeTruths(questions, analysis, verdict);
const truthAnswers = new Map([...truths].map(([id, t]) => [id, t.display]));

describe('syn-sent exercise graded against a real traced run (test/fixtures/runs/syn-sent-traced)', () => {
  it('has at least 3 teacher-written questions, and its blank sheet lists each with an empty answer', () => {
    expect(questionsOf(lab).generated).toBe(false);
    expect(questions.length).toBeGreaterThanOrEqual(3);
    const sheet = renderBlankSheet(lab.name, lab.title, questions);
    const parsed = parseAnswerSheet(sheet, 'blank.yaml', lab.name, questions);
    expect([...parsed.answers.keys()]).toEqual(questions.map((q) => q.id));
    expect([...parsed.answers.values()].every((a) => a === '')).toBe(true);
  });

  it('reads each truth from the run: 4 SYNs, SYN_SENT → CLOSED, ETIMEDOUT after about 15 s, no SYN-ACK, one sequence number', () => {
    expect(truthAnswers.get('syn-count')).toBe('4');
    expect(truthAnswers.get('client-states')).toBe('SYN_SENT → CLOSED');
    expect(truthAnswers.get('outcome')).toBe('ETIMEDOUT');
    expect(truths.get('give-up')?.value).toMatchObject({ kind: 'duration' });
    const giveUp = truths.get('give-up')?.value;
    expect(giveUp?.kind === 'duration' && giveUp.ms > 14_000 && giveUp.ms < 17_000).toBe(true);
    expect(truthAnswers.get('synack')).toBe('no');
    expect(truthAnswers.get('same-seq')).toBe('yes');
    // evidence names the capture frames of the SYNs
    expect(truths.get('syn-count')?.evidence.filter((e) => /client capture #\d+/.test(e))).toHaveLength(4);
  });

  it('a blank sheet scores 0 and still shows every observed truth', () => {
    const graded = gradeSheet(questions, new Map(), truths);
    expect(graded.score).toBe(0);
    expect(graded.max).toBe(questions.length);
    for (const q of graded.questions) {
      expect(q.correct).toBe(false);
      expect(q.problem).toBe('no answer');
      expect(q.observed).toBe(truths.get(q.id)?.display);
      expect(q.evidence.length).toBeGreaterThan(0);
    }
  });

  it('the observed truth entered as answers scores full marks', () => {
    const graded = gradeSheet(questions, truthAnswers, truths);
    expect(graded.questions.filter((q) => !q.correct).map((q) => q.id)).toEqual([]);
    expect(graded.score).toBe(questions.length);
  });

  it('nonsense scores 0 with the reason, and near misses are wrong', () => {
    const nonsense = new Map(questions.map((q) => [q.id, 'banana']));
    const graded = gradeSheet(questions, nonsense, truths);
    expect(graded.score).toBe(0);
    expect(graded.questions.every((q) => q.problem !== undefined)).toBe(true);
    const nearMisses = new Map([
      ['syn-count', '7'],
      ['client-states', 'SYN_SENT, ESTABLISHED, CLOSED'],
      ['outcome', 'ECONNREFUSED'],
      ['give-up', '63s'],
      ['synack', 'yes'],
      ['same-seq', 'no'],
    ]);
    const wrong = gradeSheet(questions, nearMisses, truths);
    expect(wrong.score).toBe(0);
    expect(wrong.questions.every((q) => q.problem === undefined)).toBe(true);
  });

  it('answers are read in the spellings students write: state lists, durations with units, yes/no in Chinese', () => {
    const answers = new Map([
      ['syn-count', ' 4 '],
      ['client-states', 'SYN-SENT -> closed'],
      ['outcome', 'etimedout'],
      ['give-up', '15 秒'],
      ['synack', '否'],
      ['same-seq', '是'],
    ]);
    expect(gradeSheet(questions, answers, truths).score).toBe(questions.length);
    // a duration is graded within the question's tolerance (2 s here)
    const late = new Map([['give-up', '18s']]);
    expect(gradeSheet(questions, late, truths).questions.find((q) => q.id === 'give-up')?.correct).toBe(false);
  });

  it('a check truth follows the verdict: the same question answered "yes" is wrong when that check failed', () => {
    const failed = {
      ...verdict,
      checks: verdict.checks.map((c) => (c.origin?.kind === 'expectation' && c.origin.index === 4 ? { ...c, status: 'fail' as const } : c)),
    };
    const flipped = observeTruths(questions, analysis, failed);
    expect(flipped.get('same-seq')?.display).toBe('no');
    expect(gradeSheet(questions, truthAnswers, flipped).questions.find((q) => q.id === 'same-seq')?.correct).toBe(false);
  });

  it('parses the answer forms strictly: a count is a whole number, a state must be a TCP state', () => {
    expect(parseAnswer({ kind: 'count' }, '4.5')).toMatchObject({ ok: false });
    expect(parseAnswer({ kind: 'states' }, 'SYN_SENT, FOO')).toMatchObject({ ok: false, problem: expect.stringContaining('"FOO" is not a TCP state') });
    expect(parseAnswer({ kind: 'duration', toleranceMs: 1000 }, '1500ms')).toEqual({ ok: true, value: { kind: 'duration', ms: 1500 } });
  });
});

describe('answer sheets: bad input is located (file:line:col)', () => {
  const problems = (text: string): string[] => {
    try {
      parseAnswerSheet(text, 'sheet.yaml', lab.name, questions);
    } catch (err) {
      if (err instanceof LabError) return err.formatProblems().split('\n');
      throw err;
    }
    return [];
  };

  it('an unknown question id names the line, the column and the known ids', () => {
    const lines = problems('lab: syn-sent\nstudent: a@b.c\nanswers:\n  - id: syn-count\n    answer: 4\n  - id: syn-cuont\n    answer: 4\n');
    expect(lines).toEqual([expect.stringMatching(/^sheet\.yaml:6:9: answers\[1\]\.id: unknown question id "syn-cuont".*\(did you mean "syn-count"\?\)/)]);
  });

  it('malformed YAML, a sheet of another lab, an answer twice, an unknown key', () => {
    expect(problems('lab: syn-sent\nanswers: [\n')[0]).toMatch(/^sheet\.yaml:\d+:\d+: \(document\): YAML syntax/);
    expect(problems('lab: handshake\nanswers: []\n')).toEqual([expect.stringMatching(/^sheet\.yaml:1:6: lab: this sheet is for lab "handshake"/)]);
    expect(problems('answers:\n  - { id: outcome, answer: x }\n  - { id: outcome, answer: y }\n')).toEqual([
      expect.stringMatching(/^sheet\.yaml:3:11: answers\[1\]\.id: question "outcome" is answered twice/),
    ]);
    expect(problems('studnet: x\nanswers: []\n')).toEqual([expect.stringMatching(/^sheet\.yaml:1:1: studnet: unknown key.*did you mean "student"/)]);
  });
});

describe('generated questions (labs without an exercise section)', () => {
  it('come from the expectations: states, counts, outcome, give-up time, yes/no on never-states', () => {
    const generated = generateQuestions(lab);
    const kinds = generated.map((q) => q.truth.kind);
    expect(kinds).toEqual(['states', 'check', 'check', 'outcome', 'segments', 'segments', 'give-up']);
    expect(new Set(generated.map((q) => q.id)).size).toBe(generated.length);
    expect(generated.every((q) => q.promptZh !== undefined)).toBe(true);
    const generatedTruths = observeTruths(generated, analysis, verdict);
    const full = gradeSheet(generated, new Map([...generatedTruths].map(([id, t]) => [id, t.display])), generatedTruths);
    expect(full.score).toBe(generated.length);
  });
});
