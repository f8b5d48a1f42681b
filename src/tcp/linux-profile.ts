import { resolveKernelSettings, type KernelSettings } from './kernel-settings.js';
import { REJECTED_CALLS, TRANSITIONS } from './rfc9293-machine.js';
import type { TcpState } from './state.js';
import {
  createTcpMachine,
  defineRow,
  sameGuards,
  type RejectedCall,
  type TcpAction,
  type TcpEvent,
  type TcpMachine,
  type TransitionGuard,
  type TransitionRow,
} from './tcp-machine.js';

/**
 * The Linux profile: the RFC 9293 machine with Linux's differences applied (Linux 6.18, net/ipv4/).
 * It is layered, not copied: each entry of LINUX_DIFFERENCES says which RFC rows it removes and which
 * rows it adds, with the kernel function that decides it; `linuxMachine(settings)` applies the entries
 * whose setting condition holds, in order. Entries that change no row (`same-as-rfc`, `observability`,
 * `timing`) are there for the `fsm` command and reports: facts people usually get wrong.
 *
 * In this profile the user call `close` means close(2): the socket is orphaned (SOCK_DEAD), which is
 * what enables the FIN_WAIT_2 timeout and the RST on data after close. The RFC's half-close is
 * shutdown(SHUT_WR), which keeps the RFC rows.
 */

export type LinuxDifferenceKind = 'override' | 'addition' | 'removal' | 'same-as-rfc' | 'observability' | 'timing';

/** Selects RFC rows by state and event, and by guards when given. */
export interface RowSelector {
  readonly from: TcpState;
  readonly event: TcpEvent;
  readonly guards?: readonly TransitionGuard[];
}

export interface LinuxDifference {
  readonly id: string;
  readonly kind: LinuxDifferenceKind;
  readonly summary: string;
  /** Kernel file and function that decide it (net/ipv4/ unless a path says otherwise). */
  readonly kernel: string;
  /** Applied only when this sysctl has this value. */
  readonly when?: { readonly setting: 'tcp_rfc1337'; readonly equals: 0 | 1 };
  readonly removes: readonly RowSelector[];
  readonly adds: readonly TransitionRow[];
  /** User calls Linux rejects where the RFC has a row (the removed rows' replacement answer). */
  readonly rejects?: readonly RejectedCall[];
}

const PASSIVE = [{ kind: 'opened-by', openedBy: 'passive' }] as const;
const ACTIVE = [{ kind: 'opened-by', openedBy: 'active' }] as const;
const GRACEFUL = { kind: 'abortive-close', abortive: false } as const;
const ABORTIVE = { kind: 'abortive-close', abortive: true } as const;

/** The RFC row for (from, event[, guards]); throws when the RFC table has no such row (a profile bug). */
function rfcRow(from: TcpState, event: TcpEvent, guards?: readonly TransitionGuard[]): TransitionRow {
  const found = TRANSITIONS.find((r) => r.from === from && r.event === event && (guards === undefined || sameGuards(r.guards, guards)));
  if (found === undefined) {
    throw new Error(`linux profile: expected an RFC 9293 row for ${from} + ${event}, found none; update the profile to the table`);
  }
  return found;
}

/** An RFC row with its TIME_WAIT timer actions rewritten to Linux's fixed TCP_TIMEWAIT_LEN. */
function withTimewaitLen(from: TcpState, event: TcpEvent): TransitionRow {
  const source = rfcRow(from, event);
  const actions = source.actions.map((action): TcpAction =>
    action === 'start-2msl' ? 'start-timewait-len' : action === 'restart-2msl' ? 'restart-timewait-len' : action,
  );
  const [first, ...rest] = actions;
  return defineRow(source.from, source.event, [first ?? 'none', ...rest], source.to, source.rfc, {
    guards: source.guards,
    kernel: 'tcp_minisocks.c tcp_time_wait(), tcp_timewait_state_process(); include/net/tcp.h TCP_TIMEWAIT_LEN',
    note: 'TIME_WAIT lasts 60 s, not 2MSL',
  });
}

