import type { Expectation, SocketOptions, Step } from '../lab/model.js';
import { describeSocketOptions } from '../lab/socket-options.js';
import type { Lang } from './catalog.js';

/*
 * How a lab reads to people, by language: each step kind and each expectation kind as a sentence, and the
 * headings of `tcplab show`. One table per language with one entry per kind (the types make a missing kind
 * a build error; catalog.ts checks the tables have the same keys at run time too).
 */

type StepWords = { readonly [K in Step['kind']]: (step: Extract<Step, { kind: K }>) => string };
type ExpectationWords = { readonly [K in Expectation['kind']]: (expectation: Extract<Expectation, { kind: K }>) => string };

const filterEn = (conn: string | undefined, port: number | undefined): string => `${conn ? ` on ${conn}` : ''}${port !== undefined ? ` (port ${port})` : ''}`;
const filterZh = (conn: string | undefined, port: number | undefined): string =>
  `${conn ? `（连接 ${conn}）` : ''}${port !== undefined ? `（端口 ${port}）` : ''}`;
const latestEn = (conn: string | undefined): string => conn ?? 'the latest connection';
const latestZh = (conn: string | undefined): string => conn ?? '最近的连接';
const portEn = (port: number | undefined): string => (port === undefined ? '' : ` (port ${port})`);
const portZh = (port: number | undefined): string => (port === undefined ? '' : `（端口 ${port}）`);
const connEn = (host: string, conn: string | undefined): string => `${host}${conn === undefined ? '' : `/${conn}`}`;

const optionsEn = (options: SocketOptions | undefined): string => (options === undefined ? '' : ` [options: ${describeSocketOptions(options)}]`);
const optionsZh = (options: SocketOptions | undefined): string => (options === undefined ? '' : `［选项：${describeSocketOptions(options)}］`);

const STEPS_EN: StepWords = {
  listen: (s) => `${s.host}: listen on port ${s.port}${s.accept ? '' : ' (never accept)'}${optionsEn(s.options)}`,
  connect: (s) =>
    `${s.host}: ${s.nonblocking ? 'nonblocking ' : ''}connect ${s.conn} to ${s.to}:${s.port}${s.localPort ? ` from port ${s.localPort}` : ''}${s.family === 6 ? ' over IPv6' : ''}${optionsEn(s.options)}`,
  setsockopt: (s) => `${s.host}: setsockopt on ${latestEn(s.conn)}${optionsEn(s.options)}`,
  pause: (s) => `${s.host}: stop reading ${latestEn(s.conn)}`,
  resume: (s) => `${s.host}: read ${latestEn(s.conn)} again`,
  accept: (s) => `${s.host}: accept one queued connection on port ${s.port}`,
  unlisten: (s) => `${s.host}: close the listener on port ${s.port}`,
  send: (s) => `${s.host}: send ${s.bytes} bytes on ${latestEn(s.conn)}`,
  'close-on-fin': (s) => `${s.host}: close ${latestEn(s.conn)} as soon as the peer's FIN arrives`,
  close: (s) => `${s.host}: close ${latestEn(s.conn)}`,
  shutdown: (s) => `${s.host}: shutdown ${latestEn(s.conn)}`,
  abort: (s) => `${s.host}: abort ${latestEn(s.conn)}`,
  rule: (s) => `${s.host}: ${s.family === 6 ? 'ip6tables' : 'iptables'} ${s.text} (${s.name})`,
  unrule: (s) => `${s.host}: remove rule ${s.name}`,
  'wait-state': (s) => `${s.host}: wait for ${s.state}${filterEn(s.conn, s.port)}`,
  'wait-event': (s) => `${s.host}: wait for "${s.event}"${filterEn(s.conn, undefined)}`,
  'wait-gone': (s) => `${s.host}: wait until the socket is gone${filterEn(s.conn, s.port)}`,
  sleep: (s) => `sleep ${s.durationMs} ms`,
  hold: (s) => `${s.host}: hold everything it sends in a queue`,
  release: (s) => `${s.host}: release its queue, oldest first`,
  flood: (s) => `${s.host}: SYN flood to ${s.to}:${s.port} from ${s.sources} forged unused lab addresses, ${s.countPerSource} SYN each`,
  inject: (s) =>
    `${s.host}: inject one [${s.flags}] segment from port ${s.fromPort} to ${s.to}:${s.port}, seq ${s.seq} ack ${s.ack} win ${s.window}, ${s.bytes} bytes (no socket behind it)`,
};

