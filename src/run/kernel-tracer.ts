/**
 * The run's private tracefs instance (`/sys/kernel/tracing/instances/tcplab-<run id>`): created
 * when the lab's network exists and before any container starts, read when the captures stop,
 * removed on every exit path (the deployed lab's teardown), and swept by `tcplab clean` when a
 * killed run left it behind.
 *
 * Read from the host, not from an observer container: tracepoints are global to the kernel, and
 * tcplab runs as root beside the engine on this project's machines, so one directory under
 * tracefs is all it takes (no privileged container, no extra image, nothing to start before the
 * first container). When the engine runs another kernel (a remote DOCKER_HOST, or the engine's
 * kernel differs from ours) or tracefs cannot be had, the run falls back to /proc/net/tcp samples
 * and says so (kernel-trace.json, the verdict's notes, `tcplab doctor`).
 *
 * Filtering: every tracepoint with `__u8 saddr[4]`/`daddr[4]` fields gets an event filter keeping
 * the run's own host addresses (trace_events_filter.c compares a 4-byte array as a u32, so an
 * address is written as its little-endian value). tcp_send_reset prints sockaddrs (`__u8 saddr[28]`),
 * which the filter cannot compare (measured: every comparison on them is false), so it is recorded
 * unfiltered and the run's lines are picked in user space before anything is written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { anchorRealtimeClock } from '../agent/realtime-clock.js';
import { addressFilter, clockMarkerText, parseKernelTrace, routeAddressFilter, timerExpiryFilter, type KernelEvent } from '../observe/kernel-trace.js';
import { parseKernelCallPaths } from '../observe/kernel-call-path.js';

export const TRACEFS = '/sys/kernel/tracing';
/** Instances of tcplab runs are named `tcplab-<run id>`; nothing else under instances/ is touched. */
export const TRACE_INSTANCE_PREFIX = 'tcplab-';

/** Tracepoints whose addresses an event filter can compare (`__u8 saddr[4]`, `daddr[4]`). */
const ADDRESS_FILTERED_EVENTS = [
  'sock/inet_sock_set_state',
  'tcp/tcp_retransmit_skb',
  'tcp/tcp_retransmit_synack',
  'tcp/tcp_receive_reset',
  'tcp/tcp_destroy_sock',
  'sock/inet_sk_error_report',
] as const;
/** Recorded unfiltered (sockaddr fields) and picked by address in user space. */
const UNFILTERED_EVENTS = ['tcp/tcp_send_reset'] as const;
/**
 * Events whose kernel stack is recorded (a `stacktrace if <address filter>` trigger): every state change
 * (the connect path from tcp_v4_connect, the SYN-ACK's arrival in tcp_finish_connect, the server's child
 * from tcp_v4_syn_recv_sock), SYN-ACK retransmissions and received resets. The trigger needs its own
 * condition: a trigger without one fires before the event's filter (trace_trigger_soft_disabled()), so
 * it would record the stack of every socket of the machine.
 */
const STACK_EVENTS = ['sock/inet_sock_set_state', 'tcp/tcp_retransmit_synack', 'tcp/tcp_receive_reset'] as const;
/**
 * Output route lookups (iif == LOOPBACK_IFINDEX, TCP) of the run's addresses: the one a listener makes for
 * its SYN-ACK (inet_csk_route_req() from tcp_conn_request()) is the only tracepoint on the path of the
 * server's request sock. Its stacks are capped (`stacktrace:N`): a SYN flood makes one per SYN.
 */
const ROUTE_EVENT = 'fib/fib_table_lookup';
const ROUTE_STACKS = 64;
/** connect(2) of the agents' processes (filtered by common_pid): its return value (−EINPROGRESS, −ECONNREFUSED, 0). */
const CONNECT_SYSCALL_EVENTS = ['syscalls/sys_enter_connect', 'syscalls/sys_exit_connect'] as const;
/** TCP's retransmission timers' expiries (timer_expire_entry: now − baseclk is how late the timer softirq ran). */
const TIMER_EVENT = 'timer/timer_expire_entry';
/** Per CPU; a syn-flood lab writes a few thousand events of ~250 bytes. */
const BUFFER_SIZE_KB = 4096;

const ON_ENGINE_MACHINE = "run tcplab on the engine's machine (as root)";

