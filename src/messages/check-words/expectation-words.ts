import type { Lang } from '../catalog.js';
import { CAPTURE_FRAME } from '../text.js';

/*
 * The words of the checks of a lab's expectations (src/verify/check-expectations.ts), one table per
 * language. Values that read the same in every language (states, flags, addresses, times, errno names)
 * come in as arguments already written.
 */

export interface ExpectationWords {
  /** `client/c (port 8888)`: the subject of a claim about a host, one of its connections, or a port. */
  subject(host: string, conn: string | undefined, port: number | undefined): string;
  passesThrough(subject: string, path: string): string;
  neverIn(subject: string, states: string): string;
  noneOf(states: string): string;
  stateAt(state: string, time: string): string;
  sampledAt(state: string, time: string, local: string, remote: string): string;
  neverSampledAfter(state: string, previous: string | undefined): string;
  noSocketSampled: string;
  connectEndsIn(host: string, conn: string, outcome: string): string;
  /** An outcome or error an application saw: `connected`, `none` (no error), or an errno name. */
  outcome(value: string): string;
  noOutcome: string;
  connectSucceeded(time: string, local: string, remote: string): string;
  callFailed(syscall: string | undefined, code: string, time: string, message: string): string;
  nonblockingReturns(host: string, conn: string, value: string): string;
  noConnectReturned: string;
  connectReturnedAt(errno: string, time: string, local: string): string;
  noConnectReturnedEvent(host: string, conn: string): string;
  seesError(host: string, conn: string, error: string): string;
  noErrorEvent(host: string, conn: string): string;
  atLeast(n: number): string;
  atMost(n: number): string;
  exactly(n: number): string;
  and: string;
  listSeparator: string;
  socketsAtOnce(bounds: string, subject: string, state: string): string;
  peakAt(count: number, state: string, time: string): string;
  segmentsWithFlags(letters: string, from: string, to: string, port: number | undefined): string;
  segmentsExactly(flags: string, from: string, to: string, port: number | undefined): string;
  sameSeq: string;
  allSeq(seq: number): string;
  differentSeqs(count: number, seqs: string): string;
  nearMiss(count: number, flags: string, frame: number | undefined): string;
  captureFrame(host: string, frame: number | undefined): string;
  captureFrameAt(host: string, frame: number, time: string): string;
  notCounted(flags: string, where: string, actual: string, seq: number, letters: string): string;
  handshakeName(client: string, server: string): string;
  noSyn: string;
  noSynAck: string;
  noAckOfSynAck: string;
  handshakeSegment(what: string, host: string, frame: number, ackShouldBe: number | undefined): string;
  noConnectionAccepted(conn: string, accepted: number): string;
  acceptsHeld(host: string, accepted: number, names: string, conn: string): string;
  noConnectionOn(conn: string, host: string): string;
  noConnectStepNamed(host: string, conn: string): string;
  connectStepNeverRan(conn: string, step: number): string;
  stepsRecorded(ran: number, total: number): string;
}

