import { parseRule, RuleError, type ParsedRule } from '../faults/iptables-rule.js';
import { matchCounterToRule, parseRuleCounters, type RuleCounter } from '../faults/rule-counters.js';
import { formatFlags, TcpFlag, type TcpSegment } from '../observe/packet.js';
import type { TcpState } from '../tcp/state.js';
import type { RunRecord } from '../verify/run-record.js';
import { sampleStates } from '../verify/socket-timeline.js';
import type { Check, Verdict } from '../verify/verdict.js';
import { compileRule } from '../faults/rule-matcher.js';

/**
 * The ladder (sequence) diagram of one run, as data: what the HTML and Mermaid renderers draw. Pure:
 * everything comes from the RunRecord and the Verdict, nothing is invented.
 *
 * How segments become arrows. Every host captures on its own eth0 (AF_PACKET), and all containers share
 * the machine's clock, so the two copies of one segment can be paired: the sender's copy (src is the
 * sender) gives the departure time, the receiver's copy (dst is the receiver) the arrival time. Copies pair
 * when they have the same direction, seq, ack, flags and payload length, the same IPv4 identification when
 * both carry one (a retransmission gets a new IP id, so it never pairs with an earlier copy), and the
 * arrival is the nearest one not before the departure (1 ms tolerance).
 * - A sender copy without a receiver copy was lost in the network (the receiver's tap never saw it).
 * - A receiver copy is taken *before* netfilter (the AF_PACKET tap runs in `__netif_receive_skb_core`,
 *   net/core/dev.c, before NF_INET_PRE_ROUTING), so a segment dropped by a rule on the receiver's INPUT or
 *   PREROUTING has both copies. Such segments are found by matching the lab's DROP/REJECT rules (with a
 *   counter above zero) against them; if the number matched differs from the counter, `warnings` says so.
 * - On the sender, the tap for outgoing packets (`dev_queue_xmit_nit`) runs after OUTPUT and POSTROUTING:
 *   segments dropped there were never captured. Only the counter tells of them: a note on the lifeline.
 * Retransmissions are segments that occupy sequence space (SYN, FIN or payload) with the same direction,
 * seq, flags and length as an earlier one; pure ACKs are never retransmissions (a repeated ACK is a
 * duplicate ACK). Times are µs relative to the run's start (`RunRecord.startedUs`).
 */
export interface LadderModel {
  readonly lab: { readonly name: string; readonly title: string; readonly description: string; readonly descriptionZh?: string; readonly source?: string };
  readonly runId: string;
  readonly startedUs: number;
  readonly verdict: 'pass' | 'fail';
  readonly durationMs: number;
  readonly lifelines: readonly Lifeline[];
  /** In time order (departure, or arrival when the sender's copy is missing). */
  readonly arrows: readonly LadderArrow[];
  /** State labels and rule events on the lifelines, in time order. */
  readonly marks: readonly LifelineMark[];
  readonly phases: readonly LadderPhase[];
  readonly checks: readonly LadderCheck[];
  /** Disagreements between the artifacts (counter vs capture, unmatched copies): never silently dropped. */
  readonly warnings: readonly string[];
}

export interface Lifeline {
  readonly host: string;
  readonly address: string;
  /** e.g. `3 segments dropped by rule block-out before capture` (OUTPUT/POSTROUTING drops). */
  readonly notes: readonly string[];
}

export type ArrowFate =
  | { readonly kind: 'delivered' }
  /** Seen leaving the sender, never seen by the receiver's capture. */
  | { readonly kind: 'lost' }
  /** Reached the receiver's tap, then dropped by an iptables rule on the receiver. */
  | { readonly kind: 'dropped'; readonly rule: string; readonly host: string; readonly chain: string; readonly target: string }
  /** The receiver has no capture at all: arrival cannot be confirmed either way. */
  | { readonly kind: 'unconfirmed' };

export interface LadderArrow {
  /** Stable anchor, `seg-1` … in time order. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Relative µs; undefined when the sender's capture lacks the segment. */
  readonly departUs?: number;
  /** Relative µs; undefined when the receiver's capture lacks the segment. */
  readonly arriveUs?: number;
  readonly senderFrame?: number;
  readonly receiverFrame?: number;
  readonly segment: TcpSegment;
  /** tcpdump letters, e.g. `S.`. */
  readonly flags: string;
  readonly fate: ArrowFate;
  /** Present from the second copy on: `copy` 2 is the first retransmission. */
  readonly retransmission?: { readonly copy: number; readonly sinceUs: number };
  /** Names of checks whose evidence points at this segment, and those of them that failed. */
  readonly checks: readonly string[];
  readonly failedChecks: readonly string[];
}

