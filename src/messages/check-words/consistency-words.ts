import type { Lang } from '../catalog.js';

/*
 * The words of the checks that compare a run's sources with each other (src/verify/consistency-checks.ts,
 * trace-consistency.ts, rule-counter-checks.ts), and RUN_WORDS: the run's own checks and notes
 * (src/verify/verify-run.ts) and the claims read from the agent's events and the ICMP capture
 * (connection-checks.ts, icmp-checks.ts). One table per language; values that read the same in every
 * language (states, flags, addresses, times, file names, kernel functions) come in as arguments already written.
 */

export interface ConsistencyWords {
  separator: string;
  listSeparator: string;
  more: string;
  disagreements(count: number, first: string): string;
  capturesCompleteName: string;
  capturesCompleteExpected: string;
  captureCounts(host: string, captured: number, byKernel: number, byInterface: number): string;
  captureLost(host: string, packets: number): string;
  deliveryName: string;
  deliveryExpected: string;
  neverArrived(from: string, frame: number, time: string, flags: string, seq: number, to: string): string;
  neverSent(to: string, frame: number, time: string, flags: string, seq: number, from: string): string;
  emptyCapture(host: string, sender: string, count: number, time: string, frames: readonly (number | undefined)[]): string;
  inBothCaptures(judged: number, lost: number, which: string): string;
  lostSegment(from: string, frame: number | undefined, flags: string, time: string): string;
  rowCountsMore(
    row: { host: string; local: string; remote: string; time: string; state: string },
    claimed: number,
    captured: number,
    copies: { seq: number; frames: readonly number[] } | undefined,
    dropsBeforeCapture: number,
    refused: number,
  ): string;
  retransmitsName: string;
  retransmitsExpected: string;
  retransmitsJudged(rows: number): string;
  sentCompletingAck(host: string, frame: number, local: string, seq: number, time: string): string;
  acceptableReset(host: string, frame: number, flags: string, ack: number, local: string, time: string): string;
  sampledInSynSentAfter(host: string, local: string, remote: string, time: string, what: string): string;
  synAgain(host: string, frame: number, local: string, time: string, what: string): string;
  wrongOutcome(host: string, conn: string, code: string, time: string, what: string): string;
  storyName: string;
  storyExpected: string;
  storyJudged(sockets: number): string;
  /** Tracepoints (trace-consistency.ts). */
  traceName: string;
  traceExpected: string;
  traceJudged(rows: number): string;
  rowStateNotTraced(host: string, local: string, remote: string, state: string, time: string, possible: readonly string[], line: number): string;
  rowCountsMoreThanTrace(host: string, local: string, remote: string, time: string, claimed: number, attempts: number): string;
  synsNotRetransmitted(host: string, local: string, count: number, frames: readonly number[], sent: number, extra: number): string;
  /** Rule counters (rule-counter-checks.ts). */
  atLeastMatched(lower: number): string;
  exactlyMatched(count: number): string;
  betweenMatched(lower: number, upper: number): string;
  counterBeforeUnrule(host: string, counted: number): string;
  counterIn(host: string, tool: string, counted: number): string;
  matchesIt(host: string, frame: number, time: string, atBoundary: boolean): string;
  counterTooLow(counted: number, lower: number): string;
  counterTooHigh(counted: number, upper: number): string;
  counterAgreesName(rule: string, host: string): string;
  counterObserved(counted: number): string;
  noneLeftName(rule: string, host: string): string;
  noneLeftExpected(host: string, chain: string): string;
  noneLeft(counted: number): string;
  left(count: number, host: string, frames: readonly number[]): string;
  matchedYetSent(host: string, frame: number, time: string): string;
}

