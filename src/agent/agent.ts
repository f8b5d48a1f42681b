/**
 * The in-container socket agent: one long-running process per lab host, started by the host side
 * as `node /opt/tcplab/agent/agent.js [--sample-interval-ms=N]`. Commands arrive as JSON lines on
 * stdin (AgentCommand), events leave as JSON lines on stdout (AgentEvent); see protocol.ts.
 *
 * Model: the agent is a thin, honest wrapper around the kernel's socket calls.
 * - Every command gets exactly one `reply`, sent when the operation has been *started* (connect:
 *   right after connect(2) was issued; its outcome comes later as `connected` or `error`+`closed`).
 *   listen replies after listen(2) succeeded or failed (bind errors such as EADDRINUSE).
 * - Sockets are half-open capable everywhere (`allowHalfOpen`): a peer FIN yields `end` and nothing
 *   else, so a socket stays in CLOSE_WAIT until the lab closes it. The agent always reads what
 *   arrives (so close(2) sends a FIN, not the RST Linux sends for unread data: tcp_close()).
 * - close = close(2) (`destroy()`), or with onFin armed to close(2) in the handler of the peer's FIN;
 *   shutdown = shutdown(SHUT_WR) (`end()`); abort = close(2) with
 *   SO_LINGER {1,0} (`resetAndDestroy()`, a RST), except in SYN_SENT where Linux sends nothing on
 *   close anyway (tcp_close_state()), so abort is a plain close there.
 * - `listen` with accept=false never accept()s: see queued-listener.ts.
 * - A sampler reads /proc/net/tcp{,6} every few ms and reports state changes (socket-table.ts).
 * - Times are CLOCK_REALTIME microseconds since the epoch (realtime-clock.ts: the monotonic clock
 *   anchored to the real-time clock at start), the clock of tcpdump's timestamps. A state sample is
 *   stamped the moment /proc/net/tcp was read, not when its event is written.
 * Runs on Node 18.0+ (Debian bookworm's nodejs): only node:* builtins and files under src/agent/,
 * src/observe/proc-net-tcp.ts and src/tcp/state.ts may be imported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { renderNetstatTano } from '../observe/netstat-render.js';
import { parseProcNetTcp, type ProcNetTcpRow } from '../observe/proc-net-tcp.js';
import { assertNever } from '../tcp/state.js';
import { parseAgentCommand } from './command.js';
import type { AgentCommand, AgentEvent } from './protocol.js';
import { anchorRealtimeClock } from './realtime-clock.js';
import { startQueuedListener, type QueuedListener } from './queued-listener.js';
import { diffSocketRows, formatEndpoint, keyOfTuple, type TrackedSocketRow } from './socket-table.js';

type Untimed<E> = E extends unknown ? Omit<E, 'timeUs'> : never;
type UntimedEvent = Untimed<AgentEvent>;

interface Connection {
  name: string;
  socket: net.Socket;
  /** The remote IP once known (the host itself, or the address its DNS lookup returned). */
  remoteAddress?: string;
  remotePort: number;
  closed: boolean;
  /** The peer's FIN has arrived (the read side ended). */
  ended?: boolean;
  /** close(2) as soon as the peer's FIN arrives (a `close` command with onFin). */
  closeOnFin?: boolean;
}

