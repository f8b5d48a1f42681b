import { didYouMean } from './lab-error.js';
import type { PathProblem } from './lab-issues.js';
import type { Lab } from './model.js';
import { quote } from './quote-token.js';
import { TCP_SYSCTL_RANGES } from '../tcp/sysctl-ranges.js';

/**
 * What the kernel accepts for the sysctls a lab sets, checked before anything is created (Docker
 * would otherwise fail with "OCI runtime create failed" after the network and a container exist).
 *
 * Two sources of truth:
 * - SysctlFacts, read once per lab image and kernel from a throw-away container (`sysctl -a` and the
 *   write bits under /proc/sys/net; src/runtime/sysctl-facts.ts): which keys exist in a fresh network
 *   namespace, which are writable, and the shape of their current values (a number, N numbers, text).
 * - TCP_SYSCTL_RANGES (src/tcp/sysctl-ranges.ts): the bounds of the integer net.ipv4.tcp_* sysctls, from
 *   the kernel source; the timing model checks its settings against the same table.
 */
export interface SysctlFacts {
  /** Image and kernel the facts were read from (the cache key). */
  readonly image: string;
  readonly kernel: string;
  /** Every readable net.* sysctl of a fresh network namespace with its value as `sysctl -a` prints it. */
  readonly values: Readonly<Record<string, string>>;
  /** The keys whose file is writable (mode bits); e.g. tcp_available_congestion_control is 0444. */
  readonly writable: readonly string[];
}

export { TCP_SYSCTL_RANGES } from '../tcp/sysctl-ranges.js';

const INTEGER = /^-?\d+$/;

/** Checks every host's sysctls of `lab` against `facts` and the kernel's bounds; problems point at hosts.H.sysctls.KEY. */
export function checkLabSysctls(lab: Lab, facts: SysctlFacts): PathProblem[] {
  const writable = new Set(facts.writable);
  const problems: PathProblem[] = [];
  for (const host of lab.hosts) {
    for (const [key, value] of Object.entries(host.sysctls)) {
      const problem = checkSysctl(key, value, facts, writable);
      if (problem !== undefined) problems.push({ path: ['hosts', host.name, 'sysctls', key], target: 'value', message: problem });
    }
  }
  return problems;
}

/** Why the kernel would refuse `key = value`, or undefined when it accepts it. */
export function checkSysctl(key: string, value: string, facts: SysctlFacts, writable: ReadonlySet<string> = new Set(facts.writable)): string | undefined {
  const known = knownAs(key);
  const current = facts.values[known];
  if (current === undefined && !writable.has(known)) {
    const hint = didYouMean(key, Object.keys(facts.values));
    const source = `read from ${facts.image} on kernel ${quote(facts.kernel, 30)}`;
    return `the kernel has no sysctl ${quote(key)} in a lab host's network namespace (${source}); check the name${hint}`;
  }
  if (!writable.has(known)) return `sysctl ${quote(key)} is read-only; remove it (its value is ${quote(current ?? '', 40)})`;
  const words = value.trim().split(/\s+/);
  const range = key.startsWith('net.ipv4.') ? TCP_SYSCTL_RANGES[key.slice('net.ipv4.'.length)] : undefined;
  const currentWords = current?.trim().split(/\s+/) ?? [];
  const expectedCount = range?.count ?? (currentWords.length > 0 && currentWords.every((w) => INTEGER.test(w)) ? currentWords.length : 0);
  if (range === undefined && expectedCount === 0) return undefined; // text-valued: any one line (checked at load)
  const count = expectedCount || 1;
  const noun = count === 1 ? 'a whole number' : `up to ${count} whole numbers separated by spaces`;
  if (words.length > count || !words.every((w) => INTEGER.test(w))) {
    const byDefault = current === undefined ? '' : `; its default here is ${quote(current.replace(/\s+/g, ' '), 40)}`;
    return `sysctl ${quote(key)} takes ${noun}, received ${quote(value)}${byDefault}`;
  }
  if (range === undefined) return undefined;
  const outside = words.find((w) => BigInt(w) < range.min || BigInt(w) > range.max);
  if (outside !== undefined) {
    return `sysctl ${quote(key)} takes ${range.min}..${range.max} (net/ipv4/sysctl_net_ipv4.c), received ${quote(outside)}; choose a value in that range`;
  }
  return undefined;
}

/** The key as the probe knows it: interface-specific keys (`conf.eth0.`) are read from `conf.default.` (the probe has no eth0). */
function knownAs(key: string): string {
  return key.replace(/^net\.(ipv4|ipv6)\.(conf|neigh)\.eth\d+\./, 'net.$1.$2.default.');
}