const en: ExpectationWords = {
  subject: (host, conn, port) => `${conn === undefined ? host : `${host}/${conn}`}${port === undefined ? '' : ` (port ${port})`}`,
  passesThrough: (subject, path) => `${subject} passes through ${path}`,
  neverIn: (subject, states) => `${subject} never in ${states}`,
  noneOf: (states) => `none of ${states}`,
  stateAt: (state, time) => `${state} at ${time}`,
  sampledAt: (state, time, local, remote) => `${state} sampled at ${time} (${local} ↔ ${remote})`,
  neverSampledAfter: (state, previous) => `never sampled in ${state} after ${previous ?? 'the start'}`,
  noSocketSampled: 'no socket sampled',
  connectEndsIn: (host, conn, outcome) => `connect() of ${host}/${conn} ends in ${outcome}`,
  outcome: (value) => value,
  noOutcome: 'no outcome (the connection attempt was still pending when the run ended)',
  connectSucceeded: (time, local, remote) => `connect() succeeded at ${time} (${local} → ${remote})`,
  callFailed: (syscall, code, time, message) => `${syscall ?? 'socket'} failed with ${code} at ${time}: ${message}`,
  nonblockingReturns: (host, conn, value) => `the nonblocking connect() of ${host}/${conn} returns ${value}`,
  noConnectReturned: 'no connect-returned event (connect(2) was never called)',
  connectReturnedAt: (errno, time, local) =>
    `connect(2) returned ${errno === 'ok' ? '0' : `-1 with errno ${errno}`} at ${time} (bound to ${local || 'nothing'})`,
  noConnectReturnedEvent: (host, conn) => `no connect-returned event for ${conn} in ${host}'s agent events`,
  seesError: (host, conn, error) => `${host}/${conn} sees ${error === 'none' ? 'no socket error' : error}`,
  noErrorEvent: (host, conn) => `no error event for ${conn} in ${host}'s agent events`,
  atLeast: (n) => `at least ${n}`,
  atMost: (n) => `at most ${n}`,
  exactly: (n) => `exactly ${n}`,
  and: ' and ',
  listSeparator: ', ',
  socketsAtOnce: (bounds, subject, state) => `${bounds} sockets of ${subject} in ${state} at once`,
  peakAt: (count, state, time) => `${count} in ${state} at ${time} (/proc/net/tcp samples)`,
  segmentsWithFlags: (letters, from, to, port) =>
    `segments with ${letters} set (any other flags) ${from} → ${to}${port === undefined ? '' : ` (port ${port})`}`,
  segmentsExactly: (flags, from, to, port) => `[${flags}] segments ${from} → ${to}${port === undefined ? '' : ` (port ${port})`}`,
  sameSeq: 'all with the same sequence number',
  allSeq: (seq) => `, all seq ${seq}`,
  differentSeqs: (count, seqs) => `, ${count} different sequence numbers (${seqs})`,
  nearMiss: (count, flags, frame) => `${count} [${flags}] ${count === 1 ? 'at' : 'first at'} #${frame}`,
  captureFrame: CAPTURE_FRAME.en,
  captureFrameAt: (host, frame, time) => `${host} capture #${frame} at ${time}`,
  notCounted: (flags, where, actual, seq, letters) =>
    `not counted (flags differ from exactly [${flags}]): ${where} [${actual}] seq ${seq}; write "${letters}*" to count every segment with ${letters} set`,
  handshakeName: (client, server) => `three-way handshake ${client} → ${server} (absolute sequence numbers)`,
  noSyn: 'no SYN',
  noSynAck: 'no SYN-ACK answering the SYN',
  noAckOfSynAck: 'no ACK of the SYN-ACK',
  handshakeSegment: (what, host, frame, ackShouldBe) =>
    `${what} ${host} capture #${frame}${ackShouldBe === undefined ? '' : ` (ack should be ${ackShouldBe})`}`,
  noConnectionAccepted: (conn, accepted) => `no connection ${conn}: the listener accepted ${accepted}`,
  acceptsHeld: (host, accepted, names, conn) => `${host}'s agent events hold ${accepted} accept()${accepted === 0 ? '' : ` (${names})`}, none named ${conn}`,
  noConnectionOn: (conn, host) => `no connection ${conn} on ${host}`,
  noConnectStepNamed: (host, conn) => `no connect step of ${host} is named ${conn}, and its agent reported none of that name`,
  connectStepNeverRan: (conn, step) => `no connection ${conn}: its connect step (step ${step}) never ran`,
  stepsRecorded: (ran, total) => `the run recorded ${ran} of ${total} steps`,
};

