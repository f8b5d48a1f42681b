import { didYouMean, type LabProblem } from './lab-error.js';
import { PROTOTYPE_KEYS } from './lab-limits.js';
import { quote } from './quote-token.js';

/**
 * `--set` overrides, applied to the parsed YAML before validation so they pass through the same checks as
 * the file. Forms: `HOST.sysctl.KEY=VALUE` (e.g. `client.sysctl.net.ipv4.tcp_syn_retries=6`) and
 * `timeout=DURATION`. Problems are located in the argument: file `--set`, line = which `--set` (1-based),
 * col = column in that argument.
 */
export interface LabOverride {
  /** The argument as given. */
  readonly arg: string;
  /** 1-based ordinal of this `--set` among all of them (the `line` of its problems). */
  readonly ordinal: number;
  /** Path in the lab document that the override writes, e.g. `['hosts', 'client', 'sysctls', 'net.ipv4.tcp_syn_retries']`. */
  readonly path: readonly string[];
  readonly value: string;
  /** 1-based columns of the key (after `HOST.sysctl.`) and of the value (after `=`) in `arg`. */
  readonly keyCol: number;
  readonly valueCol: number;
}

const FORMS = 'HOST.sysctl.KEY=VALUE (e.g. client.sysctl.net.ipv4.tcp_syn_retries=6) or timeout=DURATION (e.g. timeout=90s)';

/** Parses `--set` arguments into overrides; malformed ones become problems located in the argument. */
export function parseOverrides(args: readonly string[]): { overrides: LabOverride[]; problems: LabProblem[] } {
  const overrides: LabOverride[] = [];
  const problems: LabProblem[] = [];
  args.forEach((arg, index) => {
    const ordinal = index + 1;
    const problem = (col: number, path: string, message: string): void => {
      problems.push({ file: '--set', line: ordinal, col, path, message });
    };
    const equals = arg.indexOf('=');
    if (equals < 0) {
      problem(1, arg, `expected ${FORMS}, received ${quote(arg)} (no "="); add =VALUE`);
      return;
    }
    const key = arg.slice(0, equals);
    const value = arg.slice(equals + 1);
    const valueCol = equals + 2;
    if (key === 'timeout') {
      overrides.push({ arg, ordinal, path: ['timeout'], value, keyCol: 1, valueCol });
      return;
    }
    const match = /^([^.]+)\.(sysctls?)\.(.+)$/.exec(key);
    if (match === null || match[1] === undefined || match[2] === undefined || match[3] === undefined) {
      problem(1, key, `unknown override ${quote(key)}; expected ${FORMS}${didYouMean(key, ['timeout'])}`);
      return;
    }
    const [, host, word, sysctl] = match;
    const prototypeSegment = [host, ...sysctl.split('.')].find((segment) => PROTOTYPE_KEYS.has(segment));
    if (prototypeSegment !== undefined) {
      problem(1, key, `${quote(prototypeSegment)} is not allowed in an override (a JavaScript prototype name); name a declared host and a net.* sysctl`);
      return;
    }
    overrides.push({ arg, ordinal, path: ['hosts', host, 'sysctls', sysctl], value, keyCol: host.length + word.length + 3, valueCol });
  });
  return { overrides, problems };
}

/**
 * Writes overrides into a copy of the parsed document. An override naming an undeclared host is a problem
 * (overrides add settings; they do not add hosts).
 */
export function applyOverrides(document: unknown, overrides: readonly LabOverride[]): { document: unknown; problems: LabProblem[] } {
  const problems: LabProblem[] = [];
  if (overrides.length === 0) return { document, problems };
  const copy: Record<string, unknown> =
    document !== null && typeof document === 'object' && !Array.isArray(document) ? structuredClone(document as Record<string, unknown>) : {};
  for (const override of overrides) {
    if (override.path[0] === 'timeout') {
      copy['timeout'] = override.value;
      continue;
    }
    const [, host, , sysctl] = override.path;
    if (host === undefined || sysctl === undefined) continue;
    const hosts = copy['hosts'];
    const declared = hosts !== null && typeof hosts === 'object' && !Array.isArray(hosts) ? (hosts as Record<string, unknown>) : undefined;
    if (declared === undefined || !Object.hasOwn(declared, host)) {
      const names = Object.keys(declared ?? {});
      problems.push({
        file: '--set',
        line: override.ordinal,
        col: 1,
        path: override.arg.slice(0, override.arg.indexOf('=')),
        message: `unknown host ${quote(host)}; declared hosts: ${names.join(', ') || '(none)'}${didYouMean(host, names) || '; overrides can only change hosts the lab declares'}`,
      });
      continue;
    }
    const hostValue = declared[host];
    const hostObject = (hostValue !== null && typeof hostValue === 'object' && !Array.isArray(hostValue) ? hostValue : {}) as Record<string, unknown>;
    const sysctls = hostObject['sysctls'];
    const sysctlObject = (sysctls !== null && typeof sysctls === 'object' && !Array.isArray(sysctls) ? sysctls : {}) as Record<string, unknown>;
    sysctlObject[sysctl] = override.value;
    hostObject['sysctls'] = sysctlObject;
    declared[host] = hostObject;
  }
  return { document: copy, problems };
}

/** The override that wrote `path` (or a parent of it), if any. */
export function findOverrideFor(path: readonly PropertyKey[], overrides: readonly LabOverride[]): LabOverride | undefined {
  // the last override of a path wins, as it does when applied
  return [...overrides].reverse().find((override) => override.path.length <= path.length && override.path.every((segment, i) => String(path[i]) === segment));
}