const en: ConsistencyWords = {
  separator: '; ',
  listSeparator: ', ',
  more: ', …',
  disagreements: (count, first) => `${count} disagreement(s): ${first}`,
  capturesCompleteName: 'captures are complete: tcpdump lost no packet on any host',
  capturesCompleteExpected: "0 packets dropped by kernel and by interface in each host's tcpdump counters",
  captureCounts: (host, captured, byKernel, byInterface) =>
    `${host}: ${captured} captured, ${byKernel} dropped by kernel${byInterface > 0 ? `, ${byInterface} by interface` : ''}`,
  captureLost: (host, packets) =>
    `${host}'s tcpdump had no room for ${packets} packet(s) (its AF_PACKET ring was full: a busy machine, or a burst ` +
    `faster than tcpdump could write): they crossed ${host}'s interface but are not in its capture, so claims about what was or was not sent ` +
    `cannot be judged — run the lab again on a quieter machine, or send less at once`,
  deliveryName: "captures agree: every segment one host sent arrives in the other's capture, and every arrival was sent",
  deliveryExpected: 'each segment between lab hosts in both captures (sender and receiver), from the first step to the end of the last',
  neverArrived: (from, frame, time, flags, seq, to) =>
    `${from} capture #${frame} at ${time} shows [${flags}] seq ${seq} sent to ${to}, ` +
    `but ${to}'s capture never saw it arrive, though ${to} answered it (and no rule drops a segment before the receiver's capture)`,
  neverSent: (to, frame, time, flags, seq, from) =>
    `${to} capture #${frame} at ${time} shows [${flags}] seq ${seq} arriving from ${from}, but ${from}'s capture never sent it`,
  emptyCapture: (host, sender, count, time, frames) =>
    `${host}'s capture holds no segment at all, but ${sender}'s capture shows ${count} segment(s) sent to it from ${time} on (#${frames.join(', #')})`,
  inBothCaptures: (judged, lost, which) =>
    `${judged} segment(s) in both captures` + (lost === 0 ? '' : `; ${lost} lost on the way, never acknowledged (${which})`),
  lostSegment: (from, frame, flags, time) => `${from} #${frame} [${flags}] at ${time}`,
  rowCountsMore: (row, claimed, captured, copies, drops, refused) =>
    `${row.host}'s row of ${row.local} ↔ ${row.remote} sampled at ${row.time} (${row.state}) counts ${claimed} retransmission(s), ` +
    `but ${row.host}'s capture shows ${captured} retransmitted cop${captured === 1 ? 'y' : 'ies'} of any one segment by then` +
    (copies === undefined ? '' : ` (seq ${copies.seq}: #${copies.frames.join(', #')})`) +
    (drops > 0 ? ` and its send-chain rules dropped ${drops} before capture` : '') +
    (refused > 0 ? `; its kernel trace has ${refused} refused attempt(s)` : ''),
  retransmitsName: 'samples agree with the captures: no socket counts more retransmissions than its capture shows sent',
  retransmitsExpected: "each sampled retransmission count ≤ the retransmitted copies of one segment in that host's capture",
  retransmitsJudged: (rows) => `${rows} sampled row(s) with retransmissions, all backed by the capture`,
  sentCompletingAck: (host, frame, local, seq, time) =>
    `${host} capture #${frame} shows ${local} sent the handshake-completing ACK (seq ISN+1 = ${seq}) at ${time}`,
  acceptableReset: (host, frame, flags, ack, local, time) =>
    `${host} capture #${frame} shows an acceptable [${flags}] (ack ISN+1 = ${ack}) reach ${local} in SYN_SENT at ${time}`,
  sampledInSynSentAfter: (host, local, remote, time, what) => `${host}'s ${local} ↔ ${remote} was sampled in SYN_SENT at ${time}, but ${what}`,
  synAgain: (host, frame, local, time, what) => `${host} capture #${frame} shows ${local} sending its SYN again at ${time}, but ${what}`,
  wrongOutcome: (host, conn, code, time, what) =>
    `${host}'s connection ${conn} reports ${code} at ${time}, but ${what}: tcp_reset() in SYN_SENT reports ECONNREFUSED`,
  storyName: 'socket states agree with the captures: no socket stays in SYN_SENT after its capture shows it left',
  storyExpected:
    'a socket whose capture shows its handshake-completing ACK, or an acceptable RST, is no longer sampled in SYN_SENT, ' +
    'sends no SYN again, and a reset ends in ECONNREFUSED',
  storyJudged: (sockets) => `${sockets} socket(s) leaving SYN_SENT in their capture, all consistent with the samples and events`,
  traceName: 'tracepoints agree with the samples and captures: each sampled state and count, and each repeated SYN, is one the kernel traced',
  traceExpected: "each row's state one the trace gives its socket while the row was read; counts and repeated SYNs no more than the trace's retransmissions",
  traceJudged: (rows) => `${rows} sampled row(s) of traced sockets, all as traced`,
  rowStateNotTraced: (host, local, remote, state, time, possible, line) =>
    `${host}'s ${local} ↔ ${remote} was sampled in ${state} at ${time}, ` +
    `but its kernel trace has it in ${possible.join(' or ')} then (kernel-events.jsonl line ${line})`,
  rowCountsMoreThanTrace: (host, local, remote, time, claimed, attempts) =>
    `${host}'s row of ${local} ↔ ${remote} sampled at ${time} counts ${claimed} retransmission(s), ` +
    `but its kernel trace has ${attempts} retransmission attempt(s) on it by then`,
  synsNotRetransmitted: (host, local, count, frames, sent, extra) =>
    `${host}'s capture shows ${local} sending its SYN ${count} times (#${frames.join(', #')}), ` +
    `but its kernel trace has ${sent} retransmission(s) sent on it: ${extra} SYN(s) the kernel never retransmitted`,
  atLeastMatched: (lower) => `at least ${lower} packet(s): the captured arrivals it matched while surely in place`,
  exactlyMatched: (count) => `${count} packet(s): the captured arrivals it matches while in place`,
  betweenMatched: (lower, upper) => `between ${lower} and ${upper} packet(s): the captured arrivals it matches while in place`,
  counterBeforeUnrule: (host, counted) => `counter read just before its unrule (${host}'s removed-rule-counters.jsonl): ${counted} packet(s)`,
  counterIn: (host, tool, counted) => `counter in ${host}'s ${tool}-counters.txt: ${counted} packet(s)`,
  matchesIt: (host, frame, time, atBoundary) => `${host} capture #${frame} at ${time} matches it${atBoundary ? ' (at a boundary of the rule)' : ''}`,
  counterTooLow: (counted, lower) =>
    `the counter says the rule took ${counted}, but ${lower} captured segment(s) reached it while it was in place: ` +
    'the counter is no proof of what the rule did',
  counterTooHigh: (counted, upper) => `the counter says the rule took ${counted}, but only ${upper} captured segment(s) could have reached it`,
  counterAgreesName: (rule, host) => `rule ${rule} on ${host}: its counter agrees with the captured packets it matches`,
  counterObserved: (counted) => `counter ${counted} packet(s)`,
  noneLeftName: (rule, host) => `rule ${rule} on ${host}: no captured segment left past it`,
  noneLeftExpected: (host, chain) => `no segment it matches in ${host}'s capture while it was in place (${chain} drops before the capture sees a segment)`,
  noneLeft: (counted) => `none (counter ${counted} packet(s) dropped before capture)`,
  left: (count, host, frames) => `${count} left ${host}: #${frames.join(', #')}`,
  matchedYetSent: (host, frame, time) => `${host} capture #${frame} at ${time} matches it, yet was sent`,
};

