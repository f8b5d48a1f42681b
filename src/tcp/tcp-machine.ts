import { TCP_STATES, assertNever, type TcpState } from './state.js';

/**
 * The shape every reference TCP machine of tcplab shares (RFC 9293 and the Linux profile), and the
 * engine that answers questions about a table of transition rows: which rows apply, one step, which
 * states are reachable, which paths could explain a gap between two sampled states.
 *
 * A machine is data: a list of rows `{ from, event, actions, to, guards }` plus a list of user calls
 * the standard answers with an error (so an illegal step can say *why*). Guards make rows depend on
 * the connection's context: how SYN_RECEIVED was entered (RFC 9293 §3.10.7.4, Note 1 of §3.3.2),
 * whether close() is abortive (Linux SO_LINGER{1,0} / unread data), whether a SYN in TIME_WAIT is new.
 */

/** User calls (RFC 9293 §3.10.1–3.10.5). `close` is the RFC CLOSE; the Linux profile reads it as close(2). */
export const USER_CALLS = ['open-passive', 'open-active', 'send', 'close', 'abort'] as const;
/** Segment arrivals (RFC 9293 §3.10.7), named by what matters for the state machine. */
export const SEGMENT_ARRIVALS = [
  'rcv-syn',
  'rcv-syn-ack',
  'rcv-ack-of-syn',
  'rcv-ack-of-fin',
  'rcv-fin',
  'rcv-fin-ack-of-fin',
  'rcv-rst',
  'rcv-bad-ack',
  'rcv-ack',
  'rcv-data',
  'rcv-icmp-error',
] as const;
/** Timer expiries (RFC 9293 §3.10.8, §3.8.3; `fin-wait-2-timeout` exists only in the Linux profile). */
export const TIMER_EVENTS = ['time-wait-expiry', 'user-timeout', 'retransmit-give-up', 'fin-wait-2-timeout'] as const;

export type UserCall = (typeof USER_CALLS)[number];
export type SegmentArrival = (typeof SEGMENT_ARRIVALS)[number];
export type TimerEvent = (typeof TIMER_EVENTS)[number];
/**
 * What makes a connection move. A union of three literal families, told apart by `eventSource()`:
 * - `rcv-syn-ack`: SYN,ACK whose ACK is acceptable; `rcv-bad-ack`: ACK ≤ ISS or > SND.NXT (or, in
 *   synchronized states, an ACK of something not yet sent);
 * - `rcv-fin-ack-of-fin`: a FIN that also acknowledges our FIN (§3.3.2 Note 2);
 * - `rcv-ack`: a plain ACK where no connection expects one (CLOSED, LISTEN);
 * - `rcv-rst`: an acceptable RST (in SYN_SENT: its ACK covers our SYN; synchronized: SEG.SEQ = RCV.NXT);
 * - `rcv-icmp-error`: an ICMP error quoting our handshake segment that ends the handshake (RFC 9293 §3.9.2.2: a hard
 *   error; which errors do so on Linux is src/tcp/icmp-errors.ts). On a synchronized connection an error is soft: no event.
 */
export type TcpEvent = UserCall | SegmentArrival | TimerEvent;
export const TCP_EVENTS: readonly TcpEvent[] = [...USER_CALLS, ...SEGMENT_ARRIVALS, ...TIMER_EVENTS];

/** Which family an event belongs to. */
export function eventSource(event: TcpEvent): 'user' | 'segment' | 'timer' {
  switch (event) {
    case 'open-passive':
    case 'open-active':
    case 'send':
    case 'close':
    case 'abort':
      return 'user';
    case 'rcv-syn':
    case 'rcv-syn-ack':
    case 'rcv-ack-of-syn':
    case 'rcv-ack-of-fin':
    case 'rcv-fin':
    case 'rcv-fin-ack-of-fin':
    case 'rcv-rst':
    case 'rcv-bad-ack':
    case 'rcv-ack':
    case 'rcv-data':
    case 'rcv-icmp-error':
      return 'segment';
    case 'time-wait-expiry':
    case 'user-timeout':
    case 'retransmit-give-up':
    case 'fin-wait-2-timeout':
      return 'timer';
    default:
      return assertNever(event);
  }
}