const zh: ExpectationWords = {
  subject: (host, conn, port) => `${conn === undefined ? host : `${host}/${conn}`}${port === undefined ? '' : `（端口 ${port}）`}`,
  passesThrough: (subject, path) => `${subject} 依次经过 ${path}`,
  neverIn: (subject, states) => `${subject} 从不处于 ${states}`,
  noneOf: (states) => `不出现 ${states}`,
  stateAt: (state, time) => `${time} 时处于 ${state}`,
  sampledAt: (state, time, local, remote) => `${time} 采样到 ${state}（${local} ↔ ${remote}）`,
  neverSampledAfter: (state, previous) => `${previous === undefined ? '开始之后' : `${previous} 之后`}从未采样到 ${state}`,
  noSocketSampled: '没有采样到套接字',
  connectEndsIn: (host, conn, outcome) => `${host}/${conn} 的 connect() ${outcome === 'connected' ? '成功建立连接' : `以 ${outcome} 结束`}`,
  outcome: (value) => (value === 'connected' ? '已连接（connected）' : value === 'none' ? '无错误（none）' : value),
  noOutcome: '没有结果（运行结束时连接尝试仍未完成）',
  connectSucceeded: (time, local, remote) => `connect() 于 ${time} 成功（${local} → ${remote}）`,
  callFailed: (syscall, code, time, message) => `${syscall ?? 'socket'} 于 ${time} 以 ${code} 失败（“${message}”）`,
  nonblockingReturns: (host, conn, value) => `${host}/${conn} 的非阻塞 connect() 返回 ${value}`,
  noConnectReturned: '没有 connect-returned 事件（从未调用 connect(2)）',
  connectReturnedAt: (errno, time, local) => `connect(2) 于 ${time} 返回 ${errno === 'ok' ? '0' : `-1，errno 为 ${errno}`}（绑定到 ${local || '无'}）`,
  noConnectReturnedEvent: (host, conn) => `${host} 的代理事件中没有 ${conn} 的 connect-returned 事件`,
  seesError: (host, conn, error) => `${host}/${conn} ${error === 'none' ? '没有遇到套接字错误' : `遇到 ${error}`}`,
  noErrorEvent: (host, conn) => `${host} 的代理事件中没有 ${conn} 的 error 事件`,
  atLeast: (n) => `至少 ${n}`,
  atMost: (n) => `至多 ${n}`,
  exactly: (n) => `恰好 ${n}`,
  and: '且',
  listSeparator: '，',
  socketsAtOnce: (bounds, subject, state) => `${subject} 同时处于 ${state} 的套接字数：${bounds}`,
  peakAt: (count, state, time) => `${time} 时有 ${count} 个处于 ${state}（/proc/net/tcp 采样）`,
  segmentsWithFlags: (letters, from, to, port) => `${from} → ${to}${port === undefined ? '' : `（端口 ${port}）`} 置有 ${letters} 标志（其他标志不限）的报文段`,
  segmentsExactly: (flags, from, to, port) => `${from} → ${to}${port === undefined ? '' : `（端口 ${port}）`} 的 [${flags}] 报文段`,
  sameSeq: '序号相同',
  allSeq: (seq) => `，序号均为 ${seq}`,
  differentSeqs: (count, seqs) => `，有 ${count} 个不同的序号（${seqs}）`,
  nearMiss: (count, flags, frame) => `${count} 个 [${flags}]，${count === 1 ? '在' : '首个在'} #${frame}`,
  captureFrame: CAPTURE_FRAME.zh,
  captureFrameAt: (host, frame, time) => `${host} 抓包 #${frame}（${time}）`,
  notCounted: (flags, where, actual, seq, letters) =>
    `未计入（标志与 [${flags}] 不完全相同）：${where} [${actual}] 序号 ${seq}；写成 "${letters}*" 可统计所有置有 ${letters} 的报文段`,
  handshakeName: (client, server) => `三次握手 ${client} → ${server}（绝对序号）`,
  noSyn: '没有 SYN',
  noSynAck: '没有应答该 SYN 的 SYN-ACK',
  noAckOfSynAck: '没有确认 SYN-ACK 的 ACK',
  handshakeSegment: (what, host, frame, ackShouldBe) => `${what} ${host} 抓包 #${frame}${ackShouldBe === undefined ? '' : `（ack 应为 ${ackShouldBe}）`}`,
  noConnectionAccepted: (conn, accepted) => `没有连接 ${conn}：监听套接字只 accept 了 ${accepted} 个`,
  acceptsHeld: (host, accepted, names, conn) => `${host} 的代理事件中有 ${accepted} 次 accept()${accepted === 0 ? '' : `（${names}）`}，没有一个名为 ${conn}`,
  noConnectionOn: (conn, host) => `${host} 上没有连接 ${conn}`,
  noConnectStepNamed: (host, conn) => `${host} 没有名为 ${conn} 的 connect 步骤，它的代理也没有报告这个名字`,
  connectStepNeverRan: (conn, step) => `没有连接 ${conn}：它的 connect 步骤（第 ${step} 步）从未执行`,
  stepsRecorded: (ran, total) => `本次运行只记录了 ${total} 步中的 ${ran} 步`,
};

export const EXPECTATION_WORDS: Readonly<Record<Lang, ExpectationWords>> = { en, zh };
