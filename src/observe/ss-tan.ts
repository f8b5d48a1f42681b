/**
 * Parser for `ss -tan`, `-tano`, `-tanoi` (and `-p`, `-e` extras) as iproute2 6.1 prints them.
 *
 * Timers (misc/ss.c tcp_timer_print → print_ms_timer): `timer:(NAME,TIME,N)`. TIME is `Xmin`,
 * `XminYsec`, `Ysec`, `Y.ZZZms` — which means Y.ZZZ *seconds* (ss uses it for 1–9 s) — `ZZZms`
 * (milliseconds, zero-padded), or empty for 0. Later iproute2 prints `Y.ZZZsec`; both are read.
 * `-i` adds a tab-indented info line after each row (`rto:204 rtt:0.025/0.014 retrans:1/3 …`).
 */
import { parseTcpState, type TcpState } from '../tcp/state.js';
import { splitSocketAddress } from './socket-address.js';
import { TextParseError } from './text-parse-error.js';

export interface SsTimer {
  /** on, keepalive, timewait, persist, off, unknown. */
  name: string;
  /** Time left, converted to milliseconds. */
  expiresMs: number;
  /** Retransmits (on), probes (keepalive), 0 (timewait). */
  count: number;
}

export interface SsInfo {
  /** Every `key:value` token, as printed (`wscale` → `10,10`), plus bare flags (`ts`, `sack`) as `true`. */
  fields: Record<string, string | true>;
  rtoMs?: number;
  rttMs?: number;
  rttVarMs?: number;
  /** `retrans:a/b`: a = retransmits outstanding now, b = total retransmits. */
  retrans?: { current: number; total: number };
  backoff?: number;
  unacked?: number;
  lost?: number;
}

export interface SsRow {
  line: number;
  /** Present when ss printed a Netid column. */
  netid?: string;
  state: TcpState;
  /** As printed (`SYN-SENT`). */
  stateText: string;
  recvQ: number;
  sendQ: number;
  localAddress: string;
  localPort: number | undefined;
  peerAddress: string;
  peerPort: number | undefined;
  timer?: SsTimer;
  /** `users:((...))` as printed. */
  users?: string;
  /** Other trailing tokens (`ino:123`, `sk:…`, `uid:0`, `<->`). */
  extra: string[];
  /** `-i` info line. */
  info?: SsInfo;
}

export interface SsParseResult {
  rows: SsRow[];
  skippedLines: number;
}

/** Converts an ss timer TIME text to milliseconds; undefined if it is not one of print_ms_timer's forms. */
export function parseSsTimerTime(text: string): number | undefined {
  let t = text.trim();
  let sign = 1;
  if (t.startsWith('-')) {
    sign = -1;
    t = t.slice(1);
  }
  if (t === '') return 0;
  let m = /^(\d+)min(?:(\d+)sec)?$/.exec(t);
  if (m) return sign * (Number(m[1]) * 60_000 + Number(m[2] ?? 0) * 1000);
  m = /^(\d+)sec$/.exec(t);
  if (m) return sign * Number(m[1]) * 1000;
  m = /^(\d+)\.(\d{1,3})(?:ms|sec)$/.exec(t);
  if (m) return sign * (Number(m[1]) * 1000 + Number(m[2]!.padEnd(3, '0')));
  m = /^(\d+)ms$/.exec(t);
  if (m) return sign * Number(m[1]);
  return undefined;
}

