import { z } from 'zod';
import { assertNever } from '../assert-never.js';
import { didYouMean } from './lab-error.js';
import { describeIssues, type PathProblem } from './lab-issues.js';
import { CONNECT_OUTCOMES, SOCKET_ERRORS, connName, duration, durationMs, hostRef, port, tcpFlags } from './lab-kinds.js';
import { MAX_NAME_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS } from './lab-limits.js';
import type { Exercise, ExerciseAnswerForm, ExerciseAnswerKind, ExerciseQuestion, Step, TruthKind, TruthSource } from './model.js';
import { quote } from './quote-token.js';

/*
 * The `exercise:` section of a lab file: questions students answer before the run, each with the form of
 * its answer and where its truth comes from in the observed run.
 *
 *   exercise:
 *     intro: The server's firewall drops every segment sent to port 8888. …
 *     questions:
 *       - id: syn-count
 *         prompt: How many SYN segments will the client send in all?
 *         prompt_zh: 客户端一共会发出多少个 SYN？
 *         answer: count                      # states | count | yes-no | choice | duration, or {duration: {tolerance: 2s}}, {choice: [a, b]}
 *         truth: { segments: { from: client, to: server, flags: S } }
 *         explain: tcp_syn_retries=3: the first SYN and 3 retransmissions.
 */

/** Question ids: lower-case letters, digits and -, starting with a letter. */
export const QUESTION_ID_PATTERN = /^[a-z][a-z0-9-]*$/;
export const MAX_QUESTIONS = 50;
const DEFAULT_TOLERANCE_MS = 1_000;

/** Which answer forms each truth source can grade (a state path needs a states truth, a count a segment count, …). */
export const ANSWERS_OF_TRUTH: Readonly<Record<TruthKind, readonly ExerciseAnswerKind[]>> = {
  states: ['states'],
  segments: ['count', 'yes-no'],
  outcome: ['choice'],
  error: ['choice'],
  'give-up': ['duration'],
  check: ['yes-no'],
};

/** The values a choice over this truth can take (a choice's options must be among them). */
export function choiceValuesOf(truth: TruthKind): readonly string[] | undefined {
  if (truth === 'outcome') return CONNECT_OUTCOMES;
  if (truth === 'error') return SOCKET_ERRORS;
  return undefined;
}

const ANSWER_WORDS = ['states', 'count', 'duration', 'choice', 'yes-no'] as const satisfies readonly ExerciseAnswerKind[];
const text = z.string().min(1).max(MAX_TEXT_CHARS);
const hostConn = z.strictObject({ host: hostRef, conn: connName });

const answerSchema = z
  .union([
    z.enum(ANSWER_WORDS),
    z.strictObject({ duration: z.strictObject({ tolerance: duration }) }),
    z.strictObject({ choice: z.array(z.string().min(1).max(MAX_NAME_CHARS)).min(2).max(10) }),
  ])
  .describe('the form of the answer: states, count, yes-no, choice, duration; or {duration: {tolerance: 2s}}, {choice: [ETIMEDOUT, connected]}');

const truthSchema = z
  .strictObject({
    states: z.strictObject({ host: hostRef, port: port.optional() }).optional(),
    segments: z.strictObject({ from: hostRef, to: hostRef, flags: tcpFlags }).optional(),
    outcome: hostConn.optional(),
    error: hostConn.optional(),
    'give-up': hostConn.optional(),
    check: z.number().int().min(1).describe('number of the expectation (1-based, in expect: order) whose check says yes or no').optional(),
  })
  .describe('where the truth comes from in the run: exactly one of states, segments, outcome, error, give-up, check')
  .superRefine((value, ctx) => {
    const given = Object.keys(value).filter((key) => value[key as keyof typeof value] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? 'a truth needs one of states, segments, outcome, error, give-up or check; e.g. `truth: { outcome: { host: client, conn: c } }`'
            : `a truth takes exactly one source, received ${given.join(' and ')}; ask a question per source`,
      });
    }
  });

