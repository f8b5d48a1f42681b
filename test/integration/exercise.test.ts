import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerAvailable } from '../helpers/docker-available.js';
import { runCli } from '../helpers/run-cli.js';
import { runFolders } from '../helpers/run-folders.js';
import { tempDir } from '../helpers/temp-dir.js';

/*
 * `tcplab exercise syn-sent --answers` for real: the lab runs in Docker, and each answer is graded against
 * that run. The sheet holds a student's predictions from the seed (4 SYNs, ETIMEDOUT after about 15 s, no
 * SYN-ACK …); the run folder keeps exercise.json and a report.html with the answers beside the ladder.
 */
const available = await dockerAvailable();

describe.skipIf(!available)('tcplab exercise syn-sent, run for real', () => {
  it('runs the lab once and grades the sheet against it', async () => {
    const dir = tempDir('tcplab-exercise-docker-');
    const runsDir = join(dir, 'runs');
    const sheet = join(dir, 'sheet.yaml');
    writeFileSync(
      sheet,
      [
        'lab: syn-sent',
        'student: ada@example.edu',
        'answers:',
        '  - { id: syn-count, answer: 4 }',
        '  - { id: client-states, answer: "SYN_SENT, CLOSED" }',
        '  - { id: outcome, answer: ETIMEDOUT }',
        '  - { id: give-up, answer: 15s }',
        '  - { id: synack, answer: "no" }',
        '  - { id: same-seq, answer: "yes" }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['exercise', 'syn-sent', '--answers', sheet, '--json', '--runs-dir', runsDir]);
    expect(result.exitCode, result.stderr).toBe(0);
    const graded = JSON.parse(result.stdout) as { runDir: string; score: number; max: number; questions: { id: string; correct: boolean; observed: string }[] };
    expect(graded.max).toBe(6);
    expect(graded.questions.filter((q) => !q.correct).map((q) => `${q.id}: ${q.observed}`)).toEqual([]);
    expect(graded.score).toBe(6);
    const [runDir] = runFolders(runsDir);
    expect(graded.runDir).toBe(runDir);
    const stored = JSON.parse(readFileSync(join(graded.runDir, 'exercise.json'), 'utf8')) as { score: number };
    expect(stored.score).toBe(6);
    const report = readFileSync(join(graded.runDir, 'report.html'), 'utf8');
    expect(report).toContain('<section id="answers">');
    expect(existsSync(join(graded.runDir, 'verdict.json'))).toBe(true);
  }, 240_000);

  it('grade --per-sheet runs the lab once for each sheet and grades each against its own run', async () => {
    const dir = tempDir('tcplab-grade-docker-');
    const runsDir = join(dir, 'runs');
    const sheets = join(dir, 'sheets');
    mkdirSync(sheets);
    writeFileSync(join(sheets, 'a.yaml'), 'lab: syn-sent\nstudent: ada@example.edu\nanswers:\n  - { id: syn-count, answer: 4 }\n');
    writeFileSync(join(sheets, 'b.yaml'), 'lab: syn-sent\nstudent: bob@example.edu\nanswers:\n  - { id: syn-count, answer: 7 }\n');
    const result = await runCli(['grade', 'syn-sent', sheets, '--per-sheet', '--runs-dir', runsDir, '-q']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(runFolders(runsDir)).toHaveLength(2);
    const csv = readFileSync(join(sheets, 'grades.csv'), 'utf8').trim().split('\n');
    expect(csv.slice(1)).toEqual(['ada@example.edu,1,0,0,0,0,0,1', 'bob@example.edu,0,0,0,0,0,0,0']);
    const summary = readFileSync(join(sheets, 'class-summary.html'), 'utf8');
    for (const run of runFolders(runsDir)) expect(summary).toContain(run);
  }, 240_000);
});
