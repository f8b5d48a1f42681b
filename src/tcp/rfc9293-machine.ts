import type { TcpState } from './state.js';
import {
  createTcpMachine,
  defineRow,
  type LegalPathOptions,
  type RejectedCall,
  type StepResult,
  type TcpContext,
  type TcpEvent,
  type TcpMachine,
  type TransitionRow,
} from './tcp-machine.js';

export type { OpenedBy, RejectedCall, StepResult, TcpAction, TcpContext, TcpEvent, TcpMachine, TransitionGuard, TransitionRow } from './tcp-machine.js';

/**
 * The reference TCP state machine of RFC 9293, as data: Figure 5 of §3.3.2 (with Notes 1–3) made
 * complete with the event processing of §3.10 (user calls §3.10.1–3.10.5, segment arrivals
 * §3.10.7.1–3.10.7.4, timeouts §3.10.8) and the retransmission give-up of §3.8.3.
 *
 * Scope: one connection (one TCB). Self-loops are listed where the RFC prescribes a reply (RST,
 * challenge ACK, ACK of data); duplicate or out-of-window segments that are silently dropped are not.
 * The user and retransmission timers only run while something is unacknowledged, so their rows
 * cover the states where that can be the case (SYN_SENT … LAST_ACK; not LISTEN, FIN_WAIT_2, TIME_WAIT).
 */

const PASSIVE = [{ kind: 'opened-by', openedBy: 'passive' }] as const;
const ACTIVE = [{ kind: 'opened-by', openedBy: 'active' }] as const;

/** States where both sides have exchanged SYNs (RFC 9293 §3.3.2 "synchronized states"). */
const SYNCHRONIZED: readonly TcpState[] = ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
/** States where a segment (SYN, data or FIN) may be waiting for its ACK. */
const IN_FLIGHT: readonly TcpState[] = ['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK'];

const row = defineRow;

