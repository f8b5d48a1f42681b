/**
 * Address formatting for decoded packets: IPv4 dotted quads and IPv6 in the RFC 5952 canonical
 * text form (lower-case hex, no leading zeros, the longest run of two or more zero groups as `::`,
 * the first such run on a tie, and `::ffff:a.b.c.d` for IPv4-mapped addresses, RFC 5952 §5).
 */

/** Formats a 32-bit IPv4 address (host-order number) as a dotted quad. */
export function formatIpv4(u32: number): string {
  return `${(u32 >>> 24) & 0xff}.${(u32 >>> 16) & 0xff}.${(u32 >>> 8) & 0xff}.${u32 & 0xff}`;
}

/** Formats the 16 bytes at `offset` of `buf` as an RFC 5952 IPv6 address. */
export function formatIpv6(buf: Uint8Array, offset: number): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = ((buf[offset + 2 * i] ?? 0) << 8) | (buf[offset + 2 * i + 1] ?? 0);
  return formatIpv6Groups(groups);
}

/**
 * Formats eight 16-bit groups as RFC 5952 text. Imports nothing: the in-container agent uses it
 * too (through proc-net-tcp.ts).
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  // IPv4-mapped (::ffff:0:0/96): mixed notation.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    const v4 = (((groups[6] ?? 0) << 16) | (groups[7] ?? 0)) >>> 0;
    return `::ffff:${formatIpv4(v4)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups
    .slice(0, bestStart)
    .map((g) => g.toString(16))
    .join(':');
  const tail = groups
    .slice(bestStart + bestLen)
    .map((g) => g.toString(16))
    .join(':');
  return `${head}::${tail}`;
}

/** Parses an IPv6 text address (any valid form, including `::` and an IPv4 tail) into 16 bytes; undefined if invalid. */
export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  const tailV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  const out = new Uint8Array(16);
  let extra: number[] = [];
  if (tailV4) {
    const parts = tailV4[1]!.split('.').map(Number);
    if (parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
    extra = [(parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!];
    s = s.slice(0, s.length - tailV4[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const gs = h.split(':');
    const nums: number[] = [];
    for (const g of gs) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      nums.push(parseInt(g, 16));
    }
    return nums;
  };
  const left = parseGroups(halves[0] ?? '');
  const right = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  const rightAll = [...right, ...extra];
  const leftAll = halves.length === 2 ? left : [...left, ...extra];
  const total = leftAll.length + (halves.length === 2 ? rightAll.length : 0);
  if (halves.length === 2 ? total > 7 : total !== 8) return undefined;
  const groups = halves.length === 2 ? [...leftAll, ...new Array<number>(8 - total).fill(0), ...rightAll] : leftAll;
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