const zh: ConsistencyWords = {
  separator: '；',
  listSeparator: '，',
  more: '，…',
  disagreements: (count, first) => `${count} 处不一致：${first}`,
  capturesCompleteName: '抓包完整：所有主机上的 tcpdump 都没有丢包',
  capturesCompleteExpected: '每台主机的 tcpdump 计数器中，被内核丢弃和被网卡丢弃的数据包都为 0',
  captureCounts: (host, captured, byKernel, byInterface) =>
    `${host}：抓到 ${captured} 个，内核丢弃 ${byKernel} 个${byInterface > 0 ? `，网卡丢弃 ${byInterface} 个` : ''}`,
  captureLost: (host, packets) =>
    `${host} 的 tcpdump 有 ${packets} 个数据包来不及存放（其 AF_PACKET 环形缓冲区已满：机器过于繁忙，或突发流量快于 tcpdump 的写入速度）：` +
    `它们经过了 ${host} 的网卡，却不在其抓包中，因此无法判断哪些报文发出了、哪些没有 — 请在更空闲的机器上重新运行该实验，或一次少发一些`,
  deliveryName: '两端抓包一致：一台主机发出的每个报文段都出现在另一台主机的抓包中，且每个到达的报文段都确实被发出过',
  deliveryExpected: '从第一步开始到最后一步结束，实验主机之间的每个报文段都同时出现在双方（发送方和接收方）的抓包中',
  neverArrived: (from, frame, time, flags, seq, to) =>
    `${from} 抓包 #${frame}（${time}）显示 [${flags}] seq ${seq} 已发往 ${to}，` +
    `但 ${to} 的抓包中从未出现它的到达，而 ${to} 却应答了它（并且没有规则会在接收方抓包之前丢弃报文段）`,
  neverSent: (to, frame, time, flags, seq, from) => `${to} 抓包 #${frame}（${time}）显示 [${flags}] seq ${seq} 来自 ${from}，但 ${from} 的抓包中从未发出过它`,
  emptyCapture: (host, sender, count, time, frames) =>
    `${host} 的抓包中没有任何报文段，但 ${sender} 的抓包显示从 ${time} 起有 ${count} 个报文段发往它（#${frames.join(', #')}）`,
  inBothCaptures: (judged, lost, which) => `${judged} 个报文段同时出现在两端抓包中` + (lost === 0 ? '' : `；${lost} 个在途中丢失，从未被确认（${which}）`),
  lostSegment: (from, frame, flags, time) => `${from} #${frame} [${flags}]（${time}）`,
  rowCountsMore: (row, claimed, captured, copies, drops, refused) =>
    `${row.host} 上 ${row.local} ↔ ${row.remote} 在 ${row.time} 采样到的行（${row.state}）记录了 ${claimed} 次重传，` +
    `但到那时 ${row.host} 的抓包中任一报文段的重传副本都只有 ${captured} 个` +
    (copies === undefined ? '' : `（seq ${copies.seq}：#${copies.frames.join(', #')}）`) +
    (drops > 0 ? `，其发送链规则另在抓包之前丢弃了 ${drops} 个` : '') +
    (refused > 0 ? `；其内核跟踪记录了 ${refused} 次被拒绝的重传尝试` : ''),
  retransmitsName: '采样与抓包一致：没有套接字记录的重传次数多于其抓包中发出的重传',
  retransmitsExpected: '每个采样到的重传计数 ≤ 该主机抓包中同一报文段的重传副本数',
  retransmitsJudged: (rows) => `${rows} 个带重传计数的采样行，全部有抓包佐证`,
  sentCompletingAck: (host, frame, local, seq, time) => `${host} 抓包 #${frame} 显示 ${local} 在 ${time} 发出了完成握手的 ACK（seq ISN+1 = ${seq}）`,
  acceptableReset: (host, frame, flags, ack, local, time) =>
    `${host} 抓包 #${frame} 显示一个可接受的 [${flags}]（ack ISN+1 = ${ack}）在 ${time} 到达处于 SYN_SENT 的 ${local}`,
  sampledInSynSentAfter: (host, local, remote, time, what) => `${host} 的 ${local} ↔ ${remote} 在 ${time} 仍被采样为 SYN_SENT，但 ${what}`,
  synAgain: (host, frame, local, time, what) => `${host} 抓包 #${frame} 显示 ${local} 在 ${time} 再次发送了 SYN，但 ${what}`,
  wrongOutcome: (host, conn, code, time, what) => `${host} 的连接 ${conn} 在 ${time} 报告 ${code}，但 ${what}：SYN_SENT 中的 tcp_reset() 报告的是 ECONNREFUSED`,
  storyName: '套接字状态与抓包一致：抓包显示已离开 SYN_SENT 的套接字不会仍停留在 SYN_SENT',
  storyExpected: '抓包显示已发出完成握手的 ACK 或已收到可接受 RST 的套接字，不再被采样为 SYN_SENT，不再重发 SYN，且被重置时以 ECONNREFUSED 结束',
  storyJudged: (sockets) => `${sockets} 个套接字在抓包中离开了 SYN_SENT，全部与采样和事件一致`,
  traceName: 'tracepoint 与采样和抓包一致：每个采样到的状态和计数、每个重复的 SYN，都有内核跟踪记录',
  traceExpected: '每行的状态都是读取该行期间内核跟踪给出的该套接字状态之一；计数和重复的 SYN 不多于跟踪记录的重传',
  traceJudged: (rows) => `被跟踪套接字的 ${rows} 个采样行，全部与跟踪一致`,
  rowStateNotTraced: (host, local, remote, state, time, possible, line) =>
    `${host} 的 ${local} ↔ ${remote} 在 ${time} 被采样为 ${state}，但其内核跟踪显示当时处于 ${possible.join(' 或 ')}（kernel-events.jsonl 第 ${line} 行）`,
  rowCountsMoreThanTrace: (host, local, remote, time, claimed, attempts) =>
    `${host} 上 ${local} ↔ ${remote} 在 ${time} 采样到的行记录了 ${claimed} 次重传，但到那时其内核跟踪只有 ${attempts} 次重传尝试`,
  synsNotRetransmitted: (host, local, count, frames, sent, extra) =>
    `${host} 的抓包显示 ${local} 发送了 ${count} 次 SYN（#${frames.join(', #')}），` +
    `但其内核跟踪只记录了 ${sent} 次已发出的重传：有 ${extra} 个 SYN 不是内核重传的`,
  atLeastMatched: (lower) => `至少 ${lower} 个数据包：即规则确定生效期间它匹配到的、抓包中的到达报文`,
  exactlyMatched: (count) => `${count} 个数据包：即规则生效期间它匹配到的、抓包中的到达报文`,
  betweenMatched: (lower, upper) => `${lower} 到 ${upper} 个数据包：即规则生效期间它匹配到的、抓包中的到达报文`,
  counterBeforeUnrule: (host, counted) => `在 unrule 之前读取的计数器（${host} 的 removed-rule-counters.jsonl）：${counted} 个数据包`,
  counterIn: (host, tool, counted) => `${host} 的 ${tool}-counters.txt 中的计数器：${counted} 个数据包`,
  matchesIt: (host, frame, time, atBoundary) => `${host} 抓包 #${frame}（${time}）与之匹配${atBoundary ? '（处于规则生效时段的边界）' : ''}`,
  counterTooLow: (counted, lower) => `计数器显示规则处理了 ${counted} 个，但规则生效期间有 ${lower} 个抓包中的报文段到达了它：计数器无法证明规则做了什么`,
  counterTooHigh: (counted, upper) => `计数器显示规则处理了 ${counted} 个，但抓包中最多只有 ${upper} 个报文段可能到达它`,
  counterAgreesName: (rule, host) => `${host} 上的规则 ${rule}：其计数器与它匹配的抓包数据包一致`,
  counterObserved: (counted) => `计数器为 ${counted} 个数据包`,
  noneLeftName: (rule, host) => `${host} 上的规则 ${rule}：抓包中没有越过它发出的报文段`,
  noneLeftExpected: (host, chain) => `规则生效期间，${host} 的抓包中没有它匹配的报文段（${chain} 在抓包看到报文段之前就将其丢弃）`,
  noneLeft: (counted) => `没有（计数器显示抓包之前丢弃了 ${counted} 个数据包）`,
  left: (count, host, frames) => `${count} 个从 ${host} 发出：#${frames.join(', #')}`,
  matchedYetSent: (host, frame, time) => `${host} 抓包 #${frame}（${time}）与之匹配，却仍被发出`,
};

