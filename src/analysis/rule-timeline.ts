import { parseRule, RuleError, type ParsedRule } from '../faults/iptables-rule.js';
import { matchCounterToRule, parseRuleCounters, type RuleCounter } from '../faults/rule-counters.js';
import { compileRule, isTcpPacket, type ConntrackState, type RulePacket } from '../faults/rule-matcher.js';
import type { IcmpMessage } from '../observe/packet.js';
import { addressOfFamily, isAddressOf, stepsEndUs, type RunHost, type RunRecord } from './run-record.js';
import { familyOf, type IpFamily } from '../lab/model.js';
import { REPLAY_WORDS, type ReplayWords } from '../messages/check-words/conformance-words.js';
import { say, type Text } from '../messages/text.js';

/*
 * The rule timeline: which iptables rule of the lab was in place when, and which captured packets (TCP
 * segments and ICMP messages) it dropped. The one implementation of "does this rule drop that packet", used by
 * the replay (a dropped segment or ICMP error never reached TCP), the timing fits (an ICMP error that reverts
 * the backoff or drops a request must have reached TCP), the ladder (an arrow stopping short) and the live feed
 * (run/live-feed.ts).
 *
 * How it works. A rule is in place from the start of its `rule` step to the end of its `unrule` step
 * (or the end of the run). `unrule` swaps the rule for a count-only copy of its matches in one transaction, so
 * the packets it matched after the delete are counted: of the matching packets in time order, the last that
 * many were delivered (splitAtDelete()); older run folders fall back on uncountedAtEdges(). Only rules with a
 * DROP or REJECT target matter. On a receive chain (INPUT,
 * PREROUTING) the receiver's capture still has the segment: the AF_PACKET tap runs in
 * `__netif_receive_skb_core()` (net/core/dev.c) before NF_INET_PRE_ROUTING, so the timeline attributes
 * each received segment to the first rule of the chain (the counter's position, else the lab's order)
 * that matches it while in place. A rule whose counter reads 0 dropped nothing, whatever it matches (the
 * counter is the proof; a mismatch is a warning). On a send chain (OUTPUT, POSTROUTING) the sender's tap
 * (`dev_queue_xmit_nit()`) runs after netfilter: a dropped segment was never captured, only the counter
 * tells of it. Rules the matcher cannot decide (`-m statistic`, …) are listed as unsupported.
 */

/** How soon after a segment a REJECT rule rejected a RST from the same host is taken as the firewall's reply, not TCP's. */
export const REJECT_REPLY_WINDOW_US = 10_000;

/** Chains whose drops happen after the receiver's capture saw the segment. */
export const RECEIVE_CHAINS: ReadonlySet<string> = new Set(['INPUT', 'PREROUTING']);
/** Chains whose drops happen before the sender's capture sees the segment. */
export const SEND_CHAINS: ReadonlySet<string> = new Set(['OUTPUT', 'POSTROUTING']);

/** A rule that drops received segments: compiled once, decided with dropsReceived(). */
export interface ReceiveDropRule {
  readonly target: 'DROP' | 'REJECT';
  readonly chain: string;
  /** The predictable part of the rule; `ctState` as conntrackStateOf() models it (absent: a ctstate test fails). */
  readonly matches: (packet: RulePacket, ctState?: ConntrackState) => boolean;
  /** Matches with hidden state (rule-matcher.ts): the rule drops only some of what `matches` accepts. */
  readonly unpredictable: readonly { readonly module: string; readonly text: string; readonly last: boolean }[];
}

const compiledDrops = new WeakMap<ParsedRule, ReceiveDropRule | 'not-a-receive-drop' | { unsupported: readonly string[] }>();

/**
 * The rule as a receive-side drop (INPUT/PREROUTING, target DROP or REJECT, segments captured on eth0),
 * `undefined` when it is none, or the options the matcher cannot decide. Compiled once per parsed rule.
 */
export function receiveDropRule(rule: ParsedRule): ReceiveDropRule | undefined | { unsupported: readonly string[] } {
  let known = compiledDrops.get(rule);
  if (known === undefined) {
    known = compileReceiveDrop(rule);
    compiledDrops.set(rule, known);
  }
  return known === 'not-a-receive-drop' ? undefined : known;
}

