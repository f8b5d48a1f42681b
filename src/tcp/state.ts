import { assertNever } from '../assert-never.js';
/**
 * The one TCP state vocabulary of tcplab (RFC 9293 §3.3.2 names, underscored), and the
 * mapping from every other vocabulary a user or a tool may speak: RFC (`SYN-RECEIVED`),
 * netstat (`SYN_RECV`, `FIN_WAIT1`), ss (`SYN-RECV`, `ESTAB`, `UNCONN`), the kernel
 * (`TCP_SYN_RECV`, `TCP_NEW_SYN_RECV`, include/net/tcp_states.h) and /proc/net/tcp hex (`03`),
 * plus the seed articles' `SYN_RCVD`.
 */
export const TCP_STATES = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSE_WAIT',
  'CLOSING',
  'LAST_ACK',
  'TIME_WAIT',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/** Kernel state numbers from include/net/tcp_states.h, as /proc/net/tcp prints them (hex). */
const KERNEL_NUMBER_TO_STATE: Record<number, TcpState> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECEIVED',
  4: 'FIN_WAIT_1',
  5: 'FIN_WAIT_2',
  6: 'TIME_WAIT',
  7: 'CLOSED',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'SYN_RECEIVED', // TCP_NEW_SYN_RECV: a request socket, reported as SYN_RECV by /proc and inet_diag
};

const ALIASES: Record<string, TcpState> = {
  CLOSE: 'CLOSED',
  UNCONN: 'CLOSED',
  SYN_RCVD: 'SYN_RECEIVED',
  SYN_RECV: 'SYN_RECEIVED',
  NEW_SYN_RECV: 'SYN_RECEIVED',
  ESTAB: 'ESTABLISHED',
  FIN_WAIT1: 'FIN_WAIT_1',
  FIN_WAIT2: 'FIN_WAIT_2',
  TIMEWAIT: 'TIME_WAIT',
};

/** Normalises a state name of any vocabulary (case, `-`/`_`, `TCP_` prefix); undefined if unknown. */
export function parseTcpState(name: string): TcpState | undefined {
  const key = name.trim().toUpperCase().replace(/-/g, '_').replace(/^TCP_/, '');
  if ((TCP_STATES as readonly string[]).includes(key)) return key as TcpState;
  return ALIASES[key];
}

/** Maps a kernel state number (/proc/net/tcp `st`, hex already decoded) to a TcpState. */
export function stateFromKernelNumber(n: number): TcpState | undefined {
  return KERNEL_NUMBER_TO_STATE[n];
}

/** The name netstat prints for a state (net-tools `tcp_state` table). */
export function netstatName(state: TcpState): string {
  switch (state) {
    case 'CLOSED':
      return 'CLOSE';
    case 'SYN_RECEIVED':
      return 'SYN_RECV';
    case 'FIN_WAIT_1':
      return 'FIN_WAIT1';
    case 'FIN_WAIT_2':
      return 'FIN_WAIT2';
    case 'LISTEN':
    case 'SYN_SENT':
    case 'ESTABLISHED':
    case 'CLOSE_WAIT':
    case 'CLOSING':
    case 'LAST_ACK':
    case 'TIME_WAIT':
      return state;
    default:
      return assertNever(state);
  }
}

/** Re-exported for older imports; the one definition is src/assert-never.ts. */
export { assertNever };