export const CONSISTENCY_WORDS: Readonly<Record<Lang, ConsistencyWords>> = { en, zh };

/** The run's own checks and notes, and the claims about a connection's application side and the ICMP capture. */
export interface RunWords {
  stepCompletes(step: number, description: string): string;
  theStepCompletes: string;
  stepError(error: string): string;
  stepStarted(time: string): string;
  allStepsRan: string;
  steps(count: number): string;
  stepsCutShort(count: number): string;
  sampledStatesOnly(hosts: readonly string[], why: string): string;
  noKernelTrace: string;
  /** The reason the run recorded for having no kernel trace (English, as the tracer gave it). */
  recordedReason(why: string): string;
  bytes(bounds: string): string;
  readByApplication: string;
  acceptedByWrite: string;
  bytesName(host: string, conn: string, what: string): string;
  noEvent(type: string, conn: string, host: string): string;
  events(count: number, type: string, conn: string, from: string, to: string, total: number): string;
  bytesAt(bytes: number, time: string): string;
  acceptedFromName(host: string, conn: string, from: string): string;
  fromHost(host: string, address: string): string;
  fromNoLabHost(remote: string): string;
  noConnectionAccepted(conn: string): string;
  acceptAt(time: string, local: string, remote: string): string;
  noAcceptNamed(host: string, conn: string): string;
  icmpName(icmp: string, from: string, to: string): string;
  icmpObserved(count: number, others: number, from: string, to: string): string;
  noIcmpRead(host: string): string;
  icmpAt(where: string, icmp: string): string;
  otherTypeCode(where: string): string;
}

