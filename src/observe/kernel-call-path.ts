/**
 * The kernel's own call path of a run: the stacks the tracing instance recorded (stacktrace triggers on
 * the socket tracepoints and on route lookups, kernel-tracer.ts) and the agents' connect(2) enter and
 * exit, parsed from kernel-trace.txt into calls per host. Pure: text in, calls out.
 *
 * Model.
 * - A `stacktrace` trigger writes a `<stack trace>` entry (then ` => frame` lines, innermost first) into
 *   the same per-CPU buffer right after the event that fired it (event_trigger.c stacktrace_trigger() →
 *   __trace_stack()), so a stack belongs to the latest triggering event of its CPU and task.
 * - A stack holds return addresses: a function that tail-calls (tcp_v4_conn_request → tcp_conn_request)
 *   or is inlined (tcp_rcv_synsent_state_process into tcp_rcv_state_process) is not on it. Frames are
 *   shown as the kernel printed them; nothing is added.
 * - A softirq runs on top of whatever the CPU was doing: on veth and loopback the peer's receive path
 *   runs inside the sender's __dev_queue_xmit → __local_bh_enable_ip → do_softirq. The frames above the
 *   softirq entry are the receive path; those below are the task it interrupted (kept apart).
 * - Times are the trace clock's, mapped onto the capture clock like every kernel event (kernel-trace.ts).
 *   There are no function durations: the function_graph tracer is not available on this project's kernel
 *   (not in available_tracers; set_ftrace_filter gives EPERM), so only the time between recorded events
 *   is known.
 */
import { assertNever, type TcpState } from '../tcp/state.js';
import type { KernelEvent, ParsedKernelTrace } from './kernel-trace.js';

export type KernelCallKind = 'connect-enter' | 'connect-exit' | 'state' | 'synack-retransmit' | 'receive-reset' | 'route';

/** The context a call ran in, from the trace line's hardirq/softirq flag. */
export type KernelContext = 'task' | 'softirq' | 'hardirq' | 'nmi';

/** One recorded call, as stored in `kernel-paths.json`. */
export interface KernelCall {
  host: string;
  kind: KernelCallKind;
  tracepoint: string;
  /** CLOCK_REALTIME µs (the capture's clock). */
  timeUs: number;
  /** 1-based line in kernel-trace.txt. */
  line: number;
  /** The task the CPU was running and its pid (the interrupted task for a softirq). */
  task: string;
  pid: number;
  cpu: number;
  context: KernelContext;
  local?: string;
  remote?: string;
  from?: TcpState;
  to?: TcpState;
  /** connect-exit: the syscall's return value (0, or −errno) and the errno's name. */
  returnValue?: number;
  errno?: string;
  /** The kernel stack, outermost first, without the tracing machinery's own frames. */
  stack?: string[];
}

export interface KernelCallPaths {
  /** What the times mean (no durations on this kernel). */
  note: string;
  calls: KernelCall[];
  /** Stack entries no recorded event of the run claimed. */
  orphanStacks: number;
}

export const NO_DURATIONS_NOTE =
  'Times are those of the recorded events (tracepoints and connect(2) enter/exit), on the capture clock. Function durations are not measured: ' +
  'the function_graph tracer is not available on this kernel, so only the time between two recorded events is known.';

/** The names of the errnos connect(2) returns (include/uapi/asm-generic/errno.h). */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  4: 'EINTR',
  11: 'EAGAIN',
  13: 'EACCES',
  22: 'EINVAL',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  101: 'ENETUNREACH',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  106: 'EISCONN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
};

/** The name of a syscall's return value: `0` for success, the errno's name (or `errno N`) for −N. */
export function returnValueName(value: number): string {
  if (value >= 0) return String(value);
  return ERRNO_NAMES[-value] ?? `errno ${-value}`;
}