export type LifelineMark =
  | { readonly kind: 'state'; readonly host: string; readonly timeUs: number; readonly state: TcpState; readonly socket: string }
  | { readonly kind: 'rule-added' | 'rule-removed'; readonly host: string; readonly timeUs: number; readonly rule: string; readonly text: string };

export type LadderPhaseKind = 'handshake' | 'simultaneous-open' | 'half-open' | 'four-way-close' | 'close' | 'simultaneous-close';

/** A recognised exchange (three-way handshake, four-way close, …) spanning arrows `first`..`last`. */
export interface LadderPhase {
  readonly kind: LadderPhaseKind;
  readonly first: string;
  readonly last: string;
}

export interface LadderCheck extends Check {
  /** Arrows its evidence names (`client capture #7`). */
  readonly arrowIds: readonly string[];
}

interface Copy {
  readonly host: string;
  readonly segment: TcpSegment;
}

interface DraftArrow {
  from: string;
  to: string;
  sent?: Copy;
  received?: Copy;
  fate: ArrowFate;
}

/** Builds the ladder model of a run from its record and verdict (pure). */
export function buildLadderModel(record: RunRecord, verdict: Verdict): LadderModel {
  const warnings: string[] = [];
  const hostByAddress = new Map(record.hosts.map((h) => [h.address, h.name]));
  const drafts = pairCopies(record, hostByAddress, warnings);
  const lifelineNotes = new Map<string, string[]>(record.hosts.map((h) => [h.name, []]));
  attributeRuleDrops(record, drafts, lifelineNotes, warnings);

  const rel = (us: number): number => us - record.startedUs;
  drafts.sort((x, y) => timeOfDraft(x) - timeOfDraft(y));
  const evidence = linkEvidence(verdict.checks, drafts);
  const copies = new Map<string, { count: number; lastUs: number }>();
  const arrows: LadderArrow[] = drafts.map((draft, i) => {
    const segment = (draft.sent ?? draft.received)?.segment as TcpSegment;
    const id = `seg-${i + 1}`;
    const timeUs = rel(timeOfDraft(draft));
    let retransmission: LadderArrow['retransmission'];
    if (occupiesSequenceSpace(segment)) {
      const key = `${directionKey(segment)}|${segment.seq}|${segment.flags}|${segment.payloadLength}`;
      const seen = copies.get(key);
      if (seen) retransmission = { copy: seen.count + 1, sinceUs: timeUs - seen.lastUs };
      copies.set(key, { count: (seen?.count ?? 0) + 1, lastUs: timeUs });
    }
    const linked = evidence.get(draft) ?? [];
    return {
      id,
      from: draft.from,
      to: draft.to,
      ...(draft.sent && { departUs: rel(draft.sent.segment.timeUs), senderFrame: draft.sent.segment.frame }),
      ...(draft.received && { arriveUs: rel(draft.received.segment.timeUs), receiverFrame: draft.received.segment.frame }),
      segment,
      flags: formatFlags(segment.flags),
      fate: draft.fate,
      ...(retransmission && { retransmission }),
      checks: linked.map((c) => c.name),
      failedChecks: linked.filter((c) => c.status === 'fail').map((c) => c.name),
    };
  });

  const checks: LadderCheck[] = verdict.checks.map((check) => ({
    ...check,
    arrowIds: arrows.filter((a) => a.checks.includes(check.name)).map((a) => a.id),
  }));

  return {
    lab: {
      name: record.lab.name,
      title: record.lab.title,
      description: record.lab.description,
      ...(record.lab.descriptionZh !== undefined && { descriptionZh: record.lab.descriptionZh }),
      ...(record.lab.source !== undefined && { source: record.lab.source }),
    },
    runId: record.runId,
    startedUs: record.startedUs,
    verdict: verdict.verdict,
    durationMs: verdict.durationMs,
    lifelines: record.hosts.map((h) => ({ host: h.name, address: h.address, notes: lifelineNotes.get(h.name) ?? [] })),
    arrows,
    marks: collectMarks(record),
    phases: findPhases(arrows),
    checks,
    warnings,
  };
}

