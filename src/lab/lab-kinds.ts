import { z } from 'zod';
import { TCP_STATES, parseTcpState, type TcpState } from '../tcp/state.js';
import { DURATION_PATTERN, describeValue, parseDuration } from './duration.js';
import {
  MAX_BACKLOG,
  MAX_DURATION_MS,
  MAX_EXPECTATIONS,
  MAX_EXPECTED_COUNT,
  MAX_HOSTS,
  MAX_NAME_CHARS,
  MAX_RULE_CHARS,
  MAX_SEND_BYTES,
  MAX_STEPS,
  MAX_SYSCTL_VALUE_CHARS,
  MAX_SYSCTLS_PER_HOST,
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
} from './lab-limits.js';
import type { AgentEventKind, ConnectOutcome, Expectation, SocketErrorCode, Step } from './model.js';
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
const connName = z
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

const AGENT_EVENTS = ['listening', 'accepted', 'connected', 'error', 'end', 'closed', 'data'] as const satisfies readonly AgentEventKind[];
const CONNECT_OUTCOMES = ['connected', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH'] as const satisfies readonly ConnectOutcome[];

const SOCKET_ERRORS = ['none', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'] as const satisfies readonly SocketErrorCode[];

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

/** Step kinds by their YAML key. `rule` names are filled in afterwards (`rule<N>`), see load-lab.ts. */
export const STEP_KINDS: ReadonlyMap<string, ItemKind<Step>> = new Map(
  [
    defineKind(
      'listen',
      z.strictObject({ host: hostRef, port, backlog: z.number().int().min(1).max(MAX_BACKLOG).optional(), accept: z.boolean().optional() }),
      (v): Step => ({ kind: 'listen', host: v.host, port: v.port, ...(v.backlog !== undefined && { backlog: v.backlog }), accept: v.accept ?? true }),
    ),
    defineKind(
      'connect',
      z.strictObject({ host: hostRef, to: hostRef, port, as: connName.optional(), local_port: port.optional(), family: ipFamily.optional() }),
      (v): Step => ({
        kind: 'connect',
        host: v.host,
        to: v.to,
        port: v.port,
        ...(v.local_port !== undefined && { localPort: v.local_port }),
        conn: v.as ?? 'conn',
        ...(v.family !== undefined && { family: v.family }),
      }),
    ),
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

/** Expectation kinds by their YAML key. */
export const EXPECTATION_KINDS: ReadonlyMap<string, ItemKind<Expectation>> = new Map(
  [
    defineKind('states', z.strictObject({ host: hostRef, path: z.array(tcpState).min(1), port: port.optional() }), (v): Expectation => ({
      kind: 'states',
      host: v.host,
      path: v.path.map(toState),
      ...(v.port !== undefined && { port: v.port }),
    })),
    defineKind('never', z.strictObject({ host: hostRef, states: z.array(tcpState).min(1), port: port.optional() }), (v): Expectation => ({
      kind: 'never',
      host: v.host,
      states: v.states.map(toState),
      ...(v.port !== undefined && { port: v.port }),
    })),
    defineKind('outcome', z.strictObject({ host: hostRef, conn: connName, is: z.enum(CONNECT_OUTCOMES) }), (v): Expectation => ({
      kind: 'outcome',
      host: v.host,
      conn: v.conn,
      is: v.is,
    })),
    defineKind('packets', packetsSchema, (v): Expectation => ({
      kind: 'packets',
      from: v.from,
      to: v.to,
      flags: v.flags,
      ...(v.count !== undefined && { count: v.count }),
      ...(v.min !== undefined && { min: v.min }),
      ...(v.max !== undefined && { max: v.max }),
      ...(v.same_seq !== undefined && { sameSeq: v.same_seq }),
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
      z.strictObject({ host: hostRef, conn: connName, is: z.enum(SOCKET_ERRORS) }).describe('the error the application saw on a connection, or none'),
      (v): Expectation => ({ kind: 'error', host: v.host, conn: v.conn, is: v.is }),
    ),
    defineKind(
      'sockets',
      z
        .strictObject({ host: hostRef, state: tcpState, port: port.optional(), min: expectedCount.optional(), max: expectedCount.optional() })
        .refine((v) => v.min !== undefined || v.max !== undefined, { message: 'sockets needs min or max; e.g. `min: 10` for "at least 10 at once"' }),
      (v): Expectation => ({
        kind: 'sockets',
        host: v.host,
        state: toState(v.state),
        ...(v.port !== undefined && { port: v.port }),
        ...(v.min !== undefined && { min: v.min }),
        ...(v.max !== undefined && { max: v.max }),
      }),
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
export function buildLabFileSchema(stepItem: z.ZodType, expectationItem: z.ZodType) {
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
  });
}

/** The schema used for validation: items are opaque here and dispatched by key in load-lab.ts. */
export const LAB_FILE_SCHEMA = buildLabFileSchema(z.unknown(), z.unknown());

function itemUnion(kinds: ReadonlyMap<string, ItemKind<unknown>>): z.ZodType {
  const options = [...kinds.values()].map((kind) => z.strictObject({ [kind.key]: kind.schema }));
  const [first, second, ...rest] = options;
  if (first === undefined || second === undefined) throw new Error('itemUnion: a registry needs two kinds or more');
  return z.union([first, second, ...rest]);
}

/** The complete schema (items included), for JSON Schema export and editors. */
export function buildFullLabSchema(): z.ZodType {
  return buildLabFileSchema(itemUnion(STEP_KINDS), itemUnion(EXPECTATION_KINDS));
}

export { describeValue };