function compileReceiveDrop(rule: ParsedRule): ReceiveDropRule | 'not-a-receive-drop' | { unsupported: readonly string[] } {
  const target = targetOf(rule.spec);
  if (!RECEIVE_CHAINS.has(rule.chain) || (target !== 'DROP' && target !== 'REJECT')) return 'not-a-receive-drop';
  const compiled = compileRule(rule.spec);
  if (!compiled.ok) return { unsupported: compiled.unsupported };
  return {
    target,
    chain: rule.chain,
    matches: (packet, ctState) => compiled.matches(packet, arrivingOnEth0(ctState)),
    unpredictable: compiled.unpredictable,
  };
}

/** How a packet arriving at a lab host meets a receive chain: on eth0, in the conntrack state the capture tells. */
function arrivingOnEth0(ctState: ConntrackState | undefined): { inInterface: string; ctState?: ConntrackState } {
  return { inInterface: 'eth0', ...(ctState !== undefined && { ctState }) };
}

/** True when `rule` is a receive-side drop that matches `segment` (a segment arriving at the rule's host). */
export function dropsReceived(rule: ParsedRule, packet: RulePacket): boolean {
  const drop = receiveDropRule(rule);
  return drop !== undefined && 'matches' in drop && drop.unpredictable.length === 0 && drop.matches(packet);
}

/**
 * A received packet's conntrack state as modelled, seen from `host`:
 * - a TCP segment (nf_conntrack_proto_tcp.c; the reply direction is what makes a connection ESTABLISHED, ctinfo
 *   IP_CT_ESTABLISHED): ESTABLISHED once the host's capture shows a packet it sent in the reply direction of the
 *   4-tuple before this one, else NEW;
 * - an ICMP error quoting a segment the host sent (nf_conntrack_inet_error() finds the quoted packet's connection):
 *   RELATED; quoting one it never sent, no connection is found and the packet has no state (INVALID), which no
 *   modelled `--ctstate` matches: undefined;
 * - any other ICMP message (echo and the like, tracked on their own id): NEW, as far as these labs go.
 */
export function conntrackStateOf(host: RunHost, packet: RulePacket): ConntrackState | undefined {
  if (!isTcpPacket(packet)) {
    const quoted = packet.quoted;
    if (quoted === undefined) return 'NEW';
    const tracked = host.segments.some(
      (s) => s.timeUs < packet.timeUs && s.src === quoted.src && s.dst === quoted.dst && s.srcPort === quoted.srcPort && s.dstPort === quoted.dstPort,
    );
    return tracked ? 'RELATED' : undefined;
  }
  const replied = host.segments.some(
    (s) => s.timeUs < packet.timeUs && s.src === packet.dst && s.dst === packet.src && s.srcPort === packet.dstPort && s.dstPort === packet.srcPort,
  );
  return replied ? 'ESTABLISHED' : 'NEW';
}

/**
 * Which of the segments a rule with hidden-state matches could have matched it dropped, decided from its
 * counter (`counted`): none when it reads 0, all when it reads at least their number; for `-m limit` alone
 * the first `counted` (xt_limit.c limit_mt(): the bucket starts full with --limit-burst credits, and a packet
 * matches while credit lasts — so the first ones are dropped, later ones pass); for one `-m statistic --mode nth`
 * that ends the rule, the ones its counter picks when they number `counted` (nthOf()). Otherwise undecided.
 */
export function decideUnpredictableDrops<P extends RulePacket>(
  candidates: readonly P[],
  counted: number | undefined,
  unpredictable: readonly { readonly module: string; readonly text: string; readonly last: boolean }[],
): { dropped: readonly P[]; how: Text } | undefined {
  if (counted === undefined) return undefined;
  if (counted === 0) return { dropped: [], how: words((w) => w.counterZero) };
  if (counted >= candidates.length) return { dropped: candidates, how: words((w) => w.counterAll(counted, candidates.length)) };
  if (unpredictable.every((u) => u.module === 'limit'))
    return { dropped: candidates.slice(0, counted), how: words((w) => w.counterFirst(counted, candidates.length)) };
  const [only] = unpredictable;
  const nth = unpredictable.length === 1 && only?.last === true ? nthOf(only.text) : undefined;
  if (nth === undefined) return undefined;
  const dropped = candidates.filter((_, i) => i >= nth.packet && (i - nth.packet) % nth.every === 0);
  if (dropped.length !== counted) return undefined;
  return { dropped, how: words((w) => w.counterNth(counted, candidates.length, nth.every, nth.packet)) };
}