const STEPS_ZH: StepWords = {
  listen: (s) => `${s.host}：在端口 ${s.port} 监听${s.accept ? '' : '（从不 accept）'}${optionsZh(s.options)}`,
  connect: (s) =>
    `${s.host}：${s.nonblocking ? '以非阻塞方式' : ''}发起连接 ${s.conn}，目标 ${s.to}:${s.port}${s.localPort ? `，本地端口 ${s.localPort}` : ''}${s.family === 6 ? '（IPv6）' : ''}${optionsZh(s.options)}`,
  setsockopt: (s) => `${s.host}：对${latestZh(s.conn)}调用 setsockopt${optionsZh(s.options)}`,
  pause: (s) => `${s.host}：停止读取${latestZh(s.conn)}`,
  resume: (s) => `${s.host}：重新读取${latestZh(s.conn)}`,
  accept: (s) => `${s.host}：在端口 ${s.port} 上 accept() 一个排队的连接`,
  unlisten: (s) => `${s.host}：关闭端口 ${s.port} 上的监听套接字`,
  send: (s) => `${s.host}：在${latestZh(s.conn)}上发送 ${s.bytes} 字节`,
  'close-on-fin': (s) => `${s.host}：对端的 FIN 一到就关闭${latestZh(s.conn)}`,
  close: (s) => `${s.host}：close() 关闭${latestZh(s.conn)}`,
  shutdown: (s) => `${s.host}：shutdown() 半关闭${latestZh(s.conn)}`,
  abort: (s) => `${s.host}：以 RST 中止${latestZh(s.conn)}`,
  rule: (s) => `${s.host}：${s.family === 6 ? 'ip6tables' : 'iptables'} ${s.text}（${s.name}）`,
  unrule: (s) => `${s.host}：删除规则 ${s.name}`,
  'wait-state': (s) => `${s.host}：等待 ${s.state} 状态${filterZh(s.conn, s.port)}`,
  'wait-event': (s) => `${s.host}：等待“${s.event}”事件${filterZh(s.conn, undefined)}`,
  'wait-gone': (s) => `${s.host}：等待套接字消失${filterZh(s.conn, s.port)}`,
  sleep: (s) => `等待 ${s.durationMs} 毫秒`,
  hold: (s) => `${s.host}：把它发出的一切放进队列`,
  release: (s) => `${s.host}：按先后顺序放出队列`,
  flood: (s) => `${s.host}：向 ${s.to}:${s.port} 发起 SYN 洪泛，伪造 ${s.sources} 个未使用的实验地址，每个 ${s.countPerSource} 个 SYN`,
  inject: (s) =>
    `${s.host}：从端口 ${s.fromPort} 向 ${s.to}:${s.port} 注入一个 [${s.flags}] 报文段，seq ${s.seq} ack ${s.ack} 窗口 ${s.window}，${s.bytes} 字节（背后没有套接字）`,
};

const bounds = (e: { count?: number; min?: number; max?: number }, words: { exactly: string; atLeast: string; atMost: string }): string[] =>
  [
    e.count !== undefined && `${words.exactly} ${e.count}`,
    e.min !== undefined && `${words.atLeast} ${e.min}`,
    e.max !== undefined && `${words.atMost} ${e.max}`,
  ].filter((b): b is string => typeof b === 'string');

const EN_BOUNDS = { exactly: 'exactly', atLeast: 'at least', atMost: 'at most' };
const ZH_BOUNDS = { exactly: '恰好', atLeast: '至少', atMost: '至多' };
const byteBounds = (e: { bytes?: number; min?: number; max?: number }, words: typeof EN_BOUNDS): string[] => bounds({ ...e, count: e.bytes }, words);

const EXPECTATIONS_EN: ExpectationWords = {
  states: (e) => `${connEn(e.host, e.conn)}${portEn(e.port)} passes through ${e.path.join(' → ')}`,
  never: (e) => `${connEn(e.host, e.conn)}${portEn(e.port)} is never in ${e.states.join(', ')}`,
  outcome: (e) => `connect() of ${e.host}/${e.conn} ends in ${e.is}`,
  'connect-returned': (e) => `the nonblocking connect() of ${e.host}/${e.conn} returns ${e.is === 'ok' ? '0' : e.is}`,
  packets: (e) =>
    `[${e.flags}] ${e.from} → ${e.to}${portEn(e.port)}: ${bounds(e, { exactly: 'exactly', atLeast: 'at least', atMost: 'at most' }).join(', ')}${e.sameSeq ? ', same sequence number' : ''}`,
  handshake: (e) => `three-way handshake ${e.client} → ${e.server} with ack = ISN + 1 on both sides`,
  'syn-retransmits': (e) => `SYN retransmissions of ${connEn(e.host, e.conn)} and the ETIMEDOUT follow the Linux timing model`,
  'synack-retransmits': (e) => `SYN-ACK retransmissions of ${e.host}${portEn(e.port)} and the request's drop follow the Linux timing model`,
  'fin-retransmits': (e) => `FIN retransmissions of orphaned ${connEn(e.host, e.conn)} and its silent end follow the Linux timing model`,
  'data-retransmits': (e) => `data retransmissions of ${connEn(e.host, e.conn)} and the ETIMEDOUT follow the Linux timing model`,
  'keepalive-probes': (e) => `keepalive probes of ${connEn(e.host, e.conn)} and the give-up follow the Linux timing model`,
  'persist-probes': (e) => `zero-window probes of ${connEn(e.host, e.conn)} follow the Linux timing model (backoff from the RTO)`,
  error: (e) => (e.is === 'none' ? `${e.host}/${e.conn} sees no socket error` : `${e.host}/${e.conn} sees ${e.is}`),
  sockets: (e) =>
    `${bounds(e, { exactly: 'exactly', atLeast: 'at least', atMost: 'at most' }).join(' and ')} sockets of ${connEn(e.host, e.conn)}${portEn(e.port)} in ${e.state} at once`,
  received: (e) => `${e.host}/${e.conn}'s application read ${byteBounds(e, EN_BOUNDS).join(' and ')} bytes`,
  sent: (e) => `${e.host}/${e.conn}'s write()s were accepted for ${byteBounds(e, EN_BOUNDS).join(' and ')} bytes`,
  icmp: (e) => `ICMP type ${e.type}${e.code === undefined ? '' : ` code ${e.code}`} ${e.from} → ${e.to}: ${bounds(e, EN_BOUNDS).join(', ')}`,
  accepted: (e) => `${e.host}/${e.conn} was accepted from ${e.from}`,
  timer: (e) => `${e.host}'s timer reads ${e.aboutMs / 1000} s ± ${e.withinMs / 1000} s when a socket${portEn(e.port)} is first seen in ${e.state}`,
};