/** Type guard: is this string one of the TcpEvent names? */
export function isTcpEvent(name: string): name is TcpEvent {
  return (TCP_EVENTS as readonly string[]).includes(name);
}

/** What the endpoint does on a transition. The first `send-*` of a row is what the peer sees on the wire. */
export const TCP_ACTIONS = [
  'none',
  'create-tcb',
  'delete-tcb',
  'drop-request',
  'send-syn',
  'send-syn-ack',
  'send-ack',
  'send-fin',
  'send-rst',
  'send-data',
  'queue-data',
  'start-2msl',
  'restart-2msl',
  'start-timewait-len',
  'restart-timewait-len',
  'start-fin-wait-2-timer',
] as const;
export type TcpAction = (typeof TCP_ACTIONS)[number];

/** How the connection reached SYN_RECEIVED (or LISTEN): from a passive OPEN or from an active one. */
export type OpenedBy = 'passive' | 'active';

/** A condition on the context that a row needs; rows of one (state, event) differ only by guards. */
export type TransitionGuard =
  | { readonly kind: 'opened-by'; readonly openedBy: OpenedBy }
  | { readonly kind: 'abortive-close'; readonly abortive: boolean }
  | { readonly kind: 'new-syn'; readonly isNew: boolean };

/**
 * What a step may need to know beyond state and event. `openedBy` is tracked by `step()`;
 * the others qualify a single event and default to false.
 */
export interface TcpContext {
  readonly openedBy?: OpenedBy;
  /** close() with SO_LINGER {l_onoff=1, l_linger=0} (Linux profile). */
  readonly lingerZero?: boolean;
  /** close() while received data is still unread (Linux profile). */
  readonly unreadData?: boolean;
  /** A SYN in TIME_WAIT whose sequence is beyond RCV.NXT or whose timestamp is newer (Linux profile). */
  readonly synIsNew?: boolean;
}

export interface TransitionRow {
  readonly from: TcpState;
  readonly event: TcpEvent;
  /** The row's main action: `actions[0]` (the wire-visible one when something is sent). */
  readonly action: TcpAction;
  readonly actions: readonly TcpAction[];
  readonly to: TcpState;
  /** RFC 9293 section the row comes from (for Linux rows: the section it overrides or extends). */
  readonly rfc: string;
  /** Kernel file and function, for rows of the Linux profile. */
  readonly kernel?: string;
  /** All must hold; empty means unconditional. */
  readonly guards: readonly TransitionGuard[];
  readonly note?: string;
}

/** A user call the standard answers with an error in a state (RFC 9293 §3.10 "error: …"). */
export interface RejectedCall {
  readonly state: TcpState;
  readonly event: TcpEvent;
  readonly reason: string;
  readonly source: string;
}

export type StepResult =
  | {
      readonly to: TcpState;
      readonly action: TcpAction;
      readonly actions: readonly TcpAction[];
      readonly row: TransitionRow;
      /** The context after the step (openedBy updated). */
      readonly context: TcpContext;
    }
  | { readonly illegal: string };

export interface LegalPathOptions {
  /** Allow CLOSED as an intermediate state (a new connection on the same socket). Default false. */
  readonly viaClosed?: boolean;
}

/** The common interface of the RFC machine and the Linux profile. */
export interface TcpMachine {
  readonly name: string;
  readonly title: string;
  readonly transitions: readonly TransitionRow[];
  readonly rejections: readonly RejectedCall[];
  /** Rows leaving `state` (for `event`, if given) whose guards do not contradict `context`. */
  nextTransitions(state: TcpState, event?: TcpEvent, context?: TcpContext): TransitionRow[];
  /** One step; `{ illegal }` with the reason when no single row applies. */
  step(state: TcpState, event: TcpEvent, context?: TcpContext): StepResult;
  /** True if `to` can follow `from` after zero or more transitions. */
  isReachable(from: TcpState, to: TcpState): boolean;
  /** Simple state paths from `from` to `to` with at most `maxLen` transitions, shortest first. */
  legalPaths(from: TcpState, to: TcpState, maxLen: number, options?: LegalPathOptions): TcpState[][];
  /** Events of the rows that lead from `from` directly to `to`. */
  eventsBetween(from: TcpState, to: TcpState): TcpEvent[];
}

