/**
 * The in-container agent: one long-running process per lab host, started by the host side as
 * `node /opt/tcplab/agent/agent.js [--sample-interval-ms=N]`. Commands arrive as JSON lines on
 * stdin (AgentCommand), events leave as JSON lines on stdout (AgentEvent); see protocol.ts.
 *
 * Model: two processes. This one is the observer: it announces itself (`ready`, with the namespace's
 * tcp_* sysctls), samples /proc/net/tcp{,6} every few ms and reports state changes (socket-table.ts),
 * answers `netstat`, and names each sampled socket after the connection it belongs to. Every socket
 * system call is made by the socket worker, sockets.py (Python 3 of the image), which this agent starts
 * and to which it relays the socket commands (SOCKET_OPS) unchanged over a pipe; the worker's events
 * (same format, stamped by the worker) are forwarded line by line. Why a worker: Node's net module
 * cannot set TCP_KEEPIDLE, TCP_USER_TIMEOUT, TCP_DEFER_ACCEPT, SO_LINGER {1, n}, TCP_MAXSEG or buffer
 * sizes, sets SO_REUSEADDR on listeners silently, accept()s everything it can, and hides connect(2)'s
 * EINPROGRESS; Python's socket module is a thin layer over the syscalls and reports every errno.
 * - The worker's `connect-returned`, `connected` and `accepted` events give the 4-tuples that let
 *   samples carry `conn` (from the SYN_SENT row on: connect-returned names the bound local port).
 * - `exit` (or stdin EOF) closes the worker's stdin; it closes its sockets and exits, then so does this.
 * - Times are CLOCK_REALTIME microseconds since the epoch (realtime-clock.ts here, time.time_ns() in
 *   the worker), the clock of tcpdump's timestamps. A state sample is stamped the moment /proc/net/tcp
 *   was read, not when its event is written.
 * Runs on Node 18.0+ (Debian bookworm's nodejs): only node:* builtins and files under src/agent/,
 * src/observe/proc-net-tcp.ts and src/tcp/state.ts may be imported.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { renderNetstatTano } from '../observe/netstat-render.js';
import { parseProcNetTcp, type ProcNetTcpRow } from '../observe/proc-net-tcp.js';
import { parseAgentCommand, SOCKET_OPS } from './command.js';
import type { AgentCommand, AgentEvent } from './protocol.js';
import { anchorRealtimeClock } from './realtime-clock.js';
import { diffSocketRows, keyOfTuple, type TrackedSocketRow } from './socket-table.js';

type Untimed<E> = E extends unknown ? Omit<E, 'timeUs'> : never;
type UntimedEvent = Untimed<AgentEvent>;

/** The socket worker, next to this file (the image and the tests' build both put it there). */
const WORKER_PATH = fileURLToPath(new URL('./sockets.py', import.meta.url));

/** keyOfTuple(local, remote) → connection name, kept after close (TIME_WAIT rows outlive sockets). */
const connectionOfTuple = new Map<string, string>();
let exiting = false;
let exitReplyId: number | undefined;
let samplerTimer: NodeJS.Timeout | undefined;
let worker: ChildProcessWithoutNullStreams | undefined;
let workerProblem: string | undefined;
/**
 * Relayed commands whose reply has not come back yet, by id → when relayed (µs). While one is in flight the
 * sampler waits (at most HOLD_SAMPLES_US): a sample taken between the worker's syscall and the forwarding of
 * its event would show a socket before the agent knows its name, stamped after the event that made it.
 */
const inFlight = new Map<number, number>();
const HOLD_SAMPLES_US = 50_000;

const realtimeClock = anchorRealtimeClock();

/** CLOCK_REALTIME microseconds since the epoch, with µs resolution (the capture's clock). */
function nowUs(): number {
  return realtimeClock.nowUs();
}

/** Writes one event as one line (a single write, so lines never interleave), stamped now or at `timeUs`. */
function emit(event: UntimedEvent, timeUs: number = nowUs()): void {
  const { type, ...rest } = event;
  process.stdout.write(`${JSON.stringify({ type, timeUs, ...rest })}\n`);
}

function replyOk(id: number): void {
  emit({ type: 'reply', id, ok: true });
}

