import type { Lang } from '../catalog.js';
import { CAPTURE_FRAME } from '../text.js';

/*
 * The words of the checks against the Linux machine (src/verify/conformance.ts, exact-conformance.ts,
 * listener-checks.ts), and the words of the analysis those checks quote (REPLAY_WORDS: the replay's
 * timers and skipped segments, the rule timeline's drops and decisions, the accept queue's refusals, the
 * ICMP errors of a retransmitted series). One table per language; values that read the same in every
 * language (states, flags, addresses, times, kernel functions, sysctls) come in as arguments already written.
 */

export interface ConformanceWords {
  /** `client 10.0.0.1:4000 ↔ 10.0.0.2:80 follows the TCP state machine`; `nth` is nthConnection() or ''. */
  followsMachine(host: string, local: string, remote: string, nth: string): string;
  nthConnection(index: number, count: number, conn: string | undefined): string;
  note(text: string): string;
  violation(message: string): string;
  /** Between the parts of a list of violations, or of an expected path and what the violations expected. */
  separator: string;
  /** `<observed path>: <what departs from it>`. */
  detailed(head: string, details: string): string;
  replayedFrom(path: string, host: string): string;
  noReplayExpected: string;
  noReplayObserved(path: string): string;
  noReplayEvidence(local: string, remote: string, host: string): string;
  notSampled(state: string, time: string, cause: string): string;
  stillRead(previous: string, readAt: string, state: string, sampledAt: string, cause: string, by: string, from: string, to: string): string;
  stateBetween(state: string, from: string, to: string): string;
  stateAt(state: string, time: string): string;
  window(from: string, to: string): string;
  windowsOr: string;
  betweenWindows(state: string, after: string, by: string, cause: string, windows: string, allowanceMs: number): string;
  sampledChange(state: string, readAt: string, previous: string, by: string, from: string, to: string, allowanceMs: number): string;
  leftFor(state: string, time: string, next: string, nextTime: string, cause: string): string;
  sampledFrom(state: string, time: string, cause: string, causeTime: string): string;
  neverTraced(state: string, time: string, cause: string, until: string): string;
  replayIn(state: string, since: string, cause: string): string;
  leavingEdge(to: string, event: string, rfc: string): string;
  edgeSeparator: string;
  nothing: string;
  cannotFollow(state: string, time: string, previous: string, leaving: string): string;
  reachableFrom(previous: string, replayState: string): string;
  noCauseYet(state: string, time: string, cause: string, from: string, to: string, host: string, replayState: string): string;
  noCause(state: string, time: string, path: string, host: string, replayState: string): string;
  afterHandOver(observed: string): string;
  exactObserved(path: string, handedOver: boolean): string;
  captureFrame(host: string, frame: number): string;
  causeSegment(host: string, frame: number, direction: 'sent' | 'received', flags: string): string;
  causeCall(op: string): string;
  causeOpenBeforeCapture: string;
  causeTimer(name: string): string;
  causeIcmp(host: string, frame: number, icmp: string): string;
  /** Exact conformance (tracepoints). */
  traced(from: string, to: string, time: string, line: number): string;
  afterTimewait(where: string): string;
  noTransitionAfterTimewait: string;
  handOverMismatch(where: string, held: string, cause: string): string;
  handedOver(where: string, substate: string): string;
  noEdge(where: string, from: string, to: string, kernel: string): string;
  transitionFrom(from: string): string;
  replayNeverEnters: string;
  replayEnters(time: string, cause: string): string;
  noExactCause(where: string, host: string, later: string, held: string, since: string, kernel: string): string;
  replayWentElsewhere(state: string, time: string, cause: string, where: string): string;
  exactFrom(where: string, cause: string, childBirth: boolean): string;
  neverHappenedAfterLast(state: string, time: string, cause: string, last: string, end: string): string;
  sampleDisagrees(state: string, time: string, held: readonly string[], since: string): string;
  inTheSample(held: readonly string[]): string;
  /** The kernel function a model rule for `from>to` would follow (key `FROM>TO`). */
  kernelCallers: Readonly<Record<string, string>>;
  unknownCaller(from: string, to: string): string;
  /** Listeners (listener-checks.ts). */
  synFrom(remote: string, host: string, frame: number, time: string, copies: number): string;
  answeredBy(what: string, answer: string): string;
  unansweredBecause(what: string, cause: string): string;
  neverAnswered(what: string): string;
  answersEveryAttempt(host: string, port: number): string;
  answerExpected: string;
  attempts(count: number, answered: number, silent: number, problems: string | undefined): string;
  answer(rst: boolean, host: string, frame: number): string;
  requestMade(host: string, state: string, time: string): string;
  sendChainRule(rule: string, text: string): string;
  synQueueFull(requests: number, limit: number): string;
}