export type TracefsAvailability = { ok: true; traceClock: 'tai' | 'mono' } | { ok: false; reason: string; fix: string };

/** Whether this process can trace the engine's kernel (mounting tracefs if needed). */
export async function checkTracefs(engineKernel: string | undefined): Promise<TracefsAvailability> {
  const dockerHost = process.env['DOCKER_HOST'];
  if (dockerHost && !dockerHost.startsWith('unix://')) {
    return { ok: false, reason: `the engine is remote (DOCKER_HOST=${dockerHost}): its kernel cannot be traced from here`, fix: ON_ENGINE_MACHINE };
  }
  if (engineKernel !== undefined && engineKernel !== release()) {
    const reason = `the engine runs kernel ${engineKernel || '(unknown)'}, this process ${release()}: not the same kernel`;
    return { ok: false, reason, fix: ON_ENGINE_MACHINE };
  }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: tracefs needs root', fix: 'run tcplab as root' };
  if (!existsSync(join(TRACEFS, 'instances'))) {
    try {
      await promisify(execFile)('mount', ['-t', 'tracefs', 'nodev', TRACEFS]);
    } catch (err) {
      const reason = `tracefs is not mounted and mounting it failed: ${(err as Error).message.split('\n')[0]}`;
      return { ok: false, reason, fix: `mount -t tracefs nodev ${TRACEFS}` };
    }
  }
  for (const event of [...ADDRESS_FILTERED_EVENTS, ...UNFILTERED_EVENTS]) {
    if (!existsSync(join(TRACEFS, 'events', event))) {
      const fix = 'a kernel with CONFIG_TRACEPOINTS and the tcp/sock events (Linux ≥ 5.15)';
      return { ok: false, reason: `the kernel has no tracepoint ${event.replace('/', ':')}`, fix };
    }
  }
  const clocks = readFileSync(join(TRACEFS, 'trace_clock'), 'utf8');
  return { ok: true, traceClock: /\btai\b/.test(clocks) ? 'tai' : 'mono' };
}

/** What this kernel offers for the call paths (tcplab doctor): stack triggers, connect(2) events, route lookups, function graphs. */
export function checkCallPathSupport(tracefs = TRACEFS): { stacks: boolean; connectSyscall: boolean; routeLookup: boolean; functionGraph: boolean } {
  const tracers = existsSync(join(tracefs, 'available_tracers')) ? readFileSync(join(tracefs, 'available_tracers'), 'utf8') : '';
  return {
    stacks: STACK_EVENTS.every((event) => existsSync(join(tracefs, 'events', event, 'trigger'))),
    connectSyscall: CONNECT_SYSCALL_EVENTS.every((event) => existsSync(join(tracefs, 'events', event))),
    routeLookup: existsSync(join(tracefs, 'events', ROUTE_EVENT)),
    functionGraph: /\bfunction_graph\b/.test(tracers),
  };
}

/** What kernel-trace.json records: where state came from, and how the trace was taken. */
export interface KernelTraceSummary {
  stateSource: 'tracepoint' | 'sampled';
  /** Why the run fell back to samples. */
  unavailable?: string;
  instance?: string;
  traceClock?: string;
  clockOffsetUs?: number;
  filters?: Record<string, string>;
  eventsPerHost?: Record<string, number>;
  /** Lines that belonged to no host of the run, by tracepoint (dropped before writing; only unfiltered ones expected). */
  foreignDropped?: Record<string, number>;
  /** Events the ring buffer could not keep (entries-written − entries-in-buffer). */
  lost?: number;
  unparsedLines?: number;
  /** The stacktrace triggers written, by event. */
  triggers?: Record<string, string>;
  /** The tasks of each host's agent process tree whose connect(2) was traced. */
  agentTasks?: Record<string, readonly number[]>;
  /** Why the call paths were not recorded (states were). */
  callPathsUnavailable?: string;
  /** Calls recorded per host in kernel-paths.json, and how many had a stack. */
  callsPerHost?: Record<string, number>;
  stacks?: number;
}

/** A host of the run as the tracer attributes events: name, address, and its agent's pid when known. */
export interface TracedHost {
  readonly name: string;
  readonly address: string;
  readonly address6?: string | undefined;
  readonly agentTasks?: readonly number[];
}

