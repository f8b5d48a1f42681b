import type { Lang } from '../messages/catalog.js';
import type { Lab, Step } from '../lab/model.js';
import { describeStepIn } from '../messages/lab-words.js';
import type { ExerciseQuestions } from './exercise-questions.js';
import type { GradedSheet } from './grade-answer.js';

/*
 * The exercise as terminal text (pure): the setup students see before answering — the teacher's intro, the
 * hosts and their settings, the steps with every fault hidden — and a graded sheet with each truth, its
 * evidence and explanation, and the score.
 */

/** Steps that break the network: a student predicting the run does not see them, only that a fault is set. */
export function isFaultStep(step: Step): boolean {
  return step.kind === 'rule' || step.kind === 'unrule' || step.kind === 'hold' || step.kind === 'release' || step.kind === 'flood';
}

/** Waits tell what the lab expects to happen (`wait for "error" on c`), so a student predicting the run does not see them. */
export function isWaitStep(step: Step): boolean {
  return step.kind === 'wait-state' || step.kind === 'wait-event' || step.kind === 'wait-gone';
}

/** The setup lines: intro, hosts with their sysctls, the actions with faults hidden and waits left out (expectations are never shown). */
export function setupLines(lab: Lab, questions: ExerciseQuestions, lang: Lang): string[] {
  const zh = lang === 'zh';
  const intro = zh ? (questions.introZh ?? questions.intro) : questions.intro;
  const lines: string[] = [];
  if (intro !== undefined) lines.push(...intro.trim().split('\n'), '');
  lines.push(zh ? '主机：' : 'Hosts:');
  for (const host of lab.hosts) {
    const settings = Object.entries(host.sysctls).map(([k, v]) => `${k}=${v}`);
    lines.push(`  ${host.name}${settings.length > 0 ? ` (${settings.join(', ')})` : ''}`);
  }
  lines.push(zh ? '步骤：' : 'Steps:');
  lab.steps
    .filter((step) => !isWaitStep(step))
    .forEach((step, i) => {
      const text = isFaultStep(step)
        ? zh
          ? '（此处注入网络故障，细节隐藏）'
          : '(a network fault is set here; its details are hidden)'
        : describeStepIn(lang, step);
      lines.push(`  ${i + 1}. ${text}`);
    });
  return lines;
}

/** A graded sheet for the terminal: each question with answer, truth, evidence and explanation, then the score. */
export function renderGradedText(labName: string, runDir: string, sheet: GradedSheet, lang: Lang, color = false): string {
  const zh = lang === 'zh';
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  sheet.questions.forEach((q, i) => {
    const mark = q.correct ? paint('32', zh ? '✓ 正确' : '✓ correct') : paint('31', zh ? '✗ 错误' : '✗ wrong');
    lines.push(`${i + 1}. [${q.id}] ${q.prompt}`);
    lines.push(
      `   ${zh ? '你的答案' : 'your answer'}: ${q.answer === '' ? (zh ? '（空）' : '(blank)') : q.answer}   ${mark}${q.problem !== undefined ? ` (${q.problem})` : ''}`,
    );
    lines.push(`   ${zh ? '观察到的事实' : 'observed'}: ${q.observed}`);
    for (const e of q.evidence.slice(0, 6)) lines.push(`     · ${e}`);
    lines.push(`   ${zh ? '解释' : 'why'}: ${q.explanation}`);
  });
  lines.push('', `${zh ? '得分' : 'score'}: ${sheet.score}/${sheet.max}  (${labName}, ${zh ? '运行' : 'run'} ${runDir})`);
  return `${lines.join('\n')}\n`;
}