const en: ConformanceWords = {
  followsMachine: (host, local, remote, nth) => `${host} ${local} ↔ ${remote}${nth} follows the TCP state machine`,
  nthConnection: (index, count, conn) => ` (connection ${index} of ${count} on this 4-tuple${conn === undefined ? '' : `: ${conn}`})`,
  note: (text) => `note: ${text}`,
  violation: (message) => `violation: ${message}`,
  separator: '; ',
  detailed: (head, details) => `${head}: ${details}`,
  replayedFrom: (path, host) => `${path} (replayed from the ${host} capture and calls)`,
  noReplayExpected: 'a packet trace of this socket to replay (the host capture on its 4-tuple)',
  noReplayObserved: (path) => `${path}, with no replay`,
  noReplayEvidence: (local, remote, host) => `no capture segments or calls found for ${local} ↔ ${remote} on ${host}`,
  notSampled: (state, time, cause) => `${state} not sampled (shorter than the 5 ms sampling): entered at ${time} on ${cause}`,
  stillRead: (previous, readAt, state, sampledAt, cause, by, from, to) =>
    `${previous} was still read at ${readAt} (the last sample before ${state} at ${sampledAt}), but ${cause} had to end it by ${by} (window ${from}–${to})`,
  stateBetween: (state, from, to) => `${state} between ${from} and ${to}`,
  stateAt: (state, time) => `${state} at ${time}`,
  window: (from, to) => `${from}–${to}`,
  windowsOr: ' or ',
  betweenWindows: (state, after, by, cause, windows, ms) =>
    `${state} came between ${after} and ${by}, which is in none of the windows of ${cause}: ${windows} (±${ms} ms); no limit the evidence allows explains that moment`,
  sampledChange: (state, readAt, previous, by, from, to, ms) =>
    `${state} is a sampled change: it came after the last earlier read at ${readAt} (which still showed ${previous}) ` +
    `and by ${by}; the timer's window ${from}–${to} (±${ms} ms) overlaps that interval`,
  leftFor: (state, time, next, nextTime, cause) => `${state} sampled at ${time}, but the socket had left it for ${next} at ${nextTime} on ${cause}`,
  sampledFrom: (state, time, cause, causeTime) => `${state} sampled at ${time} ← ${cause} at ${causeTime}`,
  neverTraced: (state, time, cause, until) =>
    `the replay's ${state} at ${time} (${cause}) never happened: the kernel traced no transition of this socket up to ${until}`,
  replayIn: (state, since, cause) => `${state} (since ${since}, ${cause})`,
  leavingEdge: (to, event, rfc) => `${to} (${event}, RFC 9293 §${rfc})`,
  edgeSeparator: ', ',
  nothing: 'nothing',
  cannotFollow: (state, time, previous, leaving) =>
    `${state} sampled at ${time} cannot follow ${previous}: the Linux machine has no path ${previous} → ${state}; from ${previous} it can only reach ${leaving}`,
  reachableFrom: (previous, replayState) => `a state reachable from ${previous}; the replay is in ${replayState}`,
  noCauseYet: (state, time, cause, from, to, host, replayState) =>
    `${state} sampled at ${time} has no cause yet: the only one in the evidence, ${cause}, ` +
    `is due between ${from} and ${to} (timing model, ${host}'s kernel settings), and no segment ` +
    `or call before then leads there; the replay is in ${replayState}`,
  noCause: (state, time, path, host, replayState) =>
    `${state} sampled at ${time} has no cause: the machine allows ${path}, but no segment in the ` +
    `${host} capture, call or timer up to then leads there; the replay is in ${replayState}`,
  afterHandOver: (observed) => `after the hand-over to a timewait socket (no tracepoint), from the samples: ${observed}`,
  exactObserved: (path, handedOver) => `${path} (exact, from tracepoints)${handedOver ? ', handed to a timewait socket' : ''}`,
  captureFrame: CAPTURE_FRAME.en,
  causeSegment: (host, frame, direction, flags) => `${host} capture #${frame} (${direction} [${flags}])`,
  causeCall: (op) => `${op}() call`,
  causeOpenBeforeCapture: 'unknown (open before the capture)() call',
  causeTimer: (name) => `timer: ${name}`,
  causeIcmp: (host, frame, icmp) => `${host} capture #${frame} (received ${icmp})`,
  traced: (from, to, time, line) => `${from} → ${to} at ${time} (kernel-trace.txt line ${line})`,
  afterTimewait: (where) => `${where} after the socket was handed to a timewait socket`,
  noTransitionAfterTimewait: 'no full-socket transition after tcp_time_wait()',
  handOverMismatch: (where, held, cause) =>
    `${where}: tcp_time_wait() handed the socket to a timewait socket, but the replay is in ${held} (${cause}), not TIME_WAIT or an orphan's FIN_WAIT_2`,
  handedOver: (where, substate) => `${where}: handed to a timewait socket in ${substate} (tcp_time_wait(); no tracepoint follows it, the samples do)`,
  noEdge: (where, from, to, kernel) => `${where}: the Linux machine has no edge ${from} → ${to}; a rule would have to follow ${kernel}`,
  transitionFrom: (from) => `a transition the machine has from ${from}`,
  replayNeverEnters: 'the replay never enters it',
  replayEnters: (time, cause) => `the replay enters it at ${time} on ${cause}`,
  noExactCause: (where, host, later, held, since, kernel) =>
    `${where} has no cause in the ${host} capture, the socket calls or a timer of the model (${later}; the replay is in ${held} ` +
    `since ${since}); a model rule would have to follow ${kernel}`,
  replayWentElsewhere: (state, time, cause, where) => `the replay's ${state} at ${time} (${cause}) never happened: the kernel went ${where}`,
  exactFrom: (where, cause, childBirth) =>
    `${where} ← ${cause}${childBirth ? ' (the child socket is made at the final ACK; its request had no tracepoint)' : ''}`,
  neverHappenedAfterLast: (state, time, cause, last, end) =>
    `the replay's ${state} at ${time} (${cause}) never happened: the kernel's last transition was ${last}, and it traced none up to the end at ${end}`,
  sampleDisagrees: (state, time, held, since) =>
    `sample ${state} at ${time} disagrees with the kernel's trace, which held ${held.join(' / ')} from ${since} to then`,
  inTheSample: (held) => `${held.join(' or ')} in the sample`,
  kernelCallers: {
    'SYN_SENT>ESTABLISHED': 'tcp_rcv_synsent_state_process() → tcp_finish_connect()',
    'SYN_SENT>SYN_RECEIVED': 'tcp_rcv_synsent_state_process() (simultaneous open)',
    'SYN_SENT>CLOSED': 'tcp_write_err() from tcp_write_timeout(), or tcp_reset() in tcp_rcv_synsent_state_process()',
    'LISTEN>SYN_RECEIVED': 'tcp_check_req() → tcp_v4_syn_recv_sock() → tcp_create_openreq_child() (refused when sk_acceptq_is_full())',
    'SYN_RECEIVED>ESTABLISHED': 'tcp_rcv_state_process() (TCP_SYN_RECV)',
    'SYN_RECEIVED>CLOSED': 'tcp_reset() or inet_csk_destroy_sock() (tcp_check_req() failure)',
    'ESTABLISHED>FIN_WAIT_1': 'tcp_close() / tcp_shutdown() → tcp_close_state()',
    'ESTABLISHED>CLOSE_WAIT': 'tcp_fin()',
    'ESTABLISHED>CLOSED': 'tcp_reset(), tcp_write_err() from tcp_retransmit_timer() (retransmits_timed_out()) or tcp_keepalive_timer(), or tcp_disconnect()',
    'CLOSE_WAIT>LAST_ACK': 'tcp_close() → tcp_close_state()',
    'CLOSE_WAIT>CLOSED': 'tcp_reset(), tcp_write_err() or tcp_disconnect()',
    'FIN_WAIT_1>FIN_WAIT_2': 'tcp_rcv_state_process() (TCP_FIN_WAIT1, the ACK of our FIN)',
    'FIN_WAIT_1>CLOSING': 'tcp_fin()',
    'FIN_WAIT_1>CLOSED': 'tcp_reset(), or tcp_write_err() from tcp_write_timeout() (tcp_orphan_retries)',
    'FIN_WAIT_2>CLOSED': 'tcp_time_wait() (hand-over), tcp_keepalive_timer() (FIN_WAIT2 timeout, tcp_fin_time()), or tcp_reset()',
    'CLOSING>CLOSED': 'tcp_time_wait() (hand-over) or tcp_write_err()',
    'LAST_ACK>CLOSED': 'tcp_rcv_state_process() (TCP_LAST_ACK) → tcp_done(), tcp_reset() or tcp_write_err()',
  },
  unknownCaller: (from, to) => `tcp_set_state(${to}) from ${from} (no known caller)`,
  synFrom: (remote, host, frame, time, copies) => `SYN from ${remote} (${host} capture #${frame}, ${time}${copies > 1 ? `, ${copies} copies` : ''})`,
  answeredBy: (what, answer) => `${what}: answered by ${answer}`,
  unansweredBecause: (what, cause) => `${what}: unanswered — ${cause}`,
  neverAnswered: (what) => `${what} reached TCP and was never answered, and nothing explains the silence (no full accept or SYN queue, no rule on the way)`,
  answersEveryAttempt: (host, port) => `listener ${host} port ${port} answers every connection attempt that reaches it`,
  answerExpected: 'a SYN-ACK (or a RST) for each attempt, unless a full queue or a rule explains its silence',
  attempts: (count, answered, silent, problems) =>
    `${count} attempt${count === 1 ? '' : 's'}: ${answered} answered` +
    (silent > 0 ? `, ${silent} unanswered` : '') +
    (problems !== undefined ? ` — ${problems}` : ''),
  answer: (rst, host, frame) => `${rst ? 'a RST' : 'a SYN-ACK'} (${host} capture #${frame})`,
  requestMade: (host, state, time) => `the request it made (${host} sampled ${state} at ${time})`,
  sendChainRule: (rule, text) => `rule ${rule} (${text}) on a send chain was in place: an answer it dropped never reaches the capture`,
  synQueueFull: (requests, limit) =>
    `the SYN queue was full or near it (${requests} requests sampled, limit ${limit}: the backlog, or ¾ of tcp_max_syn_backlog with ` +
    'tcp_syncookies=0; tcp_conn_request() drops a SYN it cannot queue and sends no cookie)',
};

