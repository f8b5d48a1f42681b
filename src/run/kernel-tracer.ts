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
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { anchorRealtimeClock } from '../agent/realtime-clock.js';
import { addressFilter, clockMarkerText, parseKernelTrace, type KernelEvent } from '../observe/kernel-trace.js';

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
}

/** A run's tracing instance, or the reason there is none. */
export class KernelTracer {
  private removed = false;

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
        write(`events/${event}/filter`, filter);
        write(`events/${event}/enable`, '1');
      }
      for (const event of UNFILTERED_EVENTS) write(`events/${event}/enable`, '1');
      write('tracing_on', '1');
      write('trace_marker', clockMarkerText(anchorRealtimeClock().nowUs()));
      return tracer;
    } catch (err) {
      tracer.remove();
      return new KernelTracer(undefined, addresses, '', `could not set up tracefs instance ${instanceDir}: ${(err as Error).message}`);
    }
  }

  /** The instance's filters, as written (for kernel-trace.json). */
  filters(): Record<string, string> {
    const filter = addressFilter(this.addresses);
    const unfiltered = '(none: picked by address in user space)';
    return Object.fromEntries<string>([...ADDRESS_FILTERED_EVENTS.map((e) => [e, filter] as const), ...UNFILTERED_EVENTS.map((e) => [e, unfiltered] as const)]);
  }

  /**
   * Stops tracing and writes the run's trace: `kernel-trace.txt` (the instance's text, less other
   * runs' lines), `<host>/kernel-events.jsonl` and `kernel-trace.json`. Without an instance, writes
   * only kernel-trace.json saying why state comes from samples.
   */
  collect(runDir: string, hosts: readonly { name: string; address: string; address6?: string | undefined }[]): KernelTraceSummary {
    let summary: KernelTraceSummary;
    if (this.instanceDir === undefined || this.removed) {
      summary = { stateSource: 'sampled', unavailable: this.unavailable ?? 'the tracing instance was already removed' };
    } else {
      try {
        writeFileSync(join(this.instanceDir, 'tracing_on'), '0');
        const text = readFileSync(join(this.instanceDir, 'trace'), 'utf8');
        summary = writeKernelTrace(runDir, hosts, text, this.traceClock, this.instanceDir, this.filters());
      } catch (err) {
        summary = { stateSource: 'sampled', unavailable: `reading the kernel trace failed: ${(err as Error).message}` };
      }
    }
    writeFileSync(join(runDir, 'kernel-trace.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }

  /** Removes the instance (idempotent; missing is fine). */
  remove(): void {
    if (this.instanceDir === undefined || this.removed) return;
    this.removed = true;
    removeInstance(this.instanceDir);
  }
}

/**
 * Writes a run's trace text into its folder: kernel-trace.txt less the lines of no host, and
 * `<host>/kernel-events.jsonl` numbered by the lines of the text as written. Returns the summary.
 */
export function writeKernelTrace(
  runDir: string,
  hosts: readonly { name: string; address: string; address6?: string | undefined }[],
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
  };
}

function removeInstance(instanceDir: string): void {
  try {
    writeFileSync(join(instanceDir, 'tracing_on'), '0');
  } catch {
    // already gone, or half-made: rmdir below decides
  }
  try {
    rmdirSync(instanceDir);
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
export function sweepTracingInstances(isRunAlive: (runId: string) => boolean): string[] {
  const instances = join(TRACEFS, 'instances');
  if (!existsSync(instances)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(instances)) {
    if (!name.startsWith(TRACE_INSTANCE_PREFIX)) continue;
    const runId = name.slice(TRACE_INSTANCE_PREFIX.length);
    if (isRunAlive(runId)) continue;
    removeInstance(join(instances, name));
    removed.push(name);
  }
  return removed;
}