const questionSchema = z.strictObject({
  id: z.string().max(MAX_NAME_CHARS).regex(QUESTION_ID_PATTERN).describe('question id: lower-case letters, digits and -, unique in the lab'),
  prompt: z
    .string()
    .min(1)
    .max(MAX_TITLE_CHARS * 5),
  prompt_zh: z
    .string()
    .min(1)
    .max(MAX_TITLE_CHARS * 5)
    .optional(),
  answer: answerSchema,
  truth: truthSchema,
  explain: text.optional(),
  explain_zh: text.optional(),
});

/** The `exercise:` section as zod validates it (the cross-checks against hosts, connections and expectations are checkExercise's). */
export const EXERCISE_SECTION_SCHEMA = z
  .strictObject({ intro: text.optional(), intro_zh: text.optional(), questions: z.array(questionSchema).min(1).max(MAX_QUESTIONS) })
  .describe('classroom exercise: questions students answer before the run, graded against what the kernel did');

type ExerciseValue = z.output<typeof EXERCISE_SECTION_SCHEMA>;
type QuestionValue = z.output<typeof questionSchema>;

/** What the names in an exercise may refer to: the lab's hosts, its connect steps, its number of expectations. */
export interface ExerciseContext {
  readonly hostNames: readonly string[];
  readonly steps: readonly Step[];
  readonly expectationCount: number;
}

/** Checks a schema-valid exercise against the lab: unique ids, answer forms its truth can grade, hosts, connections, expectation numbers. */
export function checkExercise(value: ExerciseValue, context: ExerciseContext): PathProblem[] {
  const problems: PathProblem[] = [];
  const report = (path: readonly PropertyKey[], message: string, target: 'key' | 'value' = 'value'): void => {
    problems.push({ path: ['exercise', 'questions', ...path], message, target });
  };
  const seen = new Map<string, number>();
  value.questions.forEach((question, index) => {
    const earlier = seen.get(question.id);
    if (earlier !== undefined)
      report([index, 'id'], `duplicate question id ${quote(question.id)} (question ${earlier + 1} has it); give each question its own id`);
    seen.set(question.id, index);
    const [truthKind, truthValue] = truthEntry(question);
    const answerKind = answerKindOf(question.answer);
    const allowed = ANSWERS_OF_TRUTH[truthKind];
    if (!allowed.includes(answerKind)) {
      report(
        [index, 'answer'],
        `${anOrA(truthKind)} ${truthKind} truth grades ${allowed.join(' or ')} answers, not ${answerKind}; write answer: ${allowed[0]}, or pick another truth`,
      );
    }
    if (typeof question.answer === 'object' && 'choice' in question.answer) {
      const values = choiceValuesOf(truthKind);
      question.answer.choice.forEach((option, i) => {
        if (values !== undefined && !values.includes(option)) {
          report(
            [index, 'answer', 'choice', i],
            `${quote(option)} is not ${anOrA(truthKind)} ${truthKind} the run can show; options are among ${values.join(', ')}${didYouMean(option, values)}`,
          );
        }
      });
    }
    const path = [index, 'truth', truthKind];
    const checkHost = (field: string, host: string): boolean => {
      if (context.hostNames.includes(host)) return true;
      report([...path, field], `unknown host ${quote(host)}; declared hosts: ${context.hostNames.join(', ')}${didYouMean(host, context.hostNames)}`);
      return false;
    };
    if (truthKind === 'check') {
      const n = truthValue as number;
      if (n > context.expectationCount) {
        report(path, `there is no expectation ${n}: the lab's expect: has ${context.expectationCount}; number them from 1 in expect: order`);
      }
    } else if (truthKind === 'segments') {
      const v = truthValue as { from: string; to: string };
      checkHost('from', v.from);
      checkHost('to', v.to);
    } else if (truthKind === 'states') {
      checkHost('host', (truthValue as { host: string }).host);
    } else {
      const v = truthValue as { host: string; conn: string };
      if (!checkHost('host', v.host)) return;
      const connects = context.steps.filter((s) => s.kind === 'connect' && s.host === v.host).map((s) => (s.kind === 'connect' ? s.conn : ''));
      const accepted = truthKind === 'error' && /^accepted-[1-9][0-9]*$/.test(v.conn) && context.steps.some((s) => s.kind === 'listen' && s.host === v.host);
      if (!connects.includes(v.conn) && !accepted) {
        const known = connects.length === 0 ? `${v.host} has no connect step` : `connections of ${v.host}: ${connects.join(', ')}`;
        report([...path, 'conn'], `no connection ${quote(v.conn)} on ${v.host} (${known})${didYouMean(v.conn, connects)}; name a connect step's \`as\``);
      }
    }
  });
  return problems;
}