const zh: ConformanceWords = {
  followsMachine: (host, local, remote, nth) => `${host} ${local} ↔ ${remote}${nth} 遵循 TCP 状态机`,
  nthConnection: (index, count, conn) => `（该四元组先后承载的 ${count} 个连接中的第 ${index} 个${conn === undefined ? '' : `：${conn}`}）`,
  note: (text) => `注：${text}`,
  violation: (message) => `违规：${message}`,
  separator: '；',
  detailed: (head, details) => `${head}：${details}`,
  replayedFrom: (path, host) => `${path}（根据 ${host} 的抓包和调用重放得出）`,
  noReplayExpected: '该套接字可供重放的报文轨迹（主机在其四元组上的抓包）',
  noReplayObserved: (path) => `${path}，无法重放`,
  noReplayEvidence: (local, remote, host) => `${host} 上找不到 ${local} ↔ ${remote} 的抓包报文段或调用`,
  notSampled: (state, time, cause) => `未采样到 ${state}（持续时间短于 5 ms 的采样间隔）：${time} 进入（原因：${cause}）`,
  stillRead: (previous, readAt, state, sampledAt, cause, by, from, to) =>
    `${readAt} 仍读到 ${previous}（这是 ${sampledAt} 采样到 ${state} 之前的最后一次采样），但${cause}应在 ${by} 之前结束该状态（时间窗 ${from}–${to}）`,
  stateBetween: (state, from, to) => `${from} 至 ${to} 之间进入 ${state}`,
  stateAt: (state, time) => `${time} 时处于 ${state}`,
  window: (from, to) => `${from}–${to}`,
  windowsOr: ' 或 ',
  betweenWindows: (state, after, by, cause, windows, ms) =>
    `${state} 出现在 ${after} 至 ${by} 之间，不在${cause}的任何一个时间窗内：${windows}（±${ms} ms）；证据所允许的任何上限都无法解释这一时刻`,
  sampledChange: (state, readAt, previous, by, from, to, ms) =>
    `${state} 是采样得到的变化：它发生在 ${readAt} 的上一次读取（当时仍显示 ${previous}）之后、${by} 之前；` +
    `定时器的时间窗 ${from}–${to}（±${ms} ms）与这一区间重叠`,
  leftFor: (state, time, next, nextTime, cause) => `${time} 采样到 ${state}，但套接字已在 ${nextTime} 离开该状态、进入 ${next}（原因：${cause}）`,
  sampledFrom: (state, time, cause, causeTime) => `${time} 采样到 ${state} ← ${cause}，于 ${causeTime}`,
  neverTraced: (state, time, cause, until) => `重放中 ${time} 的 ${state}（${cause}）并未发生：直到 ${until}，内核都没有跟踪到该套接字的任何状态转换`,
  replayIn: (state, since, cause) => `${state}（自 ${since} 起，${cause}）`,
  leavingEdge: (to, event, rfc) => `${to}（${event}，RFC 9293 §${rfc}）`,
  edgeSeparator: '、',
  nothing: '无',
  cannotFollow: (state, time, previous, leaving) =>
    `${time} 采样到的 ${state} 不可能紧接在 ${previous} 之后：Linux 状态机中没有 ${previous} → ${state} 的路径；从 ${previous} 只能到达 ${leaving}`,
  reachableFrom: (previous, replayState) => `从 ${previous} 可达的某个状态；重放处于 ${replayState}`,
  noCauseYet: (state, time, cause, from, to, host, replayState) =>
    `${time} 采样到的 ${state} 此时还没有原因：证据中唯一的原因是${cause}，它应在 ${from} 至 ${to} 之间发生（依据时间模型和 ${host} 的内核参数），` +
    `而在此之前没有任何报文段或调用会导致该状态；重放处于 ${replayState}`,
  noCause: (state, time, path, host, replayState) =>
    `${time} 采样到的 ${state} 没有原因：状态机允许 ${path}，但直到那时，${host} 抓包中的报文段、调用或定时器都不会导致该状态；重放处于 ${replayState}`,
  afterHandOver: (observed) => `交接给 timewait 套接字之后（没有 tracepoint），根据采样：${observed}`,
  exactObserved: (path, handedOver) => `${path}（精确，来自 tracepoint）${handedOver ? '，已交接给 timewait 套接字' : ''}`,
  captureFrame: CAPTURE_FRAME.zh,
  causeSegment: (host, frame, direction, flags) => `${host} 抓包 #${frame}（${direction === 'sent' ? '发出' : '收到'} [${flags}]）`,
  causeCall: (op) => `${op}() 调用`,
  causeOpenBeforeCapture: '未知调用（套接字在抓包开始前已打开）',
  causeTimer: (name) => `定时器：${name}`,
  causeIcmp: (host, frame, icmp) => `${host} 抓包 #${frame}（收到 ${icmp}）`,
  traced: (from, to, time, line) => `${time} 的 ${from} → ${to}（kernel-trace.txt 第 ${line} 行）`,
  afterTimewait: (where) => `套接字交接给 timewait 套接字之后又出现 ${where}`,
  noTransitionAfterTimewait: 'tcp_time_wait() 之后完整套接字不再有状态转换',
  handOverMismatch: (where, held, cause) =>
    `${where}：tcp_time_wait() 已把套接字交接给 timewait 套接字，但重放处于 ${held}（${cause}），既不是 TIME_WAIT，也不是孤儿套接字的 FIN_WAIT_2`,
  handedOver: (where, substate) => `${where}：以 ${substate} 交接给 timewait 套接字（tcp_time_wait()；此后没有 tracepoint，改由采样跟踪）`,
  noEdge: (where, from, to, kernel) => `${where}：Linux 状态机中没有 ${from} → ${to} 这条边；需要一条遵循 ${kernel} 的规则`,
  transitionFrom: (from) => `状态机中从 ${from} 出发的某个转换`,
  replayNeverEnters: '重放从未进入该状态',
  replayEnters: (time, cause) => `重放在 ${time} 进入该状态（原因：${cause}）`,
  noExactCause: (where, host, later, held, since, kernel) =>
    `${where}在 ${host} 的抓包、套接字调用和模型的定时器中都找不到原因（${later}；重放自 ${since} 起处于 ${held}）；模型需要一条遵循 ${kernel} 的规则`,
  replayWentElsewhere: (state, time, cause, where) => `重放中 ${time} 的 ${state}（${cause}）并未发生：内核实际走的是 ${where}`,
  exactFrom: (where, cause, childBirth) => `${where} ← ${cause}${childBirth ? '（子套接字在最后的 ACK 到达时创建；它的半连接没有 tracepoint）' : ''}`,
  neverHappenedAfterLast: (state, time, cause, last, end) =>
    `重放中 ${time} 的 ${state}（${cause}）并未发生：内核最后一次状态转换是 ${last}，此后直到 ${end} 结束都没有跟踪到任何转换`,
  sampleDisagrees: (state, time, held, since) => `${time} 的采样 ${state} 与内核跟踪不符：从 ${since} 到那时，跟踪显示该套接字处于 ${held.join(' / ')}`,
  inTheSample: (held) => `采样中应为 ${held.join(' 或 ')}`,
  kernelCallers: {
    'SYN_SENT>ESTABLISHED': 'tcp_rcv_synsent_state_process() → tcp_finish_connect()',
    'SYN_SENT>SYN_RECEIVED': 'tcp_rcv_synsent_state_process()（同时打开）',
    'SYN_SENT>CLOSED': 'tcp_write_timeout() 中的 tcp_write_err()，或 tcp_rcv_synsent_state_process() 中的 tcp_reset()',
    'LISTEN>SYN_RECEIVED': 'tcp_check_req() → tcp_v4_syn_recv_sock() → tcp_create_openreq_child()（sk_acceptq_is_full() 时拒绝）',
    'SYN_RECEIVED>ESTABLISHED': 'tcp_rcv_state_process()（TCP_SYN_RECV）',
    'SYN_RECEIVED>CLOSED': 'tcp_reset() 或 inet_csk_destroy_sock()（tcp_check_req() 失败）',
    'ESTABLISHED>FIN_WAIT_1': 'tcp_close() / tcp_shutdown() → tcp_close_state()',
    'ESTABLISHED>CLOSE_WAIT': 'tcp_fin()',
    'ESTABLISHED>CLOSED': 'tcp_reset()、tcp_retransmit_timer()（retransmits_timed_out()）或 tcp_keepalive_timer() 中的 tcp_write_err()，或 tcp_disconnect()',
    'CLOSE_WAIT>LAST_ACK': 'tcp_close() → tcp_close_state()',
    'CLOSE_WAIT>CLOSED': 'tcp_reset()、tcp_write_err() 或 tcp_disconnect()',
    'FIN_WAIT_1>FIN_WAIT_2': 'tcp_rcv_state_process()（TCP_FIN_WAIT1，收到对本端 FIN 的 ACK）',
    'FIN_WAIT_1>CLOSING': 'tcp_fin()',
    'FIN_WAIT_1>CLOSED': 'tcp_reset()，或 tcp_write_timeout() 中的 tcp_write_err()（tcp_orphan_retries）',
    'FIN_WAIT_2>CLOSED': 'tcp_time_wait()（交接）、tcp_keepalive_timer()（FIN_WAIT2 超时，tcp_fin_time()）或 tcp_reset()',
    'CLOSING>CLOSED': 'tcp_time_wait()（交接）或 tcp_write_err()',
    'LAST_ACK>CLOSED': 'tcp_rcv_state_process()（TCP_LAST_ACK）→ tcp_done()、tcp_reset() 或 tcp_write_err()',
  },
  unknownCaller: (from, to) => `tcp_set_state(${to})（从 ${from} 调用，调用者未知）`,
  synFrom: (remote, host, frame, time, copies) => `来自 ${remote} 的 SYN（${host} 抓包 #${frame}，${time}${copies > 1 ? `，共 ${copies} 份` : ''}）`,
  answeredBy: (what, answer) => `${what}：已应答 — ${answer}`,
  unansweredBecause: (what, cause) => `${what}：未应答 — ${cause}`,
  neverAnswered: (what) => `${what}已到达 TCP 却从未得到应答，且没有任何原因能解释这一沉默（全连接队列和 SYN 队列都未满，途中也没有规则）`,
  answersEveryAttempt: (host, port) => `监听套接字 ${host} 端口 ${port} 应答每个到达它的连接尝试`,
  answerExpected: '每个连接尝试都得到 SYN-ACK（或 RST），除非队列已满或某条规则能解释其沉默',
  attempts: (count, answered, silent, problems) =>
    `${count} 次连接尝试：${answered} 次得到应答` + (silent > 0 ? `，${silent} 次未应答` : '') + (problems !== undefined ? ` — ${problems}` : ''),
  answer: (rst, host, frame) => `${rst ? 'RST' : 'SYN-ACK'}（${host} 抓包 #${frame}）`,
  requestMade: (host, state, time) => `它建立的半连接（${host} 在 ${time} 采样到 ${state}）`,
  sendChainRule: (rule, text) => `发送链上的规则 ${rule}（\`${text}\`）当时生效：被它丢弃的应答不会出现在抓包中`,
  synQueueFull: (requests, limit) =>
    `SYN 队列已满或接近满（采样到 ${requests} 个半连接，上限 ${limit}：即 backlog，或 tcp_syncookies=0 时 tcp_max_syn_backlog 的 ¾；` +
    'tcp_conn_request() 会丢弃无法入队的 SYN，也不发送 cookie）',
};