/**
 * `-m statistic --mode nth --every E [--packet P]`: the match hits packets P, P+E, P+2E, … (0-based) of those that reach it
 * (xt_statistic.c statistic_mt(): the counter starts at E−1−P, as libxt_statistic sets it, and a packet matches when it wraps to 0;
 * measured 2026-12-07, teacher lab fin-data-lost-once: `--every 100000 --packet 0` dropped the first FIN-bearing segment only).
 */
function nthOf(text: string): { every: number; packet: number } | undefined {
  const words = text.split(/\s+/);
  const value = (option: string): number | undefined => {
    const i = words.indexOf(option);
    const n = i < 0 ? undefined : Number(words[i + 1]);
    return n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
  };
  if (words[words.indexOf('--mode') + 1] !== 'nth' || words.includes('!')) return undefined;
  const every = value('--every');
  const packet = words.includes('--packet') ? value('--packet') : 0;
  return every === undefined || every < 1 || packet === undefined || packet >= every ? undefined : { every, packet };
}

/** The `-j` target of a rule spec, upper-cased (`''` when none). */
export function targetOf(spec: readonly string[]): string {
  const index = spec.findIndex((w) => w === '-j' || w === '--jump');
  return (spec[index + 1] ?? '').toUpperCase();
}

/** One rule of the lab as it was in place during the run. */
export interface TimedRule {
  readonly name: string;
  readonly host: string;
  readonly text: string;
  readonly parsed: ParsedRule;
  readonly target: string;
  readonly counter: RuleCounter | undefined;
  /** From the start of the rule step (µs, capture clock) … */
  readonly fromUs: number;
  /** … to the end of its unrule step, or Infinity. */
  readonly untilUs: number;
  /** Matching packets counted by the count-only rule `unrule` left in its place (step-runner.ts unruleArgv()), if recorded. */
  readonly passedAfterDelete?: number;
  /** Surely in place from the end of the rule step (µs) to the start of its unrule step (or Infinity). */
  readonly surelyFromUs: number;
  readonly surelyUntilUs: number;
  /** Index of its step in the lab. */
  readonly labOrder: number;
  /** Frames of the host's capture this rule dropped, segments and ICMP messages (receive chains only). */
  readonly droppedFrames: readonly number[];
}

/** Why a received packet never reached TCP (or ICMP's error handler). */
export interface RuleDrop {
  readonly rule: string;
  readonly host: string;
  readonly chain: string;
  readonly target: string;
  /** e.g. `filter/INPUT: -s 198.18.0.3 -p tcp --dport 8888 → DROP`. */
  readonly description: string;
}

export interface RuleTimeline {
  /** In chain order (counter position, else lab order). */
  readonly rules: readonly TimedRule[];
  /** Per host, frame of a received packet (segment or ICMP message) → the rule that dropped it. */
  readonly drops: ReadonlyMap<string, ReadonlyMap<number, RuleDrop>>;
  /** Per host: segments dropped on a send chain before capture, as the counters tell. */
  readonly notes: ReadonlyMap<string, readonly string[]>;
  /** Disagreements between rules, counters and captures; never silently dropped. */
  readonly warnings: readonly string[];
  /** Per host: how the drops of rules with hidden-state matches (`-m limit`, …) were decided, for the checks to say (decisionsOf(): every language). */
  readonly decisions: ReadonlyMap<string, readonly string[]>;
  /** The Chinese of the words above: `decisions.get(host)[i]` is `zh.decisions.get(host)[i]`. */
  readonly zh: { readonly decisions: ReadonlyMap<string, readonly string[]> };
}

/** The sentence in every language, from the words of the analysis. */
function words(sentence: (w: ReplayWords) => string): Text {
  return say(REPLAY_WORDS, sentence);
}

/** How the drops of `host`'s rules with hidden-state matches were decided, in every language. */
export function decisionsOf(timeline: RuleTimeline, host: string): Text[] {
  const zh = timeline.zh.decisions.get(host) ?? [];
  return (timeline.decisions.get(host) ?? []).map((en, i) => ({ en, zh: zh[i] ?? en }));
}

