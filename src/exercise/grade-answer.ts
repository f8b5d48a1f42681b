import type { Lang } from '../messages/catalog.js';
import { assertNever } from '../assert-never.js';
import { DURATION_PATTERN } from '../lab/duration.js';
import type { ExerciseAnswerForm, ExerciseQuestion } from '../lab/model.js';
import { EXERCISE_WORDS } from '../messages/exercise-words.js';
import { parseTcpState, type TcpState } from '../tcp/state.js';
import type { Evidence } from '../verify/verdict.js';
import type { ObservedTruth, TruthValue } from './observe-truth.js';

/*
 * Grading (pure): a student's answer, as written, against the observed truth. Each question is worth one
 * point: a state path must equal the observed one (consecutive repeats collapsed); a count must be equal;
 * a duration within the question's tolerance; a choice or yes/no the same value. A blank answer, or one that
 * cannot be read as the question's form, scores 0 and says why; the truth is shown either way.
 */

/** One graded question, as `exercise --json` prints it (plus the explanation and typed refs). */
export interface GradedQuestion {
  readonly id: string;
  readonly prompt: string;
  /** The answer as written ('' for a blank one). */
  readonly answer: string;
  /** The observed truth, written as an answer would be. */
  readonly observed: string;
  readonly correct: boolean;
  readonly points: number;
  readonly evidence: readonly string[];
  /** Why the answer could not be graded as the question's form (blank, not a number, unknown state …). */
  readonly problem?: string;
  readonly explanation: string;
  readonly refs: readonly Evidence[];
}

/** A graded answer sheet: each question, the score and the maximum. */
export interface GradedSheet {
  readonly score: number;
  readonly max: number;
  readonly questions: readonly GradedQuestion[];
}

type Parsed = { readonly ok: true; readonly value: TruthValue } | { readonly ok: false; readonly problem: string };

/** The prompt of a question in `lang` (English when it has no Chinese). */
export function promptOf(question: ExerciseQuestion, lang: Lang): string {
  return lang === 'zh' && question.promptZh !== undefined ? question.promptZh : question.prompt;
}

/** Grades one answer (raw text, '' when blank) against the truth observed for its question. */
export function gradeAnswer(question: ExerciseQuestion, answer: string, truth: ObservedTruth, lang: Lang = 'en'): GradedQuestion {
  const parsed = parseAnswer(question.answer, answer, lang);
  const correct = parsed.ok && sameValue(question.answer, parsed.value, truth.value);
  const seen = lang === 'zh' ? truth.zh : truth;
  const problem = !parsed.ok ? parsed.problem : truth.value.kind === 'none' ? EXERCISE_WORDS[lang].noTruth(seen.display) : undefined;
  return {
    id: question.id,
    prompt: promptOf(question, lang),
    answer,
    observed: seen.display,
    correct,
    points: correct ? 1 : 0,
    evidence: seen.evidence,
    ...(problem !== undefined && { problem }),
    explanation: explanationOf(question, truth, lang),
    refs: truth.refs,
  };
}

/** Grades a sheet: each question's answer (missing ones are blank) against its truth. */
export function gradeSheet(
  questions: readonly ExerciseQuestion[],
  answers: ReadonlyMap<string, string>,
  truths: ReadonlyMap<string, ObservedTruth>,
  lang: Lang = 'en',
): GradedSheet {
  const graded = questions.map((q) => {
    const truth = truths.get(q.id);
    if (truth === undefined) throw new Error(`gradeSheet: no truth for question ${q.id}`);
    return gradeAnswer(q, answers.get(q.id) ?? '', truth, lang);
  });
  return { score: graded.reduce((sum, g) => sum + g.points, 0), max: questions.length, questions: graded };
}

