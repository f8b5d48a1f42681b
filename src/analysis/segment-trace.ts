import { formatFlags, sequenceLength, TcpFlag, type TcpSegment } from '../observe/packet.js';
import type { TcpState } from '../tcp/state.js';
import { ruleDropOf, type RuleTimeline } from './rule-timeline.js';
import { findInjectedSegments } from './injected-segments.js';
import { hostNamesByAddress, isAddressOf, type RunRecord } from './run-record.js';
import { sampleStates } from './socket-timeline.js';

/*
 * Each segment of the run once, with its copies (the sender's and the receiver's capture) and its fate,
 * retransmissions numbered, and the phases of each connection: what the ladder, the commentary and the
 * checks' links read (analysis, computed once per run).
 *
 * How segments are paired. Every host captures on its own eth0 (AF_PACKET), and all containers share
 * the machine's clock, so the two copies of one segment can be paired: the sender's copy (src is the
 * sender) gives the departure time, the receiver's copy (dst is the receiver) the arrival time. Copies pair
 * when they have the same direction, seq, ack, flags and payload length, the same IPv4 identification when
 * both carry one (a retransmission gets a new IP id, so it never pairs with an earlier copy), and the
 * arrival is the nearest one not before the departure (1 ms tolerance).
 * - A sender copy without a receiver copy was lost in the network (the receiver's tap never saw it).
 * - A receiver copy is taken *before* netfilter, so a segment dropped by a rule on the receiver's INPUT or
 *   PREROUTING has both copies: its fate comes from the rule timeline (rule-timeline.ts).
 * - Segments dropped on the sender's OUTPUT/POSTROUTING were never captured: only the counter tells
 *   (the timeline's notes).
 * Retransmissions are segments that occupy sequence space (SYN, FIN or payload) with the same direction,
 * seq, flags and length as an earlier one; pure ACKs are never retransmissions (a repeated ACK is a
 * duplicate ACK). Times are µs relative to the run's start (`RunRecord.startedUs`).
 */

export type ArrowFate =
  | { readonly kind: 'delivered' }
  /** Seen leaving the sender, never seen by the receiver's capture. */
  | { readonly kind: 'lost' }
  /** Reached the receiver's tap, then dropped by an iptables rule on the receiver. */
  | { readonly kind: 'dropped'; readonly rule: string; readonly host: string; readonly chain: string; readonly target: string }
  /** The receiver has no capture at all: arrival cannot be confirmed either way. */
  | { readonly kind: 'unconfirmed' };

/** One segment of the run: its copies, its fate, and its place among retransmissions. */
export interface TracedSegment {
  /** Stable anchor, `seg-1` … in time order. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Relative µs; undefined when the sender's capture lacks the segment. */
  readonly departUs?: number;
  /** Relative µs; undefined when the receiver's capture lacks the segment. */
  readonly arriveUs?: number;
  /** Frame in the capture of `from` (the sender's copy). */
  readonly senderFrame?: number;
  /** Frame in the capture of `to` (the receiver's copy). */
  readonly receiverFrame?: number;
  readonly segment: TcpSegment;
  /** tcpdump letters, e.g. `S.`. */
  readonly flags: string;
  readonly fate: ArrowFate;
  /** Present from the second copy on: `copy` 2 is the first retransmission. */
  readonly retransmission?: { readonly copy: number; readonly sinceUs: number };
  /** Present when an `inject` step (lab step index `step`) wrote it on a raw socket: no socket of `from` sent it (injected-segments.ts). */
  readonly injected?: { readonly step: number };
}

export type LifelineMark =
  | {
      readonly kind: 'state';
      readonly host: string;
      readonly timeUs: number;
      readonly state: TcpState;
      readonly socket: string;
      /** A capture's state deduced from what a later frame proves, not seen (capture-states.ts). */
      readonly inferred?: boolean;
      /** The endpoint's first known state, drawn before the segment at the same instant. */
      readonly initial?: boolean;
    }
  | { readonly kind: 'rule-added' | 'rule-removed'; readonly host: string; readonly timeUs: number; readonly rule: string; readonly text: string };

export type LadderPhaseKind = 'handshake' | 'simultaneous-open' | 'half-open' | 'four-way-close' | 'close' | 'simultaneous-close';

/** A recognised exchange (three-way handshake, four-way close, …) spanning segments `first`..`last`. */
export interface LadderPhase {
  readonly kind: LadderPhaseKind;
  readonly first: string;
  readonly last: string;
}

