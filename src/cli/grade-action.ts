import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAnswerSheet, type AnswerSheet } from '../exercise/answer-sheet.js';
import { identifierColumnOf, renderClassSummaryHtml, renderMoodleCsv, type GradedStudent } from '../exercise/class-grades.js';
import { questionsOf } from '../exercise/exercise-questions.js';
import { gradeSheet } from '../exercise/grade-answer.js';
import { observeTruths } from '../exercise/observe-truth.js';
import { LabError, type LabProblem } from '../lab/lab-error.js';
import type { Lab } from '../lab/model.js';
import { CliError, ExitCode } from './exit-codes.js';
import { pickLang } from './lang-option.js';
import { loadExerciseLab, loadGradingRun, type GradingRun } from './exercise-run-folder.js';
import type { GradeFlags } from './grade-command.js';

/** The work of `tcplab grade`: reads every sheet first (all problems at once, exit 2), then grades against one run, or one per sheet. */
export async function gradeClass(name: string, folder: string, flags: GradeFlags, setExitCode: (code: number) => void): Promise<void> {
  const lang = pickLang(flags.lang);
  if (flags.run !== undefined && flags.perSheet)
    throw new CliError('--run and --per-sheet exclude each other: one run for the class, or a new run per sheet', ExitCode.usage);
  const { lab, path } = await loadExerciseLab(name);
  const { questions } = questionsOf(lab);
  const sheets = readSheets(folder, lab, questions);
  const identifier = identifierColumnOf(sheets);
  if (!identifier.ok) throw new CliError(identifier.problem, ExitCode.usage);
  const shared = flags.run !== undefined ? await loadGradingRun(flags.run, lab) : flags.perSheet ? undefined : await runOnce(lab, path, flags);
  const students: GradedStudent[] = [];
  for (const sheet of sheets) {
    const run = shared ?? (await runOnce(lab, path, flags));
    const graded = gradeSheet(questions, sheet.answers, observeTruths(questions, run.analysis, run.verdict), lang);
    students.push({ file: sheet.file, student: sheet.student, runDir: run.runDir, sheet: graded });
  }
  const out = resolve(flags.out ?? folder);
  const csv = join(out, 'grades.csv');
  const html = join(out, 'class-summary.html');
  writeFileSync(csv, renderMoodleCsv(lab.name, identifier.header, questions, students));
  writeFileSync(html, renderClassSummaryHtml(lab, questions, students, lang));
  process.stdout.write(`${csv}\n${html}\n`);
  for (const s of students) process.stderr.write(`${s.student}: ${s.sheet.score}/${s.sheet.max}\n`);
  setExitCode(ExitCode.ok);
}

async function runOnce(lab: Lab, path: string, flags: GradeFlags): Promise<GradingRun> {
  const { runLabForExercise } = await import('./exercise-run.js');
  const verdict = await runLabForExercise(lab, path, flags.runsDir, flags.quiet === true);
  return loadGradingRun(verdict.runDir, lab);
}

/** Every *.yaml/*.yml sheet of the folder, in name order; the problems of all of them in one LabError. */
function readSheets(folder: string, lab: Lab, questions: Parameters<typeof parseAnswerSheet>[3]): AnswerSheet[] {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new CliError(`${folder}: no such folder; give the folder of filled answer sheets`, ExitCode.usage);
  const files = readdirSync(folder)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => join(folder, f));
  if (files.length === 0)
    throw new CliError(`${folder}: no answer sheets (*.yaml); print a blank one with tcplab exercise ${lab.name} --sheet`, ExitCode.usage);
  const problems: LabProblem[] = [];
  const sheets: AnswerSheet[] = [];
  for (const file of files) {
    try {
      sheets.push(parseAnswerSheet(readFileSync(file, 'utf8'), file, lab.name, questions));
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new LabError(problems);
  const seen = new Map<string, string>();
  for (const s of sheets) {
    const earlier = seen.get(s.student);
    if (earlier !== undefined && s.student !== '')
      throw new CliError(`${s.file}: student ${s.student} also handed in ${earlier}; keep one sheet per student`, ExitCode.usage);
    seen.set(s.student, s.file);
  }
  return sheets;
}
