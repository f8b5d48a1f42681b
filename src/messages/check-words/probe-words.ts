import type { Lang } from '../catalog.js';
import type { KeepaliveConfig, ProbeGiveUpReason } from '../../tcp/probe-timing.js';
import type { TimerOptionSource } from '../../analysis/conn-timer-options.js';

/*
 * The words of the probe checks (src/verify/probe-checks.ts: keepalive and zero-window probes) and of the
 * timer readings (src/verify/timer-checks.ts), one table per language: the part of the timing words
 * (timing-words.ts, which joins them into TIMING_WORDS) that only these checks use.
 */

/** The probes a probe check follows (analysis/capture-retransmissions.ts ProbeKind). */
export type ProbeKindWords = 'keepalive' | 'zero-window probe';

export interface ProbeWords {
  /** `idle 2 s, interval 1 s, count 3`, or off. */
  keepaliveValues(config: KeepaliveConfig | undefined): string;
  /** `connect step 2: keepalive idle 2 s, interval 1 s, count 3`: an option a step set. */
  optionSource(source: TimerOptionSource): string;
  keepaliveName(who: string): string;
  persistName(who: string): string;
  /** Offsets in seconds, or that there are none. */
  offsetsOrNone(offsets: string): string;

  keepaliveNotSet(conn: string): string;
  noKeepaliveReaches(conn: string, sources: readonly string[]): string;
  keepaliveFix: string;
  noRstAfterProbes: string;
  keepaliveNoGiveUp: string;
  keepaliveGiveUp(at: string, userTimeout: boolean): string;
  keepaliveExpected(count: number, offsets: string, end: string): string;
  probesObserved(count: number, offsets: string, answered: number): string;
  noGiveUp: string;
  anchorNone: string;
  anchor(host: string, frame: number, what: string): string;
  keepaliveAnchor: string;
  persistAnchor(window: string): string;
  probeLabel(index: number | undefined): string;
  probeWhere(host: string, frame: number, answeredBy: number | undefined): string;
  /** `verdict` already said (the timing words' verdict()). */
  probeItemLine(label: string, expected: string | undefined, window: string, observed: string | undefined, where: string, verdict: string): string;
  keepaliveLine(keepalive: string, userTimeoutMs: number | undefined, sources: readonly string[]): string;
  hzLine(hz: number, recorded: boolean): string;

  rstAfterProbes(frame: number): string;
  resetByPeer(frame: number): string;
  resetNotSeen(code: string): string;
  persistReason(reason: ProbeGiveUpReason): string;
  probingUntilOpened(frame: number): string;
  probingUntilEnd: string;
  persistGiveUp(at: string, reason: string): string;
  persistExpected(count: number, offsets: string, intervals: string, end: string): string;
  windowOpenedAt(at: string): string;
  probe0Line(rtoMs: number, source: string, retries2: number, userTimeoutMs: number | undefined): string;
  noConnectionExpected(conn: string, host: string): string;
  noConnectionObserved(conn: string, host: string, known: readonly string[]): string;
  noProbesExpected(kind: ProbeKindWords, host: string, local: string, remote: string): string;
  noProbesObserved(kind: ProbeKindWords, host: string, local: string, segments: number): string;

  timerName(host: string, port: number | undefined, state: string, about: string, within: string): string;
  timerExpected(about: string, within: string, state: string): string;
  noSocketIn(state: string): string;
  timerReading(socket: string, left: string | undefined, at: string, kind: number, away: string | undefined, about: string): string;
  timeLeft(readings: string): string;
}

const PROBES_EN: Readonly<Record<ProbeKindWords, string>> = { keepalive: 'keepalive probes', 'zero-window probe': 'zero-window probes' };

const PERSIST_REASON_EN: Readonly<Record<ProbeGiveUpReason, string>> = {
  'user-timeout': 'TCP_USER_TIMEOUT since the first probe',
  'tcp-retries2': 'tcp_retries2 unanswered probes',
  'keepalive-count': '',
};