const EXPECTATIONS_ZH: ExpectationWords = {
  states: (e) => `${connEn(e.host, e.conn)}${portZh(e.port)} 依次经过 ${e.path.join(' → ')}`,
  never: (e) => `${connEn(e.host, e.conn)}${portZh(e.port)} 从不处于 ${e.states.join('、')}`,
  outcome: (e) => `${e.host}/${e.conn} 的 connect() 以 ${e.is} 结束`,
  'connect-returned': (e) => `${e.host}/${e.conn} 的非阻塞 connect() 立即返回 ${e.is === 'ok' ? '0' : e.is}`,
  packets: (e) =>
    `${e.from} → ${e.to}${portZh(e.port)} 的 [${e.flags}] 报文段：${bounds(e, { exactly: '恰好', atLeast: '至少', atMost: '至多' }).join('，')}${e.sameSeq ? '，序号相同' : ''}`,
  handshake: (e) => `${e.client} → ${e.server} 的三次握手，双方 ack = 对方 ISN + 1`,
  'syn-retransmits': (e) => `${connEn(e.host, e.conn)} 的 SYN 重传与 ETIMEDOUT 符合 Linux 时间模型`,
  'synack-retransmits': (e) => `${e.host}${portZh(e.port)} 的 SYN-ACK 重传与半连接的丢弃符合 Linux 时间模型`,
  'fin-retransmits': (e) => `孤儿套接字 ${connEn(e.host, e.conn)} 的 FIN 重传与其悄然结束符合 Linux 时间模型`,
  'data-retransmits': (e) => `${connEn(e.host, e.conn)} 的数据重传与 ETIMEDOUT 符合 Linux 时间模型`,
  'keepalive-probes': (e) => `${connEn(e.host, e.conn)} 的保活探测（keepalive）与放弃时刻符合 Linux 时间模型`,
  'persist-probes': (e) => `${connEn(e.host, e.conn)} 的零窗口探测（坚持定时器）符合 Linux 时间模型（从 RTO 开始指数退避）`,
  error: (e) => (e.is === 'none' ? `${e.host}/${e.conn} 没有遇到套接字错误` : `${e.host}/${e.conn} 遇到 ${e.is}`),
  received: (e) => `${e.host}/${e.conn} 的应用程序读到 ${byteBounds(e, ZH_BOUNDS).join('且')} 字节`,
  sent: (e) => `${e.host}/${e.conn} 的 write() 被接受了 ${byteBounds(e, ZH_BOUNDS).join('且')} 字节`,
  icmp: (e) => `${e.from} → ${e.to} 的 ICMP 类型 ${e.type}${e.code === undefined ? '' : ` 代码 ${e.code}`}：${bounds(e, ZH_BOUNDS).join('，')}`,
  accepted: (e) => `${e.host}/${e.conn} 是从 ${e.from} 接受的连接`,
  sockets: (e) =>
    `${connEn(e.host, e.conn)}${portZh(e.port)} 同时处于 ${e.state} 的套接字${bounds(e, { exactly: '恰好', atLeast: '至少', atMost: '至多' }).join('且')} 个`,
  timer: (e) => `${e.host} 的套接字${portZh(e.port)}第一次出现在 ${e.state} 时，定时器读数为 ${e.aboutMs / 1000} 秒 ± ${e.withinMs / 1000} 秒`,
};

/** The step and expectation sentences per language (catalog.ts checks their keys agree). */
export const LAB_WORDS: Readonly<Record<Lang, { readonly steps: StepWords; readonly expectations: ExpectationWords }>> = {
  en: { steps: STEPS_EN, expectations: EXPECTATIONS_EN },
  zh: { steps: STEPS_ZH, expectations: EXPECTATIONS_ZH },
};

/** One sentence for a step, in `lang`. */
export function describeStepIn(lang: Lang, step: Step): string {
  return (LAB_WORDS[lang].steps[step.kind] as (s: Step) => string)(step);
}

/** One sentence for an expectation, in `lang`. */
export function describeExpectationIn(lang: Lang, expectation: Expectation): string {
  return (LAB_WORDS[lang].expectations[expectation.kind] as (e: Expectation) => string)(expectation);
}
