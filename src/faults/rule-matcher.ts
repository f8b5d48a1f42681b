import { TcpFlag, type IcmpMessage, type TcpSegment } from '../observe/packet.js';
import { parseIpv6 } from '../observe/ip-address.js';

/**
 * Decides whether an iptables rule (its spec, addresses already substituted by parseRule) matches a
 * captured TCP segment or ICMP message, for the common match options only: `-p` (tcp, icmp, icmpv6, all),
 * `-s`/`-d` (address, /prefix, comma lists), `--sport`/`--dport` (port or range `a:b`), `--syn`,
 * `--tcp-flags MASK COMP`, `--icmp-type`/`--icmpv6-type` (name, `type` or `type/code`), `-i`/`-o`
 * (interface names with `+` wildcards), each optionally negated with `!`. `-m tcp`, `-m icmp`, `-m icmp6` and
 * `-m comment` are accepted; `-m conntrack --ctstate` / `-m state --state` (NEW, ESTABLISHED, RELATED) test
 * SegmentPlace.ctState;
 * matches with hidden state (`-m limit`, `-m statistic`, `-m recent`, …) are returned as `unpredictable`, for
 * the caller to decide from counters; any other match makes the rule *unsupported*, so callers say so.
 * Matching semantics follow iptables-extensions(8) (tcp match: `--syn` is `--tcp-flags SYN,RST,ACK,FIN SYN`).
 */
export type CompiledRule =
  | {
      readonly ok: true;
      readonly target: string | undefined;
      /** Whether the predictable part of the rule matches (all of it when `unpredictable` is empty). */
      readonly matches: (packet: RulePacket, where: SegmentPlace) => boolean;
      /**
       * Matches whose effect depends on state the capture does not show (`-m limit`, `-m statistic`, `-m recent`,
       * …), with their options: the rule matches *some* of the segments `matches` accepts; callers decide which
       * from the rule's counter and from which copies arrived (analysis/rule-timeline.ts).
       */
      /** `last`: no predictable test follows it, so every packet the rest of the rule matches reaches it (and its counter). */
      readonly unpredictable: readonly { readonly module: string; readonly text: string; readonly last: boolean }[];
    }
  | { readonly ok: false; readonly unsupported: readonly string[] };

/** What a rule is matched against: a captured TCP segment or ICMP/ICMPv6 message. */
export type RulePacket = TcpSegment | IcmpMessage;

/** Whether the packet is a TCP segment (else an ICMP message). */
export function isTcpPacket(packet: RulePacket): packet is TcpSegment {
  return 'srcPort' in packet;
}

/**
 * Connection-tracking state of a packet as modelled (analysis/rule-timeline.ts conntrackStateOf()): a segment is NEW
 * until a packet in the reply direction of its 4-tuple was seen; an ICMP error quoting a tracked connection is RELATED.
 */
export type ConntrackState = 'NEW' | 'ESTABLISHED' | 'RELATED';

/** The interfaces a segment passed: the capture is taken on eth0, so that is the default for both. */
export interface SegmentPlace {
  readonly inInterface?: string;
  readonly outInterface?: string;
  /** The segment's conntrack state (for `-m conntrack --ctstate`, `-m state --state`); a rule testing it needs it. */
  readonly ctState?: ConntrackState;
}

type Test = (packet: RulePacket, where: SegmentPlace) => boolean;

/** A test of the TCP header: false for an ICMP message (iptables takes `--dport` and the like only with `-p tcp`). */
const tcpTest =
  (test: (segment: TcpSegment) => boolean): Test =>
  (p) =>
    isTcpPacket(p) && test(p);

const FLAG_NAMES: Readonly<Record<string, number>> = {
  FIN: TcpFlag.FIN,
  SYN: TcpFlag.SYN,
  RST: TcpFlag.RST,
  PSH: TcpFlag.PSH,
  ACK: TcpFlag.ACK,
  URG: TcpFlag.URG,
  ECE: TcpFlag.ECE,
  CWR: TcpFlag.CWR,
  ALL: 0xff,
  NONE: 0,
};

const ACCEPTED_MODULES = new Set(['tcp', 'icmp', 'icmp6', 'comment', 'conntrack', 'state']);
/** Matches with hidden state (xt_limit.c, xt_statistic.c, xt_recent.c, xt_hashlimit.c, xt_connlimit.c, xt_quota.c). */
const UNPREDICTABLE_MODULES = new Set(['limit', 'statistic', 'recent', 'hashlimit', 'connlimit', 'quota', 'connbytes']);
/** Index after the options of the hidden-state match whose module name is at `moduleAt` (they run to the next accepted option). */
function hiddenStateEnd(spec: readonly string[], moduleAt: number): number {
  let end = moduleAt + 1;
  while (end < spec.length && !KNOWN_OPTIONS.has(spec[end] as string)) end++;
  return end;
}

