/**
 * Parser for tcpdump's one-line TCP output (print-tcp.c), as `tcpdump -n [-S] [-tt|-tttt|…] [-#]
 * [-i any] [-v] [-q]` prints it:
 *
 *   [N  ][time ][iface In|Out ]IP|IP6 src.sport > dst.dport: Flags [S.], [cksum …,] seq a[:b], ack n,
 *   win w[, urg u][, options […]], length len[: payload summary]
 *
 * `-v` moves the TCP part to an indented second line after `IP (tos …)`; the two are joined.
 * `-q` prints `tcp LEN` instead of the TCP fields (flags unknown). Hex/ASCII dump lines and other
 * protocols are skipped and counted.
 *
 * Relative sequence numbers (no `-S`), print-tcp.c tcp_print: tcpdump keeps one entry per
 * connection (addresses and ports in a canonical order: reversed when sport > dport, or ports equal
 * and src > dst). The first segment with ACK set (or any later SYN with ACK) stores its numbers and
 * is printed absolute; every later ACK-bearing segment is printed relative to them. Segments
 * without ACK are always absolute. With `sequenceNumbers: 'relative'` this parser replays that
 * bookkeeping, marks rows `relative`, and reconstructs `absoluteSeq` / `absoluteAck`.
 */
import { TCPDUMP_FLAG_LETTERS, TcpFlag } from './packet.js';
import { parseIpv6 } from './ip-address.js';
import { TextParseError } from './text-parse-error.js';

export type TcpdumpTimeKind = 'none' | 'epoch' | 'date-time' | 'time-of-day';

export interface TcpdumpRow {
  line: number;
  /** `-#` packet number. */
  number?: number;
  timeKind: TcpdumpTimeKind;
  timeText?: string;
  /**
   * Microseconds: since the epoch for `epoch` (-tt) and `date-time` (-tttt, read as UTC), since
   * midnight for `time-of-day` (default; -ttt / -ttttt deltas look the same and are read the same way).
   */
  timeUs?: number;
  /** `-i any`: interface name and direction word (In, Out, B, M, P). */
  interface?: string;
  direction?: string;
  family: 4 | 6;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** TcpFlag bitmask; undefined for `-q` lines (`tcp 0`). */
  flags: number | undefined;
  /** The AccECN AE bit (`e`, tcpdump master). */
  ae: boolean;
  flagsText?: string;
  /** Sequence numbers as printed (absent on pure ACKs, which tcpdump prints without `seq`). */
  seq?: number;
  seqEnd?: number;
  ack?: number;
  window?: number;
  urgent?: number;
  /** Text inside `options [...]`. */
  optionsText?: string;
  length: number;
  /** True when seq/ack on this row were printed relative (only known with sequenceNumbers: 'relative'). */
  relative: boolean;
  /** Absolute numbers: equal to seq/ack for absolute rows, reconstructed for relative rows. */
  absoluteSeq?: number;
  absoluteAck?: number;
}

export interface TcpdumpParseOptions {
  /** 'absolute' (default): output made with -S. 'relative': without -S; see the module comment. */
  sequenceNumbers?: 'absolute' | 'relative';
}

export interface TcpdumpParseResult {
  rows: TcpdumpRow[];
  /** Lines that are not TCP packet lines (other protocols, dumps, blank lines, truncated `[|tcp]`). */
  skippedLines: number;
}

const HEAD =
  /^\s*(?:(\d+)\s+)?(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)|(\d+:\d\d:\d\d(?:\.\d+)?)|(\d+\.\d+))?\s*(?:(\S+)\s+(In|Out|B|M|P)\s+)?(IP6?)\s+(.+?)\.(\d+) > (.+?)\.(\d+): (.*)$/;
const V_HEADER = /^(.*\bIP6?) \((?:tos|hlim|flowlabel|ttl)\b.*\)\s*$/;

