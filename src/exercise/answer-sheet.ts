import type { Lang } from '../messages/catalog.js';
import { LineCounter, parseDocument } from 'yaml';
import { assertNever } from '../assert-never.js';
import { LabError, didYouMean, formatLabPath, type LabProblem } from '../lab/lab-error.js';
import type { ExerciseAnswerForm, ExerciseQuestion } from '../lab/model.js';
import { findKeyNode, findNode, positionOf } from '../lab/yaml-positions.js';
import { promptOf } from './grade-answer.js';

/*
 * Answer sheets (pure: text in, text out). A blank sheet is YAML a student fills in:
 *
 *   lab: syn-sent
 *   student: ""            # e-mail address or ID number (the identifier Moodle maps grades by)
 *   answers:
 *     - id: syn-count
 *       prompt: How many SYN segments will the client send in all?
 *       form: a whole number
 *       answer:
 *
 * Reading one checks it against the lab's questions; every problem is located (file:line:col) as a LabError.
 */

/** A filled answer sheet as read: who, and each answer as text by question id. */
export interface AnswerSheet {
  readonly file: string;
  /** The `student:` identifier ('' when blank). */
  readonly student: string;
  readonly answers: ReadonlyMap<string, string>;
}

/** The blank answer sheet of a lab's questions, as YAML. */
export function renderBlankSheet(labName: string, title: string, questions: readonly ExerciseQuestion[], lang: Lang = 'en'): string {
  const zh = lang === 'zh';
  const lines = [
    zh ? `# 答题卡：${labName} — ${title}` : `# Answer sheet: ${labName} — ${title}`,
    zh
      ? `# 在每个 answer: 后写下你的答案，然后运行：tcplab exercise ${labName} --answers 本文件`
      : `# Write each answer after answer:, then run: tcplab exercise ${labName} --answers this-file.yaml`,
    `lab: ${labName}`,
    `student: ""  # ${zh ? '你的电子邮件地址或学号' : 'your e-mail address or ID number'}`,
    'answers:',
  ];
  for (const q of questions) {
    lines.push(
      `  - id: ${q.id}`,
      `    prompt: ${JSON.stringify(promptOf(q, lang))}`,
      `    form: ${JSON.stringify(describeForm(q.answer, lang))}`,
      '    answer:',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** How an answer of this form is written, for sheets and prompts. */
export function describeForm(form: ExerciseAnswerForm, lang: Lang = 'en'): string {
  const zh = lang === 'zh';
  switch (form.kind) {
    case 'states':
      return zh ? 'TCP 状态序列，例如 SYN_SENT, ESTABLISHED' : 'TCP states in order, e.g. SYN_SENT, ESTABLISHED';
    case 'count':
      return zh ? '一个整数' : 'a whole number';
    case 'duration':
      return zh ? `一段时间，例如 15s（误差 ±${form.toleranceMs / 1000} 秒）` : `a duration, e.g. 15s (within ±${form.toleranceMs / 1000} s)`;
    case 'choice':
      return zh ? `选一个：${form.options.join(' | ')}` : `one of: ${form.options.join(' | ')}`;
    case 'yes-no':
      return zh ? 'yes 或 no（是/否）' : 'yes or no';
    default:
      return assertNever(form);
  }
}

const SHEET_KEYS = ['lab', 'student', 'answers'];

/** Reads a filled answer sheet for `labName`'s questions; throws LabError (file:line:col) for every problem. */
export function parseAnswerSheet(text: string, file: string, labName: string, questions: readonly ExerciseQuestion[]): AnswerSheet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: LabProblem[] = [];
  const at = (path: readonly PropertyKey[], message: string, key = false): void => {
    const node = key ? findKeyNode(doc, path) : findNode(doc, path).node;
    const { line, col } = positionOf(node, lineCounter);
    problems.push({ file, line, col, path: formatLabPath(path), message });
  };
  const [syntax] = doc.errors;
  if (syntax !== undefined) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    const first = syntax.message.split('\n')[0] ?? syntax.message;
    throw new LabError([
      { file, line, col, path: '(document)', message: `YAML syntax: ${first.replace(/ at line \d+, column \d+:?$/, '')}; fix the sheet near here` },
    ]);
  }
  const root: unknown = doc.toJS();
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new LabError([
      {
        file,
        line: 1,
        col: 1,
        path: '(document)',
        message: `not an answer sheet: expected a mapping with lab, student and answers (print one with tcplab exercise ${labName} --sheet)`,
      },
    ]);
  }
  const record = root as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!SHEET_KEYS.includes(key))
      at([key], `unknown key "${key}" in an answer sheet; its keys are ${SHEET_KEYS.join(', ')}${didYouMean(key, SHEET_KEYS)}`, true);
  }
  if (record['lab'] !== undefined && record['lab'] !== labName) {
    at(['lab'], `this sheet is for lab ${JSON.stringify(record['lab'])}, not ${labName}; grade it with its own lab, or fix lab:`);
  }
  const student = record['student'];
  if (student !== undefined && student !== null && typeof student !== 'string' && typeof student !== 'number') {
    at(['student'], 'student: is an e-mail address or ID number (one line of text)');
  }
  const ids = questions.map((q) => q.id);
  const answers = new Map<string, string>();
  const list = record['answers'];
  if (list === null) {
    // `answers:` with nothing under it: every question blank
  } else if (list === undefined) {
    at([], 'the sheet has no answers: list; print a blank one with tcplab exercise ' + labName + ' --sheet');
  } else if (!Array.isArray(list)) {
    at(['answers'], 'answers: is a list of items with id and answer');
  } else {
    list.forEach((item: unknown, index) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        at(['answers', index], 'each item of answers: is a mapping with id and answer');
        return;
      }
      const entry = item as Record<string, unknown>;
      const id = entry['id'];
      if (typeof id !== 'string') {
        at(['answers', index], 'this item has no id: naming its question');
        return;
      }
      if (!ids.includes(id)) {
        at(['answers', index, 'id'], `unknown question id "${id}"; ${labName}'s questions are ${ids.join(', ')}${didYouMean(id, ids)}`);
        return;
      }
      if (answers.has(id)) {
        at(['answers', index, 'id'], `question "${id}" is answered twice; keep one answer`);
        return;
      }
      const answer = answerText(entry['answer']);
      if (answer === undefined) {
        at(['answers', index, 'answer'], 'an answer is one line of text, a number, or a list of states');
        return;
      }
      answers.set(id, answer);
    });
  }
  if (problems.length > 0) throw new LabError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return { file, student: typeof student === 'string' || typeof student === 'number' ? String(student).trim() : '', answers };
}

function answerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
  return undefined;
}
