import type { ParsedRule, RuleTable } from './iptables-rule.js';
import { splitShellWords } from './split-shell-words.js';

/**
 * Packet/byte counters of iptables rules, read from two outputs of iptables 1.8 (legacy and nft print the
 * same shapes):
 * - primary: `iptables-save -c` (`[pkts:bytes] -A CHAIN SPEC…` under `*TABLE`), whose SPEC can be compared
 *   with the rule we added;
 * - `iptables -t TABLE -L CHAIN -v -n -x --line-numbers`, the table people read.
 * The rule's comment (`-m comment --comment tcplab:NAME`, added by parseRule's `comment` option) is the
 * reliable way back from a counter to its rule; without it the specs are compared after normalising what
 * iptables-save rewrites (`/32`, implicit `-m tcp`, long option names, decimal padding).
 */
export interface SavedRuleCounter {
  readonly format: 'save';
  readonly table: string;
  readonly chain: string;
  /** 1-based position of the rule in its chain (the `num` of `--line-numbers`). */
  readonly num: number;
  readonly pkts: number;
  readonly bytes: number;
  /** The rule after `-A CHAIN`, split into words (quotes removed). */
  readonly spec: readonly string[];
  readonly comment?: string;
}

export interface ListedRuleCounter {
  readonly format: 'list';
  readonly chain: string;
  readonly num: number;
  readonly pkts: number;
  readonly bytes: number;
  /** Empty for a rule without a target. */
  readonly target: string;
  /** Protocol as printed: a name (`tcp`, `all`) or, by iptables-nft 1.8.9+, a number (`6`, `0`). */
  readonly prot: string;
  readonly opt: string;
  readonly in: string;
  readonly out: string;
  readonly source: string;
  readonly destination: string;
  /** Match and target details, e.g. `tcp dpt:8888 /* tcplab:drop-syn *\/`. */
  readonly extra: string;
  readonly comment?: string;
}

export type RuleCounter = SavedRuleCounter | ListedRuleCounter;

/** Parses `iptables-save -c` output or `iptables -L -v -n -x --line-numbers` output (detected) into counter rows. */
export function parseRuleCounters(text: string): RuleCounter[] {
  return /^\[\d+:\d+\] -A /m.test(text) || /^\*\w+\s*$/m.test(text) ? parseSavedCounters(text) : parseListedCounters(text);
}

/** Parses `iptables-save -c` output: one row per `[pkts:bytes] -A CHAIN …` line, numbered per table and chain. */
export function parseSavedCounters(text: string): SavedRuleCounter[] {
  const rows: SavedRuleCounter[] = [];
  let table = 'filter';
  const numbers = new Map<string, number>();
  for (const line of text.split('\n')) {
    const tableMatch = /^\*(\w+)\s*$/.exec(line);
    if (tableMatch?.[1] !== undefined) {
      table = tableMatch[1];
      continue;
    }
    const ruleMatch = /^\[(\d+):(\d+)\]\s+-A\s+(\S+)\s*(.*)$/.exec(line);
    if (ruleMatch === null) continue;
    const [, pkts, bytes, chain, rest] = ruleMatch as unknown as [string, string, string, string, string];
    const key = `${table}/${chain}`;
    const num = (numbers.get(key) ?? 0) + 1;
    numbers.set(key, num);
    const split = splitShellWords(rest);
    const spec = split.ok ? split.words : rest.split(/\s+/).filter((w) => w !== '');
    const commentIndex = spec.indexOf('--comment');
    const comment = commentIndex >= 0 ? spec[commentIndex + 1] : undefined;
    rows.push({ format: 'save', table, chain, num, pkts: Number(pkts), bytes: Number(bytes), spec, ...(comment !== undefined && { comment }) });
  }
  return rows;
}

const OPT_COLUMN = /^(--|-f|!f)$/;

