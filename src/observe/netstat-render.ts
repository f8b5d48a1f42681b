/**
 * `netstat -tano` text rendered from /proc/net/tcp{,6} rows — the very file netstat reads — so the
 * agent can take the seed's view after every step in well under a millisecond, where forking
 * netstat cost 30–60 ms a step. The layout is net-tools 2.10's (netstat.c tcp_do_one():
 * "%-4s  %6ld %6ld %-23s %-23s %-11s", then the -o timer "kind (seconds/retransmits/probes)");
 * an IPv4-mapped IPv6 address is shown as IPv4, as netstat does.
 *
 * This file is compiled into the in-container agent: type-only imports only.
 */
import type { ProcNetTcpRow } from './proc-net-tcp.js';

const HEADER =
  'Active Internet connections (servers and established)\n' + 'Proto Recv-Q Send-Q Local Address           Foreign Address         State       Timer\n';

/** netstat's names by kernel state number (net-tools tcp_state[]; include/net/tcp_states.h). */
const STATE_NAMES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'SYN_RECV',
];
const TIMER_NAMES = ['off', 'on', 'keepalive', 'timewait', 'probe'];

/** The text `netstat -tano` prints for these rows (IPv4 rows first, as netstat reads tcp then tcp6). */
export function renderNetstatTano(rows: readonly ProcNetTcpRow[]): string {
  const ordered = [...rows.filter((r) => r.family === 4), ...rows.filter((r) => r.family === 6)];
  return HEADER + ordered.map(renderRow).join('');
}

function renderRow(row: ProcNetTcpRow): string {
  const proto = row.family === 4 ? 'tcp' : 'tcp6';
  const local = endpoint(row.localAddress, row.localPort);
  const remote = endpoint(row.remoteAddress, row.remotePort);
  const state = STATE_NAMES[row.kernelState] ?? `UNKNOWN`;
  return (
    `${proto.padEnd(4)}  ${String(row.rxQueue).padStart(6)} ${String(row.txQueue).padStart(6)} ` +
    `${local.padEnd(23)} ${remote.padEnd(23)} ${state.padEnd(11)} ${timer(row)}\n`
  );
}

function endpoint(address: string, port: number): string {
  const shown = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return `${shown}:${port === 0 ? '*' : port}`;
}

function timer(row: ProcNetTcpRow): string {
  const kind = row.timer.kind;
  const seconds = kind === 0 ? '0.00' : (row.timer.expiresMs / 1000).toFixed(2);
  const name = TIMER_NAMES[kind] ?? `unkn-${kind}`;
  return `${name} (${seconds}/${row.timer.retransmits}/${row.timeout})`;
}