const HEAD = /^\s*(.+?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(\S+)\s+(\d+)\.(\d+):\s+(.*)$/;
const TRACING_FRAME = /^(trace_event_raw_event_|__traceiter_|perf_trace_|__bpf_trace_|trace_call_bpf)/;
const SOFTIRQ_ENTRY = new Set(['handle_softirqs', '__do_softirq', 'do_softirq', 'do_softirq.part.0', 'run_ksoftirqd']);
const STACK_KINDS: ReadonlySet<KernelCallKind> = new Set(['state', 'synack-retransmit', 'receive-reset', 'route']);

function contextOf(flags: string): KernelContext {
  const c = flags[2] ?? '.';
  if (c === 's') return 'softirq';
  if (c === 'h' || c === 'H') return 'hardirq';
  if (c === 'z' || c === 'Z') return 'nmi';
  return 'task';
}

/** `fib_table_lookup: table 254 oif 0 iif 1 proto 6 198.18.0.3/8888 -> 198.18.0.2/41234 …` → its endpoints. */
function parseRoute(body: string): { src: string; dst: string } | undefined {
  const m = /\bproto 6 (\d+\.\d+\.\d+\.\d+)\/(\d+) -> (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(body);
  return m ? { src: `${m[1]}:${m[2]}`, dst: `${m[3]}:${m[4]}` } : undefined;
}

/**
 * Parses the call-path lines of a run's trace text. `trace` is the same text parsed by
 * parseKernelTrace (its events give each socket event's host, endpoints and capture time, so the
 * attribution rule stays in one place); `hosts` carry each agent's pid for connect(2).
 */
export function parseKernelCallPaths(
  text: string,
  hosts: readonly { name: string; address: string; agentTasks?: readonly number[] }[],
  trace: ParsedKernelTrace,
): KernelCallPaths {
  const eventOfLine = new Map<number, { host: string; event: KernelEvent }>();
  for (const [host, events] of trace.eventsByHost) for (const event of events) eventOfLine.set(event.line, { host, event });
  const hostOfAddress = new Map(hosts.map((h) => [h.address, h.name]));
  const hostOfPid = new Map(hosts.flatMap((h) => (h.agentTasks ?? []).map((pid) => [pid, h.name] as const)));
  const offsetUs = trace.clock.offsetUs;
  const calls: KernelCall[] = [];
  /** Per CPU, the latest event that may carry a stack (undefined host: an event of no host of the run). */
  const stackOwner = new Map<number, { call: KernelCall | undefined; pid: number }>();
  let orphanStacks = 0;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const m = HEAD.exec(raw);
    if (raw.startsWith('#') || !m) continue;
    const [task, pid, cpu, flags] = [m[1] as string, Number(m[2]), Number(m[3]), m[4] as string];
    const traceUs = Number(m[5]) * 1e6 + Number((m[6] as string).padEnd(6, '0').slice(0, 6));
    const body = m[7] as string;
    const base = { tracepoint: '', timeUs: traceUs - offsetUs, line: index + 1, task, pid, cpu, context: contextOf(flags) };
    if (body.startsWith('<stack trace>')) {
      const frames: string[] = [];
      while (/^\s*=> /.test(lines[index + 1] ?? ''))
        frames.push((lines[++index] as string).replace(/^\s*=>\s*/, '').replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, ''));
      const owner = stackOwner.get(cpu);
      stackOwner.delete(cpu);
      if (owner === undefined || owner.pid !== pid) orphanStacks++;
      else if (owner.call !== undefined) owner.call.stack = outermostFirst(frames);
      continue;
    }
    const syscall = /^sys_connect(\(| -> (0x[0-9a-f]+))/.exec(body);
    if (syscall) {
      const host = hostOfPid.get(pid);
      if (host === undefined) continue;
      if (syscall[2] === undefined) {
        calls.push({ ...base, host, kind: 'connect-enter', tracepoint: 'sys_enter_connect' });
      } else {
        const returnValue = Number(BigInt.asIntN(64, BigInt(syscall[2])));
        calls.push({ ...base, host, kind: 'connect-exit', tracepoint: 'sys_exit_connect', returnValue, errno: returnValueName(returnValue) });
      }
      continue;
    }
    if (body.startsWith('fib_table_lookup:')) {
      const route = parseRoute(body);
      const srcAddress = route?.src.slice(0, route.src.lastIndexOf(':'));
      const host = srcAddress === undefined ? undefined : (hostOfAddress.get(srcAddress) ?? (srcAddress === '0.0.0.0' ? hostOfPid.get(pid) : undefined));
      const call: KernelCall | undefined =
        route && host !== undefined ? { ...base, host, kind: 'route', tracepoint: 'fib_table_lookup', local: route.src, remote: route.dst } : undefined;
      if (call) calls.push(call);
      stackOwner.set(cpu, { call, pid });
      continue;
    }
    const owned = eventOfLine.get(index + 1);
    const tracepoint = /^(\w+):/.exec(body)?.[1];
    const kind = owned ? callKindOf(owned.event) : tracepoint !== undefined && STACK_TRACEPOINTS.has(tracepoint) ? 'state' : undefined;
    if (kind === undefined || !STACK_KINDS.has(kind)) continue;
    let call: KernelCall | undefined;
    if (owned) {
      const e = owned.event;
      call = { ...base, timeUs: e.timeUs, host: owned.host, kind, tracepoint: e.tracepoint, local: e.local, remote: e.remote };
      if (e.from !== undefined) call.from = e.from;
      if (e.to !== undefined) call.to = e.to;
      calls.push(call);
    }
    stackOwner.set(cpu, { call, pid });
  }
  calls.sort((a, b) => a.timeUs - b.timeUs || a.line - b.line);
  return { note: NO_DURATIONS_NOTE, calls, orphanStacks };
}

const STACK_TRACEPOINTS: ReadonlySet<string> = new Set(['inet_sock_set_state', 'tcp_retransmit_synack', 'tcp_receive_reset']);

function callKindOf(event: KernelEvent): KernelCallKind | undefined {
  switch (event.kind) {
    case 'state':
      return 'state';
    case 'synack-retransmit':
      return 'synack-retransmit';
    case 'receive-reset':
      return 'receive-reset';
    case 'retransmit':
    case 'send-reset':
    case 'destroy':
    case 'error-report':
      return undefined;
    default:
      return assertNever(event.kind);
  }
}

/** Frames as printed (innermost first) → outermost first, without the tracepoint's own machinery. */
function outermostFirst(frames: readonly string[]): string[] {
  let start = 0;
  while (start < frames.length && TRACING_FRAME.test(frames[start] as string)) start++;
  return frames.slice(start).reverse();
}

/** A stack split at the softirq entry: the frames of the softirq (outermost first) and of the task it interrupted. */
export function splitAtSoftirq(stack: readonly string[]): { path: string[]; interrupted: string[] } {
  // Outermost first: the last softirq entry is the one closest to the event.
  let entry = -1;
  for (const [i, frame] of stack.entries()) if (SOFTIRQ_ENTRY.has(frame)) entry = i;
  return entry < 0 ? { path: [...stack], interrupted: [] } : { path: stack.slice(entry + 1), interrupted: stack.slice(0, entry + 1) };
}

/** What one step of a connection's kernel path is. */
export type CallPathStepKind =
  | 'connect-entered'
  | 'syn-sent'
  | 'connect-returned'
  | 'request'
  | 'reset-sent'
  | 'synack-arrival'
  | 'reset-arrival'
  | 'connect-failed'
  | 'child'
  | 'child-established'
  | 'synack-retransmit';

export interface CallPathStep {
  kind: CallPathStepKind;
  call: KernelCall;
}

/** One active open's kernel path: the client's connect side and the receive side of both hosts. */
export interface ConnectionCallPath {
  client: string;
  /** `ip:port` of the client's socket and of the server's. */
  local: string;
  remote: string;
  server?: string;
  /** connect(2) entered, CLOSED → SYN_SENT in tcp_v4_connect, connect(2) returned. */
  connect: CallPathStep[];
  /** The SYN at the listener (or the RST it makes without one), the SYN-ACK's arrival at the client (or the RST's), the server's child. */
  receive: CallPathStep[];
  /** connect(2)'s return value, when its exit was recorded. */
  returnValue?: number;
  errno?: string;
}

/**
 * The kernel path of every active open in the recorded calls (a CLOSED → SYN_SENT with a stack),
 * in time order. connect(2) is the agent's last entry before SYN_SENT and its next exit; the server's
 * steps are its calls on the same 4-tuple: the route lookup of the SYN-ACK made from tcp_conn_request
 * (the request sock), the child LISTEN → SYN_RECEIVED (tcp_v4_syn_recv_sock) and its ESTABLISHED.
 */
export function connectionCallPaths(paths: KernelCallPaths): ConnectionCallPath[] {
  const result: ConnectionCallPath[] = [];
  for (const synSent of paths.calls) {
    if (synSent.kind !== 'state' || synSent.to !== 'SYN_SENT' || synSent.local === undefined || synSent.remote === undefined) continue;
    const [local, remote, client] = [synSent.local, synSent.remote, synSent.host];
    const path: ConnectionCallPath = { client, local, remote, connect: [], receive: [] };
    const enter = paths.calls.filter((c) => c.host === client && c.kind === 'connect-enter' && c.pid === synSent.pid && c.timeUs <= synSent.timeUs).at(-1);
    const exit = enter && paths.calls.find((c) => c.kind === 'connect-exit' && c.pid === enter.pid && c.timeUs >= enter.timeUs);
    if (enter) path.connect.push({ kind: 'connect-entered', call: enter });
    path.connect.push({ kind: 'syn-sent', call: synSent });
    if (exit) {
      path.connect.push({ kind: 'connect-returned', call: exit });
      if (exit.returnValue !== undefined) path.returnValue = exit.returnValue;
      if (exit.errno !== undefined) path.errno = exit.errno;
    }
    const sameTuple = (c: KernelCall, mine: boolean): boolean => (mine ? c.local === local && c.remote === remote : c.local === remote && c.remote === local);
    const later = paths.calls.filter((c) => c.timeUs >= synSent.timeUs);
    for (const call of later) {
      const step = receiveStepOf(call, sameTuple(call, true) && call.host === client, sameTuple(call, false) && call.host !== client);
      if (step === undefined) continue;
      if (step !== 'synack-arrival' && step !== 'reset-arrival' && step !== 'connect-failed') path.server ??= call.host;
      path.receive.push({ kind: step, call });
    }
    // The client's path ends when its socket leaves SYN_SENT; the server's after its child is ESTABLISHED.
    path.receive = trimReceive(path.receive);
    result.push(path);
  }
  return result;
}

function receiveStepOf(call: KernelCall, client: boolean, server: boolean): CallPathStepKind | undefined {
  if (client && call.kind === 'state' && call.from === 'SYN_SENT') return call.to === 'ESTABLISHED' ? 'synack-arrival' : 'connect-failed';
  if (client && call.kind === 'receive-reset') return 'reset-arrival';
  if (server && call.kind === 'route' && call.stack?.includes('tcp_conn_request')) return 'request';
  if (server && call.kind === 'route' && call.stack?.includes('tcp_v4_send_reset')) return 'reset-sent';
  if (server && call.kind === 'synack-retransmit') return 'synack-retransmit';
  if (server && call.kind === 'state' && call.to === 'SYN_RECEIVED') return 'child';
  if (server && call.kind === 'state' && call.from === 'SYN_RECEIVED' && call.to === 'ESTABLISHED') return 'child-established';
  return undefined;
}

function trimReceive(steps: CallPathStep[]): CallPathStep[] {
  const kept: CallPathStep[] = [];
  let clientDone = false;
  let serverDone = false;
  for (const step of steps) {
    const clientStep = step.kind === 'synack-arrival' || step.kind === 'reset-arrival' || step.kind === 'connect-failed';
    if (clientStep ? clientDone : serverDone) continue;
    kept.push(step);
    if (step.kind === 'synack-arrival' || step.kind === 'connect-failed') clientDone = true;
    if (step.kind === 'child-established') serverDone = true;
  }
  return kept;
}