export const CONFORMANCE_WORDS: Readonly<Record<Lang, ConformanceWords>> = { en, zh };

/** What the analysis says about a run, in the words the checks quote (src/analysis/). */
export interface ReplayWords {
  synGiveUp: string;
  listenerClosed: string;
  synAckGiveUp: string;
  orphanFinGiveUp(state: string, retries: number, rto: string): string;
  finWait2Timeout: string;
  timeWaitExpiry: string;
  dataGiveUp(state: string, retries2: number, rto: string, error: string): string;
  persistGiveUp(state: string, retries2: number, userTimeoutMs: number | undefined, baseMs: number): string;
  /** A request's drop: `which` says which limits the sampled queue allows (with `cut` when one is below tcp_synack_retries). */
  requestDrop(retries: number, cut: boolean, which: string | undefined): string;
  /** The limit a request is dropped at, when the sampled queue gave no words for it: its num_timeout. */
  dropLimit(k: number): string;
  eachLimitAccepted(limits: string): string;
  limitWindow(limit: string, from: string, to: string): string;
  limitsOr: string;
  rejectReply(frame: number): string;
  noTransition(state: string, flags: string): string;
  ruleDrop(host: string, rule: string, description: string): string;
  acceptQueueFull(backlog: number): string;
  synDroppedQueueFull(queue: string): string;
  finalAckRefused(queue: string): string;
  finalAckIgnored(queue: string): string;
  bareAckDeferred(seconds: number, retrans: number): string;
  ruleWhere(rule: string, host: string, chain: string): string;
  undecidedDrops(where: string, what: string, counted: number | undefined, matched: number): string;
  decidedDrops(where: string, what: string, how: string, host: string, frames: readonly number[]): string;
  counterZero: string;
  counterAll(counted: number, matching: number): string;
  counterFirst(counted: number, matching: number): string;
  counterNth(counted: number, matching: number, every: number, packet: number): string;
  softErrorLine(errors: number, frame: number, type: number, code: number, softError: string): string;
  revertLine(retransmissions: readonly number[]): string;
}

