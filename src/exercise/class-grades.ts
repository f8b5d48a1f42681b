import type { Lang } from '../messages/catalog.js';
import type { ExerciseQuestion } from '../lab/model.js';
import { escapeHtml } from '../report/html-report.js';
import { promptOf, type GradedSheet } from './grade-answer.js';

/*
 * A class's grades (pure). The CSV is what Moodle's "Import grades from CSV" (grade/import/csv) takes as it
 * is: a header row, one identifier column the teacher maps to a user field ("Email address" → email, or
 * "ID number" → idnumber), then one column per grade item with plain numbers, comma-separated, UTF-8.
 * Moodle's own import fixtures have this shape: `First name,Last name,Email address,Grade A,Grade B`.
 */

/** One student's graded sheet, and which run it was graded against. */
export interface GradedStudent {
  readonly file: string;
  readonly student: string;
  readonly runDir: string;
  readonly sheet: GradedSheet;
}

/** The identifier column: e-mail addresses, or ID numbers; a class mixing them (or with blanks) cannot be mapped by one column. */
export type IdentifierColumn = { readonly ok: true; readonly header: 'Email address' | 'ID number' } | { readonly ok: false; readonly problem: string };

const EMAIL = /^[^\s@,"]+@[^\s@,"]+$/;

/** Which Moodle user field the sheets' `student:` identifiers map to, or why they cannot all map to one. */
export function identifierColumnOf(students: readonly { file: string; student: string }[]): IdentifierColumn {
  const blank = students.find((s) => s.student === '');
  if (blank !== undefined) return { ok: false, problem: `${blank.file}: student: is blank; write the student's e-mail address or ID number` };
  const emails = students.filter((s) => EMAIL.test(s.student));
  if (emails.length === students.length) return { ok: true, header: 'Email address' };
  const other = students.find((s) => !/^[A-Za-z0-9._-]+$/.test(s.student) && !EMAIL.test(s.student));
  if (other !== undefined)
    return { ok: false, problem: `${other.file}: student: ${JSON.stringify(other.student)} is neither an e-mail address nor an ID number` };
  if (emails.length > 0) {
    const [first] = emails;
    const idNumber = students.find((s) => !EMAIL.test(s.student));
    return {
      ok: false,
      problem: `the sheets mix e-mail addresses (${first?.file}) and ID numbers (${idNumber?.file}); Moodle maps one column, so use one kind on every sheet`,
    };
  }
  return { ok: true, header: 'ID number' };
}

/** The Moodle grade item name of a question (`syn-sent: syn-count`) and of the total. */
export function gradeItemName(labName: string, questionId: string): string {
  return `${labName}: ${questionId}`;
}

/** The class's grades as Moodle CSV: identifier, one column per question (0 or 1), and the total. */
export function renderMoodleCsv(
  labName: string,
  header: 'Email address' | 'ID number',
  questions: readonly ExerciseQuestion[],
  students: readonly GradedStudent[],
): string {
  const cell = (text: string): string => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const rows = [[header, ...questions.map((q) => gradeItemName(labName, q.id)), gradeItemName(labName, 'total')]];
  for (const s of students) {
    const points = new Map(s.sheet.questions.map((q) => [q.id, q.points]));
    rows.push([s.student, ...questions.map((q) => String(points.get(q.id) ?? 0)), String(s.sheet.score)]);
  }
  return `${rows.map((row) => row.map(cell).join(',')).join('\n')}\n`;
}

/** How the class did on one question: who got it wrong, the answers given, the truth and its evidence. */
export interface QuestionSummary {
  readonly id: string;
  readonly prompt: string;
  readonly wrong: number;
  readonly total: number;
  readonly observed: string;
  readonly evidence: readonly string[];
  /** Wrong answers as written, most frequent first ('' for blank). */
  readonly wrongAnswers: readonly { readonly answer: string; readonly count: number }[];
}