/** Parses `ss -tan[o][i][p][e]` output; header and non-TCP lines are counted and skipped. */
export function parseSsTan(text: string): SsParseResult {
  const rows: SsRow[] = [];
  let skippedLines = 0;
  let hasNetid = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    const fail = (problem: string): never => {
      throw new TextParseError(
        'ss -tan',
        lineNo,
        `${problem}; received ${JSON.stringify(lineText.trim().slice(0, 160))}; remedy: pass unmodified \`ss -tan[oi]\` output`,
      );
    };
    if (lineText.startsWith('\t')) {
      // The -i info line belongs to the row above it (ss prints it tab-indented).
      const previous = rows[rows.length - 1];
      if (previous && lineText.trim() !== '') previous.info = parseSsInfo(lineText.trim());
      else skippedLines++;
      continue;
    }
    const fields = lineText.trim().split(/\s+/);
    if (fields[0] === 'Netid') {
      hasNetid = true;
      skippedLines++;
      continue;
    }
    if (fields[0] === 'State' || fields[0] === '') {
      skippedLines++;
      continue;
    }
    let netid: string | undefined;
    if (hasNetid) {
      netid = fields.shift();
      if (netid !== 'tcp') {
        skippedLines++;
        continue;
      }
    }
    const stateText = fields[0]!;
    const state = parseTcpState(stateText);
    if (!state) {
      // A line that is not a socket row at all (ss prints nothing else, but be tolerant of prompts/titles).
      if (fields.length < 5 || !/^\d+$/.test(fields[1] ?? '')) {
        skippedLines++;
        continue;
      }
      fail(`unknown TCP state ${JSON.stringify(stateText)}`);
    }
    if (fields.length < 5) fail(`expected State Recv-Q Send-Q Local Peer, found ${fields.length} columns`);
    if (!/^\d+$/.test(fields[1]!) || !/^\d+$/.test(fields[2]!)) fail('expected numeric Recv-Q and Send-Q');
    const local = splitSocketAddress(fields[3]!);
    const peer = splitSocketAddress(fields[4]!);
    if (!local || !peer) fail(`expected address:port columns, found ${JSON.stringify(fields[3])} and ${JSON.stringify(fields[4])}`);
    const row: SsRow = {
      line: lineNo,
      state: state!,
      stateText,
      recvQ: Number(fields[1]),
      sendQ: Number(fields[2]),
      localAddress: local!.address,
      localPort: local!.port,
      peerAddress: peer!.address,
      peerPort: peer!.port,
      extra: [],
    };
    if (netid !== undefined) row.netid = netid;
    for (const token of splitProcessColumn(fields.slice(5).join(' '))) {
      if (token.startsWith('timer:(')) {
        const m = /^timer:\(([a-z]+),([^,]*),(-?\d+)\)$/.exec(token);
        if (!m) fail(`expected timer:(name,time,count), found ${JSON.stringify(token)}`);
        const expiresMs = parseSsTimerTime(m![2]!);
        if (expiresMs === undefined) fail(`timer time ${JSON.stringify(m![2])} is not in ss's Xmin / Ysec / Y.ZZZms / ZZZms form`);
        row.timer = { name: m![1]!, expiresMs: expiresMs!, count: Number(m![3]) };
      } else if (token.startsWith('users:(')) {
        row.users = token;
      } else {
        row.extra.push(token);
      }
    }
    rows.push(row);
  }
  return { rows, skippedLines };
}

/** Splits the trailing column on spaces that are not inside parentheses. */
function splitProcessColumn(text: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ' ' && depth === 0) {
      if (current !== '') tokens.push(current);
      current = '';
    } else current += ch;
  }
  if (current !== '') tokens.push(current);
  return tokens;
}

/** Parses the `-i` info line (`ts sack cubic wscale:7,7 rto:204 rtt:0.03/0.01 … retrans:1/3`). */
export function parseSsInfo(text: string): SsInfo {
  const fields: Record<string, string | true> = {};
  const tokens = splitProcessColumn(text);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const colon = token.indexOf(':');
    if (colon > 0) fields[token.slice(0, colon)] = token.slice(colon + 1);
    else if ((token === 'send' || token === 'pacing_rate' || token === 'delivery_rate') && tokens[i + 1] !== undefined) {
      fields[token] = tokens[++i]!;
    } else fields[token] = true;
  }
  const info: SsInfo = { fields };
  const num = (key: string): number | undefined => {
    const v = fields[key];
    return typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  };
  const rto = num('rto');
  if (rto !== undefined) info.rtoMs = rto;
  const rtt = fields['rtt'];
  if (typeof rtt === 'string') {
    const [avg, variance] = rtt.split('/');
    info.rttMs = Number(avg);
    if (variance !== undefined) info.rttVarMs = Number(variance);
  }
  const retrans = fields['retrans'];
  if (typeof retrans === 'string') {
    const [current, total] = retrans.split('/');
    info.retrans = { current: Number(current), total: Number(total ?? current) };
  }
  const backoff = num('backoff');
  if (backoff !== undefined) info.backoff = backoff;
  const unacked = num('unacked');
  if (unacked !== undefined) info.unacked = unacked;
  const lost = num('lost');
  if (lost !== undefined) info.lost = lost;
  return info;
}