/** Builds the rule timeline of a run (pure). */
export function buildRuleTimeline(record: RunRecord): RuleTimeline {
  // Host names in a rule stand for the hosts' addresses of the rule's family (iptables: IPv4, ip6tables: IPv6).
  const addressesOf = (family: IpFamily): Record<string, string> =>
    Object.fromEntries(record.hosts.flatMap((h) => (addressOfFamily(h, family) !== undefined ? [[h.name, addressOfFamily(h, family) as string]] : [])));
  const warnings: string[] = [];
  const notes = new Map<string, string[]>(record.hosts.map((h) => [h.name, []]));
  const drafts: (Omit<TimedRule, 'droppedFrames'> & { droppedFrames: number[] })[] = [];
  const decisions = new Map<string, string[]>();
  const decisionsZh = new Map<string, string[]>();
  const decide = (host: string, decision: Text): void => {
    decisions.set(host, [...(decisions.get(host) ?? []), decision.en]);
    decisionsZh.set(host, [...(decisionsZh.get(host) ?? []), decision.zh]);
  };
  record.lab.steps.forEach((step, index) => {
    if (step.kind !== 'rule') return;
    let parsed: ParsedRule;
    const family = familyOf(step);
    const addresses = addressesOf(family);
    try {
      parsed = parseRule(step.text, addresses, { family });
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      warnings.push(`rule ${step.name} on ${step.host} could not be read (${err.reason}); its drops are not drawn`);
      return;
    }
    const added = record.steps.find((s) => s.index === index);
    const removalIndex = record.lab.steps.findIndex((s, i) => i > index && s.kind === 'unrule' && s.host === step.host && s.name === step.name);
    const removed = record.steps.find((s) => s.index === removalIndex);
    // A rule removed by unrule has no row at the end of the run: its counter was read just before the delete.
    const ruleHost = record.hosts.find((h) => h.name === step.host);
    const removal = removed === undefined ? undefined : ruleHost?.removedRuleCounters?.find((r) => r.rule === step.name);
    const readBeforeRemoval = removal?.counters;
    const endCounters = parseRuleCounters((family === 6 ? ruleHost?.ruleCounters6 : ruleHost?.ruleCounters) ?? '');
    const passedAfterDelete = removal?.passedComment === undefined ? undefined : endCounters.find((row) => row.comment === removal.passedComment)?.pkts;
    const counters = readBeforeRemoval === undefined ? endCounters : parseRuleCounters(readBeforeRemoval);
    const counter =
      matchCounterToRule(parseRule(step.text, addresses, { comment: `tcplab:${step.name}`, family }), counters) ?? matchCounterToRule(parsed, counters);
    drafts.push({
      name: step.name,
      host: step.host,
      text: step.text,
      parsed,
      target: targetOf(parsed.spec),
      counter,
      fromUs: added?.startUs ?? -Infinity,
      untilUs: removed?.endUs ?? Infinity,
      surelyFromUs: added?.endUs ?? Infinity,
      surelyUntilUs: removed?.startUs ?? Infinity,
      labOrder: index,
      droppedFrames: [],
      ...(passedAfterDelete !== undefined && { passedAfterDelete }),
    });
  });
  // The chain is evaluated in rule order: the counter's position, else the order the lab added them.
  drafts.sort((x, y) => (x.counter?.num ?? 1e9) - (y.counter?.num ?? 1e9) || x.labOrder - y.labOrder);

  const drops = new Map<string, Map<number, RuleDrop>>(record.hosts.map((h) => [h.name, new Map()]));
  const endOfStepsUs = stepsEndUs(record);
  for (const rule of drafts) {
    if (rule.target !== 'DROP' && rule.target !== 'REJECT') continue;
    const whereIn = (w: ReplayWords): string => w.ruleWhere(rule.name, rule.host, rule.parsed.chain);
    const where = whereIn(REPLAY_WORDS.en); // the warnings are English (the report's notes on the data)
    const counted = rule.counter?.pkts;
    if (SEND_CHAINS.has(rule.parsed.chain)) {
      if (counted !== undefined && counted > 0) {
        notes.get(rule.host)?.push(`${counted} segment${counted === 1 ? '' : 's'} dropped by rule ${rule.name} before capture (${rule.parsed.chain})`);
      } else if (counted === undefined) {
        warnings.push(`${where}: no counter found in ${rule.host}'s ${rule.parsed.tool}-counters.txt, so segments it dropped before capture cannot be counted`);
      }
      continue;
    }
    if (!RECEIVE_CHAINS.has(rule.parsed.chain)) {
      warnings.push(`${where}: only INPUT, PREROUTING, OUTPUT and POSTROUTING drops are drawn`);
      continue;
    }
    const drop = receiveDropRule(rule.parsed);
    if (drop === undefined) continue;
    if (!('matches' in drop)) {
      warnings.push(
        `${where} uses options the report cannot match (${drop.unsupported.join(', ')}); its ${counted ?? 'unknown number of'} dropped packets are not attributed to arrows`,
      );
      continue;
    }
    const host = record.hosts.find((h) => h.name === rule.host);
    const hostDrops = drops.get(rule.host);
    if (host === undefined || hostDrops === undefined) continue;
    const matching = [...host.segments, ...(host.icmp ?? [])].filter(
      (s) =>
        s.family === rule.parsed.family &&
        isAddressOf(host, s.dst) &&
        !hostDrops.has(s.frame) &&
        s.timeUs >= rule.fromUs &&
        drop.matches(s, conntrackStateOf(host, s)),
    );
    // Removed by unrule, the count-only rule left in its place counted every matching packet after the delete
    // that reached it: not those a rule inserted above it later took first.
    const above = rulesAbove(rule, drafts, (s) => conntrackStateOf(host, s));
    const seen = above === undefined ? undefined : matching.filter((s) => !above.some((o) => s.timeUs >= o.fromUs && s.timeUs <= o.untilUs && o.takes(s)));
    const afterDelete = rule.passedAfterDelete === undefined || seen === undefined ? undefined : splitAtDelete(seen, rule.passedAfterDelete, endOfStepsUs);
    let matched = afterDelete?.before ?? matching.filter((s) => s.timeUs <= rule.untilUs);
    if (drop.unpredictable.length > 0) {
      const what = drop.unpredictable.map((u) => u.text).join(' ');
      const decided = decideUnpredictableDrops(matched, counted, drop.unpredictable);
      if (decided === undefined) {
        const text = words((w) => w.undecidedDrops(whereIn(w), what, counted, matched.length));
        warnings.push(text.en);
        decide(rule.host, text);
        continue;
      }
      const frames = decided.dropped.map((d) => d.frame);
      const decision = say(REPLAY_WORDS, (w, lang) => w.decidedDrops(whereIn(w), what, decided.how[lang], rule.host, frames));
      decide(rule.host, decision);
      matched = [...decided.dropped];
    }
    if (counted !== undefined && counted < matched.length) {
      const { kept, delivered } = uncountedAtEdges(matched, counted, afterDelete === undefined ? rule : { ...rule, surelyUntilUs: Infinity });
      if (delivered.length > 0) {
        notes
          .get(rule.host)
          ?.push(
            `rule ${rule.name} counted ${counted} drop(s) of ${matched.length} matching packet(s); #${delivered.map((d) => d.frame).join(', #')} arrived ` +
              'while the rule was being added or removed, so they are taken as delivered (before the insert, after the delete)',
          );
      }
      matched = kept;
    }
    if (counted === 0) {
      if (matched.length > 0) warnings.push(`${where} matches ${matched.length} captured packet(s) but its counter is 0: they are drawn as delivered`);
      continue;
    }
    const attribution: RuleDrop = {
      rule: rule.name,
      host: rule.host,
      chain: rule.parsed.chain,
      target: rule.target,
      description: rule.parsed.matchDescription,
    };
    for (const segment of matched) {
      hostDrops.set(segment.frame, attribution);
      rule.droppedFrames.push(segment.frame);
    }
    if (counted === undefined) {
      warnings.push(
        `${where}: no counter found in ${rule.host}'s ${rule.parsed.tool}-counters.txt (rule removed before the counters were read?); ${matched.length} matching packet(s) drawn as dropped`,
      );
    } else if (counted !== matched.length) {
      warnings.push(`${where}: its counter says ${counted} packet(s) dropped, but ${matched.length} captured packet(s) match it`);
    }
  }
  return { rules: drafts, drops, notes, warnings, decisions, zh: { decisions: decisionsZh } };
}