/**
 * The spec of a count-only rule that selects what `spec` selects before its hidden-state matches: no target (and
 * no target options), no comment, no `-m limit`/`-m statistic`/… (a new one would keep its own state). unrule
 * leaves it in the removed rule's place (step-runner.ts unruleArgv()).
 */
export function countOnlySpec(spec: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < spec.length; i++) {
    const word = spec[i] as string;
    if (word === '-j' || word === '--jump' || word === '-g' || word === '--goto') break;
    const module = word === '-m' || word === '--match' ? spec[i + 1] : undefined;
    if (module === 'comment') {
      i += 3;
      continue;
    }
    if (module !== undefined && UNPREDICTABLE_MODULES.has(module)) {
      i = hiddenStateEnd(spec, i + 1) - 1;
      continue;
    }
    out.push(word);
  }
  return out;
}

/** Options of the accepted matches (those an unpredictable module's option list stops at). */
const KNOWN_OPTIONS = new Set([
  '--syn',
  '--sport',
  '--source-port',
  '--dport',
  '--destination-port',
  '--tcp-flags',
  '--icmp-type',
  '--icmpv6-type',
  '--ctstate',
  '--state',
  '--comment',
  '-j',
  '--jump',
  '-g',
  '--goto',
  '-m',
  '--match',
  '!',
  '-p',
  '--protocol',
  '-s',
  '-d',
  '-i',
  '-o',
]);

/** Compiles a rule spec into a segment predicate, or lists the options this matcher does not understand. */
export function compileRule(spec: readonly string[]): CompiledRule {
  const tests: Test[] = [];
  const unsupported: string[] = [];
  const unpredictable: { module: string; text: string; testsBefore: number }[] = [];
  let target: string | undefined;
  let negate = false;
  const add = (test: Test): void => {
    const negated = negate;
    tests.push(negated ? (s, w) => !test(s, w) : test);
    negate = false;
  };
  for (let i = 0; i < spec.length; i++) {
    const word = spec[i] as string;
    const value = spec[i + 1];
    switch (word) {
      case '!':
        negate = true;
        continue;
      case '-p':
      case '--protocol': {
        // Any other protocol (udp, sctp, …) selects neither of the packets a capture decodes for the rules.
        const protocol = PROTOCOLS[(value ?? '').toLowerCase()];
        add((p) => protocol === 'all' || (isTcpPacket(p) ? protocol === 'tcp' : protocol === `icmp${p.family}`));
        i++;
        break;
      }
      case '--icmp-type':
      case '--icmpv6-type': {
        const family = word === '--icmp-type' ? 4 : 6;
        const range = parseIcmpType(value ?? '', family);
        if (range === undefined) unsupported.push(`${word} ${value ?? ''}`);
        add((p) => range !== undefined && !isTcpPacket(p) && p.family === family && inIcmpRange(p, range));
        i++;
        break;
      }
      case '-s':
      case '--source':
      case '--src':
      case '-d':
      case '--destination':
      case '--dst': {
        const networks = (value ?? '').split(',').map(parseNetwork);
        if (networks.some((n) => n === undefined)) unsupported.push(`${word} ${value ?? ''}`);
        const isSource = word === '-s' || word === '--source' || word === '--src';
        add((s) => networks.some((n) => n !== undefined && inNetwork(isSource ? s.src : s.dst, s.family, n)));
        i++;
        break;
      }
      case '--sport':
      case '--source-port':
      case '--dport':
      case '--destination-port': {
        const range = parsePortRange(value ?? '');
        if (range === undefined) unsupported.push(`${word} ${value ?? ''}`);
        const isSource = word === '--sport' || word === '--source-port';
        add(tcpTest((s) => range !== undefined && (isSource ? s.srcPort : s.dstPort) >= range[0] && (isSource ? s.srcPort : s.dstPort) <= range[1]));
        i++;
        break;
      }
      case '--syn':
        add(tcpTest((s) => (s.flags & (TcpFlag.SYN | TcpFlag.RST | TcpFlag.ACK | TcpFlag.FIN)) === TcpFlag.SYN));
        break;
      case '--tcp-flags': {
        const mask = parseFlagList(value ?? '');
        const comparison = parseFlagList(spec[i + 2] ?? '');
        if (mask === undefined || comparison === undefined) unsupported.push(`--tcp-flags ${value ?? ''} ${spec[i + 2] ?? ''}`);
        add(tcpTest((s) => mask !== undefined && comparison !== undefined && (s.flags & mask) === comparison));
        i += 2;
        break;
      }
      case '-i':
      case '--in-interface':
      case '-o':
      case '--out-interface': {
        const pattern = value ?? '';
        const isIn = word === '-i' || word === '--in-interface';
        add((_, w) => interfaceMatches(pattern, (isIn ? w.inInterface : w.outInterface) ?? 'eth0'));
        i++;
        break;
      }
      case '-m':
      case '--match': {
        const module = value ?? '';
        i++;
        if (UNPREDICTABLE_MODULES.has(module)) {
          const end = hiddenStateEnd(spec, i);
          unpredictable.push({ module, text: [`-m ${module}`, ...spec.slice(i + 1, end)].join(' '), testsBefore: tests.length });
          i = end - 1;
        } else if (!ACCEPTED_MODULES.has(module)) unsupported.push(`-m ${module}`);
        negate = false;
        break;
      }
      case '--ctstate':
      case '--state': {
        const states = (value ?? '').toUpperCase().split(',');
        if (!states.every((st) => st === 'NEW' || st === 'ESTABLISHED' || st === 'RELATED')) {
          unsupported.push(`${word} ${value ?? ''} (only NEW, ESTABLISHED and RELATED are modelled)`);
        }
        add((_, w) => w.ctState !== undefined && states.includes(w.ctState));
        i++;
        break;
      }
      case '--comment':
        i++;
        break;
      case '-j':
      case '--jump':
      case '-g':
      case '--goto':
        target = value;
        i++;
        // target options (`--reject-with tcp-reset`) follow the target and match nothing
        while (i + 1 < spec.length && spec[i + 1]?.startsWith('--') === true && spec[i + 1] !== '--comment') i += 2;
        break;
      default:
        unsupported.push(word);
        if (value !== undefined && !value.startsWith('-') && value !== '!') i++;
        negate = false;
    }
  }
  if (unsupported.length > 0) return { ok: false, unsupported };
  return {
    ok: true,
    target,
    matches: (packet, where) => tests.every((test) => test(packet, where)),
    unpredictable: unpredictable.map(({ module, text, testsBefore }) => ({ module, text, last: testsBefore === tests.length })),
  };
}