const replayEn: ReplayWords = {
  synGiveUp: 'SYN retransmissions exhausted',
  listenerClosed: 'its listener closed (the request dropped)',
  synAckGiveUp: 'SYN-ACK retransmissions exhausted (request dropped)',
  orphanFinGiveUp: (state, retries, rto) =>
    `orphan FIN retransmissions exhausted in ${state} (tcp_orphan_retries=${retries}, RTO ${rto}; destroyed without a RST)`,
  finWait2Timeout: 'FIN_WAIT_2 timeout (tcp_fin_timeout)',
  timeWaitExpiry: 'TIME_WAIT expiry (TCP_TIMEWAIT_LEN)',
  dataGiveUp: (state, retries2, rto, error) =>
    `data retransmissions exhausted in ${state} (tcp_retries2=${retries2}, RTO ${rto}; retransmits_timed_out(), tcp_write_err(): ${error}, no RST)`,
  persistGiveUp: (state, retries2, userTimeoutMs, baseMs) =>
    `zero-window probes exhausted in ${state} (tcp_retries2=${retries2}${userTimeoutMs === undefined ? '' : `, TCP_USER_TIMEOUT ${userTimeoutMs} ms`}, ` +
    `probe0 base ${baseMs} ms; tcp_probe_timer(), tcp_write_err(): ETIMEDOUT, no RST)`,
  requestDrop: (retries, cut, which) =>
    `SYN-ACK retransmissions exhausted (request dropped; tcp_synack_retries=${retries}` +
    `${cut ? '; reqsk_timer_handler() cuts the limit while the SYN queue is more than half full of old requests' : ''}${which === undefined ? '' : `: ${which}`})`,
  dropLimit: (k) => `drop at num_timeout ${k}`,
  eachLimitAccepted: (limits) => `the sampled queue cannot tell which limit applies, so each is accepted: ${limits}`,
  limitWindow: (limit, from, to) => `${limit} → +${from}–${to} s after the first SYN-ACK`,
  limitsOr: '; or ',
  rejectReply: (frame) => `RST sent by the firewall (REJECT) in reply to #${frame}, not by TCP`,
  noTransition: (state, flags) => `no transition in ${state} for a [${flags}] segment`,
  ruleDrop: (host, rule, description) => `dropped by ${host}'s rule ${rule} (${description}) before TCP saw it`,
  acceptQueueFull: (backlog) => `(accept queue ${backlog + 1} of backlog ${backlog} full, none accepted since — sk_acceptq_is_full())`,
  synDroppedQueueFull: (queue) => `SYN dropped: ${queue}, tcp_conn_request()`,
  finalAckRefused: (queue) => `final ACK refused: ${queue}; tcp_abort_on_overflow=1 resets the request (tcp_check_req() → embryonic reset)`,
  finalAckIgnored: (queue) =>
    `final ACK ignored: ${queue}; tcp_abort_on_overflow=0 keeps the request, which retransmits its SYN-ACK (tcp_check_req(): acked = 1)`,
  bareAckDeferred: (seconds, retrans) =>
    `bare ACK dropped: TCP_DEFER_ACCEPT ${seconds} s = ${retrans} SYN-ACK timeouts not yet run out, the request waits for data (tcp_check_req(): acked = 1, TCPDEFERACCEPTDROP)`,
  ruleWhere: (rule, host, chain) => `rule ${rule} on ${host} (${chain})`,
  undecidedDrops: (where, what, counted, matched) =>
    `${where} uses ${what}, whose effect the model cannot predict; ${counted ?? 'no'} counted drop(s) among ${matched} matching packet(s) cannot be placed: they are treated as delivered`,
  decidedDrops: (where, what, how, host, frames) =>
    `${where} uses ${what}, whose effect the model cannot predict: decided from the rule counter — ${how}` +
    (frames.length > 0 ? ` (${host} capture #${frames.join(', #')})` : ''),
  counterZero: 'its counter reads 0: none dropped',
  counterAll: (counted, matching) => `its counter reads ${counted}: all ${matching} matching segment(s) dropped`,
  counterFirst: (counted, matching) => `its counter reads ${counted} of ${matching} matching: the first ${counted} (limit_mt(): the bucket starts full)`,
  counterNth: (counted, matching, every, packet) =>
    `its counter reads ${counted} of ${matching} matching: packet ${packet + 1} and every ${every}th after it (statistic_mt() nth mode)`,
  softErrorLine: (errors, frame, type, code, softError) =>
    `${errors} ICMP error(s) from the peer during the series (last: frame #${frame}, type ${type} code ${code}): a soft error on a synchronized socket, reported at the give-up as ${softError} (tcp_v4_err(), tcp_write_err())`,
  revertLine: (retransmissions) =>
    `RFC 6069: net/host unreachable after RTO retransmission(s) ${retransmissions.join(', ')} undid a doubling each (tcp_ld_RTO_revert())`,
};