/** Targets that end a packet's walk down the chain. */
const TERMINATING: ReadonlySet<string> = new Set(['DROP', 'REJECT', 'ACCEPT']);

/**
 * The rules of the same chain that were inserted at its head after `rule` (`-I CHAIN` or `-I CHAIN 1`), so above it
 * and above the count-only rule its unrule leaves in its place, each with what it takes; undefined when one of them
 * has a match the model cannot decide, or a later insert at another position (`-I CHAIN 3`) may stand above it
 * (then which packets reached the count-only rule is not known). Appended rules stand below it.
 */
function rulesAbove<P extends RulePacket>(
  rule: TimedRule,
  drafts: readonly TimedRule[],
  ctStateOf: (packet: P) => ConntrackState | undefined,
): { fromUs: number; untilUs: number; takes: (packet: P) => boolean }[] | undefined {
  const later = drafts.filter(
    (o) =>
      o !== rule &&
      o.host === rule.host &&
      o.parsed.family === rule.parsed.family &&
      o.parsed.table === rule.parsed.table &&
      o.parsed.chain === rule.parsed.chain &&
      o.labOrder > rule.labOrder &&
      o.parsed.position === 'insert' &&
      TERMINATING.has(o.target),
  );
  // `-I CHAIN n` with n > 1 may land above or below it: which packets reached it is not known.
  if (later.some((o) => (o.parsed.ruleNumber ?? 1) > 1)) return undefined;
  const compiled = later.map((o) => ({ o, c: compileRule(o.parsed.spec) }));
  if (compiled.some(({ c }) => !c.ok || c.unpredictable.length > 0)) return undefined;
  return compiled.map(({ o, c }) => ({
    fromUs: o.fromUs,
    untilUs: o.untilUs,
    takes: (packet) => c.ok && c.matches(packet, arrivingOnEth0(ctStateOf(packet))),
  }));
}