/** Pairs each sender copy with its receiver copy; unmatched copies become lost / receiver-only arrows. */
function pairCopies(record: RunRecord, hostByAddress: ReadonlyMap<string, string>, warnings: string[]): DraftArrow[] {
  const sent: Copy[] = [];
  const received = new Map<string, (Copy & { used: boolean })[]>();
  for (const host of record.hosts) {
    for (const segment of host.segments) {
      const spoofed = !hostByAddress.has(segment.src) && segment.dst !== host.address;
      if (segment.src === host.address || spoofed) sent.push({ host: host.name, segment });
      else if (segment.dst === host.address) {
        const key = copyKey(segment);
        const list = received.get(key) ?? [];
        list.push({ host: host.name, segment, used: false });
        received.set(key, list);
      }
    }
  }
  const hostsWithCapture = new Set(record.hosts.filter((h) => h.segments.length > 0).map((h) => h.name));
  sent.sort((x, y) => x.segment.timeUs - y.segment.timeUs);
  const drafts: DraftArrow[] = [];
  const skipped: string[] = [];
  for (const copy of sent) {
    const receiver = hostByAddress.get(copy.segment.dst);
    if (receiver === undefined) {
      skipped.push(`${copy.host} capture #${copy.segment.frame} (to ${copy.segment.dst})`);
      continue;
    }
    const match = findArrival(copy.segment, receiver, received.get(copyKey(copy.segment)) ?? []);
    if (match) {
      match.used = true;
      drafts.push({ from: copy.host, to: receiver, sent: copy, received: match, fate: { kind: 'delivered' } });
    } else {
      drafts.push({ from: copy.host, to: receiver, sent: copy, fate: hostsWithCapture.has(receiver) ? { kind: 'lost' } : { kind: 'unconfirmed' } });
    }
  }
  for (const list of received.values()) {
    for (const copy of list) {
      if (copy.used) continue;
      const sender = hostByAddress.get(copy.segment.src);
      if (sender === undefined) {
        skipped.push(`${copy.host} capture #${copy.segment.frame} (from ${copy.segment.src})`);
        continue;
      }
      drafts.push({ from: sender, to: copy.host, received: copy, fate: { kind: 'delivered' } });
      if (hostsWithCapture.has(sender)) {
        warnings.push(`${copy.host} capture #${copy.segment.frame} (${formatFlags(copy.segment.flags)} seq ${copy.segment.seq}) has no copy in ${sender}'s capture: drawn from its arrival time only`);
      }
    }
  }
  if (skipped.length > 0) warnings.push(`${skipped.length} segment(s) to or from addresses that are no lab host's were left out: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`);
  return drafts;
}

/** The receiver copy of `segment`: same key and IP id, nearest arrival not before departure (1 ms tolerance). */
function findArrival(segment: TcpSegment, receiver: string, candidates: readonly (Copy & { used: boolean })[]): (Copy & { used: boolean }) | undefined {
  let best: (Copy & { used: boolean }) | undefined;
  for (const candidate of candidates) {
    if (candidate.used || candidate.host !== receiver) continue;
    if (segment.ipId !== undefined && candidate.segment.ipId !== undefined && segment.ipId !== candidate.segment.ipId) continue;
    const delta = candidate.segment.timeUs - segment.timeUs;
    if (delta < -1000) continue;
    if (best === undefined || Math.abs(delta) < Math.abs(best.segment.timeUs - segment.timeUs)) best = candidate;
  }
  return best;
}

function copyKey(s: TcpSegment): string {
  return `${directionKey(s)}|${s.seq}|${s.ack}|${s.flags}|${s.payloadLength}`;
}

function directionKey(s: TcpSegment): string {
  return `${s.src}:${s.srcPort}>${s.dst}:${s.dstPort}`;
}

function timeOfDraft(draft: DraftArrow): number {
  return (draft.sent ?? draft.received)?.segment.timeUs ?? 0;
}

function occupiesSequenceSpace(s: TcpSegment): boolean {
  return s.payloadLength > 0 || (s.flags & (TcpFlag.SYN | TcpFlag.FIN)) !== 0;
}

interface RuleInstance {
  readonly name: string;
  readonly host: string;
  readonly text: string;
  readonly parsed: ParsedRule;
  readonly counter: RuleCounter | undefined;
  readonly fromUs: number;
  readonly untilUs: number;
  readonly labOrder: number;
}

const RECEIVE_CHAINS = new Set(['INPUT', 'PREROUTING']);
const SEND_CHAINS = new Set(['OUTPUT', 'POSTROUTING']);