const en: ProbeWords = {
  keepaliveValues: (k) => (k === undefined ? 'off' : `idle ${k.idleMs / 1000} s, interval ${k.intervalMs / 1000} s, count ${k.count}`),
  optionSource: (s) =>
    `${s.kind} step ${s.step}: ${s.option === 'keepalive' ? `keepalive ${en.keepaliveValues(s.keepalive)}` : `user_timeout ${s.userTimeoutMs} ms`}`,
  keepaliveName: (who) => `keepalive probes of ${who} follow the Linux timing model`,
  persistName: (who) => `zero-window probes of ${who} follow the Linux timing model`,
  offsetsOrNone: (offsets) => offsets || '(none)',

  keepaliveNotSet: (conn) => `SO_KEEPALIVE set on ${conn} (a keepalive option on its connect, listen or setsockopt step)`,
  noKeepaliveReaches: (conn, sources) => `no keepalive option reaches ${conn}${sources.length > 0 ? ` (${sources.join('; ')})` : ''}`,
  keepaliveFix: 'add options: { keepalive: { idle: 2s, interval: 1s, count: 3 } } to the step that makes the connection',
  noRstAfterProbes: 'no RST after the last probe (a keepalive give-up sends one: tcp_send_active_reset())',
  keepaliveNoGiveUp: 'no give-up before the end of the last step',
  keepaliveGiveUp: (at, userTimeout) => `RST and ETIMEDOUT at ${at} s (${userTimeout ? 'TCP_USER_TIMEOUT' : 'TCP_KEEPCNT'} reached)`,
  keepaliveExpected: (count, offsets, end) => `${count} probes at ${offsets} s after the last segment received; ${end}`,
  probesObserved: (count, offsets, answered) => `${count} probes at ${offsets} s (${answered} answered)`,
  noGiveUp: 'no give-up',
  anchorNone: `no segment received before the first probe: the first probe is the anchor`,
  anchor: (host, frame, what) => `anchor: ${host} capture #${frame}, ${what}`,
  keepaliveAnchor: 'the last segment received before the first probe (keepalive idleness counts from it)',
  persistAnchor: (window) => `the peer's last ACK before the first probe (window ${window}; it arms the persist timer)`,
  probeLabel: (index) => (index === undefined ? 'give-up' : `probe ${index + 1}`),
  probeWhere: (host, frame, answeredBy) => ` (${host} capture #${frame}${answeredBy === undefined ? ', unanswered' : `, answered by #${answeredBy}`})`,
  probeItemLine: (label, expected, window, observed, where, verdict) =>
    `${label}: ${expected === undefined ? 'not in the model' : `expected ${expected} s${window}`}; observed ${observed === undefined ? 'nothing' : `${observed} s`}${where} — ${verdict}`,
  keepaliveLine: (keepalive, userTimeoutMs, sources) =>
    `keepalive ${keepalive}; user_timeout ${userTimeoutMs === undefined ? 'not set' : `${userTimeoutMs} ms`} (${sources.join('; ')})`,
  hzLine: (hz, recorded) => `HZ=${hz}${recorded ? '' : ' (not recorded, model default)'}`,

  rstAfterProbes: (frame) => `a RST (#${frame}) after the probes (a persist give-up sends none: tcp_write_err())`,
  resetByPeer: (frame) =>
    `the peer answered with a RST (#${frame}): the connection was reset there (tcp_reset(): ECONNRESET, CLOSED), which ends the probes; no give-up is due after it`,
  resetNotSeen: (code) => `the application saw ${code}, but a reset reports ECONNRESET`,
  persistReason: (reason) => PERSIST_REASON_EN[reason],
  probingUntilOpened: (frame) => `probing until the peer opened its window (#${frame})`,
  probingUntilEnd: 'probing until the run ended',
  persistGiveUp: (at, reason) => `ETIMEDOUT without a RST at ${at} s (${reason})`,
  persistExpected: (count, offsets, intervals, end) => `${count} probes at ${offsets} s after the window closed (intervals ${intervals} s); ${end}`,
  windowOpenedAt: (at) => `window opened at ${at} s`,
  probe0Line: (rtoMs, source, retries2, userTimeoutMs) =>
    `probe0 base max(RTO, TCP_RTO_MIN) = ${rtoMs} ms (${source}); tcp_retries2=${retries2}; user_timeout ${userTimeoutMs === undefined ? 'not set' : `${userTimeoutMs} ms`}`,
  noConnectionExpected: (conn, host) => `a connection ${conn} on ${host}`,
  noConnectionObserved: (conn, host, known) => `no connection ${conn}: ${host}'s connections were ${known.join(', ') || '(none)'}`,
  noProbesExpected: (kind, host, local, remote) => `${PROBES_EN[kind]} from ${host} on ${local} → ${remote}`,
  noProbesObserved: (kind, host, local, segments) => `no ${PROBES_EN[kind]} from ${local} in ${host}'s capture (${segments} TCP segments)`,

  timerName: (host, port, state, about, within) => `${host}${port === undefined ? '' : ` (port ${port})`} ${state} timer reads ${about} ± ${within}`,
  timerExpected: (about, within, state) => `${about} ± ${within} left when first sampled in ${state}`,
  noSocketIn: (state) => `no socket sampled in ${state}`,
  timerReading: (socket, left, at, kind, away, about) =>
    `${socket}: ${left === undefined ? 'no timer running' : `${left} left`} at ${at} (/proc/net/tcp timer kind ${kind})${away === undefined ? '' : ` — ${away} away from ${about}`}`,
  timeLeft: (readings) => `${readings} left`,
};

