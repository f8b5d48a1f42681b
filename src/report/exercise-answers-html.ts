import type { GradedSheet } from '../exercise/grade-answer.js';
import { escapeHtml as escape } from './html-report.js';

/** The report's answers panel of an exercise run: each question, the answer, the truth and its evidence, and the score (pure). */
export function renderAnswersSection(sheet: GradedSheet, lang: 'en' | 'zh'): string {
  const zh = lang === 'zh';
  const rows = sheet.questions
    .map(
      (q) =>
        `<tr class="${q.correct ? 'pass' : 'fail'}" data-question="${escape(q.id)}"><td>${q.correct ? '✓' : '✗'}</td><td><b>${escape(q.id)}</b><br>${escape(q.prompt)}</td>` +
        `<td class="answer">${q.answer === '' ? `<i>${zh ? '（空）' : '(blank)'}</i>` : escape(q.answer)}${q.problem !== undefined ? `<br><small>${escape(q.problem)}</small>` : ''}</td>` +
        `<td class="observed">${escape(q.observed)}<ul>${q.evidence
          .slice(0, 6)
          .map((e) => `<li>${escape(e)}</li>`)
          .join('')}</ul></td></tr>`,
    )
    .join('\n');
  const head = zh ? ['', '问题', '答案', '观察到的事实与证据'] : ['', 'question', 'answer', 'observed, with evidence'];
  return `<section id="answers"><h2>${zh ? '答案' : 'Answers'} — ${sheet.score}/${sheet.max}</h2>
<style>#answers table{border-collapse:collapse;width:100%}#answers td,#answers th{border:1px solid #d1d5db;padding:6px;vertical-align:top;text-align:left}#answers tr.pass td:first-child{color:#047857}#answers tr.fail td:first-child{color:#b91c1c}#answers ul{margin:4px 0 0 16px;padding:0;font-size:90%}</style>
<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></section>`;
}