/** Marks arrows dropped by the lab's DROP/REJECT rules, checking the matches against each rule's counter. */
function attributeRuleDrops(record: RunRecord, drafts: DraftArrow[], notes: Map<string, string[]>, warnings: string[]): void {
  const addresses = Object.fromEntries(record.hosts.map((h) => [h.name, h.address]));
  const rules: RuleInstance[] = [];
  record.lab.steps.forEach((step, index) => {
    if (step.kind !== 'rule') return;
    let parsed: ParsedRule;
    try {
      parsed = parseRule(step.text, addresses);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      warnings.push(`rule ${step.name} on ${step.host} could not be read (${err.reason}); its drops are not drawn`);
      return;
    }
    const counters = parseRuleCounters(record.hosts.find((h) => h.name === step.host)?.ruleCounters ?? '');
    const counter = matchCounterToRule(parseRule(step.text, addresses, { comment: `tcplab:${step.name}` }), counters) ?? matchCounterToRule(parsed, counters);
    const added = record.steps.find((s) => s.index === index);
    const removalIndex = record.lab.steps.findIndex((s, i) => i > index && s.kind === 'unrule' && s.host === step.host && s.name === step.name);
    const removed = record.steps.find((s) => s.index === removalIndex);
    rules.push({
      name: step.name,
      host: step.host,
      text: step.text,
      parsed,
      counter,
      fromUs: added?.startUs ?? -Infinity,
      untilUs: removed?.endUs ?? Infinity,
      labOrder: index,
    });
  });
  // The chain is evaluated in rule order: the counter's position, else the order the lab added them.
  rules.sort((x, y) => (x.counter?.num ?? 1e9) - (y.counter?.num ?? 1e9) || x.labOrder - y.labOrder);

  const claimed = new Set<DraftArrow>();
  for (const rule of rules) {
    const target = targetOf(rule.parsed.spec);
    if (target !== 'DROP' && target !== 'REJECT') continue;
    const where = `rule ${rule.name} on ${rule.host} (${rule.parsed.chain})`;
    const counted = rule.counter?.pkts;
    if (SEND_CHAINS.has(rule.parsed.chain)) {
      if (counted !== undefined && counted > 0) {
        notes.get(rule.host)?.push(`${counted} segment${counted === 1 ? '' : 's'} dropped by rule ${rule.name} before capture (${rule.parsed.chain})`);
      } else if (counted === undefined) {
        warnings.push(`${where}: no counter found in ${rule.host}'s iptables-counters.txt, so segments it dropped before capture cannot be counted`);
      }
      continue;
    }
    if (!RECEIVE_CHAINS.has(rule.parsed.chain)) {
      warnings.push(`${where}: only INPUT, PREROUTING, OUTPUT and POSTROUTING drops are drawn`);
      continue;
    }
    const compiled = compileRule(rule.parsed.spec);
    if (!compiled.ok) {
      warnings.push(`${where} uses options the report cannot match (${compiled.unsupported.join(', ')}); its ${counted ?? 'unknown number of'} dropped packets are not attributed to arrows`);
      continue;
    }
    const matched = drafts.filter((draft) => {
      const copy = draft.received;
      if (copy === undefined || copy.host !== rule.host || claimed.has(draft)) return false;
      if (copy.segment.timeUs < rule.fromUs || copy.segment.timeUs > rule.untilUs) return false;
      return compiled.matches(copy.segment, { inInterface: 'eth0' });
    });
    if (counted === 0) {
      if (matched.length > 0) warnings.push(`${where} matches ${matched.length} captured segment(s) but its counter is 0: they are drawn as delivered`);
      continue;
    }
    for (const draft of matched) {
      claimed.add(draft);
      draft.fate = { kind: 'dropped', rule: rule.name, host: rule.host, chain: rule.parsed.chain, target };
    }
    if (counted === undefined) {
      warnings.push(`${where}: no counter found in ${rule.host}'s iptables-counters.txt (rule removed before the counters were read?); ${matched.length} matching segment(s) drawn as dropped`);
    } else if (counted !== matched.length) {
      warnings.push(`${where}: its counter says ${counted} packet(s) dropped, but ${matched.length} captured segment(s) match it`);
    }
  }
}

function targetOf(spec: readonly string[]): string {
  const index = spec.findIndex((w) => w === '-j' || w === '--jump');
  return (spec[index + 1] ?? '').toUpperCase();
}

