import type { Lang } from './catalog.js';

/*
 * The words of graded exercises (src/exercise/): what the run showed for a question, its evidence, and
 * why an answer could not be read, one table per language. States, flags, errno names and times come in
 * as arguments already written. Both tables implement ExerciseWords: a sentence missing in one is a build error.
 */

export interface ExerciseWords {
  noSocketObserved: string;
  stateAt(host: string, state: string, time: string, local: string, remote: string): string;
  segmentAt(host: string, frame: number, time: string, flags: string, seq: number): string;
  noSegment(flags: string, from: string, to: string): string;
  yesNo(yes: boolean): string;
  noCheckOf(expect: number): string;
  checkLine(name: string, pass: boolean, observed: string): string;
  connectStepNeverRan(conn: string): string;
  neverGaveUp(conn: string): string;
  connectCalledAt(time: string, step: number): string;
  noTruth(why: string): string;
  noAnswer: string;
  notAState(word: string): string;
  notACount(answer: string): string;
  notADuration(answer: string): string;
  notAnOption(answer: string, options: readonly string[]): string;
  notYesNo(answer: string): string;
}

const en: ExerciseWords = {
  noSocketObserved: 'no socket observed',
  stateAt: (host, state, time, local, remote) => `${host} ${state} at ${time} (${local} ↔ ${remote})`,
  segmentAt: (host, frame, time, flags, seq) => `${host} capture #${frame} at ${time} [${flags}] seq ${seq}`,
  noSegment: (flags, from, to) => `no [${flags}] segment ${from} → ${to} in ${from}'s capture`,
  yesNo: (yes) => (yes ? 'yes' : 'no'),
  noCheckOf: (expect) => `the verdict has no check of expectation ${expect}`,
  checkLine: (name, pass, observed) => `check “${name}”: ${pass ? 'PASS' : 'FAIL'}, observed ${observed}`,
  connectStepNeverRan: (conn) => `connect step of ${conn} never ran`,
  neverGaveUp: (conn) => `connection ${conn} reported no error: it never gave up`,
  connectCalledAt: (time, step) => `connect() called at ${time} (step ${step})`,
  noTruth: (why) => `the run gives no truth to compare with: ${why}`,
  noAnswer: 'no answer',
  notAState: (word) => `"${word}" is not a TCP state; write states such as SYN_SENT, ESTABLISHED, CLOSED`,
  notACount: (answer) => `"${answer}" is not a whole number; write e.g. 4`,
  notADuration: (answer) => `"${answer}" is not a duration; write e.g. 15s, 1.5s or 900ms`,
  notAnOption: (answer, options) => `"${answer}" is not one of the options: ${options.join(', ')}`,
  notYesNo: (answer) => `"${answer}" is neither yes nor no`,
};

const zh: ExerciseWords = {
  noSocketObserved: '没有观察到套接字',
  stateAt: (host, state, time, local, remote) => `${host} 在 ${time} 处于 ${state}（${local} ↔ ${remote}）`,
  segmentAt: (host, frame, time, flags, seq) => `${host} 抓包 #${frame}（${time}）[${flags}] 序号 ${seq}`,
  noSegment: (flags, from, to) => `${from} 的抓包中没有 ${from} → ${to} 的 [${flags}] 报文段`,
  yesNo: (yes) => (yes ? 'yes（是）' : 'no（否）'),
  noCheckOf: (expect) => `判定中没有第 ${expect} 条预期的检查`,
  checkLine: (name, pass, observed) => `检查“${name}”：${pass ? '通过' : '失败'}，观察到 ${observed}`,
  connectStepNeverRan: (conn) => `${conn} 的 connect 步骤从未执行`,
  neverGaveUp: (conn) => `连接 ${conn} 没有报告错误：它从未放弃`,
  connectCalledAt: (time, step) => `connect() 于 ${time} 调用（第 ${step} 步）`,
  noTruth: (why) => `本次运行没有可供比较的事实：${why}`,
  noAnswer: '没有作答',
  notAState: (word) => `“${word}”不是 TCP 状态；请写 SYN_SENT、ESTABLISHED、CLOSED 这样的状态`,
  notACount: (answer) => `“${answer}”不是整数；例如写 4`,
  notADuration: (answer) => `“${answer}”不是时长；例如写 15s、1.5s 或 900ms`,
  notAnOption: (answer, options) => `“${answer}”不是可选项之一：${options.join('、')}`,
  notYesNo: (answer) => `“${answer}”既不是 yes 也不是 no`,
};

export const EXERCISE_WORDS: Readonly<Record<Lang, ExerciseWords>> = { en, zh };