const runEn: RunWords = {
  stepCompletes: (step, description) => `step ${step} (${description}) completes`,
  theStepCompletes: 'the step completes',
  stepError: (error) => error,
  stepStarted: (time) => `step started at ${time}`,
  allStepsRan: 'all steps ran',
  steps: (count) => `${count} steps`,
  stepsCutShort: (count) => `${count} steps (the run was cut short)`,
  sampledStatesOnly: (hosts, why) => `socket states of ${hosts.join(', ')} come from /proc/net/tcp samples only, not the kernel's tracepoints: ${why}`,
  noKernelTrace: 'the run folder has no kernel trace (recorded before tcplab traced the kernel, or by hand)',
  recordedReason: (why) => why,
  bytes: (bounds) => `${bounds} bytes`,
  readByApplication: 'read by the application',
  acceptedByWrite: 'accepted by write()',
  bytesName: (host, conn, what) => `${host}/${conn}: bytes ${what}`,
  noEvent: (type, conn, host) => `no ${type} event for ${conn} in ${host}'s agent events`,
  events: (count, type, conn, from, to, total) => `${count} ${type} event(s) on ${conn}, ${from} to ${to}, ${total} bytes in all`,
  bytesAt: (bytes, time) => `${bytes} bytes at ${time}`,
  acceptedFromName: (host, conn, from) => `${host}/${conn} was accepted from ${from}`,
  fromHost: (host, address) => `from ${host} (${address})`,
  fromNoLabHost: (remote) => `from an address of no lab host (${remote})`,
  noConnectionAccepted: (conn) => `no connection ${conn} was accepted`,
  acceptAt: (time, local, remote) => `accept() at ${time}: ${local} ← ${remote}`,
  noAcceptNamed: (host, conn) => `${host}'s agent events hold no accept() named ${conn}`,
  icmpName: (icmp, from, to) => `${icmp} ${from} → ${to}`,
  icmpObserved: (count, others, from, to) => `${count}${others > 0 ? `; ${others} other ICMP message(s) ${from} → ${to}` : ''}`,
  noIcmpRead: (host) => `${host}'s run folder was read without ICMP messages`,
  icmpAt: (where, icmp) => `${where}: ${icmp}`,
  otherTypeCode: (where) => `not counted (other type/code): ${where}`,
};