/** Parses tcpdump text into TCP rows; see the module comment for the accepted forms. */
export function parseTcpdumpText(text: string, options: TcpdumpParseOptions = {}): TcpdumpParseResult {
  const relativeMode = options.sequenceNumbers === 'relative';
  const rows: TcpdumpRow[] = [];
  let skippedLines = 0;
  const seqTable = new Map<string, { seq: number; ack: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let lineText = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    const vHeader = V_HEADER.exec(lineText);
    if (vHeader && i + 1 < lines.length && /^\s/.test(lines[i + 1]!)) {
      lineText = `${vHeader[1]} ${lines[i + 1]!.trim()}`;
      i++;
      skippedLines++; // the second physical line is consumed by the join
    }
    const m = HEAD.exec(lineText);
    if (!m) {
      skippedLines++;
      continue;
    }
    const rest = m[12]!;
    const quiet = /^tcp (\d+)/.exec(rest);
    if (!rest.startsWith('Flags [') && !quiet) {
      skippedLines++; // UDP, ICMP with ports, …
      continue;
    }
    if (rest.includes('[|tcp]')) {
      skippedLines++; // truncated by the snaplen: tcpdump could not print the TCP fields
      continue;
    }
    const fail = (problem: string): never => {
      throw new TextParseError(
        'tcpdump',
        lineNo,
        `${problem}; received ${JSON.stringify(lineText.slice(0, 200))}; remedy: pass tcpdump -n output (one packet per line, or -v pairs)`,
      );
    };
    const family: 4 | 6 = m[7] === 'IP6' ? 6 : 4;
    const row: TcpdumpRow = {
      line: lineNo,
      timeKind: 'none',
      family,
      src: m[8]!,
      srcPort: Number(m[9]),
      dst: m[10]!,
      dstPort: Number(m[11]),
      flags: undefined,
      ae: false,
      length: 0,
      relative: false,
    };
    if (m[1] !== undefined) row.number = Number(m[1]);
    readTime(row, m[2], m[3], m[4]);
    if (m[5] !== undefined) {
      row.interface = m[5];
      row.direction = m[6]!;
    }
    if (row.srcPort > 65535 || row.dstPort > 65535) fail('port number above 65535');
    if (quiet) {
      row.length = Number(quiet[1]);
      rows.push(row);
      continue;
    }
    parseTcpFields(row, rest, fail);
    if (relativeMode) applyRelativeBookkeeping(row, seqTable);
    else {
      if (row.seq !== undefined) row.absoluteSeq = row.seq;
      if (row.ack !== undefined) row.absoluteAck = row.ack;
    }
    rows.push(row);
  }
  return { rows, skippedLines };
}

function readTime(row: TcpdumpRow, dateTime: string | undefined, clock: string | undefined, epoch: string | undefined): void {
  if (dateTime !== undefined) {
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(dateTime)!;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    row.timeKind = 'date-time';
    row.timeText = dateTime;
    row.timeUs = ms * 1000 + fractionUs(m[7]);
  } else if (clock !== undefined) {
    const m = /^(\d+):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(clock)!;
    row.timeKind = 'time-of-day';
    row.timeText = clock;
    row.timeUs = (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1e6 + fractionUs(m[4]);
  } else if (epoch !== undefined) {
    const [sec, frac] = epoch.split('.');
    row.timeKind = 'epoch';
    row.timeText = epoch;
    row.timeUs = Number(sec) * 1e6 + fractionUs(frac);
  }
}

/** `924505` → 924505 µs; `924505488` (nanoseconds) → 924505.488 µs. */
function fractionUs(frac: string | undefined): number {
  if (frac === undefined || frac === '') return 0;
  return Number(frac) * 10 ** (6 - frac.length);
}

function parseTcpFields(row: TcpdumpRow, rest: string, fail: (problem: string) => never): void {
  const flagsMatch = /^Flags \[([^\]]*)\]/.exec(rest);
  if (!flagsMatch) fail('expected `Flags [..]`');
  const flagsText = flagsMatch[1]!;
  let flags = 0;
  if (flagsText !== 'none') {
    for (const letter of flagsText) {
      if (letter === 'e') {
        row.ae = true;
        continue;
      }
      const bit = TCPDUMP_FLAG_LETTERS[letter];
      if (bit === undefined) fail(`unknown flag letter ${JSON.stringify(letter)} in [${flagsText}] (expected F S R P . U E W e or none)`);
      flags |= bit;
    }
  }
  row.flags = flags;
  row.flagsText = flagsText;
  let p = flagsMatch[0].length;
  let sawLength = false;
  while (p < rest.length && !sawLength) {
    const tail = rest.slice(p);
    let m: RegExpExecArray | null;
    if ((m = /^, cksum 0x[0-9a-f]+ \([^)]*\)/.exec(tail))) {
      p += m[0].length;
    } else if ((m = /^, seq (\d+)(?::(\d+))?/.exec(tail))) {
      row.seq = Number(m[1]);
      if (m[2] !== undefined) row.seqEnd = Number(m[2]);
      p += m[0].length;
    } else if ((m = /^, ack (\d+)/.exec(tail))) {
      row.ack = Number(m[1]);
      p += m[0].length;
    } else if ((m = /^, win (\d+)/.exec(tail))) {
      row.window = Number(m[1]);
      p += m[0].length;
    } else if ((m = /^, urg (\d+)/.exec(tail))) {
      row.urgent = Number(m[1]);
      p += m[0].length;
    } else if (tail.startsWith(', options [')) {
      const open = p + ', options '.length;
      const close = matchBracket(rest, open);
      if (close < 0) fail('unterminated `options [`');
      row.optionsText = rest.slice(open + 1, close);
      p = close + 1;
    } else if ((m = /^, length (\d+)/.exec(tail))) {
      row.length = Number(m[1]);
      sawLength = true;
    } else if ((m = /^, [^,]*/.exec(tail))) {
      p += m[0].length; // a field this parser does not need (e.g. `[bad hdr length …]`)
    } else {
      fail(`unexpected text ${JSON.stringify(tail.slice(0, 40))} after the TCP flags`);
    }
  }
  if (!sawLength) fail('expected `, length N` in a TCP line');
  for (const n of [row.seq, row.seqEnd, row.ack]) {
    if (n !== undefined && n > 0xffffffff) fail(`sequence number ${n} exceeds 32 bits`);
  }
}

function matchBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '[') depth++;
    else if (text[i] === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Replays print-tcp.c's tcp_seq_hash for one row (see the module comment). */
function applyRelativeBookkeeping(row: TcpdumpRow, table: Map<string, { seq: number; ack: number }>): void {
  const flags = row.flags ?? 0;
  const seq = row.seq ?? 0;
  const ack = row.ack ?? 0;
  if (!(flags & TcpFlag.ACK)) {
    if (row.seq !== undefined) row.absoluteSeq = row.seq;
    if (row.ack !== undefined) row.absoluteAck = row.ack;
    return;
  }
  let rev: boolean;
  if (row.srcPort > row.dstPort) rev = true;
  else if (row.srcPort === row.dstPort) rev = compareAddresses(row.src, row.dst, row.family) > 0;
  else rev = false;
  const key = rev ? `${row.dst}|${row.src}|${row.dstPort}|${row.srcPort}` : `${row.src}|${row.dst}|${row.srcPort}|${row.dstPort}`;
  const entry = table.get(key);
  if (entry === undefined || flags & TcpFlag.SYN) {
    // tcpdump stores the numbers of this segment and prints it absolute. A pure ACK has no printed
    // seq: tcpdump still stores the real one, which the text does not show, so the entry's seq side
    // stays unknown (NaN) until a segment that prints its seq re-creates it (a SYN-ACK) — in practice
    // the first ACK-bearing segment is the SYN-ACK, which prints both.
    const stored = rev ? { ack: row.seq !== undefined ? seq : NaN, seq: (ack - 1) >>> 0 } : { seq: row.seq !== undefined ? seq : NaN, ack: (ack - 1) >>> 0 };
    table.set(key, stored);
    if (row.seq !== undefined) row.absoluteSeq = row.seq;
    if (row.ack !== undefined) row.absoluteAck = row.ack;
    return;
  }
  row.relative = true;
  const seqBase = rev ? entry.ack : entry.seq;
  const ackBase = rev ? entry.seq : entry.ack;
  if (row.seq !== undefined && !Number.isNaN(seqBase)) row.absoluteSeq = (seq + seqBase) >>> 0;
  if (row.ack !== undefined && !Number.isNaN(ackBase)) row.absoluteAck = (ack + ackBase) >>> 0;
}

function compareAddresses(a: string, b: string, family: 4 | 6): number {
  const bytes = (s: string): number[] => (family === 4 ? s.split('.').map(Number) : [...(parseIpv6(s) ?? new Uint8Array(16))]);
  const x = bytes(a);
  const y = bytes(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