/** One tracefs file the tracer wrote, and the value that puts it back as it was. */
interface TracefsSetting {
  readonly file: string;
  readonly value: string;
  readonly restore: string;
}

/** A run's tracing instance, or the reason there is none. */
export class KernelTracer {
  private removed = false;
  /** Everything written into the instance, in order; restore() undoes it in reverse. */
  private readonly settings: TracefsSetting[] = [];
  /** Why the kernel's call paths are not recorded (the states still are), or undefined when they are. */
  callPathsUnavailable: string | undefined;
  /** The agents' pids by host, whose connect(2) calls are traced. */
  private agentTasks: Record<string, readonly number[]> = {};

  private constructor(
    readonly instanceDir: string | undefined,
    readonly addresses: readonly string[],
    readonly traceClock: string,
    readonly unavailable: string | undefined,
  ) {}

  /** Creates and starts the instance for `runId`, filtered to `addresses`; never throws (falls back to samples). */
  static async start(runId: string, addresses: readonly string[], engineKernel: string | undefined): Promise<KernelTracer> {
    const availability = await checkTracefs(engineKernel);
    if (!availability.ok) return new KernelTracer(undefined, addresses, '', `${availability.reason} (fix: ${availability.fix})`);
    const instanceDir = join(TRACEFS, 'instances', `${TRACE_INSTANCE_PREFIX}${runId}`);
    const tracer = new KernelTracer(instanceDir, addresses, availability.traceClock, undefined);
    try {
      mkdirSync(instanceDir);
      const write = (file: string, value: string): void => writeFileSync(join(instanceDir, file), value);
      write('tracing_on', '0');
      write('trace_clock', availability.traceClock);
      write('buffer_size_kb', String(BUFFER_SIZE_KB));
      write('options/overwrite', '0'); // a full buffer drops new events (counted), never the run's first ones
      const filter = addressFilter(addresses);
      for (const event of ADDRESS_FILTERED_EVENTS) {
        tracer.set(`events/${event}/filter`, filter, '0');
        tracer.set(`events/${event}/enable`, '1', '0');
      }
      for (const event of UNFILTERED_EVENTS) tracer.set(`events/${event}/enable`, '1', '0');
      tracer.recordStacks(filter);
      tracer.traceTimerExpiries();
      write('tracing_on', '1');
      write('trace_marker', clockMarkerText(anchorRealtimeClock().nowUs()));
      return tracer;
    } catch (err) {
      await tracer.remove().catch(() => undefined); // the reason below is the setup's error
      return new KernelTracer(undefined, addresses, '', `could not set up tracefs instance ${instanceDir}: ${(err as Error).message}`);
    }
  }

  /** Writes one tracefs file of the instance, remembering how to put it back. */
  private set(file: string, value: string, restore: string): void {
    writeFileSync(join(this.instanceDir as string, file), value);
    this.settings.push({ file, value, restore });
  }

  /**
   * The expiries of the TCP retransmission timers (machine-wide, a few per second; lines that sent no retransmission
   * of the run are dropped when the trace is written): how late the timer softirq ran. Optional: a kernel without
   * the event or the `.function` filter modifier leaves the retransmissions without it.
   */
  private traceTimerExpiries(): void {
    if (!existsSync(join(TRACEFS, 'events', TIMER_EVENT))) return;
    try {
      this.set(`events/${TIMER_EVENT}/filter`, timerExpiryFilter(), '0');
      this.set(`events/${TIMER_EVENT}/enable`, '1', '0');
    } catch {
      // no .function modifier (before Linux 6.5?): retransmissions go without their timer's lateness
    }
  }

  /** Stack triggers on the call-path events; a kernel that refuses them leaves the run with states only (said in kernel-trace.json). */
  private recordStacks(filter: string): void {
    try {
      for (const event of STACK_EVENTS) this.set(`events/${event}/trigger`, `stacktrace if ${filter}`, '!stacktrace');
      if (existsSync(join(TRACEFS, 'events', ROUTE_EVENT))) {
        const routeFilter = `iif == 1 && proto == 6 && (${routeAddressFilter(this.addresses)})`;
        this.set(`events/${ROUTE_EVENT}/filter`, routeFilter, '0');
        this.set(`events/${ROUTE_EVENT}/trigger`, `stacktrace:${ROUTE_STACKS} if ${routeFilter}`, '!stacktrace:0');
        this.set(`events/${ROUTE_EVENT}/enable`, '1', '0');
      }
    } catch (err) {
      this.callPathsUnavailable = `the kernel refused a stacktrace trigger: ${(err as Error).message}`;
    }
  }

