import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, runCli } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { FIXTURE_RUNS } from '../verify/run-fixtures.js';

// No Docker: every grading here uses --run with a copy of a real syn-sent run recorded on this machine
// (test/fixtures/runs/syn-sent-traced). DOCKER_HOST points nowhere, so reaching Docker would exit 3.
const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

function runCopy(name = 'syn-sent-traced'): string {
  const dir = join(tempDir('tcplab-exercise-'), name);
  cpSync(join(FIXTURE_RUNS, name), dir, { recursive: true });
  return dir;
}

interface ExerciseJson {
  lab: string;
  runDir: string;
  score: number;
  max: number;
  questions: { id: string; prompt: string; answer: string; observed: string; correct: boolean; evidence: string[] }[];
}

async function blankSheet(lang = 'en'): Promise<string> {
  const result = await runCli(['exercise', 'syn-sent', '--sheet', '--lang', lang], { env });
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

/** A sheet with these answers (by id) and this student, written into `dir`. */
function filledSheet(dir: string, file: string, student: string, answers: Record<string, string>): string {
  const lines = ['lab: syn-sent', `student: ${JSON.stringify(student)}`, 'answers:'];
  for (const [id, answer] of Object.entries(answers)) lines.push(`  - id: ${id}`, `    answer: ${JSON.stringify(answer)}`);
  const path = join(dir, file);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function gradeJson(sheet: string, run: string): Promise<ExerciseJson> {
  const result = await runCli(['exercise', 'syn-sent', '--answers', sheet, '--run', run, '--json'], { env });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as ExerciseJson;
}

describe('tcplab exercise syn-sent', () => {
  it('--sheet prints YAML with lab, student and at least 3 questions, each with id, prompt and an empty answer', async () => {
    const sheet = parse(await blankSheet()) as { lab: string; student: string; answers: { id: string; prompt: string; answer: unknown }[] };
    expect(sheet.lab).toBe('syn-sent');
    expect(sheet.student).toBe('');
    expect(sheet.answers.length).toBeGreaterThanOrEqual(3);
    for (const item of sheet.answers) {
      expect(item.id).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(item.prompt.length).toBeGreaterThan(5);
      expect(item.answer).toBeNull();
    }
    expect(await blankSheet('zh')).toContain('客户端一共会发出多少个 SYN 报文');
  });

  it('the blank sheet graded with --answers scores 0 and shows the observed truth of every question', async () => {
    const dir = tempDir('tcplab-sheet-');
    const blank = join(dir, 'blank.yaml');
    writeFileSync(blank, await blankSheet());
    const graded = await gradeJson(blank, runCopy());
    expect(Object.keys(graded)).toEqual(['lab', 'runDir', 'score', 'max', 'questions']);
    expect(graded.lab).toBe('syn-sent');
    expect(graded.score).toBe(0);
    expect(graded.max).toBeGreaterThanOrEqual(3);
    for (const q of graded.questions) {
      expect(Object.keys(q)).toEqual(['id', 'prompt', 'answer', 'observed', 'correct', 'evidence']);
      expect(q.answer).toBe('');
      expect(q.correct).toBe(false);
      expect(q.observed).not.toBe('');
      expect(q.evidence.length).toBeGreaterThan(0);
    }
    expect(graded.questions.find((q) => q.id === 'syn-count')?.observed).toBe('4');
  });

  it('the observed truth entered as answers scores full marks; the terminal text shows truth, evidence and score', async () => {
    const run = runCopy();
    const dir = tempDir('tcplab-sheet-');
    const blank = join(dir, 'blank.yaml');
    writeFileSync(blank, await blankSheet());
    const truth = Object.fromEntries((await gradeJson(blank, run)).questions.map((q) => [q.id, q.observed]));
    const sheet = filledSheet(dir, 'truth.yaml', 'ada@example.edu', truth);
    const graded = await gradeJson(sheet, run);
    expect(graded.score).toBe(graded.max);
    expect(graded.questions.every((q) => q.correct)).toBe(true);
    const text = await runCli(['exercise', 'syn-sent', '--answers', sheet, '--run', run, '--report', join(dir, 'report.html')], { env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/observed: 4\n\s+· client capture #\d+ at \+\d+\.\d+ s \[S\] seq \d+/);
    expect(text.stdout).toContain(`score: ${graded.max}/${graded.max}`);
    // the report of the graded run shows each answer beside the ladder
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<section id="answers">');
    expect(html.indexOf('id="answers"')).toBeGreaterThan(html.indexOf('id="ladder"'));
    for (const id of Object.keys(truth)) expect(html).toContain(`<tr class="pass" data-question="${id}">`);
  });

  it('bad input exits 2 with file:line:col and no stack trace: an unknown question id, malformed YAML, a run of another lab, no terminal', async () => {
    const dir = tempDir('tcplab-sheet-');
    const unknown = filledSheet(dir, 'unknown.yaml', 'x@example.edu', { 'syn-count': '4', 'syn-cuont': '4' });
    const bad = await runCli(['exercise', 'syn-sent', '--answers', unknown, '--run', runCopy()], { env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^${unknown.replace(/[.]/g, '\\.')}:6:9: answers\\[1\\]\\.id: unknown question id "syn-cuont"`));
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const malformed = join(dir, 'malformed.yaml');
    writeFileSync(malformed, 'lab: syn-sent\nanswers:\n  - id: syn-count\n    answer: [4\n');
    const broken = await runCli(['exercise', 'syn-sent', '--answers', malformed, '--run', runCopy()], { env });
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/malformed\.yaml:\d+:\d+: \(document\): YAML syntax/);
    const other = await runCli(['exercise', 'syn-sent', '--answers', unknown.replace('unknown', 'x'), '--run', runCopy('handshake')], { env });
    expect(other.exitCode).toBe(2);
    const wrongLab = filledSheet(dir, 'ok.yaml', 'x@example.edu', { 'syn-count': '4' });
    const otherRun = await runCli(['exercise', 'syn-sent', '--answers', wrongLab, '--run', runCopy('handshake')], { env });
    expect(otherRun.exitCode).toBe(2);
    expect(otherRun.stderr).toMatch(/a run of lab handshake, not syn-sent/);
    const noTty = await runCli(['exercise', 'syn-sent', '--run', runCopy()], { env });
    expect(noTty.exitCode).toBe(2);
    expect(noTty.stderr).toMatch(/no terminal to ask the questions on; grade a filled sheet with --answers FILE/);
  });

  it('--worksheet writes a printable HTML worksheet (and a PDF where Chromium is installed), faults and expectations hidden', async () => {
    const dir = tempDir('tcplab-worksheet-');
    const out = join(dir, 'syn-sent-zh.html');
    const result = await runCli(['exercise', 'syn-sent', '--worksheet', '--lang', 'zh', '--out', out], { env });
    expect(result.exitCode).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('客户端一共会发出多少个 SYN 报文');
    expect(html).toContain('（此处注入网络故障，细节隐藏）');
    expect(html).not.toContain('--dport 8888 -j DROP');
    expect(html.match(/<li class="question"/g)?.length).toBeGreaterThanOrEqual(3);
    if (existsSync(process.env.TCPLAB_CHROMIUM ?? '/usr/bin/chromium')) {
      expect(result.stdout.trim().split('\n')).toEqual([out, out.replace(/\.html$/, '.pdf')]);
      expect(
        readFileSync(out.replace(/\.html$/, '.pdf'))
          .subarray(0, 5)
          .toString(),
      ).toBe('%PDF-');
    }
  }, 120_000);
});

describe('a lab file without an exercise section', () => {
  it('gets questions generated from its expectations; their truths as answers score full marks', async () => {
    const dir = tempDir('tcplab-generated-');
    const lab = join(dir, 'refused.yaml');
    const text = readFileSync(join(REPO_ROOT, 'labs', 'refused.yaml'), 'utf8');
    writeFileSync(lab, text.slice(0, text.indexOf('# Classroom exercise')));
    const sheet = await runCli(['exercise', lab, '--sheet'], { env });
    expect(sheet.exitCode).toBe(0);
    const ids = (parse(sheet.stdout) as { answers: { id: string }[] }).answers.map((a) => a.id);
    expect(ids).toEqual([
      'c-outcome',
      'client-never-established',
      'server-never-listen-syn-received-established',
      'client-syn-count',
      'server-rst-count',
      'server-synack-count',
    ]);
    const blank = join(dir, 'blank.yaml');
    writeFileSync(blank, sheet.stdout);
    const run = runCopy('refused');
    const first = await runCli(['exercise', lab, '--answers', blank, '--run', run, '--json'], { env });
    expect(first.exitCode).toBe(0);
    const graded = JSON.parse(first.stdout) as ExerciseJson;
    expect(graded.score).toBe(0);
    const truth = filledSheet(dir, 'truth.yaml', 'x@example.edu', Object.fromEntries(graded.questions.map((q) => [q.id, q.observed])));
    writeFileSync(truth, readFileSync(truth, 'utf8').replace('lab: syn-sent', 'lab: refused'));
    const full = JSON.parse((await runCli(['exercise', lab, '--answers', truth, '--run', run, '--json'], { env })).stdout) as ExerciseJson;
    expect(full.score).toBe(full.max);
    expect(full.questions.find((q) => q.id === 'c-outcome')?.observed).toBe('ECONNREFUSED');
  });
});

describe('tcplab grade syn-sent <folder> --run <run>', () => {
  it('grades 5 sheets against one run: a Moodle CSV (Email address + one column per question + total) and an HTML class summary', async () => {
    const run = runCopy();
    const dir = tempDir('tcplab-class-');
    const sheets = join(dir, 'sheets');
    mkdirSync(sheets);
    const truth = { 'syn-count': '4', 'client-states': 'SYN_SENT, CLOSED', outcome: 'ETIMEDOUT', 'give-up': '15s', synack: 'no', 'same-seq': 'yes' };
    filledSheet(sheets, '1.yaml', 'ada@example.edu', truth);
    filledSheet(sheets, '2.yaml', 'bob@example.edu', { ...truth, 'syn-count': '7' });
    filledSheet(sheets, '3.yaml', 'cy@example.edu', { ...truth, 'syn-count': '7', 'give-up': '63s' });
    filledSheet(sheets, '4.yaml', 'di@example.edu', { 'syn-count': '3' });
    filledSheet(sheets, '5.yaml', 'ed@example.edu', { ...truth, outcome: 'ECONNREFUSED', 'syn-count': '1' });
    const result = await runCli(['grade', 'syn-sent', sheets, '--run', run, '--out', dir], { env });
    expect(result.stderr).toContain('ada@example.edu: 6/6');
    expect(result.exitCode).toBe(0);
    const csv = readFileSync(join(dir, 'grades.csv'), 'utf8').trim().split('\n');
    expect(csv).toEqual([
      'Email address,syn-sent: syn-count,syn-sent: client-states,syn-sent: outcome,syn-sent: give-up,syn-sent: synack,syn-sent: same-seq,syn-sent: total',
      'ada@example.edu,1,1,1,1,1,1,6',
      'bob@example.edu,0,1,1,1,1,1,5',
      'cy@example.edu,0,1,1,0,1,1,4',
      'di@example.edu,0,0,0,0,0,0,0',
      'ed@example.edu,0,1,0,1,1,1,4',
    ]);
    const html = readFileSync(join(dir, 'class-summary.html'), 'utf8');
    const order = [...html.matchAll(/<tr data-question="([a-z-]+)" data-wrong="(\d+)">/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(order[0]).toBe('syn-count:4');
    expect(order).toContain('give-up:2');
    expect(html).toMatch(/7 × 2/);
    expect(html).toContain('client capture #');
    expect(html).toContain('one run for the class');
  });

  it('a folder with a bad sheet is refused before grading (exit 2, every problem located); mixed identifiers too', async () => {
    const dir = tempDir('tcplab-class-');
    filledSheet(dir, 'a.yaml', 'ada@example.edu', { 'syn-count': '4' });
    filledSheet(dir, 'b.yaml', 'bob@example.edu', { 'syn-cuont': '4' });
    const result = await runCli(['grade', 'syn-sent', dir, '--run', runCopy()], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/b\.yaml:4:9: answers\[0\]\.id: unknown question id "syn-cuont"/);
    expect(existsSync(join(dir, 'grades.csv'))).toBe(false);
    const mixed = tempDir('tcplab-class-');
    filledSheet(mixed, 'a.yaml', 'ada@example.edu', {});
    filledSheet(mixed, 'b.yaml', '20231234', {});
    const mixedResult = await runCli(['grade', 'syn-sent', mixed, '--run', runCopy()], { env });
    expect(mixedResult.exitCode).toBe(2);
    expect(mixedResult.stderr).toMatch(/mix e-mail addresses .* and ID numbers/);
  });
});
