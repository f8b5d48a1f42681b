/**
 * Validation of one stdin line into an AgentCommand. The agent may import no packages (it runs on
 * the image's bare Node 18), so this is a hand-written check instead of a zod schema. Pure.
 */
import { assertNever } from '../tcp/state.js';
import type { AgentCommand, AgentOp, SocketOptionCall, SocketOptionName } from './protocol.js';

/** The ops the socket worker (sockets.py) carries out; the agent relays them unchanged. */
const SOCKET_OP_LIST = [
  'listen',
  'connect',
  'send',
  'shutdown',
  'close',
  'abort',
  'setsockopt',
  'pause',
  'resume',
  'accept',
  'unlisten',
] as const satisfies readonly AgentOp[];
export const SOCKET_OPS: ReadonlySet<AgentOp> = new Set<AgentOp>(SOCKET_OP_LIST);

/** Every op: the socket ops, and the two the agent answers itself. */
export const AGENT_OPS: readonly AgentOp[] = [...SOCKET_OP_LIST, 'netstat', 'exit'];

/** Every option name the worker knows (protocol.ts SocketOptionName; sockets.py OPTION_LEVELS holds the same). */
export const SOCKET_OPTION_NAMES: readonly SocketOptionName[] = [
  'SO_REUSEADDR',
  'SO_REUSEPORT',
  'SO_KEEPALIVE',
  'TCP_KEEPIDLE',
  'TCP_KEEPINTVL',
  'TCP_KEEPCNT',
  'TCP_USER_TIMEOUT',
  'SO_LINGER',
  'TCP_NODELAY',
  'TCP_DEFER_ACCEPT',
  'SO_RCVBUF',
  'SO_SNDBUF',
  'TCP_MAXSEG',
];

/** Why a list of setsockopt calls is malformed (int32 values, SO_LINGER as {onoff, seconds}), or undefined. */
export function checkOptionCalls(value: unknown, required: boolean): string | undefined {
  if (value === undefined) return required ? 'field "options" is required' : undefined;
  if (!Array.isArray(value)) return `field "options" must be a list of {name, value}, received ${JSON.stringify(value)}`;
  const int32 = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
  for (const [index, call] of (value as unknown[]).entries()) {
    const record = (typeof call === 'object' && call !== null ? call : {}) as Record<string, unknown>;
    const name = record['name'];
    if (typeof name !== 'string' || !(SOCKET_OPTION_NAMES as readonly string[]).includes(name)) {
      return `options[${index}].name must be one of ${SOCKET_OPTION_NAMES.join(', ')}, received ${JSON.stringify(name)}`;
    }
    const v = record['value'];
    if (name === 'SO_LINGER') {
      const linger = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
      if (!int32(linger['onoff']) || !int32(linger['seconds']))
        return `options[${index}] (SO_LINGER) value must be {onoff, seconds} integers, received ${JSON.stringify(v)}`;
    } else if (!int32(v)) {
      return `options[${index}] (${name}) value must be a 32-bit integer, received ${JSON.stringify(v)}`;
    }
  }
  return undefined;
}

export type ParsedCommand =
  | { ok: true; command: AgentCommand }
  /** `id` is set when the line carried a usable numeric id, so the agent can reply to it. */
  | { ok: false; id?: number; message: string };

