import { z } from 'zod';
import { TCP_STATES, parseTcpState, type TcpState } from '../tcp/state.js';
import { DURATION_PATTERN, describeValue, parseDuration } from './duration.js';
import {
  MAX_BACKLOG,
  MAX_DURATION_MS,
  MAX_EXPECTATIONS,
  MAX_EXPECTED_COUNT,
  MAX_HOSTS,
  MAX_INJECT_BYTES,
  MAX_NAME_CHARS,
  MAX_RULE_CHARS,
  MAX_SEND_BYTES,
  MAX_STEPS,
  MAX_SYSCTL_VALUE_CHARS,
  MAX_SYSCTLS_PER_HOST,
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
} from './lab-limits.js';
import { ERRNO_NAMES, isErrnoName, type ErrnoName } from './errno-names.js';
import { didYouMean } from './lab-error.js';
import { CONNECT_RETURN_ERRNOS, type AgentEventKind, type ConnectOutcome, type Expectation, type SocketErrorCode, type Step } from './model.js';
import { connectionOptionsSchema, listenOptionsSchema, toSocketOptions } from './socket-options.js';
import { quote } from './quote-token.js';

/**
 * The registry of step kinds and expectation kinds. Each entry is the YAML key of an item
 * (`- listen: {...}`), the zod schema of its value, and a mapper to the model. Adding a kind is one
 * entry here plus its case in check-lab-references.ts (an exhaustive switch over the model's kinds).
 */
export interface ItemKind<Model> {
  /** The key written in the lab file, e.g. `listen`, `wait`. */
  readonly key: string;
  readonly schema: z.ZodType;
  /** Maps the validated value (the schema's output) to the model. */
  readonly toModel: (value: unknown) => Model;
}

function defineKind<S extends z.ZodType, Model>(key: string, schema: S, toModel: (value: z.output<S>) => Model): ItemKind<Model> {
  return { key, schema, toModel: (value) => toModel(value as z.output<S>) };
}

// ---- field schemas (messages are produced by lab-issues.ts from the issue codes, or here for custom checks)

const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
export const HOST_NAME_PATTERN = NAME_PATTERN;
export const LAB_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** Host names that would read as something else in a lab file or on the command line. */
export const RESERVED_HOST_NAMES = ['all', 'any', 'none', 'self', 'host', 'hosts', 'lab', 'localhost', 'default', 'timeout'] as const;

export const hostRef = z.string().min(1).max(MAX_NAME_CHARS).describe('name of a host declared under `hosts`');
/** `family: 4` or `family: 6` (connect picks the peer's address of that family; a rule goes through iptables or ip6tables). */
const ipFamily = z.union([z.literal(4), z.literal(6)]).describe('IP version: 4 (default) or 6');
export const port = z.number().int().min(1).max(65535).describe('TCP port 1-65535');
export const connName = z
  .string()
  .max(MAX_NAME_CHARS)
  .describe('connection name (a connect step’s `as`, or accepted-N)')
  .superRefine((value, ctx) => {
    if (!/^[a-z][a-z0-9-]*$/.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid connection name ${quote(value)}; use lower-case letters, digits and -, starting with a letter (e.g. c, conn-2)`,
      });
    }
  });

/** A duration: `500ms`, `2s`, `1.5s`, `2m`, or a number of seconds. */
export const duration = z
  .union([
    // the metadata states the limits in the JSON Schema; the checks (with their messages) are parseDuration's
    z.string().meta({ pattern: DURATION_PATTERN.source }),
    z.number().meta({ exclusiveMinimum: 0, maximum: MAX_DURATION_MS / 1000 }),
  ])
  .describe(`duration: 500ms, 2s, 1.5s, 2m, or a number of seconds; more than 0 and at most ${MAX_DURATION_MS / 60_000}m`)
  .superRefine((value, ctx) => {
    const parsed = parseDuration(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

/** Milliseconds of a duration that the schema already accepted. */
export function durationMs(value: string | number): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(`durationMs: unvalidated duration ${String(value)}`);
  return parsed.ms;
}

/** A TCP state in any vocabulary (SYN_RCVD, SYN_RECV, SYN-RECEIVED, FIN_WAIT1 …), normalised by parseTcpState. */
export const tcpState = z
  .string()
  .describe(`TCP state: ${TCP_STATES.join(', ')} (netstat, ss and RFC spellings accepted)`)
  .superRefine((value, ctx) => {
    if (parseTcpState(value) === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown TCP state ${quote(value)}; valid states: ${TCP_STATES.join(', ')} (netstat/ss/RFC spellings such as SYN_RECV, SYN-RECEIVED, FIN_WAIT1 are accepted too)`,
      });
    }
  });

