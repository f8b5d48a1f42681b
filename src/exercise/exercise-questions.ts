import { assertNever } from '../assert-never.js';
import { CONNECT_OUTCOMES, SOCKET_ERRORS } from '../lab/lab-kinds.js';
import type { Expectation, ExerciseQuestion, Lab } from '../lab/model.js';

/** The questions of a lab: its `exercise:` section, or generated from its expectations when it has none. */
export interface ExerciseQuestions {
  readonly questions: readonly ExerciseQuestion[];
  /** True when the lab has no `exercise:` section and the questions come from its expectations. */
  readonly generated: boolean;
  readonly intro?: string;
  readonly introZh?: string;
}

/** The lab's own questions, or generated ones (generateQuestions) for a lab without an exercise section. */
export function questionsOf(lab: Lab): ExerciseQuestions {
  if (lab.exercise !== undefined) {
    return {
      questions: lab.exercise.questions,
      generated: false,
      ...(lab.exercise.intro !== undefined && { intro: lab.exercise.intro }),
      ...(lab.exercise.introZh !== undefined && { introZh: lab.exercise.introZh }),
    };
  }
  return { questions: generateQuestions(lab), generated: true };
}

/**
 * Questions made from a lab's expectations: the states a host passes through, segment counts, the outcome
 * and error of a connection, when connect() gives up, and yes/no on a handshake or on states never reached.
 * Each truth is the observed run's, not the expectation's claim; ids are unique (a repeated one gets -2, -3 …).
 */
export function generateQuestions(lab: Lab): ExerciseQuestion[] {
  const questions: ExerciseQuestion[] = [];
  const used = new Set<string>();
  const add = (id: string, question: Omit<ExerciseQuestion, 'id'>): void => {
    let unique = id;
    for (let n = 2; used.has(unique); n++) unique = `${id}-${n}`;
    used.add(unique);
    questions.push({ id: unique, ...question });
  };
  lab.expectations.forEach((expectation, index) => {
    for (const question of questionsOfExpectation(expectation, index, lab)) add(question.id, question);
  });
  return questions;
}