/** Parses `iptables [-t T] -L [CHAIN] -v -n -x --line-numbers` output (one or more chains). */
export function parseListedCounters(text: string): ListedRuleCounter[] {
  const rows: ListedRuleCounter[] = [];
  let chain: string | undefined;
  for (const line of text.split('\n')) {
    const chainMatch = /^Chain (\S+)/.exec(line);
    if (chainMatch?.[1] !== undefined) {
      chain = chainMatch[1];
      continue;
    }
    if (chain === undefined || !/^\d+\s/.test(line)) continue;
    const tokens = line.trim().split(/\s+/);
    // the target column is empty for a rule without -j: find the opt column (`--`) to tell
    const optIndex = tokens.findIndex((token, i) => i >= 4 && i <= 5 && OPT_COLUMN.test(token));
    if (optIndex < 0) continue;
    const hasTarget = optIndex === 5;
    const at = (i: number): string => tokens[i] ?? '';
    const extra = tokens.slice(optIndex + 5).join(' ');
    const comment = /\/\* (.*?) \*\//.exec(extra)?.[1];
    rows.push({
      format: 'list',
      chain,
      num: Number(at(0)),
      pkts: Number(at(1)),
      bytes: Number(at(2)),
      target: hasTarget ? at(3) : '',
      prot: at(optIndex - 1),
      opt: at(optIndex),
      in: at(optIndex + 1),
      out: at(optIndex + 2),
      source: at(optIndex + 3),
      destination: at(optIndex + 4),
      extra,
      ...(comment !== undefined && { comment }),
    });
  }
  return rows;
}

/**
 * Finds the counter row of `rule`: same table (save form) and chain, then the same comment when the rule
 * has one, else the same normalised spec. Undefined when the rule is not (or no longer) installed.
 */
export function matchCounterToRule(rule: ParsedRule, counters: readonly RuleCounter[]): RuleCounter | undefined {
  const sameChain = counters.filter((row) => row.chain === rule.chain && (row.format === 'list' || row.table === (rule.table satisfies RuleTable)));
  const commentIndex = rule.spec.indexOf('--comment');
  const comment = commentIndex >= 0 ? rule.spec[commentIndex + 1] : undefined;
  if (comment !== undefined) return sameChain.find((row) => row.comment === comment);
  const expected = normaliseSpec(rule.spec);
  return sameChain.find((row) => row.format === 'save' && normaliseSpec(row.spec) === expected);
}

const LONG_TO_SHORT: Readonly<Record<string, string>> = {
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--protocol': '-p',
  '--in-interface': '-i',
  '--out-interface': '-o',
  '--jump': '-j',
  '--goto': '-g',
  '--match': '-m',
  '--destination-port': '--dport',
  '--source-port': '--sport',
};

/** A rule spec in a comparable form: option groups (option + its values, with a preceding `!`) sorted. */
export function normaliseSpec(spec: readonly string[]): string {
  const groups: string[] = [];
  let current: string[] = [];
  let negate = false;
  const flush = (): void => {
    if (current.length > 0) groups.push(current.join(' '));
    current = [];
  };
  for (let i = 0; i < spec.length; i++) {
    const raw = spec[i] as string;
    if (raw === '!') {
      flush();
      negate = true;
      continue;
    }
    if (raw.startsWith('-') && !/^-\d/.test(raw)) {
      flush();
      const option = LONG_TO_SHORT[raw] ?? raw;
      // iptables-save prints the implicit protocol match (`-m tcp` after `-p tcp`); drop it on both sides
      if (option === '-m' && ['tcp', 'udp', 'icmp', 'icmp6'].includes(spec[i + 1] ?? '')) {
        i++;
        continue;
      }
      current = negate ? ['!', option] : [option];
      negate = false;
      continue;
    }
    const option = current[current.length - 1];
    let value = raw;
    if ((option === '-s' || option === '-d') && /^[\d.]+$/.test(value)) value += '/32';
    else if ((option === '-s' || option === '-d') && /^[\da-f:]+$/i.test(value) && value.includes(':'))
      value = `${value.toLowerCase()}/128`; // ip6tables-save
    else if (/^\d+\.\d+$/.test(value)) value = String(Number(value));
    current.push(value);
  }
  flush();
  return groups.sort().join(' ');
}