/** Optional parts of a row written with `defineRow`. */
export interface RowExtras {
  readonly guards?: readonly TransitionGuard[];
  readonly note?: string;
  readonly kernel?: string;
}

/** Builds a row; `actions` is one action or a list whose first element is the main one. */
export function defineRow(
  from: TcpState,
  event: TcpEvent,
  actions: TcpAction | readonly [TcpAction, ...TcpAction[]],
  to: TcpState,
  rfc: string,
  extras: RowExtras = {},
): TransitionRow {
  const list: readonly TcpAction[] = typeof actions === 'string' ? [actions] : actions;
  const row: TransitionRow = {
    from,
    event,
    action: list[0] ?? 'none',
    actions: list,
    to,
    rfc,
    guards: extras.guards ?? [],
    ...(extras.kernel !== undefined ? { kernel: extras.kernel } : {}),
    ...(extras.note !== undefined ? { note: extras.note } : {}),
  };
  return row;
}

/** Renders a row's actions as `send-ack + start-2msl`. */
export function formatActions(actions: readonly TcpAction[]): string {
  return actions.join(' + ');
}

/** Renders a guard for messages and diagrams, e.g. `opened-by=passive`. */
export function formatGuard(guard: TransitionGuard): string {
  switch (guard.kind) {
    case 'opened-by':
      return `opened-by=${guard.openedBy}`;
    case 'abortive-close':
      return guard.abortive ? 'abortive-close' : 'graceful-close';
    case 'new-syn':
      return guard.isNew ? 'new-syn' : 'old-syn';
    default:
      return assertNever(guard);
  }
}

/** Evaluates one guard against a context: 'unknown' when the context does not say. */
export function evaluateGuard(guard: TransitionGuard, context: TcpContext): 'pass' | 'fail' | 'unknown' {
  switch (guard.kind) {
    case 'opened-by':
      if (context.openedBy === undefined) return 'unknown';
      return context.openedBy === guard.openedBy ? 'pass' : 'fail';
    case 'abortive-close': {
      const abortive = context.lingerZero === true || context.unreadData === true;
      return abortive === guard.abortive ? 'pass' : 'fail';
    }
    case 'new-syn':
      return (context.synIsNew === true) === guard.isNew ? 'pass' : 'fail';
    default:
      return assertNever(guard);
  }
}

function rowGuardOutcome(row: TransitionRow, context: TcpContext): 'pass' | 'fail' | 'unknown' {
  let outcome: 'pass' | 'unknown' = 'pass';
  for (const guard of row.guards) {
    const result = evaluateGuard(guard, context);
    if (result === 'fail') return 'fail';
    if (result === 'unknown') outcome = 'unknown';
  }
  return outcome;
}

function describeGuardNeeds(rows: readonly TransitionRow[]): string {
  const kinds = new Set(rows.flatMap((row) => row.guards.map((guard) => guard.kind)));
  if (kinds.has('opened-by')) return "set context.openedBy to 'passive' or 'active' (how SYN_RECEIVED was entered)";
  return 'give the context fields the rows depend on';
}

/** The context after a row fired: records how the connection was opened. */
function advanceContext(row: TransitionRow, context: TcpContext): TcpContext {
  if (row.event === 'open-passive') return { ...context, openedBy: 'passive' };
  if (row.to === 'SYN_SENT') return { ...context, openedBy: 'active' };
  if (row.from === 'LISTEN' && row.to === 'SYN_RECEIVED') return { ...context, openedBy: 'passive' };
  return context;
}