const TIMEWAIT_ENTRIES: ReadonlyArray<readonly [TcpState, TcpEvent]> = [
  ['FIN_WAIT_1', 'rcv-fin-ack-of-fin'],
  ['FIN_WAIT_2', 'rcv-fin'],
  ['CLOSING', 'rcv-ack-of-fin'],
  ['TIME_WAIT', 'rcv-fin'],
];

/** Every way Linux 6.18 differs from (or is commonly mistaken to differ from) RFC 9293, in application order. */
export const LINUX_DIFFERENCES: readonly LinuxDifference[] = [
  {
    id: 'request-socket',
    kind: 'observability',
    summary:
      'A passive half-open connection is a request socket (TCP_NEW_SYN_RECV), not a full socket: ss and netstat show it as ' +
      'SYN_RECV, the listener stays LISTEN, and sock:inet_sock_set_state never reports it; only the final ACK creates a full ' +
      'child (LISTEN→SYN_RECV→ESTABLISHED in the tracepoint).',
    kernel: 'tcp_input.c tcp_conn_request(), inet_reqsk_alloc(); tcp_minisocks.c tcp_check_req(); tcp_ipv4.c get_openreq4()',
    removes: [],
    adds: [],
  },
  {
    id: 'request-rst',
    kind: 'override',
    summary: 'A RST for a request socket drops the request; the listener was never anything but LISTEN.',
    kernel: 'tcp_minisocks.c tcp_check_req() (embryonic_reset: inet_csk_reqsk_queue_drop())',
    removes: [{ from: 'SYN_RECEIVED', event: 'rcv-rst', guards: PASSIVE }],
    adds: [
      defineRow('SYN_RECEIVED', 'rcv-rst', 'drop-request', 'LISTEN', '3.10.7.4', {
        guards: PASSIVE,
        kernel: 'tcp_minisocks.c tcp_check_req()',
        note: 'nothing is sent',
      }),
    ],
  },
  {
    id: 'request-syn',
    kind: 'override',
    summary:
      'A new SYN for a request socket is answered with a RST and the request is dropped (RFC: back to LISTEN silently); a ' +
      'retransmitted SYN (same ISN) makes the SYN-ACK go out again instead.',
    kernel: 'tcp_minisocks.c tcp_check_req() (inet_rtx_syn_ack() for a duplicate SYN; embryonic_reset → send_reset otherwise)',
    removes: [{ from: 'SYN_RECEIVED', event: 'rcv-syn', guards: PASSIVE }],
    adds: [
      defineRow('SYN_RECEIVED', 'rcv-syn', ['send-rst', 'drop-request'], 'LISTEN', '3.10.7.4', {
        guards: PASSIVE,
        kernel: 'tcp_minisocks.c tcp_check_req()',
        note: 'a duplicate of the original SYN gets the SYN-ACK again and the request stays',
      }),
    ],
  },
  {
    id: 'request-timeout',
    kind: 'override',
    summary:
      'A request socket that runs out of SYN-ACK retransmissions (tcp_synack_retries) is dropped silently and the listener ' +
      'stays LISTEN; request sockets have no user timeout.',
    kernel: 'inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc()',
    removes: [
      { from: 'SYN_RECEIVED', event: 'retransmit-give-up' },
      { from: 'SYN_RECEIVED', event: 'user-timeout' },
    ],
    adds: [
      defineRow('SYN_RECEIVED', 'retransmit-give-up', 'drop-request', 'LISTEN', '3.8.3', {
        guards: PASSIVE,
        kernel: 'inet_connection_sock.c reqsk_timer_handler()',
        note: 'nothing is sent',
      }),
      defineRow('SYN_RECEIVED', 'retransmit-give-up', 'delete-tcb', 'CLOSED', '3.8.3', {
        guards: ACTIVE,
        kernel: 'tcp_timer.c tcp_write_timeout() (limit tcp_syn_retries)',
        note: 'simultaneous open: a full SYN_RECV socket',
      }),
      defineRow('SYN_RECEIVED', 'user-timeout', 'delete-tcb', 'CLOSED', '3.10.8', {
        guards: ACTIVE,
        kernel: 'tcp_timer.c retransmits_timed_out()',
      }),
    ],
  },
  {
    id: 'handshake-icmp-error',
    kind: 'override',
    summary:
      'An ICMP error quoting a handshake segment: a SYN_SENT socket (or a simultaneous-open SYN_RECV one) takes every error ' +
      'tcp_v4_err() knows (net and host unreachable too, which RFC 1122 calls soft) and closes, so connect() fails with its ' +
      'errno at once. A request socket is dropped silently only on IPv4 net/host unreachable, time exceeded and parameter ' +
      'problem (IPv6: the errors icmpv6_err_convert() calls fatal); port unreachable leaves it to its SYN-ACK timer.',
    kernel: 'tcp_ipv4.c tcp_v4_err() (TCP_SYN_SENT: sk_error_report(), tcp_done(); TCP_NEW_SYN_RECV: tcp_req_err()), tcp_ipv6.c tcp_v6_err()',
    removes: [
      { from: 'SYN_SENT', event: 'rcv-icmp-error' },
      { from: 'SYN_RECEIVED', event: 'rcv-icmp-error' },
    ],
    adds: [
      defineRow('SYN_SENT', 'rcv-icmp-error', 'delete-tcb', 'CLOSED', '3.9.2.2', {
        kernel: 'tcp_ipv4.c tcp_v4_err() (tcp_done())',
        note: 'connect() fails with the error (EHOSTUNREACH, ECONNREFUSED, …)',
      }),
      defineRow('SYN_RECEIVED', 'rcv-icmp-error', 'drop-request', 'LISTEN', '3.9.2.2', {
        guards: PASSIVE,
        kernel: 'tcp_ipv4.c tcp_req_err() (inet_csk_reqsk_queue_drop())',
        note: 'nothing is sent; the quoted sequence number must be the SYN-ACK’s',
      }),
      defineRow('SYN_RECEIVED', 'rcv-icmp-error', 'delete-tcb', 'CLOSED', '3.9.2.2', {
        guards: ACTIVE,
        kernel: 'tcp_ipv4.c tcp_v4_err() (tcp_done())',
        note: 'simultaneous open: a full SYN_RECV socket',
      }),
    ],
  },
  {
    id: 'request-has-no-fd',
    kind: 'override',
    summary:
      'A request socket has no file descriptor: send() and close() reach the listener. Closing the listener forgets the ' +
      'request without sending anything; the peer’s final ACK then finds no socket and gets a RST.',
    kernel: 'tcp_ipv4.c tcp_v4_rcv() (request of a closed listener: inet_csk_reqsk_queue_drop_and_put(), lookup, RST)',
    removes: [
      { from: 'SYN_RECEIVED', event: 'close' },
      { from: 'SYN_RECEIVED', event: 'abort' },
      { from: 'SYN_RECEIVED', event: 'send' },
    ],
    adds: [
      defineRow('SYN_RECEIVED', 'close', 'drop-request', 'CLOSED', '3.10.4', {
        guards: PASSIVE,
        kernel: 'tcp_ipv4.c tcp_v4_rcv()',
        note: 'close() of the listener',
      }),
      defineRow('SYN_RECEIVED', 'abort', 'drop-request', 'CLOSED', '3.10.5', {
        guards: PASSIVE,
        kernel: 'tcp_ipv4.c tcp_v4_rcv()',
        note: 'close() of the listener',
      }),
      { ...rfcRow('SYN_RECEIVED', 'close'), guards: ACTIVE, kernel: 'tcp.c tcp_close_state() (TCP_SYN_RECV → FIN_WAIT1 | ACTION_FIN)' },
      { ...rfcRow('SYN_RECEIVED', 'abort'), guards: ACTIVE, kernel: 'tcp.c tcp_disconnect() (tcp_need_reset())' },
      { ...rfcRow('SYN_RECEIVED', 'send'), guards: ACTIVE, kernel: 'tcp.c tcp_sendmsg_locked() (sk_stream_wait_connect())' },
    ],
  },
  {
    id: 'listener-stays-passive',
    kind: 'removal',
    summary:
      'A listening socket never turns active: connect() on it fails with EISCONN and send() with EPIPE (RFC 9293 allows ' +
      'OPEN/SEND with a foreign socket to send a SYN).',
    kernel: 'af_inet.c __inet_stream_connect(); tcp.c tcp_sendmsg_locked() → stream.c sk_stream_wait_connect()',
    removes: [
      { from: 'LISTEN', event: 'open-active' },
      { from: 'LISTEN', event: 'send' },
    ],
    adds: [],
    rejects: [
      { state: 'LISTEN', event: 'open-active', reason: 'connect() on a listening socket fails with EISCONN', source: 'af_inet.c __inet_stream_connect()' },
      { state: 'LISTEN', event: 'send', reason: 'send() on a listening socket fails with EPIPE', source: 'net/core/stream.c sk_stream_wait_connect()' },
    ],
  },
  {
    id: 'close-in-syn-sent',
    kind: 'same-as-rfc',
    summary:
      'close() in SYN_SENT sends nothing (no RST, no FIN) and the socket is CLOSED; a SYN-ACK that arrives later meets no ' +
      'socket and gets a RST (selftest tcp_close_close-on-syn-sent.pkt).',
    kernel: 'tcp.c tcp_close_state() (TCP_SYN_SENT → TCP_CLOSE, no action)',
    removes: [],
    adds: [],
  },
  {
    id: 'abortive-close',
    kind: 'override',
    summary:
      'close() with SO_LINGER {1, 0}, or with received data still unread, sends a RST instead of a FIN and the socket goes ' +
      'straight to CLOSED (tcp_send_reset reason TCP_ABORT_ON_CLOSE / TCP_STATE).',
    kernel: 'tcp.c __tcp_close() (data_was_unread → tcp_send_active_reset(); SOCK_LINGER with lingertime 0 → tcp_disconnect())',
    removes: [
      { from: 'ESTABLISHED', event: 'close' },
      { from: 'CLOSE_WAIT', event: 'close' },
      { from: 'SYN_RECEIVED', event: 'close', guards: ACTIVE },
    ],
    adds: [
      ...(['ESTABLISHED', 'CLOSE_WAIT'] as const).flatMap((state) => [
        { ...rfcRow(state, 'close'), guards: [GRACEFUL], kernel: 'tcp.c tcp_close_state(), tcp_send_fin()' },
        defineRow(state, 'close', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.4', {
          guards: [ABORTIVE],
          kernel: 'tcp.c __tcp_close()',
          note: 'SO_LINGER {1,0} or unread data',
        }),
      ]),
      { ...rfcRow('SYN_RECEIVED', 'close'), guards: [...ACTIVE, GRACEFUL], kernel: 'tcp.c tcp_close_state()' },
      defineRow('SYN_RECEIVED', 'close', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.4', {
        guards: [...ACTIVE, ABORTIVE],
        kernel: 'tcp.c __tcp_close()',
        note: 'SO_LINGER {1,0} or unread data',
      }),
    ],
  },
  {
    id: 'orphan-fin-wait-2-timeout',
    kind: 'addition',
    summary:
      'After close(), FIN_WAIT_2 does not wait for ever: once our FIN is ACKed the socket becomes a FIN_WAIT2 timewait ' +
      'socket (ss still shows FIN-WAIT-2) that ends silently after tcp_fin_time() = max(tcp_fin_timeout, 3.5·RTO); a FIN ' +
      'in that time moves it to TIME_WAIT. After shutdown(SHUT_WR) FIN_WAIT_2 has no timer (RFC behaviour).',
    kernel:
      'tcp_input.c tcp_rcv_state_process() (case TCP_FIN_WAIT1: tcp_fin_time(), tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)); tcp_timer.c tcp_keepalive_timer()',
    removes: [{ from: 'FIN_WAIT_1', event: 'rcv-ack-of-fin' }],
    adds: [
      defineRow('FIN_WAIT_1', 'rcv-ack-of-fin', 'start-fin-wait-2-timer', 'FIN_WAIT_2', '3.10.7.4', {
        kernel: 'tcp_input.c tcp_rcv_state_process()',
        note: 'orphaned socket: tcp_fin_timeout starts',
      }),
      defineRow('FIN_WAIT_2', 'fin-wait-2-timeout', 'delete-tcb', 'CLOSED', '3.10.7.4', {
        kernel: 'tcp_minisocks.c tcp_time_wait() (FIN_WAIT2 substate), inet_timewait_sock.c tw_timer_handler()',
        note: 'nothing is sent',
      }),
    ],
  },
  {
    id: 'data-after-close',
    kind: 'override',
    summary:
      'Data arriving after close() (FIN_WAIT_1/FIN_WAIT_2 of an orphan) cannot be delivered: the socket sends a RST and is ' +
      'CLOSED (LINUX_MIB_TCPABORTONDATA). After shutdown(SHUT_WR) the data is ACKed as in the RFC.',
    kernel: 'tcp_input.c tcp_rcv_state_process() (RCV_SHUTDOWN with new data → tcp_reset(), caller sends RST)',
    removes: [
      { from: 'FIN_WAIT_1', event: 'rcv-data' },
      { from: 'FIN_WAIT_2', event: 'rcv-data' },
    ],
    adds: (['FIN_WAIT_1', 'FIN_WAIT_2'] as const).map((state) =>
      defineRow(state, 'rcv-data', ['send-rst', 'delete-tcb'], 'CLOSED', '3.10.7.4', {
        kernel: 'tcp_input.c tcp_rcv_state_process()',
        note: 'after close(); the peer gets ECONNRESET on its next call',
      }),
    ),
  },
  {
    id: 'time-wait-60s',
    kind: 'override',
    summary:
      'TIME_WAIT lasts TCP_TIMEWAIT_LEN = 60 s (no sysctl), not 2MSL = 4 min; a retransmitted FIN restarts it. It is held by ' +
      'a timewait mini-socket, so sock:inet_sock_set_state shows the handover as →CLOSE.',
    kernel: 'tcp_minisocks.c tcp_time_wait(), tcp_timewait_state_process(); include/net/tcp.h TCP_TIMEWAIT_LEN',
    removes: TIMEWAIT_ENTRIES.map(([from, event]) => ({ from, event })),
    adds: TIMEWAIT_ENTRIES.map(([from, event]) => withTimewaitLen(from, event)),
  },
  {
    id: 'time-wait-syn',
    kind: 'override',
    summary:
      'A SYN in TIME_WAIT whose sequence is beyond RCV.NXT (or whose timestamp is newer) kills the timewait socket and opens ' +
      'a new connection through the listener; an old SYN gets an ACK (RFC 9293: challenge ACK).',
    kernel: 'tcp_minisocks.c tcp_timewait_state_process() (TCP_TW_SYN); tcp_ipv4.c tcp_v4_rcv()',
    removes: [{ from: 'TIME_WAIT', event: 'rcv-syn' }],
    adds: [
      defineRow('TIME_WAIT', 'rcv-syn', 'delete-tcb', 'CLOSED', '3.10.7.4', {
        guards: [{ kind: 'new-syn', isNew: true }],
        kernel: 'tcp_minisocks.c tcp_timewait_state_process()',
        note: 'the listener answers the SYN',
      }),
      { ...rfcRow('TIME_WAIT', 'rcv-syn'), guards: [{ kind: 'new-syn', isNew: false }], kernel: 'tcp_minisocks.c tcp_timewait_state_process()' },
    ],
  },
  {
    id: 'time-wait-rst-rfc1337',
    kind: 'override',
    summary: 'With tcp_rfc1337 = 1 a RST in TIME_WAIT is ignored (RFC 1337); with the default 0 it kills the socket as RFC 9293 says.',
    kernel: 'tcp_minisocks.c tcp_timewait_state_process() (th->rst && !sysctl_tcp_rfc1337 → kill)',
    when: { setting: 'tcp_rfc1337', equals: 1 },
    removes: [{ from: 'TIME_WAIT', event: 'rcv-rst' }],
    adds: [defineRow('TIME_WAIT', 'rcv-rst', 'none', 'TIME_WAIT', '3.10.7.4', { kernel: 'tcp_minisocks.c tcp_timewait_state_process()' })],
  },
  {
    id: 'give-up-without-rst',
    kind: 'same-as-rfc',
    summary:
      'A connection that runs out of retransmissions (or hits TCP_USER_TIMEOUT) is destroyed without a RST, orphans ' +
      'included; only tcp_out_of_resources() (too many orphans, memory pressure) sends one.',
    kernel: 'tcp_timer.c tcp_write_timeout() → tcp_write_err(); tcp_out_of_resources()',
    removes: [],
    adds: [],
  },
  {
    id: 'retransmission-limits',
    kind: 'timing',
    summary:
      'Give-up is decided by time as well as by count: SYN_SENT fails at tcp_syn_retries + tcp_syn_linear_timeouts ' +
      'retransmissions or at tcp_model_timeout(tcp_syn_retries, 1 s); other states only by time (tcp_model_timeout with ' +
      'base 200 ms, or TCP_USER_TIMEOUT). See timing-model.ts.',
    kernel: 'tcp_timer.c tcp_write_timeout(), retransmits_timed_out(), tcp_model_timeout()',
    removes: [],
    adds: [],
  },
  {
    id: 'tracepoint-blind-spots',
    kind: 'observability',
    summary:
      'sock:inet_sock_set_state reports full sockets only: no request sockets and no timewait sockets (TIME_WAIT entry, ' +
      'FIN_WAIT2→TIME_WAIT, expiry, kill); an active open starts CLOSE→SYN_SENT with sport 0.',
    kernel: 'af_inet.c inet_sk_set_state(); include/trace/events/sock.h',
    removes: [],
    adds: [],
  },
];