/** Maps each failed or passed check's `<host> capture #<frame>` evidence to the arrows it names. */
function linkEvidence(checks: readonly Check[], drafts: readonly DraftArrow[]): Map<DraftArrow, Check[]> {
  const linked = new Map<DraftArrow, Check[]>();
  for (const check of checks) {
    for (const item of check.evidence) {
      for (const match of item.matchAll(/([\w.-]+) capture #(\d+)/g)) {
        const host = match[1];
        const frame = Number(match[2]);
        const draft = drafts.find(
          (d) => (d.sent !== undefined && d.sent.host === host && d.sent.segment.frame === frame) || (d.received !== undefined && d.received.host === host && d.received.segment.frame === frame),
        );
        if (draft === undefined) continue;
        const list = linked.get(draft) ?? [];
        if (!list.includes(check)) list.push(check);
        linked.set(draft, list);
      }
    }
  }
  return linked;
}

function collectMarks(record: RunRecord): LifelineMark[] {
  const marks: LifelineMark[] = [];
  for (const host of record.hosts) {
    for (const sample of sampleStates(host.events)) {
      marks.push({ kind: 'state', host: host.name, timeUs: sample.timeUs - record.startedUs, state: sample.state, socket: `${sample.local} ↔ ${sample.remote}` });
    }
  }
  for (const step of record.steps) {
    const labStep = record.lab.steps[step.index];
    if (labStep?.kind === 'rule') {
      marks.push({ kind: 'rule-added', host: labStep.host, timeUs: step.startUs - record.startedUs, rule: labStep.name, text: labStep.text });
    } else if (labStep?.kind === 'unrule') {
      marks.push({ kind: 'rule-removed', host: labStep.host, timeUs: step.endUs - record.startedUs, rule: labStep.name, text: '' });
    }
  }
  return marks.sort((x, y) => x.timeUs - y.timeUs);
}

const plus1 = (n: number, by = 1): number => (n + by) >>> 0;

/** Recognises handshakes and closes per connection (first copies only), in the seeds' vocabulary. */
function findPhases(arrows: readonly LadderArrow[]): LadderPhase[] {
  const phases: LadderPhase[] = [];
  const byConnection = new Map<string, LadderArrow[]>();
  for (const arrow of arrows) {
    const s = arrow.segment;
    const ends = [`${s.src}:${s.srcPort}`, `${s.dst}:${s.dstPort}`].sort().join(' ');
    const list = byConnection.get(ends) ?? [];
    list.push(arrow);
    byConnection.set(ends, list);
  }
  for (const list of byConnection.values()) {
    const firsts = list.filter((a) => a.retransmission === undefined);
    const syns = firsts.filter((a) => (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
    const synAcks = firsts.filter((a) => (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK));
    const syn = syns[0];
    if (syn !== undefined) {
      const lastSynLike = [...list].reverse().find((a) => (a.segment.flags & TcpFlag.SYN) !== 0) as LadderArrow;
      if (syns.some((a) => a.from !== syn.from)) {
        phases.push({ kind: 'simultaneous-open', first: syn.id, last: lastSynLike.id });
      } else {
        const synAck = synAcks.find((a) => a.from === syn.to && a.segment.ack === plus1(syn.segment.seq));
        const finalAck =
          synAck &&
          firsts.find((a) => a.from === syn.from && (a.segment.flags & TcpFlag.SYN) === 0 && (a.segment.flags & TcpFlag.ACK) !== 0 && a.segment.ack === plus1(synAck.segment.seq));
        if (synAck && finalAck) phases.push({ kind: 'handshake', first: syn.id, last: finalAck.id });
        else if (synAck) phases.push({ kind: 'half-open', first: syn.id, last: lastSynLike.id });
      }
    }
    const fins = firsts.filter((a) => (a.segment.flags & TcpFlag.FIN) !== 0);
    const finA = fins[0];
    const finB = fins.find((a) => finA !== undefined && a.from !== finA.from);
    if (finA === undefined || finB === undefined) continue;
    const finAEnd = plus1(finA.segment.seq, finA.segment.payloadLength + 1);
    const finBEnd = plus1(finB.segment.seq, finB.segment.payloadLength + 1);
    const lastAck = list.find((a) => a.from === finA.from && (a.segment.flags & TcpFlag.ACK) !== 0 && a.segment.ack === finBEnd) ?? finB;
    const finBAcksFinA = (finB.segment.flags & TcpFlag.ACK) !== 0 && finB.segment.ack === finAEnd;
    if (!finBAcksFinA) {
      phases.push({ kind: 'simultaneous-close', first: finA.id, last: lastAck.id });
      continue;
    }
    const indexOf = (a: LadderArrow): number => list.indexOf(a);
    const separateAck = list.some(
      (a) => a.from === finB.from && indexOf(a) > indexOf(finA) && indexOf(a) < indexOf(finB) && (a.segment.flags & TcpFlag.FIN) === 0 && a.segment.ack === finAEnd,
    );
    phases.push({ kind: separateAck ? 'four-way-close' : 'close', first: finA.id, last: lastAck.id });
  }
  return phases;
}
