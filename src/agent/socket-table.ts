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
 *
 * One read of /proc/net/tcp is not a snapshot. The file is a seq_file (fs/seq_file.c seq_read_iter()):
 * each read() system call returns at most one buffer of rows (a page at first, whatever the size the
 * caller asks for: 4050-byte reads, 27 rows, measured with a 1 MiB buffer), and the next read() restarts the walk over the listening hash and the ehash from
 * the bucket and the offset inside it where the previous one stopped (net/ipv4/tcp_ipv4.c
 * tcp_seek_last_pos()). A file longer than one buffer — 27 rows of 150 bytes per page, which a SYN
 * flood's request sockets easily exceed — is therefore walked in several passes, and when a socket is
 * inserted at the head of a bucket (inet_ehash_insert() adds at the head) or removed from it between
 * two of them, the walk shows a row twice or skips one. Even a short table takes two read() calls —
 * the second, to find the end, resumes the walk at the saved position and returns the rows inserted in
 * the meantime —, so the length of the file does not prove a read consistent (the syn-flood server saw
 * one request three times in a 20-row read). Hence:
 * - one 4-tuple is one socket: two rows on the same tuple in one read are the same socket read twice
 *   (the ehash holds at most one socket per 4-tuple; a request socket is *replaced* by its child,
 *   inet_ehash_insert(sk, osk)), and the later row — read later — wins. Listeners are the exception:
 *   SO_REUSEPORT listeners share a tuple and are told apart by inode;
 * - a row missing from one read may just have been skipped: it is reported gone only when a second
 *   consecutive read misses it too (so a `socket-gone` comes one sampling period after the first read
 *   without the row, and still after the row really went). A row missing once and back in the next
 *   read was never gone, and nothing is reported for it.
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
  /** Set when the latest read did not show the row: the time of that read (gone if the next one misses it too). */
  missingSinceUs?: number;
}

export type SocketTableEvent = Extract<AgentEvent, { type: 'socket' } | { type: 'socket-gone' }>;

/** Names the agent connection a 4-tuple belongs to, if the agent knows it. */
export type ConnectionLookup = (local: Endpoint, remote: Endpoint) => string | undefined;

/**
 * Compares a new read with the previous table; returns the due events and the new table. Repeated rows
 * of one socket in the read collapse into the last one; a row is reported gone after two reads without it.
 */
export function diffSocketRows(
  previous: ReadonlyMap<string, TrackedSocketRow>,
  rows: readonly SampledSocketRow[],
  timeUs: number,
  lookupConnection: ConnectionLookup = () => undefined,
): { events: SocketTableEvent[]; current: Map<string, TrackedSocketRow> } {
  const current = new Map<string, TrackedSocketRow>();
  const events: SocketTableEvent[] = [];
  for (const row of collapseRepeatedRows(rows)) {
    const key = keyOfRow(row);
    const before = previous.get(key);
    const conn = lookupConnection(row.local, row.remote) ?? before?.conn;
    const tracked: TrackedSocketRow = {
      local: row.local,
      remote: row.remote,
      state: row.state,
      timer: row.timer,
      txQueue: row.txQueue,
      rxQueue: row.rxQueue,
      inode: row.inode,
    };
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
    if (row.missingSinceUs === undefined) {
      // Missing from this read only: possibly skipped by a walk the table changed under. Confirm next read.
      current.set(key, { ...row, missingSinceUs: timeUs });
      continue;
    }
    const event: SocketTableEvent = { type: 'socket-gone', timeUs, local: row.local, remote: row.remote, state: row.state };
    const conn = row.conn ?? lookupConnection(row.local, row.remote);
    if (conn !== undefined) event.conn = conn;
    events.push(event);
  }
  return { events, current };
}

/**
 * The rows of one read with repeats of a socket removed: one row per 4-tuple (per 4-tuple and inode for
 * listeners, which SO_REUSEPORT lets share a tuple), the last one read, in the order of first appearance.
 */
export function collapseRepeatedRows(rows: readonly SampledSocketRow[]): SampledSocketRow[] {
  const byKey = new Map<string, SampledSocketRow>();
  for (const row of rows) {
    byKey.set(keyOfRow(row), row); // a Map keeps the first position and takes the later content
  }
  return [...byKey.values()];
}

/** The table key of a row: its 4-tuple, plus the inode for listeners (SO_REUSEPORT). */
function keyOfRow(row: SampledSocketRow): string {
  const tuple = keyOfTuple(row.local, row.remote);
  return row.state === 'LISTEN' ? `${tuple} inode ${row.inode}` : tuple;
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
