/**
 * Parser for `netstat -tan`, `-tanp`, `-tano` and `-tanpo` (net-tools 2.10, netstat.c tcp_do_one:
 * row format "%-4s  %6ld %6ld %-23s %-23s %-11s", then PID/Program name with -p, then the timer
 * with -o as `off|on|keepalive|timewait|probe|unkn-N (seconds/retransmits/probes)`).
 */
import { parseTcpState, type TcpState } from '../tcp/state.js';
import { splitSocketAddress } from './socket-address.js';
import { TextParseError } from './text-parse-error.js';

export type NetstatTimerKind = 'off' | 'on' | 'keepalive' | 'timewait' | 'probe' | 'unknown';

export interface NetstatTimer {
  kind: NetstatTimerKind;
  /** As printed (`unkn-5` keeps its number here). */
  kindText: string;
  /** Time left in milliseconds (netstat prints seconds with 2 decimals; 0.00 when overdue). */
  remainingMs: number;
  /** icsk_retransmits (num_timeout for SYN_RECV). */
  retransmits: number;
  /** icsk_probes_out. */
  probes: number;
}

export interface NetstatRow {
  line: number;
  family: 4 | 6;
  recvQ: number;
  sendQ: number;
  localAddress: string;
  localPort: number | undefined;
  foreignAddress: string;
  foreignPort: number | undefined;
  state: TcpState;
  /** The state as netstat printed it (`FIN_WAIT1`). */
  stateText: string;
  /** `-p`: undefined when netstat printed `-` (request, timewait and orphaned sockets). */
  pid?: number;
  program?: string;
  /** `-o`. */
  timer?: NetstatTimer;
}

export interface NetstatParseResult {
  rows: NetstatRow[];
  /** Lines that are not TCP rows (titles, headers, udp/unix rows, blank lines). */
  skippedLines: number;
}

const TIMER = /\s(off|on|keepalive|timewait|probe|unkn-\d+)\s+\((-?\d+(?:\.\d+)?)\/(\d+)\/(\d+)\)\s*$/;

/** Parses `netstat -tan[p][o]` text into TCP rows; other lines are counted and skipped. */
export function parseNetstatTan(text: string): NetstatParseResult {
  const rows: NetstatRow[] = [];
  let skippedLines = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    const fields = lineText.trim().split(/\s+/);
    const proto = fields[0];
    if (proto !== 'tcp' && proto !== 'tcp6') {
      skippedLines++;
      continue;
    }
    const fail = (problem: string): never => {
      throw new TextParseError(
        'netstat -tan',
        lineNo,
        `${problem}; received ${JSON.stringify(lineText.trim())}; remedy: pass unmodified \`netstat -tan[po]\` output`,
      );
    };
    if (fields.length < 6) fail(`expected at least 6 columns (Proto Recv-Q Send-Q Local Foreign State), found ${fields.length}`);
    const [, recvQText, sendQText, localText, foreignText, stateText] = fields as [string, string, string, string, string, string];
    if (!/^\d+$/.test(recvQText) || !/^\d+$/.test(sendQText)) fail('expected numeric Recv-Q and Send-Q');
    const local = splitSocketAddress(localText);
    const foreign = splitSocketAddress(foreignText);
    if (!local || !foreign) fail(`expected host:port addresses, found ${JSON.stringify(localText)} and ${JSON.stringify(foreignText)}`);
    const state = parseTcpState(stateText);
    if (!state) fail(`unknown TCP state ${JSON.stringify(stateText)}`);
    const row: NetstatRow = {
      line: lineNo,
      family: proto === 'tcp6' ? 6 : 4,
      recvQ: Number(recvQText),
      sendQ: Number(sendQText),
      localAddress: local!.address,
      localPort: local!.port,
      foreignAddress: foreign!.address,
      foreignPort: foreign!.port,
      state: state!,
      stateText,
    };
    // Everything after the state column: "[PID/Program name] [timer]".
    let rest = fields.slice(6).join(' ');
    const timer = TIMER.exec(' ' + rest);
    if (timer) {
      const kindText = timer[1]!;
      row.timer = {
        kind: kindText.startsWith('unkn') ? 'unknown' : (kindText as NetstatTimerKind),
        kindText,
        remainingMs: Math.round(Number(timer[2]) * 1000),
        retransmits: Number(timer[3]),
        probes: Number(timer[4]),
      };
      rest = (' ' + rest).slice(0, timer.index).trim();
    } else if (/\(/.test(rest)) {
      fail('expected a timer like `on (0.68/1/0)` at the end of the row');
    }
    if (rest !== '' && rest !== '-') {
      const pid = /^(\d+)\/(.*)$/.exec(rest);
      if (!pid) fail(`expected PID/Program name or "-", found ${JSON.stringify(rest)}`);
      row.pid = Number(pid![1]);
      row.program = pid![2]!;
    }
    rows.push(row);
  }
  return { rows, skippedLines };
}