function replyError(id: number, code: string, message: string): void {
  emit({ type: 'reply', id, ok: false, code, message });
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------- the socket worker

/** Starts sockets.py; its events are forwarded as they come, its end ends the agent. */
function startWorker(): void {
  const child = spawn('python3', ['-u', WORKER_PATH], { stdio: ['pipe', 'pipe', 'pipe'] });
  worker = child;
  child.on('error', (err) => {
    workerProblem = `socket worker (python3 ${WORKER_PATH}) could not start: ${errorMessage(err)}; remedy: install python3 in the image`;
    emit({ type: 'fatal', message: workerProblem });
  });
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', forwardWorkerLine);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    worker = undefined;
    if (!exiting) {
      workerProblem = `socket worker exited (${signal ?? `code ${code}`}) unasked: ${stderr.trim() || 'no message'}`;
      emit({ type: 'fatal', message: workerProblem });
      return;
    }
    finishExit();
  });
}

/** Forwards one event line of the worker, learning connection 4-tuples from it first. */
function forwardWorkerLine(line: string): void {
  if (line.trim() === '') return;
  let event: AgentEvent;
  try {
    event = JSON.parse(line) as AgentEvent;
  } catch {
    emit({ type: 'fatal', message: `socket worker wrote a line that is not JSON: ${line.slice(0, 200)}` });
    return;
  }
  const answered = event.type === 'reply' && inFlight.delete(event.id);
  if (event.type === 'connect-returned' && event.local !== '') connectionOfTuple.set(keyOfTuple(event.local, event.remote), event.conn);
  if (event.type === 'connected' || event.type === 'accepted') connectionOfTuple.set(keyOfTuple(event.local, event.remote), event.conn);
  process.stdout.write(`${line}\n`);
  if (answered && inFlight.size === 0 && samplerTimer !== undefined) sampleSockets(); // the command's effect, at once
}

function relayToWorker(command: AgentCommand): void {
  if (worker === undefined || workerProblem !== undefined) {
    replyError(command.id, 'ENOWORKER', `command ${command.id} (${command.op}): ${workerProblem ?? 'the socket worker is not running'}`);
    return;
  }
  inFlight.set(command.id, nowUs());
  worker.stdin.write(`${JSON.stringify(command)}\n`);
}

function exitAgent(id: number | undefined): void {
  if (exiting) return;
  exiting = true;
  exitReplyId = id;
  if (samplerTimer) clearInterval(samplerTimer);
  if (worker === undefined) finishExit();
  else worker.stdin.end(); // the worker closes its sockets and exits on EOF; finishExit runs on its exit
}

function finishExit(): void {
  if (exitReplyId !== undefined) replyOk(exitReplyId);
  // An empty write's callback runs after everything queued before it has been flushed.
  process.stdout.write('', () => process.exit(0));
}

function runCommand(command: AgentCommand): void {
  if (exiting) {
    replyError(command.id, 'ESHUTDOWN', `command ${command.id} (${command.op}) arrived while the agent is exiting; remedy: none, start a new agent`);
    return;
  }
  if (command.op === 'netstat') return snapshotNetstat(command.id);
  if (command.op === 'exit') return exitAgent(command.id);
  if (SOCKET_OPS.has(command.op)) return relayToWorker(command);
  replyError(command.id, 'EBADCMD', `command ${command.id}: op ${command.op} has no handler; remedy: report this agent bug`);
}

/** `netstat -tano`'s text, rendered from /proc/net/tcp{,6} (what netstat reads) in well under a millisecond. */
function snapshotNetstat(id: number): void {
  try {
    const rows = [...readProcTable('/proc/net/tcp', 4).rows, ...readProcTable('/proc/net/tcp6', 6).rows];
    emit({ type: 'netstat', id, text: renderNetstatTano(rows) });
    replyOk(id);
  } catch (err) {
    replyError(id, errorCode(err), `reading /proc/net/tcp for the netstat snapshot failed: ${errorMessage(err)}`);
  }
}