function selects(selector: RowSelector, row: TransitionRow): boolean {
  return selector.from === row.from && selector.event === row.event && (selector.guards === undefined || sameGuards(selector.guards, row.guards));
}

/** True when a difference applies under these settings. */
export function differenceApplies(difference: LinuxDifference, settings: KernelSettings): boolean {
  return difference.when === undefined || settings[difference.when.setting] === difference.when.equals;
}

/** The Linux machine for these kernel settings: the RFC rows with every applicable difference applied in order. */
export function linuxMachine(settings: Partial<KernelSettings> = {}): TcpMachine {
  const resolved = resolveKernelSettings(settings);
  let rows: TransitionRow[] = [...TRANSITIONS];
  let rejections: RejectedCall[] = [...REJECTED_CALLS];
  for (const difference of LINUX_DIFFERENCES) {
    if (!differenceApplies(difference, resolved)) continue;
    // Added rows take the place of the first removed one, so the table keeps the RFC's order.
    let insertAt = rows.length;
    for (const selector of difference.removes) {
      const index = rows.findIndex((r) => selects(selector, r));
      if (index < 0) {
        throw new Error(
          `linux profile ${difference.id}: expected to remove a row ${selector.from} + ${selector.event}, found none; ` +
            'the RFC table or an earlier difference changed it',
        );
      }
      insertAt = Math.min(insertAt, index);
      rows = rows.filter((r) => !selects(selector, r));
    }
    if (difference.removes.length === 0) {
      const firstFrom = difference.adds[0]?.from;
      const lastOfState = rows.map((r) => r.from).lastIndexOf(firstFrom ?? 'CLOSED');
      insertAt = firstFrom === undefined || lastOfState < 0 ? rows.length : lastOfState + 1;
    }
    rows.splice(insertAt, 0, ...difference.adds);
    if (difference.rejects !== undefined) {
      rejections = [...difference.rejects, ...rejections.filter((r) => !difference.rejects?.some((x) => x.state === r.state && x.event === r.event))];
    }
  }
  return createTcpMachine({
    name: 'linux',
    title: `Linux 6.18 profile (tcp_rfc1337=${resolved.tcp_rfc1337})`,
    transitions: rows,
    rejections,
  });
}
