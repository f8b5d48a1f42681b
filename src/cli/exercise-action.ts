import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAnswerSheet, renderBlankSheet } from '../exercise/answer-sheet.js';
import { questionsOf } from '../exercise/exercise-questions.js';
import { renderGradedText, setupLines } from '../exercise/exercise-text.js';
import { gradeSheet, type GradedSheet } from '../exercise/grade-answer.js';
import { pickLang } from './lang-option.js';
import { observeTruths } from '../exercise/observe-truth.js';
import { renderRunReportHtml } from '../report/html-report.js';
import { CliError, ExitCode } from './exit-codes.js';
import { loadExerciseLab, loadGradingRun, type GradingRun } from './exercise-run-folder.js';
import { writeWorksheet } from './exercise-worksheet.js';

export interface ExerciseFlags {
  sheet?: boolean;
  answers?: string;
  json?: boolean;
  lang: string;
  run?: string;
  worksheet?: boolean;
  out?: string;
  report?: string;
  runsDir: string;
  quiet?: boolean;
}

/** The work of `tcplab exercise <lab>`: a blank sheet, a worksheet, or answers (a file, or asked on the terminal) graded against a run. */
export async function runExercise(name: string, flags: ExerciseFlags, setExitCode: (code: number) => void): Promise<void> {
  const lang = pickLang(flags.lang);
  const { lab, path } = await loadExerciseLab(name);
  const exercise = questionsOf(lab);
  if (flags.sheet) {
    process.stdout.write(renderBlankSheet(lab.name, lab.title, exercise.questions, lang));
    return setExitCode(ExitCode.ok);
  }
  if (flags.worksheet) {
    for (const file of await writeWorksheet(lab, exercise, lang, flags.out)) process.stdout.write(`${file}\n`);
    return setExitCode(ExitCode.ok);
  }
  let answers: ReadonlyMap<string, string>;
  if (flags.answers !== undefined) {
    answers = parseAnswerSheet(readSheet(flags.answers), flags.answers, lab.name, exercise.questions).answers;
  } else if (process.stdin.isTTY && process.stdout.isTTY) {
    process.stdout.write(`${lab.title}\n\n${setupLines(lab, exercise, lang).join('\n')}\n\n`);
    const { askQuestions } = await import('./exercise-prompts.js');
    answers = await askQuestions(exercise.questions, lang);
  } else {
    throw new CliError(
      `no terminal to ask the questions on; grade a filled sheet with --answers FILE (print a blank one with: tcplab exercise ${lab.name} --sheet)`,
      ExitCode.usage,
    );
  }
  // Validate the run folder before anything long starts; otherwise run the lab now.
  let run: GradingRun;
  if (flags.run !== undefined) {
    run = await loadGradingRun(flags.run, lab);
  } else {
    const { runLabForExercise } = await import('./exercise-run.js');
    const verdict = await runLabForExercise(lab, path, flags.runsDir, flags.quiet === true || flags.json === true, lang);
    run = await loadGradingRun(verdict.runDir, lab);
  }
  const sheet = gradeSheet(exercise.questions, answers, observeTruths(exercise.questions, run.analysis, run.verdict), lang);
  // A run made here is an exercise run: its folder keeps the graded answers and a report showing them.
  if (flags.run === undefined) {
    writeFileSync(join(run.runDir, 'exercise.json'), `${JSON.stringify(exerciseJson(lab.name, run.runDir, sheet), null, 2)}\n`);
    writeFileSync(join(run.runDir, 'report.html'), renderRunReportHtml(run.analysis, run.verdict, { lang, exercise: sheet }));
  }
  if (flags.report !== undefined) writeFileSync(resolve(flags.report), renderRunReportHtml(run.analysis, run.verdict, { lang, exercise: sheet }));
  if (flags.json) process.stdout.write(`${JSON.stringify(exerciseJson(lab.name, run.runDir, sheet))}\n`);
  else process.stdout.write(renderGradedText(lab.name, run.runDir, sheet, lang, process.stdout.isTTY === true));
  setExitCode(ExitCode.ok);
}

/** `exercise --json`: {lab, runDir, score, max, questions: [{id, prompt, answer, observed, correct, evidence}]}. */
export function exerciseJson(lab: string, runDir: string, sheet: GradedSheet): Record<string, unknown> {
  return {
    lab,
    runDir,
    score: sheet.score,
    max: sheet.max,
    questions: sheet.questions.map((q) => ({ id: q.id, prompt: q.prompt, answer: q.answer, observed: q.observed, correct: q.correct, evidence: q.evidence })),
  };
}

function readSheet(file: string): string {
  if (!existsSync(file)) throw new CliError(`--answers ${file}: no such file; fill in a sheet from tcplab exercise <lab> --sheet`, ExitCode.usage);
  return readFileSync(file, 'utf8');
}