  /**
   * Traces connect(2) of the agents' processes (pids by host, in the engine's pid namespace, which is the
   * kernel's own on this machine), filtered by common_pid; call once the agents run, before the steps.
   * Never throws: a kernel without syscall events records call paths without connect's return value.
   */
  traceConnectCalls(agentTasks: Readonly<Record<string, readonly number[]>>): void {
    const pids = [...new Set(Object.values(agentTasks).flat())];
    if (this.instanceDir === undefined || this.removed || pids.length === 0) return;
    this.agentTasks = { ...agentTasks };
    const filter = pids.map((pid) => `common_pid == ${pid}`).join(' || ');
    try {
      for (const event of CONNECT_SYSCALL_EVENTS) {
        this.set(`events/${event}/filter`, filter, '0');
        this.set(`events/${event}/enable`, '1', '0');
      }
    } catch (err) {
      this.callPathsUnavailable ??= `connect(2) cannot be traced (no syscall events?): ${(err as Error).message}`;
    }
  }

  /** The instance's filters, as written (for kernel-trace.json). */
  filters(): Record<string, string> {
    const unfiltered = '(none: picked by address in user space)';
    return { ...this.written('filter'), ...Object.fromEntries(UNFILTERED_EVENTS.map((e) => [e, unfiltered] as const)) };
  }

  /** The triggers written, by event (for kernel-trace.json). */
  triggers(): Record<string, string> {
    return this.written('trigger');
  }

  private written(control: 'filter' | 'trigger'): Record<string, string> {
    const suffix = `/${control}`;
    return Object.fromEntries(
      this.settings.filter((s) => s.file.endsWith(suffix)).map((s) => [s.file.slice('events/'.length, -suffix.length), s.value] as const),
    );
  }