/** Each question's class result, the most missed first (ties in question order). */
export function summarizeQuestions(questions: readonly ExerciseQuestion[], students: readonly GradedStudent[], lang: Lang): QuestionSummary[] {
  return questions
    .map((q, index) => {
      const graded = students.flatMap((s) => s.sheet.questions.filter((g) => g.id === q.id));
      const wrong = graded.filter((g) => !g.correct);
      const counts = new Map<string, number>();
      for (const g of wrong) counts.set(g.answer.trim(), (counts.get(g.answer.trim()) ?? 0) + 1);
      const first = graded[0];
      return {
        index,
        summary: {
          id: q.id,
          prompt: promptOf(q, lang),
          wrong: wrong.length,
          total: graded.length,
          observed: first?.observed ?? '',
          evidence: first?.evidence ?? [],
          wrongAnswers: [...counts].map(([answer, count]) => ({ answer, count })).sort((a, b) => b.count - a.count),
        },
      };
    })
    .sort((a, b) => b.summary.wrong - a.summary.wrong || a.index - b.index)
    .map((x) => x.summary);
}

/** The class summary page: most-missed questions with the truth and its evidence, then each student's score. */
export function renderClassSummaryHtml(
  lab: { name: string; title: string },
  questions: readonly ExerciseQuestion[],
  students: readonly GradedStudent[],
  lang: Lang,
): string {
  const zh = lang === 'zh';
  const summaries = summarizeQuestions(questions, students, lang);
  const runs = [...new Set(students.map((s) => s.runDir))];
  const questionRows = summaries
    .map(
      (s) =>
        `<tr data-question="${escapeHtml(s.id)}" data-wrong="${s.wrong}"><td><b>${escapeHtml(s.id)}</b><br>${escapeHtml(s.prompt)}</td><td class="wrong">${s.wrong}/${s.total}</td>` +
        `<td>${escapeHtml(s.observed)}<ul>${s.evidence
          .slice(0, 5)
          .map((e) => `<li>${escapeHtml(e)}</li>`)
          .join('')}</ul></td>` +
        `<td>${s.wrongAnswers.map((w) => `${w.answer === '' ? (zh ? '（空）' : '(blank)') : escapeHtml(w.answer)} × ${w.count}`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const studentRows = students
    .map((s) => `<tr><td>${escapeHtml(s.student)}</td><td>${s.sheet.score}/${s.sheet.max}</td><td><code>${escapeHtml(s.file)}</code></td></tr>`)
    .join('\n');
  const mean = students.length === 0 ? 0 : students.reduce((sum, s) => sum + s.sheet.score, 0) / students.length;
  return `<!DOCTYPE html>
<html lang="${zh ? 'zh-CN' : 'en'}">
<head><meta charset="utf-8"><title>${escapeHtml(`${lab.title} — ${zh ? '全班成绩' : 'class summary'}`)}</title>
<style>body{font-family:"DejaVu Sans","Noto Sans CJK SC",sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;width:100%;margin-bottom:20px}td,th{border:1px solid #d1d5db;padding:6px;vertical-align:top;text-align:left}td.wrong{font-weight:700;color:#b91c1c}ul{margin:4px 0 0 16px;padding:0;font-size:90%}</style></head>
<body>
<h1>${escapeHtml(lab.title)}</h1>
<p>${escapeHtml(lab.name)} · ${students.length} ${zh ? '份答题卡' : 'sheets'} · ${zh ? '平均分' : 'mean score'} ${mean.toFixed(2)}/${questions.length} · ${zh ? '运行' : runs.length === 1 ? 'one run for the class' : 'runs'}: ${runs.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ')}</p>
<h2>${zh ? '错得最多的问题' : 'Most-missed questions'}</h2>
<table id="questions"><thead><tr><th>${zh ? '问题' : 'question'}</th><th>${zh ? '答错' : 'wrong'}</th><th>${zh ? '观察到的事实与证据' : 'observed, with evidence'}</th><th>${zh ? '错误答案' : 'wrong answers'}</th></tr></thead>
<tbody>
${questionRows}
</tbody></table>
<h2>${zh ? '学生' : 'Students'}</h2>
<table id="students"><thead><tr><th>${zh ? '学生' : 'student'}</th><th>${zh ? '得分' : 'score'}</th><th>${zh ? '答题卡' : 'sheet'}</th></tr></thead>
<tbody>
${studentRows}
</tbody></table>
</body></html>
`;
}