const PROBES_ZH: Readonly<Record<ProbeKindWords, string>> = { keepalive: '保活探测', 'zero-window probe': '零窗口探测' };

const PERSIST_REASON_ZH: Readonly<Record<ProbeGiveUpReason, string>> = {
  'user-timeout': '自第一个探测起达到 TCP_USER_TIMEOUT',
  'tcp-retries2': '连续 tcp_retries2 个探测没有应答',
  'keepalive-count': '',
};

const zh: ProbeWords = {
  keepaliveValues: (k) => (k === undefined ? '关闭' : `空闲 ${k.idleMs / 1000} s，间隔 ${k.intervalMs / 1000} s，探测 ${k.count} 次`),
  optionSource: (s) =>
    `第 ${s.step} 步（${s.kind}）：${s.option === 'keepalive' ? `keepalive ${zh.keepaliveValues(s.keepalive)}` : `user_timeout ${s.userTimeoutMs} ms`}`,
  keepaliveName: (who) => `${who} 的保活探测（keepalive）符合 Linux 时间模型`,
  persistName: (who) => `${who} 的零窗口探测符合 Linux 时间模型`,
  offsetsOrNone: (offsets) => offsets || '（无）',

  keepaliveNotSet: (conn) => `${conn} 上设置了 SO_KEEPALIVE（由它的 connect、listen 或 setsockopt 步骤的 keepalive 选项设置）`,
  noKeepaliveReaches: (conn, sources) => `没有 keepalive 选项作用到 ${conn}${sources.length > 0 ? `（${sources.join('；')}）` : ''}`,
  keepaliveFix: '在建立该连接的步骤上加上 options: { keepalive: { idle: 2s, interval: 1s, count: 3 } }',
  noRstAfterProbes: '最后一个探测之后没有 RST（保活放弃时会发送 RST：tcp_send_active_reset()）',
  keepaliveNoGiveUp: '最后一步结束之前不会放弃',
  keepaliveGiveUp: (at, userTimeout) => `${at} s 发送 RST 并报告 ETIMEDOUT（达到 ${userTimeout ? 'TCP_USER_TIMEOUT' : 'TCP_KEEPCNT'}）`,
  keepaliveExpected: (count, offsets, end) => `${count} 个探测，在最后收到报文段之后 ${offsets} s；${end}`,
  probesObserved: (count, offsets, answered) => `${count} 个探测，时刻 ${offsets} s（${answered} 个得到应答）`,
  noGiveUp: '没有放弃',
  anchorNone: '第一个探测之前没有收到报文段：以第一个探测为锚点',
  anchor: (host, frame, what) => `锚点：${host} 抓包 #${frame}，${what}`,
  keepaliveAnchor: '第一个探测之前最后收到的报文段（保活的空闲时间从它算起）',
  persistAnchor: (window) => `第一个探测之前对端的最后一个 ACK（窗口 ${window}；它启动了坚持定时器）`,
  probeLabel: (index) => (index === undefined ? '放弃' : `探测 ${index + 1}`),
  probeWhere: (host, frame, answeredBy) => `（${host} 抓包 #${frame}，${answeredBy === undefined ? '未得到应答' : `由 #${answeredBy} 应答`}）`,
  probeItemLine: (label, expected, window, observed, where, verdict) =>
    `${label}：${expected === undefined ? '模型中没有' : `预期 ${expected} s${window}`}；${observed === undefined ? '未观察到' : `观察到 ${observed} s`}${where}——${verdict}`,
  keepaliveLine: (keepalive, userTimeoutMs, sources) =>
    `keepalive ${keepalive}；user_timeout ${userTimeoutMs === undefined ? '未设置' : `${userTimeoutMs} ms`}（${sources.join('；')}）`,
  hzLine: (hz, recorded) => `HZ=${hz}${recorded ? '' : '（未记录，模型默认值）'}`,

  rstAfterProbes: (frame) => `探测之后有一个 RST（#${frame}）（坚持定时器放弃时不发 RST：tcp_write_err()）`,
  resetByPeer: (frame) => `对端以 RST 回答（#${frame}）：连接在此被重置（tcp_reset()：ECONNRESET，CLOSED），探测随之结束；此后不再有放弃`,
  resetNotSeen: (code) => `应用看到 ${code}，但连接被重置时报告的是 ECONNRESET`,
  persistReason: (reason) => PERSIST_REASON_ZH[reason],
  probingUntilOpened: (frame) => `一直探测到对端打开窗口（#${frame}）`,
  probingUntilEnd: '一直探测到运行结束',
  persistGiveUp: (at, reason) => `${at} s 报告 ETIMEDOUT，不发 RST（${reason}）`,
  persistExpected: (count, offsets, intervals, end) => `${count} 个探测，在窗口关闭后 ${offsets} s（间隔 ${intervals} s）；${end}`,
  windowOpenedAt: (at) => `窗口在 ${at} s 打开`,
  probe0Line: (rtoMs, source, retries2, userTimeoutMs) =>
    `probe0 基数 max(RTO, TCP_RTO_MIN) = ${rtoMs} ms（${source}）；tcp_retries2=${retries2}；user_timeout ${userTimeoutMs === undefined ? '未设置' : `${userTimeoutMs} ms`}`,
  noConnectionExpected: (conn, host) => `${host} 上的连接 ${conn}`,
  noConnectionObserved: (conn, host, known) => `没有连接 ${conn}：${host} 的连接有 ${known.join('、') || '（无）'}`,
  noProbesExpected: (kind, host, local, remote) => `${host} 在 ${local} → ${remote} 上发出的${PROBES_ZH[kind]}`,
  noProbesObserved: (kind, host, local, segments) => `${host} 的抓包中没有来自 ${local} 的${PROBES_ZH[kind]}（共 ${segments} 个 TCP 报文段）`,

  timerName: (host, port, state, about, within) => `${host}${port === undefined ? ' ' : `（端口 ${port}）`}的 ${state} 定时器读数为 ${about} ± ${within}`,
  timerExpected: (about, within, state) => `首次采样到 ${state} 时剩余 ${about} ± ${within}`,
  noSocketIn: (state) => `没有采样到处于 ${state} 的套接字`,
  timerReading: (socket, left, at, kind, away, about) =>
    `${socket}：${at} 时${left === undefined ? '没有定时器在运行' : `剩余 ${left}`}（/proc/net/tcp 定时器类型 ${kind}）${away === undefined ? '' : `——与 ${about} 相差 ${away}`}`,
  timeLeft: (readings) => `剩余 ${readings}`,
};

export const PROBE_WORDS: Readonly<Record<Lang, ProbeWords>> = { en, zh };