/** The model of a validated, checked exercise section. */
export function toExercise(value: ExerciseValue): Exercise {
  return {
    ...(value.intro !== undefined && { intro: value.intro }),
    ...(value.intro_zh !== undefined && { introZh: value.intro_zh }),
    questions: value.questions.map(toQuestion),
  };
}

function toQuestion(value: QuestionValue): ExerciseQuestion {
  const truth = toTruth(value);
  return {
    id: value.id,
    prompt: value.prompt,
    ...(value.prompt_zh !== undefined && { promptZh: value.prompt_zh }),
    answer: toAnswerForm(value.answer, truth.kind),
    truth,
    ...(value.explain !== undefined && { explain: value.explain }),
    ...(value.explain_zh !== undefined && { explainZh: value.explain_zh }),
  };
}

function toAnswerForm(answer: QuestionValue['answer'], truth: TruthKind): ExerciseAnswerForm {
  if (typeof answer === 'object') {
    if ('duration' in answer) return { kind: 'duration', toleranceMs: durationMs(answer.duration.tolerance) };
    return { kind: 'choice', options: answer.choice };
  }
  if (answer === 'duration') return { kind: 'duration', toleranceMs: DEFAULT_TOLERANCE_MS };
  if (answer === 'choice') return { kind: 'choice', options: choiceValuesOf(truth) ?? [] };
  return { kind: answer };
}

function toTruth(value: QuestionValue): TruthSource {
  const [kind, v] = truthEntry(value);
  switch (kind) {
    case 'states': {
      const s = v as { host: string; port?: number };
      return { kind, host: s.host, ...(s.port !== undefined && { port: s.port }) };
    }
    case 'segments': {
      const s = v as { from: string; to: string; flags: string };
      return { kind, from: s.from, to: s.to, flags: s.flags };
    }
    case 'outcome':
    case 'error':
    case 'give-up': {
      const s = v as { host: string; conn: string };
      return { kind, host: s.host, conn: s.conn };
    }
    case 'check':
      return { kind, expect: v as number };
    default:
      return assertNever(kind);
  }
}

function truthEntry(question: QuestionValue): [TruthKind, unknown] {
  const entry = Object.entries(question.truth).find(([, v]) => v !== undefined);
  if (entry === undefined) throw new Error('truthEntry: unvalidated truth');
  return [entry[0] as TruthKind, entry[1]];
}

function answerKindOf(answer: QuestionValue['answer']): ExerciseAnswerKind {
  if (typeof answer === 'string') return answer;
  return 'duration' in answer ? 'duration' : 'choice';
}

/** Validates an `exercise:` value (schema, then checkExercise); problems go to `problems`, the model comes back when there were none. */
export function loadExercise(value: unknown, context: ExerciseContext, problems: PathProblem[]): Exercise | undefined {
  if (value === undefined) return undefined;
  const parsed = EXERCISE_SECTION_SCHEMA.safeParse(value);
  if (!parsed.success) {
    problems.push(...describeIssues(parsed.error.issues, EXERCISE_SECTION_SCHEMA, ['exercise'], { exercise: value }));
    return undefined;
  }
  const found = checkExercise(parsed.data, context);
  problems.push(...found);
  return found.length === 0 ? toExercise(parsed.data) : undefined;
}

function anOrA(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