/** Parses and validates one JSON line; never throws. */
export function parseAgentCommand(line: string): ParsedCommand {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    const id = findIdInBrokenLine(line);
    const message = `agent command: expected one JSON object per line, received ${quote(line)} (${(err as Error).message}); remedy: send e.g. {"id":1,"op":"listen","port":80}`;
    return id === undefined ? { ok: false, message } : { ok: false, id, message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: `agent command: expected a JSON object, received ${quote(line)}; remedy: send e.g. {"id":1,"op":"exit"}` };
  }
  const record = value as Record<string, unknown>;
  const id = record['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    return {
      ok: false,
      message: `agent command: field "id" must be an integer, received ${JSON.stringify(id)} in ${quote(line)}; remedy: number every command`,
    };
  }
  const fail = (message: string): ParsedCommand => ({ ok: false, id, message: `agent command ${id}: ${message}` });
  const op = record['op'];
  if (typeof op !== 'string' || !(AGENT_OPS as readonly string[]).includes(op)) {
    return fail(`field "op" must be one of ${AGENT_OPS.join(', ')}, received ${JSON.stringify(op)}; remedy: use a known op`);
  }
  const checkPort = (field: string, value: unknown, allowZero: boolean): string | undefined =>
    typeof value === 'number' && Number.isInteger(value) && value >= (allowZero ? 0 : 1) && value <= 65535
      ? undefined
      : `field "${field}" must be an integer port ${allowZero ? 0 : 1}..65535, received ${JSON.stringify(value)}`;
  const checkConn = (): string | undefined =>
    typeof record['conn'] === 'string' && record['conn'] !== ''
      ? undefined
      : `field "conn" must be a non-empty string, received ${JSON.stringify(record['conn'])}`;
  const typedOp = op as AgentOp;
  let problem: string | undefined;
  switch (typedOp) {
    case 'listen': {
      problem = checkPort('port', record['port'], true);
      const backlog = record['backlog'];
      if (!problem && backlog !== undefined && !(typeof backlog === 'number' && Number.isInteger(backlog) && backlog >= 0)) {
        problem = `field "backlog" must be a non-negative integer, received ${JSON.stringify(backlog)}`;
      }
      const accept = record['accept'];
      if (!problem && accept !== undefined && typeof accept !== 'boolean') {
        problem = `field "accept" must be true or false, received ${JSON.stringify(accept)}`;
      }
      problem ??= checkOptionCalls(record['options'], false);
      const dualStack = record['dualStack'];
      if (!problem && dualStack !== undefined && typeof dualStack !== 'boolean') {
        problem = `field "dualStack" must be true or false, received ${JSON.stringify(dualStack)}`;
      }
      if (problem) break;
      const command: AgentCommand = { id, op: 'listen', port: record['port'] as number };
      if (backlog !== undefined) command.backlog = backlog as number;
      if (accept !== undefined) command.accept = accept as boolean;
      if (record['options'] !== undefined) command.options = record['options'] as SocketOptionCall[];
      if (dualStack !== undefined) command.dualStack = dualStack as boolean;
      return { ok: true, command };
    }
    case 'connect': {
      problem = checkConn();
      if (!problem && (typeof record['host'] !== 'string' || record['host'] === '')) {
        problem = `field "host" must be a non-empty string, received ${JSON.stringify(record['host'])}`;
      }
      problem ??= checkPort('port', record['port'], false);
      if (!problem && record['localPort'] !== undefined) problem = checkPort('localPort', record['localPort'], true);
      problem ??= checkOptionCalls(record['options'], false);
      if (problem) break;
      const command: AgentCommand = {
        id,
        op: 'connect',
        conn: record['conn'] as string,
        host: record['host'] as string,
        port: record['port'] as number,
      };
      if (record['localPort'] !== undefined) command.localPort = record['localPort'] as number;
      if (record['options'] !== undefined) command.options = record['options'] as SocketOptionCall[];
      return { ok: true, command };
    }
    case 'send': {
      problem = checkConn();
      const bytes = record['bytes'];
      if (!problem && !(typeof bytes === 'number' && Number.isInteger(bytes) && bytes >= 0 && bytes <= MAX_SEND_BYTES)) {
        problem = `field "bytes" must be an integer 0..${MAX_SEND_BYTES}, received ${JSON.stringify(bytes)}`;
      }
      if (problem) break;
      return { ok: true, command: { id, op: 'send', conn: record['conn'] as string, bytes: bytes as number } };
    }
    case 'close': {
      problem = checkConn();
      const onFin = record['onFin'];
      if (!problem && onFin !== undefined && typeof onFin !== 'boolean') {
        problem = `field "onFin" must be true or false, received ${JSON.stringify(onFin)}`;
      }
      if (problem) break;
      const command: AgentCommand = { id, op: 'close', conn: record['conn'] as string };
      if (onFin !== undefined) command.onFin = onFin as boolean;
      return { ok: true, command };
    }
    case 'setsockopt':
      problem = checkConn() ?? checkOptionCalls(record['options'], true);
      if (problem) break;
      return { ok: true, command: { id, op: 'setsockopt', conn: record['conn'] as string, options: record['options'] as SocketOptionCall[] } };
    case 'accept':
    case 'unlisten':
      problem = checkPort('port', record['port'], false);
      if (problem) break;
      return { ok: true, command: { id, op: typedOp, port: record['port'] as number } };
    case 'pause':
    case 'resume':
    case 'shutdown':
    case 'abort':
      problem = checkConn();
      if (problem) break;
      return { ok: true, command: { id, op: typedOp, conn: record['conn'] as string } };
    case 'netstat':
      return { ok: true, command: { id, op: 'netstat' } };
    case 'exit':
      return { ok: true, command: { id, op: 'exit' } };
    default:
      return assertNever(typedOp);
  }
  return fail(`${problem}; remedy: fix the command`);
}

/** Upper bound of one `send` (the bytes are buffered in the agent until the kernel takes them). */
export const MAX_SEND_BYTES = 64 * 1024 * 1024;

function findIdInBrokenLine(line: string): number | undefined {
  const match = /"id"\s*:\s*(\d{1,15})/.exec(line);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function quote(line: string): string {
  return JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line);
}