/** The namespace's net.ipv4.tcp_* settings, read once at start (a `sysctl -a` exec cost 0.3–0.6 s). */
function readTcpSettings(): Record<string, string> {
  const dir = '/proc/sys/net/ipv4';
  const settings: Record<string, string> = {};
  for (const name of readdirSync(dir)
    .filter((n) => n.startsWith('tcp_'))
    .sort()) {
    try {
      settings[`net.ipv4.${name}`] = readFileSync(`${dir}/${name}`, 'utf8').trim().replace(/\s+/g, ' ');
    } catch {
      // Write-only or unreadable entries (none among tcp_* on 6.18) are left out, as sysctl -a does.
    }
  }
  return settings;
}

function handleLine(line: string): void {
  if (line.trim() === '') return;
  const parsed = parseAgentCommand(line);
  if (!parsed.ok) {
    if (parsed.id !== undefined) replyError(parsed.id, 'EBADCMD', parsed.message);
    else emit({ type: 'fatal', message: parsed.message });
    return;
  }
  try {
    runCommand(parsed.command);
  } catch (err) {
    replyError(parsed.command.id, errorCode(err), `command ${parsed.command.id} (${parsed.command.op}) failed: ${errorMessage(err)}`);
  }
}

// ---------------------------------------------------------------- sampler

/** The last reads of /proc/net/tcp and /proc/net/tcp6, each diffed on its own. */
const socketTables = { 4: new Map<string, TrackedSocketRow>(), 6: new Map<string, TrackedSocketRow>() };
let lastSamplerProblem: string | undefined;

/** Reads a table; its rows describe a moment between `readFromUs` and `readAtUs` (real time just before and after the read). */
function readProcTable(path: string, family: 4 | 6): { rows: ProcNetTcpRow[]; readFromUs: number; readAtUs: number } {
  let text: string;
  const readFromUs = nowUs();
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (family === 6 && errorCode(err) === 'ENOENT') return { rows: [], readFromUs, readAtUs: nowUs() }; // IPv6 disabled in this namespace
    throw err;
  }
  const readAtUs = nowUs();
  return { rows: parseProcNetTcp(text, family), readFromUs, readAtUs };
}

function sampleSockets(): void {
  const oldest = Math.min(...inFlight.values());
  if (inFlight.size > 0 && nowUs() - oldest < HOLD_SAMPLES_US) return;
  try {
    // Each table's rows are stamped with its own read: on a loaded run the IPv6 read came at least 5.6 ms after
    // the IPv4 one, and an IPv6 row stamped with the IPv4 read's time predated the retransmission it counted.
    const reads = [readProcTable('/proc/net/tcp', 4), readProcTable('/proc/net/tcp6', 6)] as const;
    for (const [index, read] of reads.entries()) {
      const family = index === 0 ? 4 : 6;
      const { events, current } = diffSocketRows(socketTables[family], read.rows, read.readAtUs, (local, remote) =>
        connectionOfTuple.get(keyOfTuple(local, remote)),
      );
      socketTables[family] = current;
      for (const { type, timeUs: sampledAt, ...rest } of events) emit({ type, ...rest, readFromUs: read.readFromUs } as UntimedEvent, sampledAt);
    }
    lastSamplerProblem = undefined;
  } catch (err) {
    const problem = `socket sampler: reading /proc/net/tcp{,6} failed: ${errorMessage(err)}; remedy: check that /proc is mounted in the container`;
    if (problem !== lastSamplerProblem) emit({ type: 'fatal', message: problem });
    lastSamplerProblem = problem;
  }
}

// ---------------------------------------------------------------- start

function parseSampleInterval(argv: readonly string[]): number {
  for (const arg of argv) {
    const match = /^--sample-interval-ms=(\d+)$/.exec(arg);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return 5;
}

/** Starts the agent: stdout guards, ready event, stdin command loop, socket sampler. */
function main(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // The host went away (EPIPE): nobody is listening any more, so leave quietly.
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  });
  process.on('uncaughtException', (err) => {
    emit({ type: 'fatal', message: `agent bug (please report): ${err.stack ?? err.message}` });
  });
  startWorker();
  emit({ type: 'ready', pid: process.pid, node: process.version, tcpSettings: readTcpSettings() });
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', handleLine);
  input.on('close', () => exitAgent(undefined));
  const interval = parseSampleInterval(process.argv.slice(2));
  if (interval > 0) {
    sampleSockets();
    samplerTimer = setInterval(sampleSockets, interval);
  }
}

main();
