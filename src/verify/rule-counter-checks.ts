import type { RunAnalysis } from '../analysis/analyze-run.js';
import { conntrackStateOf, RECEIVE_CHAINS, SEND_CHAINS, type TimedRule } from '../analysis/rule-timeline.js';
import { isAddressOf, relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { compileRule, protocolOf, type CompiledRule, type RulePacket } from '../faults/rule-matcher.js';
import { segmentRefs, textCheck, type Check } from './verdict.js';
import { CONSISTENCY_WORDS, type ConsistencyWords } from '../messages/check-words/consistency-words.js';
import { say, type Text } from '../messages/text.js';

/*
 * Rule counters against the captures: the counter `iptables-save -c` read after the last step is the
 * proof that a rule fired, so it must agree with the captured segments the rule's matcher selects.
 *
 * Why the captures can bound a counter. A host's capture is an AF_PACKET tap on eth0: on receive it
 * runs in __netif_receive_skb_core() (net/core/dev.c), before NF_INET_PRE_ROUTING, so every segment an
 * INPUT/PREROUTING rule counted is in the receiver's capture; on send it runs in dev_queue_xmit_nit(),
 * after NF_INET_POST_ROUTING, so a segment an OUTPUT/POSTROUTING DROP took is never captured. The run
 * reads the counters after the last step and only then freezes the host and stops tcpdump
 * (run-lab.ts recordRuleCountersFreezeAndStopCapture()), so the capture holds everything counted.
 * - A rule was surely in place from the end of its `rule` step, possibly from its start; a rule removed by
 *   `unrule` has its counter read in the unrule's own command just before the delete (step-runner.ts), so it
 *   covers what arrived until the unrule started (surely) or ended (possibly).
 * - Lower bound: segments that arrived after the rule step ended and before the last step ended, that
 *   it matches, and that no earlier rule of the path (PREROUTING before INPUT, raw/mangle/nat/filter,
 *   then the counter's position) that could have been in place and might take them matches.
 * - Upper bound (rules with `-p tcp` or `-p icmp` only: other protocols are not decoded): every captured arrival
 *   it matches while possibly in place that no earlier terminal rule surely took.
 * - Send chains: a captured departure that a DROP/REJECT rule surely in place matches was let through,
 *   which a counted drop cannot explain (not judged for a rule with hidden state, which lets some through).
 * Rules with matches of hidden state (`-m limit`, `-m statistic`, …: they take only some of what the
 * rest of the rule selects) are bounded by 0 below and by their candidates above, and never count as
 * surely taking a segment from the rules after them. Rules the matcher cannot compile at all get no
 * check, and make the bounds of the rules after them in the same path unknown. Nor do nat rules: a nat chain is walked only
 * by a connection's first packet (nf_nat_inet_fn() looks up the chain for a new conntrack entry only).
 */

/** Targets that end a packet's walk through the path when their rule matches. */
const TERMINAL_TARGETS: ReadonlySet<string> = new Set(['ACCEPT', 'DROP', 'REJECT', 'NFQUEUE', 'QUEUE']);
/** Targets that count and let the packet go on. */
const CONTINUING_TARGETS: ReadonlySet<string> = new Set([
  'LOG',
  'NFLOG',
  'MARK',
  'CONNMARK',
  'TRACE',
  'CT',
  'NOTRACK',
  'TCPMSS',
  'DSCP',
  'TOS',
  'TTL',
  'CLASSIFY',
  '',
]);
const HOOK_ORDER: Readonly<Record<string, number>> = { PREROUTING: 0, INPUT: 1, OUTPUT: 0, POSTROUTING: 1 };
const TABLE_ORDER: Readonly<Record<string, number>> = { raw: 0, mangle: 1, nat: 2, filter: 3, security: 4 };

interface PathRule {
  readonly rule: TimedRule;
  /** The host the rule is on: its capture tells each segment's conntrack state (conntrackStateOf()). */
  readonly host: RunHost | undefined;
  readonly compiled: CompiledRule;
}

/** The sentence in every language, from the words of consistency checks. */
function words(sentence: (w: ConsistencyWords) => string): Text {
  return say(CONSISTENCY_WORDS, sentence);
}

/** One check per lab rule with a counter and decidable matches: the counter agrees with the captures. */
export function checkRuleCounters(run: RunRecord, analysis: RunAnalysis): Check[] {
  const endOfStepsUs = stepsEndUs(run);
  const checks: Check[] = [];
  for (const host of run.hosts) {
    // iptables sees only IPv4 packets and ip6tables only IPv6 ones: each family's rules form their own path.
    for (const family of [4, 6] as const) {
      const own = analysis.rules.rules.filter((r) => r.host === host.name && r.parsed.family === family);
      for (const direction of ['receive', 'send'] as const) {
        const chains = direction === 'receive' ? RECEIVE_CHAINS : SEND_CHAINS;
        const path = own
          .filter((r) => chains.has(r.parsed.chain))
          .sort((x, y) => order(x) - order(y))
          .map((rule) => toPathRule(run, rule));
        const packets = [...host.segments, ...(host.icmp ?? [])].filter(
          (s) => s.family === family && isAddressOf(host, direction === 'receive' ? s.dst : s.src),
        );
        path.forEach((entry, index) => {
          // nat chains see only a connection's first packet (conntrack), so their counters are no count of segments.
          if (entry.rule.counter === undefined || !entry.compiled.ok || host.segments.length === 0 || tableOf(entry.rule) === 'nat') return;
          const check =
            direction === 'receive'
              ? checkReceiveCounter(run, host, path, index, packets, endOfStepsUs)
              : checkSendPassage(run, host, path, index, packets, endOfStepsUs);
          if (check !== undefined) checks.push(check);
        });
      }
    }
  }
  return checks;
}

function checkReceiveCounter(
  run: RunRecord,
  host: RunHost,
  path: readonly PathRule[],
  index: number,
  arrivals: readonly RulePacket[],
  endOfStepsUs: number,
): Check {
  const entry = path[index] as PathRule;
  const rule = entry.rule;
  const counted = rule.counter?.pkts ?? 0;
  const surely: RulePacket[] = [];
  const possibly: RulePacket[] = [];
  for (const segment of arrivals) {
    if (!matches(entry, segment, 'receive')) continue;
    const earlier = path.slice(0, index);
    const inPlaceSurely = segment.timeUs > entry.rule.surelyFromUs && segment.timeUs < entry.rule.surelyUntilUs;
    if (inPlaceSurely && segment.timeUs <= endOfStepsUs && !earlier.some((e) => mightTake(e, segment, 'receive'))) surely.push(segment);
    if (segment.timeUs >= rule.fromUs && segment.timeUs <= rule.untilUs && !earlier.some((e) => surelyTakes(e, segment, 'receive'))) possibly.push(segment);
  }
  const boundedAbove = selectsCapturedProtocol(rule) && !path.slice(0, index).some((e) => !e.compiled.ok);
  // A match with hidden state (-m limit, -m statistic, …) takes only some of what the rest of the rule
  // selects: any count up to the candidates is consistent with the captures.
  const lower = hasHiddenState(entry) ? 0 : surely.length;
  const upper = boundedAbove ? possibly.length : undefined;
  const pass = counted >= lower && (upper === undefined || counted <= upper);
  const expected = words((w) => (upper === undefined ? w.atLeastMatched(lower) : lower === upper ? w.exactlyMatched(lower) : w.betweenMatched(lower, upper)));
  const evidence = [
    words((w) => (Number.isFinite(rule.untilUs) ? w.counterBeforeUnrule(host.name, counted) : w.counterIn(host.name, rule.parsed.tool, counted))),
    ...possibly.slice(0, 12).map((s) => words((w) => w.matchesIt(host.name, s.frame, relTime(run, s.timeUs), !surely.includes(s)))),
  ];
  if (!pass) evidence.push(words((w) => (counted < lower ? w.counterTooLow(counted, lower) : w.counterTooHigh(counted, upper ?? 0))));
  return textCheck({
    name: words((w) => w.counterAgreesName(rule.name, host.name)),
    status: pass ? 'pass' : 'fail',
    expected,
    observed: words((w) => w.counterObserved(counted)),
    evidence,
    // No segment refs: a counter is read at the end, so a disagreement has no moment of its own (the frames are in the evidence).
    refs: [{ kind: 'rule', host: host.name, rule: rule.name }],
  });
}

function checkSendPassage(
  run: RunRecord,
  host: RunHost,
  path: readonly PathRule[],
  index: number,
  departures: readonly RulePacket[],
  endOfStepsUs: number,
): Check | undefined {
  const entry = path[index] as PathRule;
  const rule = entry.rule;
  // A match with hidden state lets some of what it selects through (`-m limit` once its burst is spent): a
  // captured departure it matches proves nothing, and the ones it dropped were never captured.
  if ((rule.target !== 'DROP' && rule.target !== 'REJECT') || hasHiddenState(entry)) return undefined;
  const passed = departures.filter(
    (s) =>
      s.timeUs > entry.rule.surelyFromUs &&
      s.timeUs < entry.rule.surelyUntilUs &&
      s.timeUs <= endOfStepsUs &&
      matches(entry, s, 'send') &&
      !path.slice(0, index).some((e) => mightTake(e, s, 'send')),
  );
  const frames = passed.slice(0, 8).map((s) => s.frame);
  return textCheck({
    name: words((w) => w.noneLeftName(rule.name, host.name)),
    status: passed.length === 0 ? 'pass' : 'fail',
    expected: words((w) => w.noneLeftExpected(host.name, rule.parsed.chain)),
    observed: words((w) => (passed.length === 0 ? w.noneLeft(rule.counter?.pkts ?? 0) : w.left(passed.length, host.name, frames))),
    evidence: passed.slice(0, 12).map((s) => words((w) => w.matchedYetSent(host.name, s.frame, relTime(run, s.timeUs)))),
    refs: [
      { kind: 'rule', host: host.name, rule: rule.name },
      ...segmentRefs(
        host.name,
        passed.slice(0, 20).map((s) => s.frame),
      ),
    ],
  });
}

function toPathRule(run: RunRecord, rule: TimedRule): PathRule {
  return {
    rule,
    host: run.hosts.find((h) => h.name === rule.host),
    compiled: compileRule(rule.parsed.spec),
  };
}

function tableOf(rule: TimedRule): string {
  return rule.counter?.format === 'save' ? rule.counter.table : rule.parsed.table;
}

function order(rule: TimedRule): number {
  const table = tableOf(rule);
  return (HOOK_ORDER[rule.parsed.chain] ?? 0) * 1e6 + (TABLE_ORDER[table] ?? 3) * 1e4 + (rule.counter?.num ?? 999);
}

function matches(entry: PathRule, segment: RulePacket, direction: 'receive' | 'send'): boolean {
  if (!entry.compiled.ok) return false;
  const ctState = entry.host === undefined ? undefined : conntrackStateOf(entry.host, segment);
  const place = direction === 'receive' ? { inInterface: 'eth0' } : { outInterface: 'eth0' };
  return entry.compiled.matches(segment, { ...place, ...(ctState !== undefined && { ctState }) });
}

/** An earlier rule that could have taken the segment before the one judged (so it does not count for the lower bound). */
function mightTake(entry: PathRule, segment: RulePacket, direction: 'receive' | 'send'): boolean {
  const inPlace = segment.timeUs >= entry.rule.fromUs && segment.timeUs <= entry.rule.untilUs;
  if (!inPlace || CONTINUING_TARGETS.has(entry.rule.target)) return false;
  return !entry.compiled.ok || matches(entry, segment, direction);
}

/** An earlier terminal rule surely in place that matches the segment: it never reached the rule judged. */
function surelyTakes(entry: PathRule, segment: RulePacket, direction: 'receive' | 'send'): boolean {
  const inPlace = segment.timeUs > entry.rule.surelyFromUs && segment.timeUs < entry.rule.surelyUntilUs;
  return inPlace && TERMINAL_TARGETS.has(entry.rule.target) && !hasHiddenState(entry) && matches(entry, segment, direction);
}

/** The rule has matches whose effect the capture cannot show (rule-matcher.ts `unpredictable`). */
function hasHiddenState(entry: PathRule): boolean {
  return entry.compiled.ok && entry.compiled.unpredictable.length > 0;
}

/**
 * Whether the rule selects only packets a capture holds in full: TCP, or ICMP (the capture filter leaves out
 * IPv6 multicast, so ICMPv6 neighbour discovery is partly missing; packet-capture.ts).
 */
function selectsCapturedProtocol(rule: TimedRule): boolean {
  const protocol = protocolOf(rule.parsed.spec);
  return protocol === 'tcp' || protocol === 'icmp4';
}