function questionsOfExpectation(expectation: Expectation, index: number, lab: Lab): ExerciseQuestion[] {
  const onPort = (port: number | undefined, zh: boolean): string => (port === undefined ? '' : zh ? `（端口 ${port}）` : ` (port ${port})`);
  switch (expectation.kind) {
    case 'states':
      return [
        {
          id: `${expectation.host}-states`,
          prompt: `Which states will the ${expectation.host}'s socket${onPort(expectation.port, false)} pass through, in order? (e.g. SYN_SENT, ESTABLISHED)`,
          promptZh: `${expectation.host} 的套接字${onPort(expectation.port, true)}会依次经过哪些状态？（例如 SYN_SENT, ESTABLISHED）`,
          answer: { kind: 'states' },
          truth: { kind: 'states', host: expectation.host, ...(expectation.port !== undefined && { port: expectation.port }) },
        },
      ];
    case 'outcome':
      return [
        {
          id: `${expectation.conn}-outcome`,
          prompt: `What will connect() of ${expectation.host} (connection ${expectation.conn}) end in?`,
          promptZh: `${expectation.host} 的 connect()（连接 ${expectation.conn}）最终结果是什么？`,
          answer: { kind: 'choice', options: withChoice(CONNECT_OUTCOMES, expectation.is) },
          truth: { kind: 'outcome', host: expectation.host, conn: expectation.conn },
        },
      ];
    case 'error':
      return [
        {
          id: `${expectation.conn}-error`,
          prompt: `Which error will the application on ${expectation.host} see on connection ${expectation.conn} (none if it sees none)?`,
          promptZh: `${expectation.host} 上的应用程序在连接 ${expectation.conn} 上会看到什么错误（没有则选 none）？`,
          answer: { kind: 'choice', options: withChoice(SOCKET_ERRORS, expectation.is) },
          truth: { kind: 'error', host: expectation.host, conn: expectation.conn },
        },
      ];
    case 'packets':
      return [
        {
          id: `${expectation.from}-${flagWord(expectation.flags)}-count`,
          prompt: `How many [${expectation.flags}] segments will ${expectation.from} send to ${expectation.to}?`,
          promptZh: `${expectation.from} 会向 ${expectation.to} 发送多少个 [${expectation.flags}] 报文？`,
          answer: { kind: 'count' },
          truth: { kind: 'segments', from: expectation.from, to: expectation.to, flags: expectation.flags },
        },
      ];
    case 'syn-retransmits':
    case 'data-retransmits': {
      const conn = expectation.conn ?? firstConnectOf(lab, expectation.host);
      if (conn === undefined) return [];
      return [
        {
          id: `${conn}-give-up`,
          prompt: `How long after connect() will ${expectation.host} give up on connection ${conn}, if it does? (e.g. 15s)`,
          promptZh: `connect() 之后多久 ${expectation.host} 会放弃连接 ${conn}？（例如 15s）`,
          answer: { kind: 'duration', toleranceMs: 1_000 },
          truth: { kind: 'give-up', host: expectation.host, conn },
        },
      ];
    }
    case 'never':
      return [
        {
          id: `${expectation.host}-never-${expectation.states.map((s) => s.toLowerCase().replace(/_/g, '-')).join('-')}`,
          prompt: `Will the ${expectation.host}${onPort(expectation.port, false)} stay out of ${expectation.states.join(' and ')} for the whole run? (yes/no)`,
          promptZh: `${expectation.host}${onPort(expectation.port, true)}在整个实验中都不会进入 ${expectation.states.join('、')} 吗？（是/否）`,
          answer: { kind: 'yes-no' },
          truth: { kind: 'check', expect: index + 1 },
        },
      ];
    case 'handshake':
      return [
        {
          id: 'handshake',
          prompt: `Will ${expectation.client} and ${expectation.server} complete a three-way handshake? (yes/no)`,
          promptZh: `${expectation.client} 和 ${expectation.server} 会完成三次握手吗？（是/否）`,
          answer: { kind: 'yes-no' },
          truth: { kind: 'check', expect: index + 1 },
        },
      ];
    case 'connect-returned':
      return [
        {
          id: `${expectation.conn}-connect-returns`,
          prompt: `Will the nonblocking connect() of ${expectation.host} (connection ${expectation.conn}) return ${expectation.is === 'ok' ? '0' : expectation.is}? (yes/no)`,
          promptZh: `${expectation.host} 的非阻塞 connect()（连接 ${expectation.conn}）会返回 ${expectation.is === 'ok' ? '0' : expectation.is} 吗？（是/否）`,
          answer: { kind: 'yes-no' },
          truth: { kind: 'check', expect: index + 1 },
        },
      ];
    case 'synack-retransmits':
    case 'fin-retransmits':
    case 'keepalive-probes':
    case 'persist-probes':
    case 'received':
    case 'sent':
    case 'icmp':
    case 'accepted':
    case 'timer':
    case 'sockets':
      return [];
    default:
      return assertNever(expectation);
  }
}

/** The usual choices, plus the lab's own claim when it is another errno (EADDRNOTAVAIL …), so the truth can be chosen. */
function withChoice(usual: readonly string[], claimed: string): readonly string[] {
  return usual.includes(claimed) ? usual : [...usual, claimed];
}

/** `S` → syn, `S.` → synack, `R*` → rst-any …: a word for an id. */
function flagWord(flags: string): string {
  const words: Record<string, string> = { S: 'syn', 'S.': 'synack', 'F.': 'fin', 'R.': 'rst', R: 'rst', '.': 'ack' };
  return (
    words[flags] ??
    (flags
      .replace(/\*/g, '-any')
      .replace(/\./g, 'a')
      .toLowerCase()
      .replace(/[^a-z-]/g, '') ||
      'segment')
  );
}

function firstConnectOf(lab: Lab, host: string): string | undefined {
  const step = lab.steps.find((s) => s.kind === 'connect' && s.host === host);
  return step?.kind === 'connect' ? step.conn : undefined;
}
