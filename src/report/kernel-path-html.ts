import { assertNever } from '../tcp/state.js';
import {
  connectionCallPaths,
  NO_DURATIONS_NOTE,
  returnValueName,
  splitAtSoftirq,
  type CallPathStep,
  type CallPathStepKind,
  type ConnectionCallPath,
  type KernelCallPaths,
} from '../observe/kernel-call-path.js';

/**
 * The report's "kernel call path" section: for each active open of the run, the connect side (connect(2)
 * entered, CLOSED → SYN_SENT with its stack, connect(2)'s return value) and the receive side (the SYN at
 * the listener, the SYN-ACK's arrival at the client, the server's child), each with the kernel's own
 * stack outermost first and the time of its event. Pure: call paths in, HTML out.
 */
interface KernelPathWords {
  title: string;
  intro: string;
  connectSide: string;
  receiveSide: string;
  returned: (value: string) => string;
  onTopOf: string;
  noPaths: string;
  after: string;
  caveat: string;
  /** What the times mean: no function durations on this kernel. */
  times: string;
  nonblocking: string;
  step: Record<CallPathStepKind, string>;
}

const WORDS: Readonly<Record<'en' | 'zh', KernelPathWords>> = {
  en: {
    title: "The kernel's own call path",
    intro: 'Recorded in this run by stacktrace triggers on the kernel tracepoints (outermost function first), and connect(2) traced for the agent’s process.',
    connectSide: 'connect() path',
    receiveSide: 'SYN-ACK receive path',
    returned: (value) => `connect() returned ${value}`,
    onTopOf: 'ran in a softirq on top of',
    noPaths: 'No call path was recorded in this run (no kernel trace, or no active open).',
    after: 'after the previous event',
    caveat:
      'A stack holds return addresses: functions that were inlined or tail-called (tcp_rcv_synsent_state_process, tcp_v4_conn_request) do not appear in it.',
    times: NO_DURATIONS_NOTE,
    nonblocking:
      'The agent runs on Node, whose sockets are nonblocking (libuv): the kernel returns EINPROGRESS and the state changes show when the handshake really completed.',
    step: {
      'connect-entered': 'connect(2) entered (sys_enter_connect)',
      'syn-sent': 'CLOSED → SYN_SENT',
      'connect-returned': 'connect(2) returned (sys_exit_connect)',
      request: 'SYN at the listener: the request sock routes its SYN-ACK',
      'reset-sent': 'SYN with no listener: the server routes a RST',
      'synack-arrival': 'SYN-ACK arrives: SYN_SENT → ESTABLISHED',
      'reset-arrival': 'RST arrives (tcp_receive_reset)',
      'connect-failed': 'SYN_SENT → CLOSED',
      child: 'final ACK: the listener makes the child socket (→ SYN_RECEIVED)',
      'child-established': 'the child: SYN_RECEIVED → ESTABLISHED',
      'synack-retransmit': 'SYN-ACK retransmitted',
    },
  },
  zh: {
    title: '内核的实际调用路径',
    intro: '本次运行中由内核跟踪点上的 stacktrace 触发器记录（最外层函数在前），并跟踪了代理进程的 connect(2)。',
    connectSide: 'connect() 路径',
    receiveSide: 'SYN-ACK 接收路径',
    returned: (value) => `connect() 返回 ${value}`,
    onTopOf: '在软中断中运行，打断了',
    noPaths: '本次运行没有记录调用路径（没有内核跟踪，或没有主动打开的连接）。',
    after: '距上一个事件',
    caveat: '调用栈保存的是返回地址：被内联或尾调用的函数（tcp_rcv_synsent_state_process、tcp_v4_conn_request）不会出现在栈中。',
    times:
      '时间是所记录事件（tracepoint 以及 connect(2) 的进入/返回）在抓包时钟上的时刻。函数耗时没有测量：本内核没有 function_graph 跟踪器，因此只知道两个记录事件之间的时间。',
    nonblocking: '代理运行在 Node 上，其套接字是非阻塞的（libuv）：内核返回 EINPROGRESS，状态变化显示握手实际完成的时刻。',
    step: {
      'connect-entered': '进入 connect(2)（sys_enter_connect）',
      'syn-sent': 'CLOSED → SYN_SENT',
      'connect-returned': 'connect(2) 返回（sys_exit_connect）',
      request: '监听套接字收到 SYN：请求套接字为 SYN-ACK 查路由',
      'reset-sent': '没有监听者的 SYN：服务器为 RST 查路由',
      'synack-arrival': 'SYN-ACK 到达：SYN_SENT → ESTABLISHED',
      'reset-arrival': 'RST 到达（tcp_receive_reset）',
      'connect-failed': 'SYN_SENT → CLOSED',
      child: '最后的 ACK：监听套接字创建子套接字（→ SYN_RECEIVED）',
      'child-established': '子套接字：SYN_RECEIVED → ESTABLISHED',
      'synack-retransmit': '重传 SYN-ACK',
    },
  },
};

/** Frames of the syscall entry trampoline, shown once as `connect()` instead. */
const SYSCALL_ENTRY = new Set(['entry_SYSCALL_64_after_hwframe', 'do_syscall_64']);

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Renders the section for a run's recorded call paths (`undefined`: the run folder has none). */
export function renderKernelPathSection(paths: KernelCallPaths | undefined, startedUs: number, lang: 'en' | 'zh'): string {
  const w = WORDS[lang];
  const connections = paths === undefined ? [] : connectionCallPaths(paths);
  const body =
    connections.length === 0
      ? `<p class="note">${escape(w.noPaths)}</p>`
      : connections.map((c) => renderConnection(c, startedUs, w)).join('\n') +
        `\n<p class="note">${escape(w.times)}</p>\n<p class="note">${escape(w.caveat)}</p>`;
  return `<section id="kernel-path"><h2>${escape(w.title)}</h2>\n<p>${escape(w.intro)}</p>\n${body}\n<style>${STYLE}</style>\n</section>`;
}