/** Every row of the RFC 9293 machine. */
export const TRANSITIONS: readonly TransitionRow[] = [
  // CLOSED (§3.10.1 OPEN; §3.10.7.1 segment arrives in CLOSED)
  row('CLOSED', 'open-passive', 'create-tcb', 'LISTEN', '3.10.1'),
  row('CLOSED', 'open-active', ['send-syn', 'create-tcb'], 'SYN_SENT', '3.10.1'),
  row('CLOSED', 'rcv-syn', 'send-rst', 'CLOSED', '3.10.7.1', { note: 'no ACK in segment: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>' }),
  row('CLOSED', 'rcv-ack', 'send-rst', 'CLOSED', '3.10.7.1', { note: 'ACK set: <SEQ=SEG.ACK><CTL=RST>' }),
  row('CLOSED', 'rcv-rst', 'none', 'CLOSED', '3.10.7.1', { note: 'an incoming RST is discarded' }),

  // LISTEN (§3.10.7.2; §3.10.1/§3.10.2 turning active; §3.10.4/§3.10.5)
  row('LISTEN', 'rcv-syn', 'send-syn-ack', 'SYN_RECEIVED', '3.10.7.2'),
  row('LISTEN', 'rcv-ack', 'send-rst', 'LISTEN', '3.10.7.2', { note: '<SEQ=SEG.ACK><CTL=RST>' }),
  row('LISTEN', 'rcv-rst', 'none', 'LISTEN', '3.10.7.2', { note: 'ignored' }),
  row('LISTEN', 'open-active', 'send-syn', 'SYN_SENT', '3.10.1', { note: 'active OPEN with a foreign socket turns the listener active' }),
  row('LISTEN', 'send', 'send-syn', 'SYN_SENT', '3.10.2', { note: 'optional: SEND with a foreign socket turns the listener active' }),
  row('LISTEN', 'close', 'delete-tcb', 'CLOSED', '3.10.4'),
  row('LISTEN', 'abort', 'delete-tcb', 'CLOSED', '3.10.5'),

  // SYN_SENT (§3.10.7.3)
  row('SYN_SENT', 'rcv-syn-ack', 'send-ack', 'ESTABLISHED', '3.10.7.3'),
  row('SYN_SENT', 'rcv-syn', 'send-syn-ack', 'SYN_RECEIVED', '3.10.7.3', { note: 'simultaneous open' }),
  row('SYN_SENT', 'rcv-rst', 'delete-tcb', 'CLOSED', '3.10.7.3', { note: 'only if its ACK acknowledges our SYN; "error: connection reset"' }),
  row('SYN_SENT', 'rcv-bad-ack', 'send-rst', 'SYN_SENT', '3.10.7.3', { note: 'SEG.ACK =< ISS or > SND.NXT: <SEQ=SEG.ACK><CTL=RST>' }),
  row('SYN_SENT', 'send', 'queue-data', 'SYN_SENT', '3.10.2'),
  row('SYN_SENT', 'rcv-icmp-error', 'delete-tcb', 'CLOSED', '3.9.2.2', {
    note: 'a hard error (protocol or port unreachable, fragmentation needed): SHOULD abort (SHLD-26; RFC 1122 §4.2.3.9)',
  }),
  row('SYN_RECEIVED', 'rcv-icmp-error', 'delete-tcb', 'CLOSED', '3.9.2.2', {
    note: 'a hard error (protocol or port unreachable, fragmentation needed): SHOULD abort (SHLD-26; RFC 1122 §4.2.3.9)',
  }),
  row('SYN_SENT', 'close', 'delete-tcb', 'CLOSED', '3.10.4', { note: 'nothing is sent' }),
  row('SYN_SENT', 'abort', 'delete-tcb', 'CLOSED', '3.10.5', { note: 'nothing is sent' }),

  // SYN_RECEIVED (§3.10.7.4)
  row('SYN_RECEIVED', 'rcv-ack-of-syn', 'none', 'ESTABLISHED', '3.10.7.4'),
  row('SYN_RECEIVED', 'rcv-rst', 'none', 'LISTEN', '3.10.7.4', { guards: PASSIVE, note: 'Note 1 of §3.3.2: a passive connection returns to LISTEN' }),
  row('SYN_RECEIVED', 'rcv-rst', 'delete-tcb', 'CLOSED', '3.10.7.4', { guards: ACTIVE, note: '"connection refused"' }),
  row('SYN_RECEIVED', 'rcv-syn', 'none', 'LISTEN', '3.10.7.4', { guards: PASSIVE, note: 'fourth check: a passive connection returns to LISTEN' }),
  row('SYN_RECEIVED', 'rcv-syn', 'send-ack', 'SYN_RECEIVED', '3.10.7.4', { guards: ACTIVE, note: 'challenge ACK (RFC 5961 §4)' }),
  row('SYN_RECEIVED', 'rcv-bad-ack', 'send-rst', 'SYN_RECEIVED', '3.10.7.4', { note: 'unacceptable ACK: <SEQ=SEG.ACK><CTL=RST>' }),
  row('SYN_RECEIVED', 'rcv-fin', 'send-ack', 'CLOSE_WAIT', '3.10.7.4'),
  row('SYN_RECEIVED', 'send', 'queue-data', 'SYN_RECEIVED', '3.10.2'),
  row('SYN_RECEIVED', 'close', 'send-fin', 'FIN_WAIT_1', '3.10.4'),
  row('SYN_RECEIVED', 'abort', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.5', { note: '<SEQ=SND.NXT><CTL=RST>' }),

  // ESTABLISHED
  row('ESTABLISHED', 'send', 'send-data', 'ESTABLISHED', '3.10.2'),
  row('ESTABLISHED', 'rcv-data', 'send-ack', 'ESTABLISHED', '3.10.7.4'),
  row('ESTABLISHED', 'close', 'send-fin', 'FIN_WAIT_1', '3.10.4'),
  row('ESTABLISHED', 'rcv-fin', 'send-ack', 'CLOSE_WAIT', '3.10.7.4'),
  row('ESTABLISHED', 'abort', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.5'),

  // FIN_WAIT_1
  row('FIN_WAIT_1', 'rcv-ack-of-fin', 'none', 'FIN_WAIT_2', '3.10.7.4'),
  row('FIN_WAIT_1', 'rcv-fin', 'send-ack', 'CLOSING', '3.10.7.4', { note: 'simultaneous close: our FIN not yet acknowledged' }),
  row('FIN_WAIT_1', 'rcv-fin-ack-of-fin', ['send-ack', 'start-2msl'], 'TIME_WAIT', '3.10.7.4', { note: 'Note 2 of §3.3.2' }),
  row('FIN_WAIT_1', 'rcv-data', 'send-ack', 'FIN_WAIT_1', '3.10.7.4'),
  row('FIN_WAIT_1', 'abort', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.5'),

  // FIN_WAIT_2
  row('FIN_WAIT_2', 'rcv-fin', ['send-ack', 'start-2msl'], 'TIME_WAIT', '3.10.7.4'),
  row('FIN_WAIT_2', 'rcv-data', 'send-ack', 'FIN_WAIT_2', '3.10.7.4'),
  row('FIN_WAIT_2', 'abort', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.5'),

  // CLOSE_WAIT
  row('CLOSE_WAIT', 'send', 'send-data', 'CLOSE_WAIT', '3.10.2'),
  row('CLOSE_WAIT', 'close', 'send-fin', 'LAST_ACK', '3.10.4'),
  row('CLOSE_WAIT', 'abort', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.5'),

  // CLOSING
  row('CLOSING', 'rcv-ack-of-fin', 'start-2msl', 'TIME_WAIT', '3.10.7.4'),
  row('CLOSING', 'abort', 'delete-tcb', 'CLOSED', '3.10.5', { note: 'no RST' }),

  // LAST_ACK
  row('LAST_ACK', 'rcv-ack-of-fin', 'delete-tcb', 'CLOSED', '3.10.7.4'),
  row('LAST_ACK', 'abort', 'delete-tcb', 'CLOSED', '3.10.5', { note: 'no RST' }),

  // TIME_WAIT
  row('TIME_WAIT', 'rcv-fin', ['send-ack', 'restart-2msl'], 'TIME_WAIT', '3.10.7.4', { note: 'a retransmitted FIN' }),
  row('TIME_WAIT', 'time-wait-expiry', 'delete-tcb', 'CLOSED', '3.10.8', { note: '2MSL = 4 min (MSL 2 min, §3.4.2)' }),
  row('TIME_WAIT', 'abort', 'delete-tcb', 'CLOSED', '3.10.5', { note: 'no RST' }),

  // Every synchronized state: RST (first check), SYN (fourth check), ACK of unsent data (fifth check).
  ...SYNCHRONIZED.map((state) =>
    row(state, 'rcv-rst', 'delete-tcb', 'CLOSED', '3.10.7.4', {
      note: 'SEG.SEQ = RCV.NXT; other in-window RSTs get a challenge ACK (RFC 5961 §3)',
    }),
  ),
  ...SYNCHRONIZED.map((state) =>
    row(state, 'rcv-syn', 'send-ack', state, '3.10.7.4', {
      note: state === 'TIME_WAIT' ? 'challenge ACK; a new connection may be accepted with timestamps (RFC 6191)' : 'challenge ACK (RFC 5961 §4)',
    }),
  ),
  ...SYNCHRONIZED.filter((state) => state !== 'LAST_ACK' && state !== 'TIME_WAIT').map((state) =>
    row(state, 'rcv-bad-ack', 'send-ack', state, '3.10.7.4', { note: 'SEG.ACK > SND.NXT: send an ACK, drop the segment' }),
  ),

  // Timeouts: user timeout (§3.10.8) and retransmission give-up, R2 (§3.8.3; RFC 1122 §4.2.3.5).
  ...IN_FLIGHT.map((state) => row(state, 'user-timeout', 'delete-tcb', 'CLOSED', '3.10.8', { note: '"error: connection aborted due to user timeout"' })),
  ...IN_FLIGHT.map((state) => row(state, 'retransmit-give-up', 'delete-tcb', 'CLOSED', '3.8.3', { note: 'R2 reached: close the connection' })),
];

const CLOSING_STATES: readonly TcpState[] = ['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING', 'LAST_ACK', 'TIME_WAIT'];
const OPEN_STATES: readonly TcpState[] = ['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', ...CLOSING_STATES, 'CLOSE_WAIT'];

/** User calls RFC 9293 answers with an error, so `step` can say why they are illegal. */
export const REJECTED_CALLS: readonly RejectedCall[] = [
  { state: 'CLOSED', event: 'send', reason: '"error: connection does not exist"', source: 'RFC 9293 §3.10.2' },
  { state: 'CLOSED', event: 'close', reason: '"error: connection does not exist"', source: 'RFC 9293 §3.10.4' },
  { state: 'CLOSED', event: 'abort', reason: '"error: connection does not exist"', source: 'RFC 9293 §3.10.5' },
  ...CLOSING_STATES.map((state) => ({ state, event: 'send' as const, reason: '"error: connection closing"', source: 'RFC 9293 §3.10.2' })),
  ...CLOSING_STATES.map((state) => ({
    state,
    event: 'close' as const,
    reason: '"error: connection closing" (already closed by the user)',
    source: 'RFC 9293 §3.10.4',
  })),
  { state: 'LISTEN', event: 'open-passive', reason: '"error: connection already exists"', source: 'RFC 9293 §3.10.1' },
  ...OPEN_STATES.flatMap((state) =>
    (['open-passive', 'open-active'] as const).map((event) => ({
      state,
      event,
      reason: '"error: connection already exists"',
      source: 'RFC 9293 §3.10.1',
    })),
  ),
];

/** The RFC 9293 machine. */
export const RFC9293_MACHINE: TcpMachine = createTcpMachine({
  name: 'rfc9293',
  title: 'RFC 9293 reference state machine',
  transitions: TRANSITIONS,
  rejections: REJECTED_CALLS,
});

/** Rows of the RFC machine leaving `state` (for `event`, if given) compatible with `context`. */
export function nextTransitions(state: TcpState, event?: TcpEvent, context?: TcpContext): TransitionRow[] {
  return RFC9293_MACHINE.nextTransitions(state, event, context);
}

/** One step of the RFC machine; `{ illegal }` with the reason when no single row applies. */
export function step(state: TcpState, event: TcpEvent, context: TcpContext = {}): StepResult {
  return RFC9293_MACHINE.step(state, event, context);
}

/** True if the RFC machine can go from `from` to `to` in zero or more transitions. */
export function isReachable(from: TcpState, to: TcpState): boolean {
  return RFC9293_MACHINE.isReachable(from, to);
}

/** State paths of the RFC machine from `from` to `to` with at most `maxLen` transitions. */
export function legalPaths(from: TcpState, to: TcpState, maxLen: number, options?: LegalPathOptions): TcpState[][] {
  return RFC9293_MACHINE.legalPaths(from, to, maxLen, options);
}

/** Events of RFC rows that lead from `from` directly to `to`. */
export function eventsBetween(from: TcpState, to: TcpState): TcpEvent[] {
  return RFC9293_MACHINE.eventsBetween(from, to);
}
