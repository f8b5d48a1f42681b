import { formatIpv6, parseIpv6 } from '../observe/ip-address.js';

/*
 * The address ranges of lab networks. Slot n (0-511) of a run is one IPv4 /24 from 198.18.0.0/15
 * (RFC 2544: reserved for network testing) and, for labs that use IPv6, the IPv6 /64 with subnet ID
 * n in tcplab's ULA /48 fd00:7463:706c::/48 (RFC 4193 unique local addresses, never routed on the
 * internet; 7463:706c is "tcpl" in ASCII). Both halves of a slot come from the same n, so the
 * engine's refusal of an overlapping IPv4 pool also keeps two concurrent runs off one IPv6 prefix;
 * a slot is also skipped when either half is already a subnet of any network on the engine.
 */

/** How many slots there are: 512 /24s in 198.18.0.0/15. */
export const SUBNET_POOL_SIZE = 512;

/** tcplab's ULA /48 (RFC 4193 §3.1: fd00::/8 with a 40-bit global ID, here 00:7463:706c). */
export const LAB_ULA_PREFIX = 'fd00:7463:706c';

/** The IPv4 /24 and the IPv6 /64 of one slot. */
export interface LabSubnets {
  readonly subnet: string;
  readonly subnet6: string;
}

/** The subnets of slot `n` (0 ≤ n < SUBNET_POOL_SIZE). */
export function labSubnetsOf(n: number): LabSubnets {
  if (!Number.isInteger(n) || n < 0 || n >= SUBNET_POOL_SIZE) throw new RangeError(`subnet slot ${n} is outside 0-${SUBNET_POOL_SIZE - 1}`);
  return { subnet: `198.${18 + (n >> 8)}.${n & 255}.0/24`, subnet6: `${LAB_ULA_PREFIX}:${n.toString(16)}::/64` };
}

/**
 * The free slots in the order to try them, starting at `start` and wrapping around: a slot is free when
 * neither its /24 nor its /64 is in `used` (subnets of the engine's networks, in any valid spelling).
 */
export function freeLabSubnets(used: Iterable<string>, start: number): LabSubnets[] {
  const taken = new Set([...used].map(canonicalSubnet));
  const free: LabSubnets[] = [];
  for (let i = 0; i < SUBNET_POOL_SIZE; i++) {
    const slot = labSubnetsOf((((start + i) % SUBNET_POOL_SIZE) + SUBNET_POOL_SIZE) % SUBNET_POOL_SIZE);
    if (!taken.has(canonicalSubnet(slot.subnet)) && !taken.has(canonicalSubnet(slot.subnet6))) free.push(slot);
  }
  return free;
}

/** The address of the lab's `index`-th host (declaration order) in its /24: .2, .3, … (.1 is the bridge). */
export function hostAddress(subnet: string, index: number): string {
  return `${subnet.split('.').slice(0, 3).join('.')}.${index + 2}`;
}

/** The IPv6 address of the lab's `index`-th host in its /64: ::2, ::3, … (::1 is the bridge), in RFC 5952 form. */
export function hostAddress6(subnet6: string, index: number): string {
  const network = parseIpv6(subnet6.slice(0, subnet6.indexOf('/')));
  if (network === undefined) throw new Error(`not an IPv6 subnet: "${subnet6}"`);
  const bytes = Uint8Array.from(network);
  const host = index + 2;
  bytes[14] = (host >> 8) & 0xff;
  bytes[15] = host & 0xff;
  return formatIpv6(bytes, 0);
}

/** An IPv6 CIDR in RFC 5952 form (`FD00:0:…/64` → `fd00::/64`); IPv4 and unparsable text unchanged. */
function canonicalSubnet(cidr: string): string {
  const slash = cidr.indexOf('/');
  if (!cidr.includes(':') || slash < 0) return cidr;
  const bytes = parseIpv6(cidr.slice(0, slash));
  return bytes === undefined ? cidr : `${formatIpv6(bytes, 0)}${cidr.slice(slash)}`;
}
