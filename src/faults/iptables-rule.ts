import { splitShellWords } from './split-shell-words.js';
import { quote } from '../lab/quote-token.js';
import type { IpFamily } from '../lab/model.js';
import { parseIpv6 } from '../observe/ip-address.js';

/**
 * A lab's `rule: { add: "…" }` turned into iptables argument vectors. Rules are given as the arguments of
 * one `iptables` command that adds a rule (`-I CHAIN [n]` or `-A CHAIN`, optional `-t TABLE`); host names
 * of the lab stand where addresses go (`-s client`, `! -d server/32`) and are replaced by the host's address.
 * Rules are removed with `unrule`, so other commands are refused; so are targets that would send lab
 * traffic elsewhere (network-safety rule in DESIGN.md). A rule of family 6 is the same text for `ip6tables`:
 * host names stand for the hosts' IPv6 addresses and literal addresses must be IPv6.
 */
export type RuleTable = 'filter' | 'raw' | 'mangle' | 'nat';

export interface ParsedRule {
  /** 4: for iptables; 6: for ip6tables. */
  readonly family: IpFamily;
  /** The command that takes `argv` and `deleteArgv`: `iptables` (family 4) or `ip6tables` (family 6). */
  readonly tool: RuleTool;
  readonly table: RuleTable;
  readonly chain: string;
  readonly position: 'insert' | 'append';
  /** The `n` of `-I CHAIN n` (1-based), when given. */
  readonly ruleNumber?: number;
  /** The rule specification: matches and target, addresses substituted (no command, chain or table). */
  readonly spec: readonly string[];
  /** Arguments for `iptables` that add the rule: `-t TABLE -I|-A CHAIN [n] SPEC…`. */
  readonly argv: readonly string[];
  /** Arguments for `iptables` that delete the same rule: `-t TABLE -D CHAIN SPEC…`. */
  readonly deleteArgv: readonly string[];
  /** One line for people: `filter/INPUT: -s 172.20.0.3 -p tcp --dport 8888 → DROP`. */
  readonly matchDescription: string;
}

/** Thrown by parseRule; `message` names the rule, what is wrong and the remedy. */
export class RuleError extends Error {
  readonly ruleText: string;
  readonly reason: string;
  constructor(ruleText: string, reason: string) {
    super(`rule ${quote(ruleText)}: ${reason}`);
    this.name = 'RuleError';
    this.ruleText = ruleText;
    this.reason = reason;
  }
}

/** The command-line tool of a rule family. */
export type RuleTool = 'iptables' | 'ip6tables';

/** `iptables` for family 4, `ip6tables` for family 6: the one place the family picks the tool. */
export function ruleToolOf(family: IpFamily): RuleTool {
  return family === 6 ? 'ip6tables' : 'iptables';
}

/**
 * Stand-in addresses for checking rules before a lab has addresses: from the documentation ranges
 * (192.0.2.0/24, RFC 5737; 2001:db8::/32, RFC 3849), one per host in declaration order.
 */
export function placeholderAddresses(hostNames: readonly string[], family: IpFamily): Record<string, string> {
  return Object.fromEntries(hostNames.map((name, i) => [name, family === 6 ? `2001:db8::${(i + 1).toString(16)}` : `192.0.2.${(i % 254) + 1}`]));
}

export interface ParseRuleOptions {
  /** 4 (default): addresses are IPv4 and the rule is for iptables; 6: IPv6 and ip6tables. `hostAddresses` must be of this family. */
  readonly family?: IpFamily;
  /** Appended as `-m comment --comment TEXT` so counters can be matched back to the rule (e.g. `tcplab:drop-syn`). */
  readonly comment?: string;
}

const CHAINS_BY_TABLE: Readonly<Record<RuleTable, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

const OTHER_COMMANDS: Readonly<Record<string, string>> = {
  '-D': 'delete',
  '--delete': 'delete',
  '-F': 'flush',
  '--flush': 'flush',
  '-X': 'delete-chain',
  '--delete-chain': 'delete-chain',
  '-P': 'policy',
  '--policy': 'policy',
  '-N': 'new-chain',
  '--new-chain': 'new-chain',
  '-Z': 'zero',
  '--zero': 'zero',
  '-R': 'replace',
  '--replace': 'replace',
  '-L': 'list',
  '--list': 'list',
  '-S': 'list-rules',
  '--list-rules': 'list-rules',
  '-E': 'rename-chain',
  '--rename-chain': 'rename-chain',
  '-C': 'check',
  '--check': 'check',
};

