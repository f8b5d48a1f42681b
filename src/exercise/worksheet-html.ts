import type { Lang } from '../messages/catalog.js';
import type { Lab } from '../lab/model.js';
import { escapeHtml as escape } from '../report/html-report.js';
import { describeForm } from './answer-sheet.js';
import type { ExerciseQuestions } from './exercise-questions.js';
import { setupLines } from './exercise-text.js';
import { promptOf } from './grade-answer.js';

/** A printable worksheet (A4, no scripts or network): the setup with faults hidden, each question with its form and space to answer (pure). */
export function renderWorksheetHtml(lab: Lab, exercise: ExerciseQuestions, lang: Lang): string {
  const zh = lang === 'zh';
  const questions = exercise.questions
    .map(
      (q, i) =>
        `<li class="question" data-question="${escape(q.id)}"><p class="prompt"><b>${i + 1}.</b> ${escape(promptOf(q, lang))} <span class="id">[${escape(q.id)}]</span></p>` +
        `<p class="form">${escape(describeForm(q.answer, lang))}</p><div class="blank"></div></li>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="${zh ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<title>${escape(`${lab.title} — ${zh ? '练习' : 'worksheet'}`)}</title>
<style>
@page { size: A4; margin: 18mm; }
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; font-size: 11pt; color: #111; }
h1 { font-size: 16pt; margin: 0 0 4px; } .meta { color: #4b5563; margin: 0 0 12px; }
.name { border-bottom: 1px solid #111; display: inline-block; min-width: 70mm; }
pre.setup { white-space: pre-wrap; font-family: inherit; background: #f3f4f6; padding: 8px; }
ol { padding-left: 0; list-style: none; } .question { break-inside: avoid; margin: 0 0 10px; }
.prompt { margin: 0; } .id { color: #6b7280; font-size: 9pt; } .form { margin: 2px 0; color: #4b5563; font-size: 9.5pt; }
.blank { border-bottom: 1px dotted #6b7280; height: 14mm; }
</style>
</head>
<body>
<h1>${escape(lab.title)}</h1>
<p class="meta">${escape(lab.name)}${lab.source !== undefined ? ` · ${escape(lab.source)}` : ''}</p>
<p>${zh ? '学生（电子邮件或学号）' : 'Student (e-mail or ID number)'}: <span class="name">&nbsp;</span></p>
<h2>${zh ? '实验设置' : 'Setup'}</h2>
<pre class="setup">${escape(setupLines(lab, exercise, lang).join('\n'))}</pre>
<h2>${zh ? '在运行之前先预测' : 'Predict before the run'}</h2>
<ol>
${questions}
</ol>
<p class="meta">${escape(zh ? `填写答题卡：tcplab exercise ${lab.name} --sheet --lang zh` : `Answer sheet: tcplab exercise ${lab.name} --sheet`)}</p>
</body>
</html>
`;
}