const replayZh: ReplayWords = {
  synGiveUp: 'SYN 重传次数用尽',
  listenerClosed: '其监听套接字已关闭（半连接被丢弃）',
  synAckGiveUp: 'SYN-ACK 重传次数用尽（半连接被丢弃）',
  orphanFinGiveUp: (state, retries, rto) => `${state} 中孤儿套接字的 FIN 重传次数用尽（tcp_orphan_retries=${retries}，RTO ${rto}；销毁时不发送 RST）`,
  finWait2Timeout: 'FIN_WAIT_2 超时（tcp_fin_timeout）',
  timeWaitExpiry: 'TIME_WAIT 到期（TCP_TIMEWAIT_LEN）',
  dataGiveUp: (state, retries2, rto, error) =>
    `${state} 中数据重传次数用尽（tcp_retries2=${retries2}，RTO ${rto}；retransmits_timed_out()，tcp_write_err()：${error}，不发送 RST）`,
  persistGiveUp: (state, retries2, userTimeoutMs, baseMs) =>
    `${state} 中零窗口探测次数用尽（tcp_retries2=${retries2}${userTimeoutMs === undefined ? '' : `，TCP_USER_TIMEOUT ${userTimeoutMs} ms`}，` +
    `probe0 基准 ${baseMs} ms；tcp_probe_timer()，tcp_write_err()：ETIMEDOUT，不发送 RST）`,
  requestDrop: (retries, cut, which) =>
    `SYN-ACK 重传次数用尽（半连接被丢弃；tcp_synack_retries=${retries}` +
    `${cut ? '；SYN 队列中旧请求超过一半时，reqsk_timer_handler() 会降低上限' : ''}${which === undefined ? '' : `：${which}`}）`,
  dropLimit: (k) => `num_timeout 达到 ${k} 时丢弃`,
  eachLimitAccepted: (limits) => `采样到的队列无法确定适用哪个上限，因此每个都予以接受：${limits}`,
  limitWindow: (limit, from, to) => `${limit} → 首个 SYN-ACK 之后 +${from}–${to} s`,
  limitsOr: '；或 ',
  rejectReply: (frame) => `该 RST 是防火墙（REJECT）为回应 #${frame} 而发出的，不是 TCP 发出的`,
  noTransition: (state, flags) => `${state} 中没有针对 [${flags}] 报文段的状态转换`,
  ruleDrop: (host, rule, description) => `在 TCP 处理之前被 ${host} 的规则 ${rule}（\`${description}\`）丢弃`,
  acceptQueueFull: (backlog) => `backlog 为 ${backlog} 的全连接队列已满（${backlog + 1} 个），此后应用没有 accept() 取走连接（sk_acceptq_is_full()）`,
  synDroppedQueueFull: (queue) => `SYN 被丢弃：${queue}，tcp_conn_request()`,
  finalAckRefused: (queue) => `最后的 ACK 被拒绝：${queue}；tcp_abort_on_overflow=1 时重置该半连接（tcp_check_req() → \`embryonic_reset\`）`,
  finalAckIgnored: (queue) => `最后的 ACK 被忽略：${queue}；tcp_abort_on_overflow=0 时保留该半连接，它会继续重传 SYN-ACK（tcp_check_req()：acked = 1）`,
  bareAckDeferred: (seconds, retrans) =>
    `纯 ACK 被丢弃：TCP_DEFER_ACCEPT ${seconds} s = ${retrans} 次 SYN-ACK 超时，尚未用完，半连接等待数据到来（tcp_check_req()：acked = 1，TCPDEFERACCEPTDROP）`,
  ruleWhere: (rule, host, chain) => `${host} 上的规则 ${rule}（${chain}）`,
  undecidedDrops: (where, what, counted, matched) =>
    `${where}使用了 \`${what}\`，模型无法预测其效果；${matched} 个匹配的数据包中，` +
    `${counted === undefined ? '没有计数器记下的丢弃' : `计数器记下的 ${counted} 次丢弃`}无法定位：按已送达处理`,
  decidedDrops: (where, what, how, host, frames) =>
    `${where}使用了 \`${what}\`，模型无法预测其效果：根据规则计数器判定 — ${how}` + (frames.length > 0 ? `（${host} 抓包 #${frames.join(', #')}）` : ''),
  counterZero: '计数器为 0：没有丢弃任何数据包',
  counterAll: (counted, matching) => `计数器为 ${counted}：${matching} 个匹配的报文段全部被丢弃`,
  counterFirst: (counted, matching) => `计数器为 ${counted}（共 ${matching} 个匹配）：前 ${counted} 个被丢弃（limit_mt()：令牌桶初始为满）`,
  counterNth: (counted, matching, every, packet) =>
    `计数器为 ${counted}（共 ${matching} 个匹配）：第 ${packet + 1} 个起每 ${every} 个丢弃一个（statistic_mt() 的 nth 模式）`,
  softErrorLine: (errors, frame, type, code, softError) =>
    `重传期间收到对端 ${errors} 个 ICMP 差错（最后一个：第 ${frame} 帧，类型 ${type} 代码 ${code}）：对已同步的套接字这是软错误，放弃时报告为 ${softError}（tcp_v4_err()，tcp_write_err()）`,
  revertLine: (retransmissions) => `RFC 6069：第 ${retransmissions.join('、')} 次 RTO 重传之后收到的网络/主机不可达各撤销了一次退避翻倍（tcp_ld_RTO_revert()）`,
};

export const REPLAY_WORDS: Readonly<Record<Lang, ReplayWords>> = { en: replayEn, zh: replayZh };