/** `-p` values (iptables and ip6tables, case-insensitive: names and protocol numbers) → what they select. */
const PROTOCOLS: Readonly<Record<string, 'tcp' | 'icmp4' | 'icmp6' | 'all'>> = {
  tcp: 'tcp',
  '6': 'tcp',
  icmp: 'icmp4',
  '1': 'icmp4',
  icmpv6: 'icmp6',
  'ipv6-icmp': 'icmp6',
  '58': 'icmp6',
  all: 'all',
  '0': 'all',
};

/** What the rule's `-p` selects (`other`: a protocol the captures are not decoded for); undefined without `-p` or with `! -p`. */
export function protocolOf(spec: readonly string[]): 'tcp' | 'icmp4' | 'icmp6' | 'all' | 'other' | undefined {
  const at = spec.findIndex((w) => w === '-p' || w === '--protocol');
  if (at < 0 || spec[at - 1] === '!') return undefined;
  return PROTOCOLS[(spec[at + 1] ?? '').toLowerCase()] ?? 'other';
}

/** A type and an inclusive code range, as xt_icmp.c / ip6t_icmp6 match them (a type alone matches every code). */
interface IcmpRange {
  readonly type: number | 'any';
  readonly codeMin: number;
  readonly codeMax: number;
}

/**
 * `--icmp-type` names (iptables 1.8.9 `iptables -p icmp -h`; read back with `iptables -S`, which prints
 * `type[/code]`): [type, code], code absent for a whole type.
 */
const ICMP_NAMES: Readonly<Record<string, readonly [number, number?]>> = {
  'echo-reply': [0],
  pong: [0],
  'destination-unreachable': [3],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-unknown': [3, 6],
  'host-unknown': [3, 7],
  'network-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'tos-network-unreachable': [3, 11],
  'tos-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13],
  'host-precedence-violation': [3, 14],
  'precedence-cutoff': [3, 15],
  'source-quench': [4],
  redirect: [5],
  'network-redirect': [5, 0],
  'host-redirect': [5, 1],
  'tos-network-redirect': [5, 2],
  'tos-host-redirect': [5, 3],
  'echo-request': [8],
  ping: [8],
  'router-advertisement': [9],
  'router-solicitation': [10],
  'time-exceeded': [11],
  'ttl-exceeded': [11],
  'ttl-zero-during-transit': [11, 0],
  'ttl-zero-during-reassembly': [11, 1],
  'parameter-problem': [12],
  'ip-header-bad': [12, 0],
  'required-option-missing': [12, 1],
  'timestamp-request': [13],
  'timestamp-reply': [14],
  'address-mask-request': [17],
  'address-mask-reply': [18],
};