  /**
   * Stops tracing and writes the run's trace: `kernel-trace.txt` (the instance's text, less other
   * runs' lines), `<host>/kernel-events.jsonl`, `kernel-paths.json` (the stacks of the calls) and
   * `kernel-trace.json`. Without an instance, writes only kernel-trace.json saying why state comes
   * from samples.
   */
  collect(runDir: string, hosts: readonly TracedHost[]): KernelTraceSummary {
    let summary: KernelTraceSummary;
    if (this.instanceDir === undefined || this.removed) {
      summary = { stateSource: 'sampled', unavailable: this.unavailable ?? 'the tracing instance was already removed' };
    } else {
      try {
        writeFileSync(join(this.instanceDir, 'tracing_on'), '0');
        const text = readFileSync(join(this.instanceDir, 'trace'), 'utf8');
        summary = writeKernelTrace(runDir, hosts, text, this.traceClock, this.instanceDir, this.filters());
        summary.triggers = this.triggers();
        summary.agentTasks = this.agentTasks;
        if (this.callPathsUnavailable !== undefined) summary.callPathsUnavailable = this.callPathsUnavailable;
      } catch (err) {
        summary = { stateSource: 'sampled', unavailable: `reading the kernel trace failed: ${(err as Error).message}` };
      }
    }
    writeFileSync(join(runDir, 'kernel-trace.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }

  /**
   * Puts back every file the tracer wrote (triggers removed, filters cleared, events disabled), last
   * written first; returns the files that could not be restored. remove() calls it before rmdir.
   */
  restore(): string[] {
    const failed: string[] = [];
    for (const setting of [...this.settings].reverse()) {
      try {
        writeFileSync(join(this.instanceDir as string, setting.file), setting.restore);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(`${setting.file}: ${(err as Error).message}`);
      }
    }
    this.settings.length = 0;
    return failed;
  }

  /**
   * Removes the instance (idempotent; missing is fine), off the main thread: rmdir takes ≈ 0.34 s here, almost all
   * of it the kernel freeing each stack trigger after an RCU grace period, and the rest of the teardown goes on
   * meanwhile. rmdir drops the instance's events, filters and triggers itself; only when it fails is every file put
   * back (restore()) so that the instance left over at least records nothing, and rmdir tried once more.
   */
  async remove(): Promise<void> {
    if (this.instanceDir === undefined || this.removed) return;
    this.removed = true;
    const dir = this.instanceDir;
    try {
      await removeInstance(dir);
      return;
    } catch {
      // put every file back, then try once more (below)
    }
    const failed = this.restore();
    await removeInstance(dir);
    if (failed.length > 0) throw new Error(`could not restore ${failed.join('; ')} (the instance itself was removed)`);
  }
}

/**
 * Writes a run's trace text into its folder: kernel-trace.txt less the lines of no host, and
 * `<host>/kernel-events.jsonl` numbered by the lines of the text as written. Returns the summary.
 */
export function writeKernelTrace(
  runDir: string,
  hosts: readonly TracedHost[],
  text: string,
  traceClock: string,
  instanceDir: string,
  filters: Record<string, string>,
): KernelTraceSummary {
  // First pass finds the lines of no host (unfiltered tracepoints); the written text leaves them out,
  // and the second pass numbers events by the lines of the text as written.
  const first = parseKernelTrace(text, hosts, traceClock);
  const lines = text.split('\n');
  const foreignDropped: Record<string, number> = {};
  for (const line of first.foreignLines) {
    const tracepoint = /\s(\w+):\s/.exec(lines[line - 1]?.replace(/^.*?\d+\.\d+:/, ' ') ?? '')?.[1] ?? 'unknown';
    foreignDropped[tracepoint] = (foreignDropped[tracepoint] ?? 0) + 1;
  }
  const kept = lines.filter((_line, i) => !first.foreignLines.has(i + 1));
  const keptText = kept.join('\n');
  writeFileSync(join(runDir, 'kernel-trace.txt'), keptText);
  const parsed = parseKernelTrace(keptText, hosts, traceClock);
  const eventsPerHost: Record<string, number> = {};
  for (const host of hosts) {
    const events: readonly KernelEvent[] = parsed.eventsByHost.get(host.name) ?? [];
    eventsPerHost[host.name] = events.length;
    mkdirSync(join(runDir, host.name), { recursive: true });
    writeFileSync(join(runDir, host.name, 'kernel-events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
  const lost = (parsed.entriesWritten ?? 0) - (parsed.entriesInBuffer ?? 0);
  const paths = parseKernelCallPaths(keptText, hosts, parsed);
  writeFileSync(join(runDir, 'kernel-paths.json'), `${JSON.stringify(paths, null, 2)}\n`);
  const callsPerHost = Object.fromEntries(hosts.map((h) => [h.name, paths.calls.filter((c) => c.host === h.name).length] as const));
  return {
    stateSource: 'tracepoint',
    instance: instanceDir,
    traceClock,
    clockOffsetUs: parsed.clock.offsetUs,
    filters,
    eventsPerHost,
    foreignDropped,
    lost: Math.max(0, lost),
    unparsedLines: parsed.unparsed.length,
    callsPerHost,
    stacks: paths.calls.filter((c) => c.stack !== undefined).length,
  };
}

async function removeInstance(instanceDir: string): Promise<void> {
  await writeFile(join(instanceDir, 'tracing_on'), '0').catch(() => {
    // already gone, or half-made: rmdir below decides
  });
  try {
    await rmdir(instanceDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Run ids of the tcplab tracing instances that exist now. */
export function listTracingInstanceRuns(): string[] {
  const instances = join(TRACEFS, 'instances');
  if (!existsSync(instances)) return [];
  return readdirSync(instances)
    .filter((name) => name.startsWith(TRACE_INSTANCE_PREFIX))
    .map((name) => name.slice(TRACE_INSTANCE_PREFIX.length));
}

/**
 * Removes the tracing instances of runs that are no longer alive (a killed run's leftovers), for
 * the reaper and `tcplab clean`. Returns the instances removed; touches only `tcplab-*` instances.
 */
export async function sweepTracingInstances(isRunAlive: (runId: string) => boolean): Promise<string[]> {
  const instances = join(TRACEFS, 'instances');
  if (!existsSync(instances)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(instances)) {
    if (!name.startsWith(TRACE_INSTANCE_PREFIX)) continue;
    const runId = name.slice(TRACE_INSTANCE_PREFIX.length);
    if (isRunAlive(runId)) continue;
    await removeInstance(join(instances, name));
    removed.push(name);
  }
  return removed;
}
