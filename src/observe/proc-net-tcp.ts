/**
 * Parser for /proc/net/tcp and /proc/net/tcp6 (net/ipv4/tcp_ipv4.c get_tcp4_sock, get_openreq4,
 * get_timewait4_sock; net/ipv6/tcp_ipv6.c get_tcp6_sock).
 *
 * Addresses: the kernel prints each 32-bit group of the address (a __be32) with %08X as read on a
 * little-endian CPU, so every 8-hex-digit group is byte-reversed: 0100007F is 127.0.0.1, and an
 * IPv6 address is four such groups. Ports are plain %04X. Timers: `tr:tm->when` is the timer kind
 * and the time left in USER_HZ (100/s) ticks, so milliseconds = ticks × 10 (jiffies_delta_to_clock_t).
 *
 * This file is compiled into the in-container agent: it may import nothing except type-only
 * imports, ../tcp/state.js and ./ip-address.js (both import nothing).
 */
import type { Endpoint, SocketTimer } from '../agent/protocol.js';
import { stateFromKernelNumber, type TcpState } from '../tcp/state.js';
import { formatIpv6Groups } from './ip-address.js';

/** One socket row of /proc/net/tcp{,6}. */
export interface ProcNetTcpRow {
  /** The `sl` slot number. */
  slot: number;
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** `ip:port`, IPv6 bracketed (`[::1]:80`). */
  local: Endpoint;
  remote: Endpoint;
  state: TcpState;
  /** The raw kernel state number (`st`), e.g. 10 for LISTEN. */
  kernelState: number;
  txQueue: number;
  rxQueue: number;
  timer: SocketTimer;
  uid: number;
  /** Unrecovered RTO timeouts (`timeout` column: icsk_probes_out for full sockets). */
  timeout: number;
  inode: number;
  /** 1-based line number in the input text. */
  line: number;
}

/** A /proc/net/tcp line that does not have the expected shape. */
export class ProcNetTcpParseError extends Error {
  override readonly name = 'ProcNetTcpParseError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`/proc/net/tcp line ${line}: ${message}`);
  }
}

const ROW =
  /^\s*(\d+):\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{2}):([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{8})\s+(\d+)\s+(\d+)\s+(\d+)/;

/** Parses the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6) into rows; the header line is skipped. */
export function parseProcNetTcp(text: string, family: 4 | 6): ProcNetTcpRow[] {
  const rows: ProcNetTcpRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i]!;
    const lineNo = i + 1;
    if (lineText.trim() === '') continue;
    if (/^\s*sl\s+local_address/.test(lineText)) continue;
    const m = ROW.exec(lineText);
    if (m === null) {
      throw new ProcNetTcpParseError(
        lineNo,
        `expected "sl: local:port remote:port st tx:rx tr:when retrnsmt uid timeout inode", received ${JSON.stringify(lineText.slice(0, 120))}; remedy: pass the unmodified file contents`,
      );
    }
    const hexLength = family === 4 ? 8 : 32;
    if (m[2]!.length !== hexLength || m[4]!.length !== hexLength) {
      throw new ProcNetTcpParseError(
        lineNo,
        `expected ${hexLength}-digit hex addresses for IPv${family}, received ${m[2]!.length} digits; remedy: pass family ${m[2]!.length === 8 ? 4 : 6} for this file`,
      );
    }
    const kernelState = parseInt(m[6]!, 16);
    const state = stateFromKernelNumber(kernelState);
    if (state === undefined) {
      throw new ProcNetTcpParseError(lineNo, `unknown kernel state number 0x${m[6]} (expected 01..0C, include/net/tcp_states.h)`);
    }
    const localAddress = decodeProcAddress(m[2]!);
    const remoteAddress = decodeProcAddress(m[4]!);
    const localPort = parseInt(m[3]!, 16);
    const remotePort = parseInt(m[5]!, 16);
    rows.push({
      slot: Number(m[1]),
      family,
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      local: formatProcEndpoint(localAddress, localPort, family),
      remote: formatProcEndpoint(remoteAddress, remotePort, family),
      state,
      kernelState,
      txQueue: parseInt(m[7]!, 16),
      rxQueue: parseInt(m[8]!, 16),
      timer: {
        kind: parseInt(m[9]!, 16),
        expiresMs: parseInt(m[10]!, 16) * 10,
        retransmits: parseInt(m[11]!, 16),
      },
      uid: Number(m[12]),
      timeout: Number(m[13]),
      inode: Number(m[14]),
      line: lineNo,
    });
  }
  return rows;
}

/** Decodes a /proc/net/tcp hex address (8 digits IPv4, 32 digits IPv6, byte-reversed per 32-bit group). */
export function decodeProcAddress(hex: string): string {
  const bytes: number[] = [];
  for (let g = 0; g < hex.length; g += 8) {
    const word = hex.slice(g, g + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIpv6Groups(groups);
}

/** `ip:port`, IPv6 in brackets, as the agent's Endpoint type wants it. */
export function formatProcEndpoint(address: string, port: number, family: 4 | 6): Endpoint {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