/**
 * The matching packets (time order) before and after an unrule's delete, when the count-only rule that took the
 * rule's place counted `passed` of them: the last `passed` before the end of the steps came after it. Undefined
 * when that cannot be told: a matching packet after the last step (the counters were read a moment later, so
 * it may or may not be counted), or more counted than captured.
 */
function splitAtDelete<T extends { readonly timeUs: number }>(matching: readonly T[], passed: number, endOfStepsUs: number): { before: T[] } | undefined {
  const ordered = [...matching].sort((a, b) => a.timeUs - b.timeUs);
  if (ordered.some((s) => s.timeUs > endOfStepsUs) || passed > ordered.length) return undefined;
  return { before: ordered.slice(0, ordered.length - passed) };
}

/**
 * The matching packets the counter did not count, when they arrived while the rule step or unrule step ran:
 * before the insert took effect (the earliest of the rule step's), or after the delete (the latest of the
 * unrule step's: its counters are read just before the delete, in the same command). The counter is the proof
 * of how many it dropped; packets in the middle, when the rule was surely in place, are never taken out.
 */
function uncountedAtEdges<T extends { readonly timeUs: number; readonly frame: number }>(
  matched: readonly T[],
  counted: number,
  rule: Pick<TimedRule, 'surelyFromUs' | 'surelyUntilUs'>,
): { kept: T[]; delivered: T[] } {
  const kept = [...matched].sort((a, b) => a.timeUs - b.timeUs);
  const delivered: T[] = [];
  while (kept.length > counted && (kept[0]?.timeUs ?? Infinity) < rule.surelyFromUs) delivered.push(kept.shift() as T);
  while (kept.length > counted && (kept.at(-1)?.timeUs ?? -Infinity) > rule.surelyUntilUs) delivered.push(kept.pop() as T);
  return { kept, delivered };
}

/** The rule that dropped the packet `frame` of `host`'s capture before TCP saw it, if any. */
export function ruleDropOf(timeline: RuleTimeline, host: string, frame: number): RuleDrop | undefined {
  return timeline.drops.get(host)?.get(frame);
}

/** The ICMP messages of `host`'s capture addressed to it that its receive rules let through: those TCP's error handler saw. */
export function icmpReachingStack(timeline: RuleTimeline, host: RunHost): IcmpMessage[] {
  return (host.icmp ?? []).filter((m) => isAddressOf(host, m.dst) && ruleDropOf(timeline, host.name, m.frame) === undefined);
}

/** `dropped by server's rule drop-syn (filter/INPUT: … → DROP) before TCP saw it`: the replay's reason. */
export function describeRuleDrop(drop: RuleDrop): Text {
  return words((w) => w.ruleDrop(drop.host, drop.rule, drop.description));
}