/** Targets that rewrite addresses or copy packets elsewhere: lab traffic must stay between the lab's hosts. */
const FORBIDDEN_TARGETS: Readonly<Record<string, string>> = {
  DNAT: 'rewrites the destination address',
  SNAT: 'rewrites the source address',
  MASQUERADE: 'rewrites the source address to an interface address',
  REDIRECT: 'redirects packets to another port or host',
  TEE: 'copies packets to another host',
  NETMAP: 'rewrites whole address ranges',
};

const ADDRESS_OPTIONS = new Set(['-s', '--source', '--src', '-d', '--destination', '--dst']);

/** Parses a rule's text into add/delete argv for `iptables`, replacing host names by `hostAddresses`; throws RuleError. */
export function parseRule(text: string, hostAddresses: Readonly<Record<string, string>>, options: ParseRuleOptions = {}): ParsedRule {
  const fail = (reason: string): never => {
    throw new RuleError(text, reason);
  };
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(text);
  if (control !== null) {
    const what = control[0] === '\n' || control[0] === '\r' ? 'a line break' : 'a control character';
    fail(`a rule is one line of iptables arguments, but it holds ${what} at column ${control.index + 1}; put each rule in its own rule step`);
  }
  const split = splitShellWords(text);
  if (!split.ok) return fail(split.message);
  const family = options.family ?? 4;
  const tool = ruleToolOf(family);
  const otherTool = ruleToolOf(family === 6 ? 4 : 6);
  if (split.words[0] === otherTool) {
    fail(
      `the rule starts with ${otherTool} but is of family ${family}; ${family === 6 ? 'drop the word' : 'add family: 6 to the rule step'} (the family picks the tool)`,
    );
  }
  const words = split.words[0] === tool ? split.words.slice(1) : split.words;
  if (words.length === 0) fail('empty rule; write e.g. "-I INPUT -p tcp --dport 8888 -j DROP"');

  let table: RuleTable = 'filter';
  let command: { position: 'insert' | 'append'; chain: string; ruleNumber?: number } | undefined;
  const spec: string[] = [];
  let target: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const next = words[i + 1];
    if (word === '-t' || word === '--table') {
      if (next === undefined) fail(`${word} needs a table name: filter, raw, mangle or nat`);
      if (!isTable(next as string)) fail(`unknown table ${quote(next as string)}; use filter, raw, mangle or nat`);
      table = next as RuleTable;
      i++;
    } else if (word === '-I' || word === '--insert' || word === '-A' || word === '--append') {
      if (command !== undefined) fail('a rule has exactly one -I or -A; put each rule in its own rule step');
      if (next === undefined || next.startsWith('-')) fail(`${word} needs a chain name, e.g. ${word} INPUT`);
      const position = word === '-I' || word === '--insert' ? 'insert' : 'append';
      command = { position, chain: next as string };
      i++;
      const number = words[i + 1];
      if (position === 'insert' && number !== undefined && /^\d+$/.test(number)) {
        const ruleNumber = Number(number);
        if (ruleNumber < 1) fail(`rule number ${number} after -I must be 1 or more`);
        command.ruleNumber = ruleNumber;
        i++;
      }
    } else if (Object.hasOwn(OTHER_COMMANDS, word)) {
      fail(
        `${word} (${OTHER_COMMANDS[word] ?? ''}) is not allowed: a rule step only adds a rule with -I or -A; rules are removed with an \`unrule\` step (and every rule is removed when the run ends)`,
      );
    } else if (ADDRESS_OPTIONS.has(word)) {
      if (next === undefined) fail(`${word} needs an address or a host name`);
      let value = next as string;
      let negation: string[] = [];
      if (value === '!') {
        // the old form `-s ! ADDR`; iptables 1.8 wants `! -s ADDR`, so rewrite it
        const after = words[i + 2];
        if (after === undefined) fail(`${word} ! needs an address or a host name`);
        value = after as string;
        negation = ['!'];
        i++;
      }
      spec.push(...negation, word, resolveAddresses(value, hostAddresses, family, fail));
      i++;
    } else if (word === '-j' || word === '--jump' || word === '-g' || word === '--goto') {
      if (next === undefined) fail(`${word} needs a target, e.g. ${word} DROP`);
      const reason = FORBIDDEN_TARGETS[(next as string).toUpperCase()];
      if (reason !== undefined) {
        fail(`target ${next as string} ${reason}; lab traffic must stay between the lab's hosts, so use DROP, REJECT, ACCEPT, LOG or NFQUEUE`);
      }
      target = next;
      spec.push(word, next as string);
      i++;
    } else {
      spec.push(word);
    }
  }
  if (command === undefined) return fail('missing -I CHAIN or -A CHAIN; a rule step adds one rule, e.g. "-I INPUT -p tcp --dport 8888 -j DROP"');
  const chains = CHAINS_BY_TABLE[table];
  if (!chains.includes(command.chain)) {
    fail(`chain ${quote(command.chain)} is not a built-in chain of table ${table}; use one of ${chains.join(', ')} (rule steps cannot create chains)`);
  }
  if (options.comment !== undefined) spec.push('-m', 'comment', '--comment', options.comment);

  const tableArgs = ['-t', table];
  const commandArgs =
    command.position === 'insert' ? ['-I', command.chain, ...(command.ruleNumber !== undefined ? [String(command.ruleNumber)] : [])] : ['-A', command.chain];
  const matches = spec.filter((_, i) => !isTargetWord(spec, i)).join(' ');
  return {
    family,
    tool,
    table,
    chain: command.chain,
    position: command.position,
    ...(command.ruleNumber !== undefined && { ruleNumber: command.ruleNumber }),
    spec,
    argv: [...tableArgs, ...commandArgs, ...spec],
    deleteArgv: [...tableArgs, '-D', command.chain, ...spec],
    matchDescription: `${table}/${command.chain}: ${matches === '' ? 'every packet' : matches} → ${target ?? '(no target: count only)'}`,
  };
}