/** Reads an answer as the question's form; a blank or unreadable one is a problem saying what was expected. */
export function parseAnswer(form: ExerciseAnswerForm, text: string, lang: Lang = 'en'): Parsed {
  const w = EXERCISE_WORDS[lang];
  const answer = text.trim();
  if (answer === '') return { ok: false, problem: w.noAnswer };
  switch (form.kind) {
    case 'states': {
      const words = answer.split(/\s*(?:→|->|=>|,|，|、|;|\s)\s*/).filter((w) => w !== '');
      const path: TcpState[] = [];
      for (const word of words) {
        const state = parseTcpState(word);
        if (state === undefined) return { ok: false, problem: w.notAState(word) };
        if (path.at(-1) !== state) path.push(state);
      }
      return { ok: true, value: { kind: 'states', path } };
    }
    case 'count':
      if (!/^\d+$/.test(answer)) return { ok: false, problem: w.notACount(answer) };
      return { ok: true, value: { kind: 'count', count: Number(answer) } };
    case 'duration': {
      const normal = answer
        .replace(/\s*毫秒$/, 'ms')
        .replace(/\s*(秒|sec(onds?)?)$/i, 's')
        .replace(/\s+/g, '');
      const match = DURATION_PATTERN.exec(normal);
      if (match === null) return { ok: false, problem: w.notADuration(answer) };
      const amount = Number(match[1]);
      const unit = match[2] ?? 's';
      return { ok: true, value: { kind: 'duration', ms: unit === 'ms' ? amount : unit === 's' ? amount * 1000 : amount * 60_000 } };
    }
    case 'choice': {
      const option = form.options.find((o) => o.toLowerCase() === answer.toLowerCase());
      if (option === undefined) return { ok: false, problem: w.notAnOption(answer, form.options) };
      return { ok: true, value: { kind: 'choice', value: option } };
    }
    case 'yes-no': {
      if (/^(y|yes|true|是|是的|对|会)$/i.test(answer)) return { ok: true, value: { kind: 'yes-no', yes: true } };
      if (/^(n|no|false|否|不|不是|不会|错)$/i.test(answer)) return { ok: true, value: { kind: 'yes-no', yes: false } };
      return { ok: false, problem: w.notYesNo(answer) };
    }
    default:
      return assertNever(form);
  }
}

function sameValue(form: ExerciseAnswerForm, answer: TruthValue, truth: TruthValue): boolean {
  if (answer.kind === 'states' && truth.kind === 'states') return answer.path.length === truth.path.length && answer.path.every((s, i) => s === truth.path[i]);
  if (answer.kind === 'count' && truth.kind === 'count') return answer.count === truth.count;
  if (answer.kind === 'duration' && truth.kind === 'duration') return form.kind === 'duration' && Math.abs(answer.ms - truth.ms) <= form.toleranceMs;
  if (answer.kind === 'choice' && truth.kind === 'choice') return answer.value === truth.value;
  if (answer.kind === 'yes-no' && truth.kind === 'yes-no') return answer.yes === truth.yes;
  return false;
}

/** The teacher's explanation, or one that says where the truth came from. */
function explanationOf(question: ExerciseQuestion, truth: ObservedTruth, lang: Lang): string {
  const written = lang === 'zh' ? (question.explainZh ?? question.explain) : question.explain;
  if (written !== undefined) return written.trim();
  const t = question.truth;
  const zh = lang === 'zh';
  const display = zh ? truth.zh.display : truth.display;
  switch (t.kind) {
    case 'states':
      return zh
        ? `${t.host} 的套接字状态来自 /proc/net/tcp 采样和内核 tracepoint：${display}`
        : `${t.host}'s socket states, from /proc/net/tcp samples and the kernel's tracepoints: ${display}`;
    case 'segments':
      return zh
        ? `${t.from} 自己的抓包中发往 ${t.to} 的 [${t.flags}] 报文数：${display}`
        : `[${t.flags}] segments ${t.from} → ${t.to} counted in ${t.from}'s own capture: ${display}`;
    case 'outcome':
      return zh ? `${t.host} 的代理报告的 connect() 结果：${display}` : `what ${t.host}'s agent saw connect() end in: ${display}`;
    case 'error':
      return zh ? `${t.host} 上应用程序在 ${t.conn} 上看到的错误：${display}` : `the error the application on ${t.host} saw on ${t.conn}: ${display}`;
    case 'give-up':
      return zh ? `从 connect() 调用到它失败的时间：${display}` : `the time from the connect() call to its failure: ${display}`;
    case 'check':
      return zh ? `实验的第 ${t.expect} 条预期的检查结果` : `the verdict of the lab's expectation ${t.expect}`;
    default:
      return assertNever(t);
  }
}
