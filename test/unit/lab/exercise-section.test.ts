import { describe, expect, it } from 'vitest';
import { LabError } from '../../../src/lab/lab-error.js';
import { loadLabText } from '../../../src/lab/load-lab.js';

const HEAD = `title: t
description: d
hosts: { server: {}, client: {} }
steps:
  - listen: { host: server, port: 8888 }
  - connect: { host: client, to: server, port: 8888, as: c }
expect:
  - outcome: { host: client, conn: c, is: connected }
exercise:
  questions:
`;

function problems(questions: string): string[] {
  try {
    loadLabText(HEAD + questions, 'lab.yaml');
  } catch (err) {
    if (err instanceof LabError) return err.formatProblems().split('\n');
    throw err;
  }
  return [];
}

describe('the exercise: section of a lab file', () => {
  it('loads a valid section into the model (answer forms, truths, default choice options, zh prompts)', () => {
    const lab = loadLabText(
      HEAD +
        `    - { id: outcome, prompt: What?, prompt_zh: 什么？, answer: choice, truth: { outcome: { host: client, conn: c } } }
    - { id: took, prompt: How long?, answer: { duration: { tolerance: 3s } }, truth: { give-up: { host: client, conn: c } } }
    - { id: passed, prompt: Passed?, answer: yes-no, truth: { check: 1 } }
`,
      'lab.yaml',
    );
    expect(lab.exercise?.questions.map((q) => [q.id, q.answer.kind, q.truth.kind])).toEqual([
      ['outcome', 'choice', 'outcome'],
      ['took', 'duration', 'give-up'],
      ['passed', 'yes-no', 'check'],
    ]);
    expect(lab.exercise?.questions[0]?.answer).toEqual({ kind: 'choice', options: ['connected', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH'] });
    expect(lab.exercise?.questions[1]?.answer).toEqual({ kind: 'duration', toleranceMs: 3000 });
    expect(lab.exercise?.questions[0]?.promptZh).toBe('什么？');
  });

  it('an answer form its truth cannot grade is refused at the answer', () => {
    expect(problems('    - { id: q, prompt: p, answer: count, truth: { outcome: { host: client, conn: c } } }\n')).toEqual([
      'lab.yaml:11:35: exercise.questions[0].answer: an outcome truth grades choice answers, not count; write answer: choice, or pick another truth',
    ]);
  });

  it('unknown hosts and connections, expectation numbers past the end, duplicate ids, choices the run cannot show', () => {
    const lines = problems(
      `    - { id: q, prompt: p, answer: states, truth: { states: { host: clinet } } }
    - { id: q, prompt: p, answer: choice, truth: { outcome: { host: client, conn: d } } }
    - { id: r, prompt: p, answer: yes-no, truth: { check: 2 } }
    - { id: s, prompt: p, answer: { choice: [connected, EFOO] }, truth: { outcome: { host: client, conn: c } } }
`,
    );
    expect(lines).toEqual([
      expect.stringMatching(/^lab\.yaml:11:68: exercise\.questions\[0\]\.truth\.states\.host: unknown host "clinet".*did you mean "client"/),
      expect.stringMatching(/^lab\.yaml:12:13: exercise\.questions\[1\]\.id: duplicate question id "q"/),
      expect.stringMatching(/^lab\.yaml:12:83: exercise\.questions\[1\]\.truth\.outcome\.conn: no connection "d" on client/),
      expect.stringMatching(/^lab\.yaml:13:59: exercise\.questions\[2\]\.truth\.check: there is no expectation 2: the lab's expect: has 1/),
      expect.stringMatching(/^lab\.yaml:14:57: exercise\.questions\[3\]\.answer\.choice\[1\]: "EFOO" is not an outcome the run can show/),
    ]);
  });

  it('schema problems: a truth with two sources, an unknown answer form, a missing prompt', () => {
    const lines = problems(
      `    - { id: q, prompt: p, answer: count, truth: { segments: { from: client, to: server, flags: S }, check: 1 } }
    - { id: r, prompt: p, answer: number, truth: { check: 1 } }
    - { id: s, answer: yes-no, truth: { check: 1 } }
`,
    );
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^lab\.yaml:11:\d+: exercise\.questions\[0\]\.truth: a truth takes exactly one source, received segments and check/);
    expect(lines[1]).toMatch(/^lab\.yaml:12:\d+: exercise\.questions\[1\]\.answer: /);
    expect(lines[2]).toMatch(/^lab\.yaml:13:\d+: exercise\.questions\[2\]/);
    expect(lines[2]).toMatch(/prompt/);
  });
});