const runZh: RunWords = {
  stepCompletes: (step, description) => `第 ${step} 步（${description}）完成`,
  theStepCompletes: '该步骤完成',
  stepError: (error) => `“${error}”`,
  stepStarted: (time) => `该步骤开始于 ${time}`,
  allStepsRan: '所有步骤都已执行',
  steps: (count) => `${count} 步`,
  stepsCutShort: (count) => `${count} 步（运行被提前中止）`,
  sampledStatesOnly: (hosts, why) => `${hosts.join('、')} 的套接字状态仅来自 /proc/net/tcp 采样，而非内核的 tracepoint：${why}`,
  noKernelTrace: '运行目录中没有内核跟踪（记录于 tcplab 开始跟踪内核之前，或为手工制作）',
  recordedReason: (why) => `“${why}”`,
  bytes: (bounds) => `${bounds} 字节`,
  readByApplication: '被应用程序读取的字节数',
  acceptedByWrite: '被 write() 接受的字节数',
  bytesName: (host, conn, what) => `${host}/${conn}：${what}`,
  noEvent: (type, conn, host) => `${host} 的代理事件中没有 ${conn} 的 \`${type}\` 事件`,
  events: (count, type, conn, from, to, total) => `${conn} 上有 ${count} 个 \`${type}\` 事件（${from} 至 ${to}），共 ${total} 字节`,
  bytesAt: (bytes, time) => `${time}：${bytes} 字节`,
  acceptedFromName: (host, conn, from) => `${host}/${conn} 是从 ${from} 接受的连接`,
  fromHost: (host, address) => `来自 ${host}（${address}）`,
  fromNoLabHost: (remote) => `来自一个不属于任何实验主机的地址（${remote}）`,
  noConnectionAccepted: (conn) => `没有接受名为 ${conn} 的连接`,
  acceptAt: (time, local, remote) => `${time} accept()：${local} ← ${remote}`,
  noAcceptNamed: (host, conn) => `${host} 的代理事件中没有名为 ${conn} 的 accept()`,
  icmpName: (icmp, from, to) => `${from} → ${to} 的 ${icmp}`,
  icmpObserved: (count, others, from, to) => `${count}${others > 0 ? `；另有 ${others} 个 ${from} → ${to} 的其他 ICMP 报文` : ''}`,
  noIcmpRead: (host) => `读取 ${host} 的运行目录时没有读到 ICMP 报文`,
  icmpAt: (where, icmp) => `${where}：${icmp}`,
  otherTypeCode: (where) => `未计入（类型/代码不同）：${where}`,
};

export const RUN_WORDS: Readonly<Record<Lang, RunWords>> = { en: runEn, zh: runZh };