function renderConnection(path: ConnectionCallPath, startedUs: number, w: KernelPathWords): string {
  const value = path.returnValue === undefined ? undefined : `${path.returnValue} (${path.errno ?? returnValueName(path.returnValue)})`;
  const heading = `${path.client} ${path.local} → ${path.server ?? ''} ${path.remote}${value === undefined ? '' : ` · ${w.returned(value)}`}`;
  const nonblocking = path.errno === 'EINPROGRESS' ? `<p class="note">${escape(w.nonblocking)}</p>` : '';
  return `<div class="kpath-connection" data-local="${escape(path.local)}" data-remote="${escape(path.remote)}"${value === undefined ? '' : ` data-return="${escape(String(path.returnValue))}"`}>
<h3>${escape(heading)}</h3>${nonblocking}
<div class="kpath-sides">
<div class="kpath-side" data-side="connect"><h4>${escape(w.connectSide)}</h4>${renderSteps(path.connect, startedUs, w)}</div>
<div class="kpath-side" data-side="receive"><h4>${escape(w.receiveSide)}</h4>${renderSteps(path.receive, startedUs, w)}</div>
</div>
</div>`;
}

function renderSteps(steps: readonly CallPathStep[], startedUs: number, w: KernelPathWords): string {
  const items = steps.map((step, i) => {
    const call = step.call;
    const previous = i > 0 ? steps[i - 1] : undefined;
    const time = `+${((call.timeUs - startedUs) / 1e6).toFixed(6)} s`;
    const gap = previous === undefined ? '' : ` <span class="kpath-gap">(${formatGap(call.timeUs - previous.call.timeUs)} ${escape(w.after)})</span>`;
    const label =
      step.kind === 'connect-returned' && call.returnValue !== undefined ? `${w.step[step.kind]}: ${call.returnValue} ${call.errno ?? ''}` : w.step[step.kind];
    const side = stepKindIsClientSide(step.kind) ? 'client' : 'server';
    return `<li class="kpath-step ${side}" data-kind="${step.kind}" data-host="${escape(call.host)}"><span class="kpath-time">${escape(time)}</span>${gap} <b>${escape(call.host)}</b>: ${escape(label)}${renderStack(step, w)}</li>`;
  });
  return `<ol class="kpath-steps">${items.join('')}</ol>`;
}

function renderStack(step: CallPathStep, w: KernelPathWords): string {
  const stack = step.call.stack;
  if (stack === undefined) return '';
  const { path, interrupted } = splitAtSoftirq(stack);
  const frames = (list: readonly string[]): string => list.map((f) => `<code>${escape(f)}</code>`).join(' → ');
  const shown = interrupted.length === 0 ? withSyscallName(path) : path;
  const under =
    interrupted.length === 0
      ? ''
      : `<div class="kpath-under">${escape(w.onTopOf)} ${escape(`${step.call.task}-${step.call.pid}`)}: ${frames(withSyscallName(interrupted))}</div>`;
  return `<div class="kpath-frames" data-frames="${escape(shown.join(' '))}">${frames(shown)}</div>${under}`;
}

/** `entry_SYSCALL_64_after_hwframe → do_syscall_64 → __x64_sys_connect …` → `connect() → __x64_sys_connect …`. */
function withSyscallName(frames: readonly string[]): string[] {
  if (!SYSCALL_ENTRY.has(frames[0] ?? '')) return [...frames];
  const rest = frames.filter((f) => !SYSCALL_ENTRY.has(f));
  const syscall = /^__x64_sys_(\w+)$/.exec(rest[0] ?? '')?.[1];
  return syscall === undefined ? rest : [`${syscall}()`, ...rest];
}

function formatGap(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(3)} ms`;
  return `${(us / 1e6).toFixed(3)} s`;
}

const STYLE = `
#kernel-path .kpath-sides { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
#kernel-path .kpath-side { border: 1px solid #d1d5db; border-radius: 6px; padding: 6px 12px; background: #f9fafb; }
#kernel-path .kpath-steps { padding-left: 22px; margin: 4px 0; }
#kernel-path .kpath-step { margin: 8px 0; font-size: 15px; }
#kernel-path .kpath-step.server b { color: #047857; }
#kernel-path .kpath-step.client b { color: #1d4ed8; }
#kernel-path .kpath-time { font-family: "DejaVu Sans Mono", monospace; color: #111827; }
#kernel-path .kpath-gap { color: #6b7280; font-size: 13px; }
#kernel-path .kpath-frames { margin: 3px 0 0 0; line-height: 1.6; }
#kernel-path .kpath-frames code { font-size: 13px; background: #e0e7ff; border-radius: 3px; padding: 0 3px; }
#kernel-path .kpath-under { font-size: 12px; color: #6b7280; margin-top: 2px; line-height: 1.5; }
#kernel-path .kpath-under code { font-size: 12px; }
`;

/** Whether a step happens on the connecting host (the client) rather than on the server. */
export function stepKindIsClientSide(kind: CallPathStepKind): boolean {
  switch (kind) {
    case 'connect-entered':
    case 'syn-sent':
    case 'connect-returned':
    case 'synack-arrival':
    case 'reset-arrival':
    case 'connect-failed':
      return true;
    case 'request':
    case 'reset-sent':
    case 'child':
    case 'child-established':
    case 'synack-retransmit':
      return false;
    default:
      return assertNever(kind);
  }
}