/** `--icmpv6-type` names (ip6tables 1.8.9 `ip6tables -p icmpv6 -h`, read back with `ip6tables -S`). */
const ICMPV6_NAMES: Readonly<Record<string, readonly [number, number?]>> = {
  'destination-unreachable': [1],
  'no-route': [1, 0],
  'communication-prohibited': [1, 1],
  'beyond-scope': [1, 2],
  'address-unreachable': [1, 3],
  'port-unreachable': [1, 4],
  'failed-policy': [1, 5],
  'reject-route': [1, 6],
  'packet-too-big': [2],
  'time-exceeded': [3],
  'ttl-exceeded': [3],
  'ttl-zero-during-transit': [3, 0],
  'ttl-zero-during-reassembly': [3, 1],
  'parameter-problem': [4],
  'bad-header': [4, 0],
  'unknown-header-type': [4, 1],
  'unknown-option': [4, 2],
  'echo-request': [128],
  ping: [128],
  'echo-reply': [129],
  pong: [129],
  'router-solicitation': [133],
  'router-advertisement': [134],
  'neighbour-solicitation': [135],
  'neighbor-solicitation': [135],
  'neighbour-advertisement': [136],
  'neighbor-advertisement': [136],
  redirect: [137],
};

/** `name`, `type` or `type/code` as a type and code range; `any` (iptables only) matches every message. */
function parseIcmpType(text: string, family: 4 | 6): IcmpRange | undefined {
  const lower = text.toLowerCase();
  if (lower === 'any' && family === 4) return { type: 'any', codeMin: 0, codeMax: 0xff };
  const numeric = /^(\d{1,3})(?:\/(\d{1,3}))?$/.exec(lower);
  const pair =
    numeric !== null ? [Number(numeric[1]), numeric[2] === undefined ? undefined : Number(numeric[2])] : (family === 4 ? ICMP_NAMES : ICMPV6_NAMES)[lower];
  if (pair === undefined) return undefined;
  const [type, code] = pair;
  if (type === undefined || type > 255 || (code !== undefined && code > 255)) return undefined;
  return code === undefined ? { type, codeMin: 0, codeMax: 0xff } : { type, codeMin: code, codeMax: code };
}

function inIcmpRange(message: IcmpMessage, range: IcmpRange): boolean {
  return (range.type === 'any' || message.type === range.type) && message.code >= range.codeMin && message.code <= range.codeMax;
}

/** An address range of either family: the address bytes (4 or 16) and the mask bytes, per byte. */
interface Network {
  readonly family: 4 | 6;
  readonly base: Uint8Array;
  readonly mask: Uint8Array;
}

/** `a.b.c.d[/len|/mask]` or `ipv6[/len]` (ip6tables' -s/-d) as a Network; undefined when neither. */
function parseNetwork(text: string): Network | undefined {
  const [address, prefix] = text.split('/');
  const v4 = parseIpv4Bytes(address ?? '');
  const base = v4 ?? (address?.includes(':') === true ? parseIpv6(address) : undefined);
  if (base === undefined) return undefined;
  const family = v4 !== undefined ? 4 : 6;
  const bits = base.length * 8;
  let mask: Uint8Array | undefined;
  if (prefix === undefined) mask = prefixMask(bits, base.length);
  else if (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits) mask = prefixMask(Number(prefix), base.length);
  else if (family === 4) mask = parseIpv4Bytes(prefix);
  if (mask === undefined) return undefined;
  const m = mask;
  return { family, base: base.map((byte, i) => byte & (m[i] as number)), mask: m };
}

function prefixMask(bits: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (bits >= (i + 1) * 8 ? 0xff : bits <= i * 8 ? 0 : (0xff << (8 - (bits - i * 8))) & 0xff));
}

function parseIpv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

/** True when the segment's `address` (of the segment's `family`) lies in `network`; a network of the other family never matches. */
function inNetwork(address: string, family: 4 | 6, network: Network): boolean {
  if (family !== network.family) return false;
  const value = family === 4 ? parseIpv4Bytes(address) : parseIpv6(address);
  return value !== undefined && value.every((byte, i) => (byte & (network.mask[i] as number)) === network.base[i]);
}

function parsePortRange(text: string): [number, number] | undefined {
  const match = /^(\d*)(?::(\d*))?$/.exec(text);
  if (match === null || text === '') return undefined;
  const low = match[1] === '' ? 0 : Number(match[1]);
  const high = match[2] === undefined ? low : match[2] === '' ? 65535 : Number(match[2]);
  return low <= high && high <= 65535 ? [low, high] : undefined;
}

function parseFlagList(text: string): number | undefined {
  let bits = 0;
  for (const name of text.toUpperCase().split(',')) {
    const bit = FLAG_NAMES[name];
    if (bit === undefined) return undefined;
    bits |= bit;
  }
  return bits;
}

function interfaceMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}