/** Builds a machine from its rows and rejected calls; checks that no two rows are indistinguishable. */
export function createTcpMachine(spec: {
  name: string;
  title: string;
  transitions: readonly TransitionRow[];
  rejections: readonly RejectedCall[];
}): TcpMachine {
  const { name, title, transitions, rejections } = spec;
  assertRowsDistinct(name, transitions);

  const successors = new Map<TcpState, TcpState[]>();
  for (const state of TCP_STATES) successors.set(state, []);
  for (const row of transitions) {
    const list = successors.get(row.from) ?? [];
    if (row.to !== row.from && !list.includes(row.to)) list.push(row.to);
    successors.set(row.from, list);
  }

  const nextTransitions = (state: TcpState, event?: TcpEvent, context: TcpContext = {}): TransitionRow[] =>
    transitions.filter((row) => row.from === state && (event === undefined || row.event === event) && rowGuardOutcome(row, context) !== 'fail');

  const step = (state: TcpState, event: TcpEvent, context: TcpContext = {}): StepResult => {
    const candidates = nextTransitions(state, event, context);
    if (candidates.length === 0) {
      const rejection = rejections.find((r) => r.state === state && r.event === event);
      if (rejection !== undefined) {
        return { illegal: `${event} in ${state} is rejected by ${name}: ${rejection.reason} (${rejection.source})` };
      }
      const guarded = transitions.filter((row) => row.from === state && row.event === event);
      if (guarded.length > 0) {
        return {
          illegal:
            `${event} in ${state}: ${name} has rows only for ${guarded.map((r) => r.guards.map(formatGuard).join(', ')).join(' | ')}, ` +
            `and the context ${JSON.stringify(context)} matches none of them`,
        };
      }
      const expected = [...new Set(transitions.filter((row) => row.from === state).map((row) => row.event))];
      return {
        illegal: `${event} in ${state}: ${name} has no transition for this event; ` + `expected one of ${expected.length > 0 ? expected.join(', ') : '(none)'}`,
      };
    }
    const row = candidates[0];
    if (candidates.length > 1 || row === undefined || rowGuardOutcome(row, context) === 'unknown') {
      return {
        illegal:
          `${event} in ${state} is ambiguous in ${name}: ${candidates.length} rows apply ` +
          `(${candidates.map((r) => `→ ${r.to} if ${r.guards.map(formatGuard).join(', ') || 'always'}`).join('; ')}); ` +
          describeGuardNeeds(candidates),
      };
    }
    return { to: row.to, action: row.action, actions: row.actions, row, context: advanceContext(row, context) };
  };

  const isReachable = (from: TcpState, to: TcpState): boolean => {
    const seen = new Set<TcpState>([from]);
    const queue: TcpState[] = [from];
    while (queue.length > 0) {
      const state = queue.shift() as TcpState;
      if (state === to) return true;
      for (const next of successors.get(state) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    return false;
  };

  const legalPaths = (from: TcpState, to: TcpState, maxLen: number, options: LegalPathOptions = {}): TcpState[][] => {
    if (!Number.isInteger(maxLen) || maxLen < 0) {
      throw new RangeError(`legalPaths: maxLen must be a non-negative integer (transitions), received ${maxLen}`);
    }
    if (from === to) return [[from]];
    const paths: TcpState[][] = [];
    const walk = (path: TcpState[]): void => {
      const last = path[path.length - 1] as TcpState;
      if (last === to) {
        paths.push([...path]);
        return;
      }
      if (path.length - 1 >= maxLen) return;
      if (last === 'CLOSED' && path.length > 1 && options.viaClosed !== true) return;
      for (const next of successors.get(last) ?? []) {
        if (path.includes(next)) continue;
        path.push(next);
        walk(path);
        path.pop();
      }
    };
    walk([from]);
    return paths.sort((p, q) => p.length - q.length || p.join(' ').localeCompare(q.join(' ')));
  };

  const eventsBetween = (from: TcpState, to: TcpState): TcpEvent[] => [
    ...new Set(transitions.filter((row) => row.from === from && row.to === to).map((row) => row.event)),
  ];

  return { name, title, transitions, rejections, nextTransitions, step, isReachable, legalPaths, eventsBetween };
}

function guardKey(guards: readonly TransitionGuard[]): string {
  return guards.map(formatGuard).sort().join(',');
}

/** Two rows with the same state, event and guards would make `step` ambiguous for every context. */
function assertRowsDistinct(name: string, transitions: readonly TransitionRow[]): void {
  const seen = new Set<string>();
  for (const row of transitions) {
    const key = `${row.from}|${row.event}|${guardKey(row.guards)}`;
    if (seen.has(key)) {
      throw new Error(
        `machine ${name}: two rows for ${row.from} + ${row.event} with the same guards [${guardKey(row.guards)}]; ` +
          'expected at most one; give them different guards or remove one',
      );
    }
    seen.add(key);
  }
}

/** True when both guard lists say the same thing (order ignored). */
export function sameGuards(first: readonly TransitionGuard[], second: readonly TransitionGuard[]): boolean {
  return guardKey(first) === guardKey(second);
}