function toState(value: string): TcpState {
  const state = parseTcpState(value);
  if (state === undefined) throw new Error(`toState: unvalidated state ${value}`);
  return state;
}

const FLAG_ORDER = 'FSRP.UEW';
/** tcpdump flag letters in tcpdump's order (print-tcp.c): `S`, `S.`, `F.`, `R.`, `FP.`, or `none`. */
export const tcpFlags = z
  .string()
  .describe(
    'tcpdump flag letters in the order F S R P . U E W, e.g. S, S., F., R., FP. (exactly these); a trailing * means "at least these": R* is any segment with RST set',
  )
  .superRefine((value, ctx) => {
    const problem = checkFlags(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Why a tcpdump flag string is invalid, or undefined when it is valid. */
export function checkFlags(value: string): string | undefined {
  if (value === 'none') return undefined;
  if (value === '') return 'expected tcpdump flag letters (e.g. S, S., F., R.), received an empty string';
  if (value === '*' || value === 'none*')
    return `${quote(value)} would match every segment; name the flags that must be set before the *, e.g. "R*" for any segment with RST set`;
  const letters = value.endsWith('*') ? value.slice(0, -1) : value;
  let last = -1;
  for (const letter of letters) {
    const index = FLAG_ORDER.indexOf(letter);
    if (index < 0) {
      const star = letter === '*' ? ', and * only at the end ("R*": RST set)' : '';
      return `invalid flag letter ${quote(letter)} in ${quote(value)}; use tcpdump letters F S R P . U E W (e.g. "S." for SYN-ACK)${star}`;
    }
    if (index <= last) {
      const fixed = [...new Set(letters)].sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join('') + (letters === value ? '' : '*');
      return `flags ${quote(value)} are not in tcpdump order F S R P . U E W; write ${quote(fixed)}`;
    }
    last = index;
  }
  return undefined;
}

const AGENT_EVENTS = ['listening', 'accepted', 'connected', 'connect-returned', 'error', 'end', 'closed', 'data'] as const satisfies readonly AgentEventKind[];
/** The usual outcomes of a connect() (choices of a generated exercise question; `outcome` takes any errno). */
export const CONNECT_OUTCOMES = ['connected', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH'] as const satisfies readonly ConnectOutcome[];

/** The usual errors an application sees on a socket, or none (choices of a generated exercise question; `error` takes any errno). */
export const SOCKET_ERRORS = ['none', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'] as const satisfies readonly SocketErrorCode[];
/** `connected`/`none` or an errno name the kernel can return (errno-names.ts), e.g. ECONNREFUSED, EADDRNOTAVAIL, EPIPE. */
function errnoOr<W extends string>(word: W): z.ZodType<W | ErrnoName> {
  return z
    .string()
    .describe(`${word}, or an errno name the kernel can return (ECONNREFUSED, ETIMEDOUT, EADDRINUSE, EADDRNOTAVAIL, EPIPE, ENETUNREACH, …)`)
    .superRefine((value, ctx) => {
      if (value === word || isErrnoName(value)) return;
      const upper = value.toUpperCase();
      const hint =
        upper !== value && (upper === word.toUpperCase() || isErrnoName(upper))
          ? `; write ${quote(upper === word.toUpperCase() ? word : upper)}`
          : didYouMean(value, [word, ...ERRNO_NAMES]);
      ctx.addIssue({
        code: 'custom',
        message: `unknown errno ${quote(value)}; use ${word} or an errno name of include/uapi/asm-generic/errno*.h such as ECONNREFUSED, ETIMEDOUT, EADDRNOTAVAIL${hint}`,
      });
    }) as unknown as z.ZodType<W | ErrnoName>;
}
const connectOutcome = errnoOr('connected');
const socketError = errnoOr('none');

const DEFAULT_WAIT_MS = 30_000;

// ---- step kinds

const hostOnly = z.strictObject({ host: hostRef, conn: connName.optional() });

const waitSchema = z
  .strictObject({
    host: hostRef,
    state: tcpState.optional(),
    event: z.enum(AGENT_EVENTS).optional(),
    gone: z.literal(true).optional(),
    conn: connName.optional(),
    port: port.optional(),
    timeout: duration.optional(),
  })
  .superRefine((value, ctx) => {
    const given = (['state', 'event', 'gone'] as const).filter((key) => value[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? 'a wait needs one of state, event or gone: true; e.g. `wait: { host: client, state: ESTABLISHED }`'
            : `a wait takes exactly one of state, event or gone, received ${given.join(' and ')}; split it into ${given.length} wait steps`,
      });
    }
    if (value.event !== undefined && value.port !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'a wait for an agent event takes no port (events belong to a connection); remove port or use conn',
      });
    }
  });

type WaitValue = z.output<typeof waitSchema>;

function toWaitStep(value: WaitValue): Step {
  const timeoutMs = value.timeout === undefined ? DEFAULT_WAIT_MS : durationMs(value.timeout);
  const common = { host: value.host, ...(value.conn !== undefined && { conn: value.conn }), timeoutMs };
  if (value.state !== undefined) {
    return { kind: 'wait-state', ...common, state: toState(value.state), ...(value.port !== undefined && { port: value.port }) };
  }
  if (value.event !== undefined) return { kind: 'wait-event', ...common, event: value.event };
  return { kind: 'wait-gone', ...common, ...(value.port !== undefined && { port: value.port }) };
}

/** An unsigned 32-bit sequence or acknowledgment number. */
const seqNumber = z.number().int().min(0).max(0xffff_ffff);
/** Linux's initial window of a SYN on a 1500-byte link (65535 rounded down to a multiple of the 1460-byte MSS). */
const DEFAULT_INJECT_WINDOW = 64_240;

const injectSchema = z
  .strictObject({
    host: hostRef.describe('the lab host the segment leaves from (its own address: nothing is spoofed)'),
    to: hostRef.describe('the lab host it is sent to: a host name declared under hosts, never an address'),
    port,
    from_port: port.describe("the segment's source port"),
    flags: tcpFlags.describe('tcpdump flag letters of the segment (F S R P . U E W, e.g. S, S., R, F.), or none'),
    seq: seqNumber.optional().describe('sequence number (default 0)'),
    ack: seqNumber.optional().describe('acknowledgment number (default 0)'),
    window: z.number().int().min(0).max(65535).optional().describe(`window (default ${DEFAULT_INJECT_WINDOW})`),
    bytes: z.number().int().min(0).max(MAX_INJECT_BYTES).optional().describe('payload length in bytes (default 0)'),
  })
  .describe('one crafted TCP segment to a lab host (hping3 in the sending host; never outside the lab network)')
  .superRefine((value, ctx) => {
    if (value.flags.endsWith('*')) {
      ctx.addIssue({ code: 'custom', path: ['flags'], message: `an injected segment has exact flags, received ${quote(value.flags)}; remove the *` });
    }
  });

/** Step kinds by their YAML key. `rule` names are filled in afterwards (`rule<N>`), see load-lab.ts. */
export const STEP_KINDS: ReadonlyMap<string, ItemKind<Step>> = new Map(
  [
    defineKind(
      'listen',
      z.strictObject({
        host: hostRef,
        port,
        backlog: z.number().int().min(0).max(MAX_BACKLOG).optional(),
        accept: z.boolean().optional().describe('false: never accept(2) on its own; connections stay queued until an accept step'),
        options: listenOptionsSchema.optional(),
      }),
      (v): Step => ({
        kind: 'listen',
        host: v.host,
        port: v.port,
        ...(v.backlog !== undefined && { backlog: v.backlog }),
        accept: v.accept ?? true,
        ...(v.options !== undefined && { options: toSocketOptions(v.options) }),
      }),
    ),
    defineKind(
      'connect',
      z.strictObject({
        host: hostRef,
        to: hostRef,
        port,
        as: connName.optional(),
        local_port: port.optional(),
        nonblocking: z.boolean().optional().describe('true: report what connect(2) itself returned (EINPROGRESS) as a connect-returned event'),
        options: connectionOptionsSchema.optional(),
        family: ipFamily.optional(),
      }),
      (v): Step => ({
        kind: 'connect',
        host: v.host,
        to: v.to,
        port: v.port,
        ...(v.local_port !== undefined && { localPort: v.local_port }),
        conn: v.as ?? 'conn',
        ...(v.options !== undefined && { options: toSocketOptions(v.options) }),
        ...(v.nonblocking === true && { nonblocking: true }),
        ...(v.family !== undefined && { family: v.family }),
      }),
    ),
    defineKind(
      'setsockopt',
      z.strictObject({ host: hostRef, conn: connName.optional(), options: connectionOptionsSchema }).describe('setsockopt(2) on an existing connection'),
      (v): Step => ({ kind: 'setsockopt', host: v.host, ...(v.conn !== undefined && { conn: v.conn }), options: toSocketOptions(v.options) }),
    ),
    defineKind('pause', hostOnly.describe('stop reading the connection (its receive queue fills, the window shrinks to 0)'), (v): Step => ({
      kind: 'pause',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
    })),
    defineKind('resume', hostOnly.describe('read the connection again'), (v): Step => ({
      kind: 'resume',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
    })),
    defineKind(
      'accept',
      z.strictObject({ host: hostRef, port }).describe('accept(2) one queued connection of a listener made with accept: false (named accepted-N)'),
      (v): Step => ({ kind: 'accept', host: v.host, port: v.port }),
    ),
    defineKind('unlisten', z.strictObject({ host: hostRef, port }).describe('close(2) the listening socket on that port'), (v): Step => ({
      kind: 'unlisten',
      host: v.host,
      port: v.port,
    })),
    defineKind('send', z.strictObject({ host: hostRef, conn: connName.optional(), bytes: z.number().int().min(1).max(MAX_SEND_BYTES) }), (v): Step => ({
      kind: 'send',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
      bytes: v.bytes,
    })),
    defineKind('shutdown', hostOnly, (v): Step => ({ kind: 'shutdown', host: v.host, ...(v.conn !== undefined && { conn: v.conn }) })),
    defineKind(
      'close',
      z.strictObject({
        host: hostRef,
        conn: connName.optional(),
        on_fin: z.boolean().optional().describe("true: close the moment the peer's FIN arrives (FIN and ACK then leave in one segment)"),
      }),
      (v): Step => ({ kind: v.on_fin === true ? 'close-on-fin' : 'close', host: v.host, ...(v.conn !== undefined && { conn: v.conn }) }),
    ),
    defineKind('abort', hostOnly, (v): Step => ({ kind: 'abort', host: v.host, ...(v.conn !== undefined && { conn: v.conn }) })),
    defineKind(
      'rule',
      z.strictObject({
        host: hostRef,
        name: z.string().max(MAX_NAME_CHARS).regex(NAME_PATTERN).optional(),
        add: z.string().min(1).max(MAX_RULE_CHARS).describe('iptables arguments, e.g. -I INPUT -p tcp --dport 8888 -j DROP'),
        family: ipFamily.optional(),
      }),
      (v): Step => ({ kind: 'rule', host: v.host, name: v.name ?? '', text: v.add, ...(v.family !== undefined && { family: v.family }) }),
    ),
    defineKind('unrule', z.strictObject({ host: hostRef, name: z.string().min(1).max(MAX_NAME_CHARS) }), (v): Step => ({
      kind: 'unrule',
      host: v.host,
      name: v.name,
    })),
    defineKind('wait', waitSchema, toWaitStep),
    defineKind('sleep', duration, (v): Step => ({ kind: 'sleep', durationMs: durationMs(v) })),
    defineKind('hold', z.strictObject({ host: hostRef }).describe('queue everything the host sends until a release step (nothing is lost)'), (v): Step => ({
      kind: 'hold',
      host: v.host,
    })),
    defineKind('release', z.strictObject({ host: hostRef }).describe('send what hold queued, oldest first'), (v): Step => ({ kind: 'release', host: v.host })),
    defineKind(
      'flood',
      z
        .strictObject({
          host: hostRef,
          to: hostRef,
          port,
          sources: z.number().int().min(1).max(200).describe('how many forged sources (unused addresses of the lab /24)'),
          count_per_source: z.number().int().min(1).max(100).optional().describe('SYNs from each source (default 1)'),
        })
        .describe('SYN flood from forged, unused addresses of the lab subnet only'),
      (v): Step => ({ kind: 'flood', host: v.host, to: v.to, port: v.port, sources: v.sources, countPerSource: v.count_per_source ?? 1 }),
    ),
    defineKind('inject', injectSchema, (v): Step => ({
      kind: 'inject',
      host: v.host,
      to: v.to,
      port: v.port,
      fromPort: v.from_port,
      flags: v.flags,
      seq: v.seq ?? 0,
      ack: v.ack ?? 0,
      window: v.window ?? DEFAULT_INJECT_WINDOW,
      bytes: v.bytes ?? 0,
    })),
  ].map((kind) => [kind.key, kind] as const),
);

// ---- expectation kinds

const expectedCount = z.number().int().min(0).max(MAX_EXPECTED_COUNT);

const packetsSchema = z
  .strictObject({
    from: hostRef,
    to: hostRef,
    flags: tcpFlags,
    count: expectedCount.optional(),
    min: expectedCount.optional(),
    max: expectedCount.optional(),
    same_seq: z.boolean().optional(),
    port: port.optional().describe('only segments with this port at either end'),
  })
  .superRefine((value, ctx) => {
    if (value.count === undefined && value.min === undefined && value.max === undefined) {
      ctx.addIssue({ code: 'custom', message: 'packets needs count, min or max; e.g. `min: 1` for "at least one such segment"' });
    }
    if (value.count !== undefined && (value.min !== undefined || value.max !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: 'count is exact and cannot be combined with min or max; keep either count or min/max' });
    }
    if (value.min !== undefined && value.max !== undefined && value.min > value.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${value.max}) is below min (${value.min}); swap them or fix one` });
    }
  });

/** Exact count (`count` / `bytes`) or bounds, the rule every counted expectation follows. */
function checkCountBounds(value: { min?: number; max?: number }, exact: number | undefined, exactKey: string, kind: string, ctx: z.RefinementCtx): void {
  if (exact === undefined && value.min === undefined && value.max === undefined) {
    ctx.addIssue({ code: 'custom', message: `${kind} needs ${exactKey}, min or max; e.g. \`min: 1\`` });
  }
  if (exact !== undefined && (value.min !== undefined || value.max !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [exactKey],
      message: `${exactKey} is exact and cannot be combined with min or max; keep either ${exactKey} or min/max`,
    });
  }
  if (value.min !== undefined && value.max !== undefined && value.min > value.max) {
    ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${value.max}) is below min (${value.min}); swap them or fix one` });
  }
}

const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
function byteCountSchema(what: string) {
  return z
    .strictObject({ host: hostRef, conn: connName, bytes: byteCount.optional(), min: byteCount.optional(), max: byteCount.optional() })
    .describe(`bytes the application ${what} on a connection: exactly (bytes) or min/max`)
    .superRefine((value, ctx) => checkCountBounds(value, value.bytes, 'bytes', 'a byte count', ctx));
}
function toByteCount(v: { host: string; conn: string; bytes?: number | undefined; min?: number | undefined; max?: number | undefined }) {
  return {
    host: v.host,
    conn: v.conn,
    ...(v.bytes !== undefined && { bytes: v.bytes }),
    ...(v.min !== undefined && { min: v.min }),
    ...(v.max !== undefined && { max: v.max }),
  };
}

const icmpSchema = z
  .strictObject({
    from: hostRef,
    to: hostRef,
    type: z.number().int().min(0).max(255).describe('ICMP type, numeric (3: destination unreachable)'),
    code: z.number().int().min(0).max(255).optional().describe('ICMP code, numeric (1: host unreachable); any code when absent'),
    count: expectedCount.optional(),
    min: expectedCount.optional(),
    max: expectedCount.optional(),
  })
  .describe('ICMP messages from → to in the sender capture')
  .superRefine((value, ctx) => checkCountBounds(value, value.count, 'count', 'icmp', ctx));

/** Expectation kinds by their YAML key. */
export const EXPECTATION_KINDS: ReadonlyMap<string, ItemKind<Expectation>> = new Map(
  [
    defineKind(
      'states',
      z.strictObject({ host: hostRef, path: z.array(tcpState).min(1), port: port.optional(), conn: connName.optional() }),
      (v): Expectation => ({
        kind: 'states',
        host: v.host,
        path: v.path.map(toState),
        ...(v.port !== undefined && { port: v.port }),
        ...(v.conn !== undefined && { conn: v.conn }),
      }),
    ),
    defineKind(
      'never',
      z.strictObject({ host: hostRef, states: z.array(tcpState).min(1), port: port.optional(), conn: connName.optional() }),
      (v): Expectation => ({
        kind: 'never',
        host: v.host,
        states: v.states.map(toState),
        ...(v.port !== undefined && { port: v.port }),
        ...(v.conn !== undefined && { conn: v.conn }),
      }),
    ),
    defineKind('outcome', z.strictObject({ host: hostRef, conn: connName, is: connectOutcome }), (v): Expectation => ({
      kind: 'outcome',
      host: v.host,
      conn: v.conn,
      is: v.is,
    })),
    defineKind(
      'returned',
      z
        .strictObject({ host: hostRef, conn: connName, is: z.enum(['ok', ...CONNECT_RETURN_ERRNOS]) })
        .describe('what a nonblocking connect(2) itself returned: ok (0) or an errno name such as EINPROGRESS'),
      (v): Expectation => ({ kind: 'connect-returned', host: v.host, conn: v.conn, is: v.is }),
    ),
    defineKind('packets', packetsSchema, (v): Expectation => ({
      kind: 'packets',
      from: v.from,
      to: v.to,
      flags: v.flags,
      ...(v.count !== undefined && { count: v.count }),
      ...(v.min !== undefined && { min: v.min }),
      ...(v.max !== undefined && { max: v.max }),
      ...(v.same_seq !== undefined && { sameSeq: v.same_seq }),
      ...(v.port !== undefined && { port: v.port }),
    })),
    defineKind('handshake', z.strictObject({ client: hostRef, server: hostRef }), (v): Expectation => ({
      kind: 'handshake',
      client: v.client,
      server: v.server,
    })),
    defineKind(
      'timer',
      z
        .strictObject({ host: hostRef, state: tcpState, port: port.optional(), about: duration, within: duration.optional() })
        .describe("the socket's timer when first sampled in this state (e.g. TIME_WAIT about 60s)"),
      (v): Expectation => ({
        kind: 'timer',
        host: v.host,
        state: toState(v.state),
        ...(v.port !== undefined && { port: v.port }),
        aboutMs: durationMs(v.about),
        withinMs: v.within === undefined ? 1_000 : durationMs(v.within),
      }),
    ),
    defineKind(
      'error',
      z.strictObject({ host: hostRef, conn: connName, is: socketError }).describe('the error the application saw on a connection, or none'),
      (v): Expectation => ({ kind: 'error', host: v.host, conn: v.conn, is: v.is }),
    ),
    defineKind(
      'sockets',
      z
        .strictObject({
          host: hostRef,
          state: tcpState,
          port: port.optional(),
          conn: connName.optional(),
          min: expectedCount.optional(),
          max: expectedCount.optional(),
        })
        .refine((v) => v.min !== undefined || v.max !== undefined, { message: 'sockets needs min or max; e.g. `min: 10` for "at least 10 at once"' }),
      (v): Expectation => ({
        kind: 'sockets',
        host: v.host,
        state: toState(v.state),
        ...(v.port !== undefined && { port: v.port }),
        ...(v.conn !== undefined && { conn: v.conn }),
        ...(v.min !== undefined && { min: v.min }),
        ...(v.max !== undefined && { max: v.max }),
      }),
    ),
    defineKind('received', byteCountSchema('read'), (v): Expectation => ({ kind: 'received', ...toByteCount(v) })),
    defineKind('sent', byteCountSchema('had write() accept'), (v): Expectation => ({ kind: 'sent', ...toByteCount(v) })),
    defineKind('icmp', icmpSchema, (v): Expectation => ({
      kind: 'icmp',
      from: v.from,
      to: v.to,
      type: v.type,
      ...(v.code !== undefined && { code: v.code }),
      ...(v.count !== undefined && { count: v.count }),
      ...(v.min !== undefined && { min: v.min }),
      ...(v.max !== undefined && { max: v.max }),
    })),
    defineKind(
      'accepted',
      z.strictObject({ host: hostRef, conn: connName, from: hostRef }).describe("the accepted connection's peer is that lab host"),
      (v): Expectation => ({ kind: 'accepted', host: v.host, conn: v.conn, from: v.from }),
    ),
    defineKind('syn-retransmits', z.strictObject({ host: hostRef, conn: connName.optional() }), (v): Expectation => ({
      kind: 'syn-retransmits',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
    })),
    defineKind('synack-retransmits', z.strictObject({ host: hostRef, port: port.optional() }), (v): Expectation => ({
      kind: 'synack-retransmits',
      host: v.host,
      ...(v.port !== undefined && { port: v.port }),
    })),
    defineKind('fin-retransmits', z.strictObject({ host: hostRef, conn: connName.optional() }), (v): Expectation => ({
      kind: 'fin-retransmits',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
    })),
    defineKind('data-retransmits', z.strictObject({ host: hostRef, conn: connName.optional() }), (v): Expectation => ({
      kind: 'data-retransmits',
      host: v.host,
      ...(v.conn !== undefined && { conn: v.conn }),
    })),
    defineKind('keepalive-probes', z.strictObject({ host: hostRef, conn: connName }), (v): Expectation => ({
      kind: 'keepalive-probes',
      host: v.host,
      conn: v.conn,
    })),
    defineKind('persist-probes', z.strictObject({ host: hostRef, conn: connName }), (v): Expectation => ({
      kind: 'persist-probes',
      host: v.host,
      conn: v.conn,
    })),
  ].map((kind) => [kind.key, kind] as const),
);

// ---- the whole file

/** A per-network-namespace sysctl: `net.` and dot-separated words, no empty word (`net...ipv4..x` is refused). */
export const SYSCTL_KEY_PATTERN = /^net(\.[A-Za-z0-9_-]+)+$/;
const sysctlKey = z.string().max(128).regex(SYSCTL_KEY_PATTERN);
/** A sysctl value: a whole number, or one line of text (several numbers are separated by spaces or tabs). */
const sysctlValue = z
  .union([z.string().min(1).max(MAX_SYSCTL_VALUE_CHARS).meta({ pattern: '^[^\\x00-\\x08\\x0a-\\x1f\\x7f]+$' }), z.number().int()])
  .describe('a whole number, or one line of text (numbers separated by spaces), e.g. 3 or "4096 131072 6291456"')
  .superRefine((value, ctx) => {
    const problem = checkSysctlValueText(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
const hostSchema = z.strictObject({ sysctls: z.record(sysctlKey, sysctlValue).meta({ maxProperties: MAX_SYSCTLS_PER_HOST }).optional() }).nullable();
const hostName = z.string().max(MAX_NAME_CHARS).regex(HOST_NAME_PATTERN);

/** Why a sysctl value cannot be passed to the kernel as written, or undefined (the kernel's own rules are in kernel-sysctls.ts). */
export function checkSysctlValueText(value: string | number): string | undefined {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return undefined;
    return `expected a whole number or one line of text, received ${describeValue(value)}; sysctls take whole numbers`;
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(value);
  if (control !== null) {
    const what = control[0] === '\n' || control[0] === '\r' ? 'a line break' : 'a control character';
    return `a sysctl value is one line, received ${quote(value)} with ${what}; write the value alone, e.g. 3 (each sysctl is its own key)`;
  }
  if (value !== '' && value.trim() === '') return 'a sysctl value cannot be blank; write e.g. 3';
  return undefined;
}

/** The top level of a lab file; `steps`/`expect` items are checked one by one against the registries. */
export function buildLabFileSchema(stepItem: z.ZodType, expectationItem: z.ZodType, exerciseSection: z.ZodType) {
  return z.strictObject({
    name: z.string().max(MAX_NAME_CHARS).regex(LAB_NAME_PATTERN).optional(),
    title: z.string().min(1).max(MAX_TITLE_CHARS),
    source: z.string().max(MAX_TITLE_CHARS).optional(),
    description: z.string().max(MAX_TEXT_CHARS),
    description_zh: z.string().max(MAX_TEXT_CHARS).optional(),
    timeout: duration.optional(),
    hosts: z.record(hostName, hostSchema).meta({ minProperties: 1, maxProperties: MAX_HOSTS }),
    steps: z.array(stepItem).max(MAX_STEPS),
    expect: z.array(expectationItem).max(MAX_EXPECTATIONS).optional(),
    exercise: exerciseSection.optional(),
  });
}

/** The schema used for validation: items are opaque here and dispatched by key in load-lab.ts. */
export const LAB_FILE_SCHEMA = buildLabFileSchema(z.unknown(), z.unknown(), z.unknown());

function itemUnion(kinds: ReadonlyMap<string, ItemKind<unknown>>): z.ZodType {
  const options = [...kinds.values()].map((kind) => z.strictObject({ [kind.key]: kind.schema }));
  const [first, second, ...rest] = options;
  if (first === undefined || second === undefined) throw new Error('itemUnion: a registry needs two kinds or more');
  return z.union([first, second, ...rest]);
}

/** The complete schema (items and the exercise section, exercise-kinds.ts, included), for JSON Schema export and editors. */
export function buildFullLabSchema(exerciseSection: z.ZodType): z.ZodType {
  return buildLabFileSchema(itemUnion(STEP_KINDS), itemUnion(EXPECTATION_KINDS), exerciseSection);
}

export { describeValue };
