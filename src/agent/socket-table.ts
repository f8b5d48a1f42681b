/**
 * The agent's view of the kernel's TCP socket table, sampled from /proc/net/tcp{,6}.
 *
 * Model: every few milliseconds the agent reads the whole table and compares it with the previous
 * sample. Rows are keyed by their 4-tuple (local + remote endpoint; listeners have remote
 * `0.0.0.0:0`), not by inode, because request sockets (SYN_RECV) and timewait sockets have inode 0
 * and a request socket becomes a full socket with a new inode on the same tuple. A `socket` event is
 * due when a tuple appears, when its state changes, or when only the timer's retransmit count
 * changes (each SYN / SYN-ACK / RTO retransmission the kernel counts, `icsk_retransmits` or the
 * request's `num_timeout`, get_tcp4_sock / get_openreq4 in net/ipv4/tcp_ipv4.c), and once more,
 * with `previous` equal to `state`, when the agent learns which of its connections the row is (a
 * child socket is ESTABLISHED in the accept queue before the agent accept()s it); a `socket-gone`
 * event when a tuple disappears. Anything shorter-lived than one sampling period is invisible
 * (e.g. a loopback SYN_SENT lasts microseconds) — packets, not samples, are the evidence for that.
 * Pure: rows and time are passed in.
 */
import type { TcpState } from '../tcp/state.js';
import type { AgentEvent, Endpoint, SocketTimer } from './protocol.js';

/** The fields of a parsed /proc/net/tcp row the agent reports (a subset of ProcTcpRow). */
export interface SampledSocketRow {
  local: Endpoint;
  remote: Endpoint;
  state: TcpState;
  timer: SocketTimer;
  txQueue: number;
  rxQueue: number;
  inode: number;
}

/** A row as kept between samples: with the connection name already reported for it, if any. */
export interface TrackedSocketRow extends SampledSocketRow {
  conn?: string;
}

export type SocketTableEvent = Extract<AgentEvent, { type: 'socket' } | { type: 'socket-gone' }>;

/** Names the agent connection a 4-tuple belongs to, if the agent knows it. */
export type ConnectionLookup = (local: Endpoint, remote: Endpoint) => string | undefined;

/** Compares a new sample with the previous one; returns the due events and the new table. */
export function diffSocketRows(
  previous: ReadonlyMap<string, TrackedSocketRow>,
  rows: readonly SampledSocketRow[],
  timeUs: number,
  lookupConnection: ConnectionLookup = () => undefined,
): { events: SocketTableEvent[]; current: Map<string, TrackedSocketRow> } {
  const current = new Map<string, TrackedSocketRow>();
  const events: SocketTableEvent[] = [];
  for (const row of rows) {
    let key = keyOfTuple(row.local, row.remote);
    // Two rows on one tuple (SO_REUSEPORT listeners): keep both, in table order.
    for (let n = 2; current.has(key); n++) key = `${keyOfTuple(row.local, row.remote)}#${n}`;
    const before = previous.get(key);
    const conn = lookupConnection(row.local, row.remote) ?? before?.conn;
    const tracked: TrackedSocketRow = { local: row.local, remote: row.remote, state: row.state, timer: row.timer, txQueue: row.txQueue, rxQueue: row.rxQueue, inode: row.inode };
    if (conn !== undefined) tracked.conn = conn;
    current.set(key, tracked);
    if (before && before.state === row.state && before.timer.retransmits === row.timer.retransmits && before.conn === conn) continue;
    const event: SocketTableEvent = {
      type: 'socket',
      timeUs,
      local: row.local,
      remote: row.remote,
      state: row.state,
      inode: row.inode,
      timer: { ...row.timer },
      txQueue: row.txQueue,
      rxQueue: row.rxQueue,
    };
    if (before) event.previous = before.state;
    if (conn !== undefined) event.conn = conn;
    events.push(event);
  }
  for (const [key, row] of previous) {
    if (current.has(key)) continue;
    const event: SocketTableEvent = { type: 'socket-gone', timeUs, local: row.local, remote: row.remote, state: row.state };
    const conn = row.conn ?? lookupConnection(row.local, row.remote);
    if (conn !== undefined) event.conn = conn;
    events.push(event);
  }
  return { events, current };
}

/** The key of a 4-tuple, with both endpoints in canonical form. */
export function keyOfTuple(local: Endpoint, remote: Endpoint): string {
  return `${canonicalEndpoint(local)} ${canonicalEndpoint(remote)}`;
}

/** Formats an address and port the way /proc rows are written: `ip:port` or `[ipv6]:port`. */
export function formatEndpoint(address: string, port: number): Endpoint {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Canonical form of an endpoint for comparisons: IPv6 fully expanded, lower case, without a zone
 * (`[::1]:80` → `[0000:…:0001]:80`); IPv4-mapped IPv6 (`[::ffff:1.2.3.4]:80`) becomes `1.2.3.4:80`,
 * since Node reports a dual-stack peer that way while the kernel may print either. Unparsable input
 * is returned unchanged.
 */
export function canonicalEndpoint(endpoint: Endpoint): Endpoint {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(endpoint);
  if (!match || match[1] === undefined || match[2] === undefined) return endpoint;
  const groups = expandIpv6(match[1]);
  if (!groups) return endpoint;
  const port = match[2];
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}:${port}`;
  }
  return `[${groups.map((g) => g.toString(16).padStart(4, '0')).join(':')}]:${port}`;
}

function expandIpv6(text: string): number[] | undefined {
  let address = text.replace(/%.*$/, '').toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    const bytes = dotted.slice(1, 5).map(Number);
    if (bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    address = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}