interface Listener {
  name: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_BACKLOG = 511; // Node's own default for net.Server
const SEND_PATTERN = 'abcdefghijklmnopqrstuvwxyz0123456789\n';

const connections = new Map<string, Connection>();
const listeners = new Map<string, Listener>();
/** keyOfTuple(local, remote) → connection name, kept after close (TIME_WAIT rows outlive sockets). */
const connectionOfTuple = new Map<string, string>();
let acceptedCount = 0;
let exiting = false;
let samplerTimer: NodeJS.Timeout | undefined;

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

// ---------------------------------------------------------------- connections

function registerTuple(connection: Connection): void {
  const { localAddress, localPort, remoteAddress, remotePort } = connection.socket;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return;
  connectionOfTuple.set(keyOfTuple(formatEndpoint(localAddress, localPort), formatEndpoint(remoteAddress, remotePort)), connection.name);
}

/** While connecting (SYN_SENT), learns the socket's local endpoint from the handle so samples can name it. */
function registerConnectingTuple(connection: Connection): void {
  if (!connection.socket.connecting || connection.remoteAddress === undefined) return;
  const handle = (connection.socket as unknown as { _handle?: { getsockname?: (out: Record<string, unknown>) => number } })._handle;
  if (!handle?.getsockname) return;
  const out: Record<string, unknown> = {};
  if (handle.getsockname(out) !== 0 || typeof out['address'] !== 'string' || typeof out['port'] !== 'number' || out['port'] === 0) return;
  connectionOfTuple.set(
    keyOfTuple(formatEndpoint(out['address'], out['port']), formatEndpoint(connection.remoteAddress, connection.remotePort)),
    connection.name,
  );
}

function watchSocket(connection: Connection): void {
  const { socket, name } = connection;
  socket.on('data', (chunk: Buffer) => emit({ type: 'data', conn: name, bytes: chunk.length }));
  socket.on('end', () => {
    connection.ended = true;
    emit({ type: 'end', conn: name });
    // In the same tick as the FIN's arrival: the kernel's delayed ACK (≥ 40 ms, TCP_DELACK_MIN) has
    // not fired yet, so our FIN carries that ACK ([F.], three segments in all: tcp_fin() pingpong mode).
    if (connection.closeOnFin) socket.destroy();
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    const event: UntimedEvent = { type: 'error', conn: name, code: errorCode(err), message: err.message };
    if (typeof err.syscall === 'string') event.syscall = err.syscall;
    emit(event);
  });
  socket.on('close', (hadError: boolean) => {
    connection.closed = true;
    emit({ type: 'closed', conn: name, hadError });
  });
}

function adoptAccepted(socket: net.Socket, listenerPort: number): void {
  acceptedCount += 1;
  const name = `accepted-${acceptedCount}`;
  const connection: Connection = { name, socket, remotePort: socket.remotePort ?? 0, closed: false };
  if (socket.remoteAddress !== undefined) connection.remoteAddress = socket.remoteAddress;
  connections.set(name, connection);
  registerTuple(connection);
  watchSocket(connection);
  emit({
    type: 'accepted',
    conn: name,
    port: listenerPort,
    local: formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0),
    remote: formatEndpoint(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
  });
}

/** Looks up a live-or-closed connection by name; replies with an error and returns undefined if unknown. */
function findConnection(id: number, name: string): Connection | undefined {
  const connection = connections.get(name);
  if (!connection) {
    const known = [...connections.keys(), ...listeners.keys()];
    replyError(
      id,
      'EUNKNOWNCONN',
      `conn "${name}": no such connection (known: ${known.length ? known.join(', ') : 'none'}); remedy: connect it first or use a name from an "accepted" event`,
    );
  }
  return connection;
}

function requireOpen(id: number, connection: Connection, op: string): boolean {
  if (!connection.socket.destroyed) return true;
  replyError(id, 'ENOTCONN', `conn "${connection.name}": ${op} needs an open socket, but it is already closed; remedy: reconnect`);
  return false;
}

// ---------------------------------------------------------------- commands

function listen(command: Extract<AgentCommand, { op: 'listen' }>): void {
  const backlog = command.backlog ?? DEFAULT_BACKLOG;
  // `::` with IPV6_V6ONLY off (Node's default) takes IPv6 and IPv4 peers (the latter as ::ffff:a.b.c.d).
  const host = command.dualStack === true ? '::' : '0.0.0.0';
  const started = (listener: Listener): void => {
    listeners.set(listener.name, listener);
    emit({ type: 'listening', port: listener.port });
    replyOk(command.id);
  };
  const failed = (err: unknown): void =>
    replyError(command.id, errorCode(err), `listen on ${host}:${command.port} (backlog ${backlog}) failed: ${errorMessage(err)}`);

  if (command.accept === false) {
    startQueuedListener(host, command.port, backlog).then(
      (queued: QueuedListener) => started({ name: `listener-${queued.port}`, port: queued.port, close: () => queued.close() }),
      failed,
    );
    return;
  }
  const server = net.createServer({ allowHalfOpen: true });
  let listening = false;
  server.on('error', (err) => {
    if (!listening) failed(err);
    else emit({ type: 'fatal', message: `listener on port ${command.port}: ${errorMessage(err)}` });
  });
  server.on('listening', () => {
    listening = true;
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : command.port;
    server.on('connection', (socket) => adoptAccepted(socket, port));
    started({
      name: `listener-${port}`,
      port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
  });
  server.listen({ port: command.port, host, backlog, exclusive: true });
}

function connect(command: Extract<AgentCommand, { op: 'connect' }>): void {
  const existing = connections.get(command.conn);
  if (existing && !existing.closed) {
    replyError(command.id, 'EEXIST', `conn "${command.conn}" is already in use; remedy: pick another name or close it first`);
    return;
  }
  const options: net.NetConnectOpts = { host: command.host, port: command.port, allowHalfOpen: true };
  if (command.localPort !== undefined) options.localPort = command.localPort;
  const socket = net.connect(options);
  const connection: Connection = { name: command.conn, socket, remotePort: command.port, closed: false };
  if (net.isIP(command.host) !== 0) connection.remoteAddress = command.host;
  connections.set(command.conn, connection);
  socket.on('lookup', (err: Error | null, address: string) => {
    if (!err) connection.remoteAddress = address;
  });
  socket.on('connect', () => {
    registerTuple(connection);
    emit({
      type: 'connected',
      conn: command.conn,
      local: formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0),
      remote: formatEndpoint(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
    });
  });
  watchSocket(connection);
  registerConnectingTuple(connection);
  replyOk(command.id);
}

function send(command: Extract<AgentCommand, { op: 'send' }>): void {
  const connection = findConnection(command.id, command.conn);
  if (!connection || !requireOpen(command.id, connection, 'send')) return;
  if (connection.socket.writableEnded) {
    replyError(command.id, 'EPIPE', `conn "${command.conn}": send after shutdown (our FIN is already queued); remedy: send before shutdown`);
    return;
  }
  if (command.bytes > 0) connection.socket.write(Buffer.alloc(command.bytes, SEND_PATTERN, 'ascii'));
  replyOk(command.id);
}

function shutdown(command: Extract<AgentCommand, { op: 'shutdown' }>): void {
  const connection = findConnection(command.id, command.conn);
  if (!connection || !requireOpen(command.id, connection, 'shutdown')) return;
  connection.socket.end();
  replyOk(command.id);
}

function close(command: Extract<AgentCommand, { op: 'close' }>): void {
  const listener = listeners.get(command.conn);
  if (listener) {
    listeners.delete(command.conn);
    listener.close().then(
      () => replyOk(command.id),
      (err: unknown) => replyError(command.id, errorCode(err), `closing ${listener.name} failed: ${errorMessage(err)}`),
    );
    return;
  }
  const connection = findConnection(command.id, command.conn);
  if (!connection) return;
  if (command.onFin && !connection.ended && !connection.socket.destroyed) {
    connection.closeOnFin = true;
    replyOk(command.id);
    return;
  }
  // close(2) on an already closed socket is a no-op here (the fd is gone), not an error.
  connection.socket.destroy();
  replyOk(command.id);
}

function abort(command: Extract<AgentCommand, { op: 'abort' }>): void {
  const connection = findConnection(command.id, command.conn);
  if (!connection || !requireOpen(command.id, connection, 'abort')) return;
  // resetAndDestroy() on a connecting socket would wait for the connect; Linux sends nothing when
  // a SYN_SENT socket is closed (tcp_close_state), which is what ABORT means there (RFC 9293 §3.10.5).
  if (connection.socket.connecting) connection.socket.destroy();
  else connection.socket.resetAndDestroy();
  replyOk(command.id);
}

function exitAgent(code: number): void {
  if (exiting) return;
  exiting = true;
  if (samplerTimer) clearInterval(samplerTimer);
  for (const connection of connections.values()) connection.socket.destroy();
  const closing = [...listeners.values()].map((listener) => listener.close().catch(() => undefined));
  listeners.clear();
  void Promise.all(closing).then(() => {
    // An empty write's callback runs after everything queued before it has been flushed.
    process.stdout.write('', () => process.exit(code));
  });
}

function runCommand(command: AgentCommand): void {
  if (exiting) {
    replyError(command.id, 'ESHUTDOWN', `command ${command.id} (${command.op}) arrived while the agent is exiting; remedy: none, start a new agent`);
    return;
  }
  switch (command.op) {
    case 'listen':
      return listen(command);
    case 'connect':
      return connect(command);
    case 'send':
      return send(command);
    case 'shutdown':
      return shutdown(command);
    case 'close':
      return close(command);
    case 'abort':
      return abort(command);
    case 'netstat':
      return snapshotNetstat(command.id);
    case 'exit':
      replyOk(command.id);
      return exitAgent(0);
    default:
      return assertNever(command);
  }
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

let socketTable = new Map<string, TrackedSocketRow>();
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
  try {
    for (const connection of connections.values()) registerConnectingTuple(connection);
    const v4 = readProcTable('/proc/net/tcp', 4);
    const v6 = readProcTable('/proc/net/tcp6', 6);
    // Stamped when the IPv4 table was read: the labs' sockets are IPv4, and the v6 read follows within µs.
    const { events, current } = diffSocketRows(socketTable, [...v4.rows, ...v6.rows], v4.readAtUs, (local, remote) =>
      connectionOfTuple.get(keyOfTuple(local, remote)),
    );
    socketTable = current;
    for (const { type, timeUs: sampledAt, ...rest } of events) emit({ type, ...rest, readFromUs: v4.readFromUs } as UntimedEvent, sampledAt);
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
  emit({ type: 'ready', pid: process.pid, node: process.version, tcpSettings: readTcpSettings() });
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', handleLine);
  input.on('close', () => exitAgent(0));
  const interval = parseSampleInterval(process.argv.slice(2));
  if (interval > 0) {
    sampleSockets();
    samplerTimer = setInterval(sampleSockets, interval);
  }
}

main();