function isTargetWord(spec: readonly string[], index: number): boolean {
  const word = spec[index];
  const previous = spec[index - 1];
  return (
    word === '-j' ||
    word === '--jump' ||
    word === '-g' ||
    word === '--goto' ||
    previous === '-j' ||
    previous === '--jump' ||
    previous === '-g' ||
    previous === '--goto'
  );
}

function isTable(name: string): name is RuleTable {
  return name === 'filter' || name === 'raw' || name === 'mangle' || name === 'nat';
}

function resolveAddresses(value: string, hostAddresses: Readonly<Record<string, string>>, family: IpFamily, fail: (reason: string) => never): string {
  const maxPrefix = family === 6 ? 128 : 32;
  return value
    .split(',')
    .map((item) => {
      const slash = item.indexOf('/');
      const name = slash < 0 ? item : item.slice(0, slash);
      const prefix = slash < 0 ? '' : item.slice(slash);
      const address = hostAddresses[name];
      if (address !== undefined) {
        if (prefix !== '' && !isPrefixLength(prefix.slice(1), maxPrefix)) {
          fail(`${quote(item)}: a host's address takes a prefix length 0-${maxPrefix}, e.g. ${name}/${maxPrefix}`);
        }
        return address + prefix;
      }
      if (family === 4 && isIpv4(name) && (prefix === '' || isPrefixLength(prefix.slice(1), 32) || isIpv4(prefix.slice(1)))) return item;
      if (family === 6 && parseIpv6(name) !== undefined && (prefix === '' || isPrefixLength(prefix.slice(1), 128))) return item;
      const hosts = Object.keys(hostAddresses);
      const wrongFamily = family === 4 ? parseIpv6(name) !== undefined : isIpv4(name);
      const remedy = wrongFamily
        ? family === 4
          ? '; an IPv6 address needs family: 6 on the rule step'
          : '; an IPv4 address needs a rule without family: 6'
        : '';
      return fail(`${quote(item)} is neither a host of this lab nor an IPv${family} address/CIDR${remedy}; hosts: ${hosts.join(', ') || '(none)'}`);
    })
    .join(',');
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

function isPrefixLength(text: string, max: number): boolean {
  return /^\d{1,3}$/.test(text) && Number(text) <= max;
}