/** Every segment of a run once, in time order, with the phases and the lifeline marks. */
export interface SegmentTrace {
  readonly segments: readonly TracedSegment[];
  readonly phases: readonly LadderPhase[];
  readonly marks: readonly LifelineMark[];
  /** Per host: what the captures cannot show (segments dropped before capture, from the counters). */
  readonly notes: ReadonlyMap<string, readonly string[]>;
  /** Disagreements between the artifacts (counter vs capture, unmatched copies): never silently dropped. */
  readonly warnings: readonly string[];
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

/** Pairs the copies of every segment of the run and gives each its fate (pure). */
export function traceSegments(record: RunRecord, rules: RuleTimeline): SegmentTrace {
  const warnings: string[] = [];
  const hostByAddress = hostNamesByAddress(record.hosts);
  const drafts = pairCopies(record, hostByAddress, warnings);
  for (const draft of drafts) {
    const copy = draft.received;
    const drop = copy === undefined ? undefined : ruleDropOf(rules, copy.host, copy.segment.frame);
    if (drop !== undefined) draft.fate = { kind: 'dropped', rule: drop.rule, host: drop.host, chain: drop.chain, target: drop.target };
  }
  const rel = (us: number): number => us - record.startedUs;
  drafts.sort((x, y) => timeOfDraft(x) - timeOfDraft(y));
  const numberCopy = retransmissionCounter();
  const injected = findInjectedSegments(record);
  const segments: TracedSegment[] = drafts.map((draft, i) => {
    const injectedBy = draft.sent && injected.find((j) => j.host === draft.from && j.frame === draft.sent?.segment.frame);
    const segment = (draft.sent ?? draft.received)?.segment as TcpSegment;
    const retransmission = numberCopy(segment, rel(timeOfDraft(draft)));
    return {
      id: `seg-${i + 1}`,
      from: draft.from,
      to: draft.to,
      ...(draft.sent && { departUs: rel(draft.sent.segment.timeUs), senderFrame: draft.sent.segment.frame }),
      ...(draft.received && { arriveUs: rel(draft.received.segment.timeUs), receiverFrame: draft.received.segment.frame }),
      segment,
      flags: formatFlags(segment.flags),
      fate: draft.fate,
      ...(retransmission && { retransmission }),
      ...(injectedBy && { injected: { step: injectedBy.step } }),
    };
  });
  return { segments, phases: findPhases(segments), marks: collectMarks(record), notes: rules.notes, warnings: [...warnings, ...rules.warnings] };
}

/** The traced segment whose sender or receiver copy is frame `frame` of `host`'s capture. */
export function segmentAtFrame(trace: SegmentTrace, host: string, frame: number): TracedSegment | undefined {
  return trace.segments.find((s) => (s.from === host && s.senderFrame === frame) || (s.to === host && s.receiverFrame === frame));
}

/** Pairs each sender copy with its receiver copy; unmatched copies become lost / receiver-only arrows. */
function pairCopies(record: RunRecord, hostByAddress: ReadonlyMap<string, string>, warnings: string[]): DraftArrow[] {
  const sent: Copy[] = [];
  const received = new Map<string, (Copy & { used: boolean })[]>();
  for (const host of record.hosts) {
    for (const segment of host.segments) {
      const spoofed = !hostByAddress.has(segment.src) && !isAddressOf(host, segment.dst);
      if (isAddressOf(host, segment.src) || spoofed) sent.push({ host: host.name, segment });
      else if (isAddressOf(host, segment.dst)) {
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
        warnings.push(
          `${copy.host} capture #${copy.segment.frame} (${formatFlags(copy.segment.flags)} seq ${copy.segment.seq}) has no copy in ${sender}'s capture: drawn from its arrival time only`,
        );
      }
    }
  }
  if (skipped.length > 0)
    warnings.push(
      `${skipped.length} segment(s) to or from addresses that are no lab host's were left out: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`,
    );
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

/** The key of a segment's retransmitted copies: direction, sequence number, flags and length (the ladder's copy numbers). */
export function retransmissionKey(segment: TcpSegment): string {
  return `${directionKey(segment)}|${segment.seq}|${segment.flags}|${segment.payloadLength}`;
}

/**
 * Numbers the copies of each segment, fed in time order: the second and later copies of one that occupies
 * sequence space (same direction, seq, flags and length) are retransmissions, with the time since the last.
 */
export function retransmissionCounter(): (segment: TcpSegment, timeUs: number) => TracedSegment['retransmission'] {
  const copies = new Map<string, { count: number; lastUs: number }>();
  return (segment, timeUs) => {
    if (sequenceLength(segment) === 0) return undefined;
    const key = retransmissionKey(segment);
    const seen = copies.get(key);
    copies.set(key, { count: (seen?.count ?? 0) + 1, lastUs: timeUs });
    return seen && { copy: seen.count + 1, sinceUs: timeUs - seen.lastUs };
  };
}

function collectMarks(record: RunRecord): LifelineMark[] {
  const marks: LifelineMark[] = [];
  for (const host of record.hosts) {
    for (const sample of sampleStates(host.events)) {
      marks.push({
        kind: 'state',
        host: host.name,
        timeUs: sample.timeUs - record.startedUs,
        state: sample.state,
        socket: `${sample.local} ↔ ${sample.remote}`,
      });
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
export function findPhases(arrows: readonly TracedSegment[]): LadderPhase[] {
  const phases: LadderPhase[] = [];
  const byConnection = new Map<string, TracedSegment[]>();
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
      const lastSynLike = [...list].reverse().find((a) => (a.segment.flags & TcpFlag.SYN) !== 0) as TracedSegment;
      if (syns.some((a) => a.from !== syn.from)) {
        phases.push({ kind: 'simultaneous-open', first: syn.id, last: lastSynLike.id });
      } else {
        const synAck = synAcks.find((a) => a.from === syn.to && a.segment.ack === plus1(syn.segment.seq));
        const finalAck =
          synAck &&
          firsts.find(
            (a) =>
              a.from === syn.from &&
              (a.segment.flags & TcpFlag.SYN) === 0 &&
              (a.segment.flags & TcpFlag.ACK) !== 0 &&
              a.segment.ack === plus1(synAck.segment.seq),
          );
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
    const indexOf = (a: TracedSegment): number => list.indexOf(a);
    const separateAck = list.some(
      (a) =>
        a.from === finB.from && indexOf(a) > indexOf(finA) && indexOf(a) < indexOf(finB) && (a.segment.flags & TcpFlag.FIN) === 0 && a.segment.ack === finAEnd,
    );
    phases.push({ kind: separateAck ? 'four-way-close' : 'close', first: finA.id, last: lastAck.id });
  }
  return phases;
}
