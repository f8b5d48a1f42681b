import type { TcpOptions } from './packet.js';

/**
 * Parses TCP options between `start` and `end` (RFC 9293 §3.2; SACK RFC 2018; timestamps and
 * window scale RFC 7323). Stops at EOL or at an option whose length is < 2 or runs past the end.
 */
export function parseTcpOptions(buf: Uint8Array, start: number, end: number): TcpOptions | undefined {
  let options: TcpOptions | undefined;
  let p = start;
  while (p < end) {
    const kind = buf[p]!;
    if (kind === 0) break; // EOL
    if (kind === 1) {
      p++; // NOP
      continue;
    }
    if (p + 1 >= end) break;
    const len = buf[p + 1]!;
    if (len < 2 || p + len > end) break;
    switch (kind) {
      case 2:
        if (len === 4) (options ??= {}).mss = (buf[p + 2]! << 8) | buf[p + 3]!;
        break;
      case 3:
        if (len === 3) (options ??= {}).windowScale = buf[p + 2]!;
        break;
      case 4:
        if (len === 2) (options ??= {}).sackPermitted = true;
        break;
      case 5: {
        const blocks: Array<[number, number]> = [];
        for (let q = p + 2; q + 8 <= p + len; q += 8) {
          blocks.push([readU32(buf, q), readU32(buf, q + 4)]);
        }
        (options ??= {}).sack = blocks;
        break;
      }
      case 8:
        if (len === 10) (options ??= {}).timestamp = { value: readU32(buf, p + 2), echo: readU32(buf, p + 6) };
        break;
      default:
        break;
    }
    p += len;
  }
  return options;
}

function readU32(buf: Uint8Array, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}
