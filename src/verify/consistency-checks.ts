import type { AgentEvent } from '../agent/protocol.js';
import { silentRequestTimeouts } from '../analysis/accept-queue.js';
import { hostAnalysisOf, type RunAnalysis } from '../analysis/analyze-run.js';
import { SEND_CHAINS } from '../analysis/rule-timeline.js';
import { relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { findConnTuple, segmentEndpoints } from '../analysis/run-sockets.js';
import type { TracedSegment } from '../analysis/segment-trace.js';
import { isLabSocket } from '../analysis/socket-timeline.js';
import { formatFlags, sequenceLength, TcpFlag, type TcpSegment } from '../observe/packet.js';
import { checkRuleCounters } from './rule-counter-checks.js';
import { checkTraceConsistency } from './trace-consistency.js';
import { textCheck, type Check, type CheckOrigin, type ConsistencyKind, type Evidence } from './verdict.js';
import { CONSISTENCY_WORDS, type ConsistencyWords } from '../messages/check-words/consistency-words.js';
import { say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/*
 * Cross-source consistency: the sources of one run (the two captures, the rule counters, the
 * /proc/net/tcp samples, the agent's events) must tell one story. Each check here is judged on every
 * run and can FAIL on its own: a tampered or broken run folder must never PASS because every
 * expectation reads only one source.
 *
 * - capture counters: tcpdump's own count of the packets its AF_PACKET ring had no room for (ps_drop) or the
 *   interface dropped (ps_ifdrop) is 0 on every host. A packet the capture lost is still a packet the hosts
 *   exchanged: any claim that something was not sent, or arrived, or changed no state, could then be false
 *   however the other checks read the capture, so such a run proves nothing.
 * - delivery: what one host's capture shows sent to another lab host arrives in that host's capture,
 *   and what arrives was sent. Both taps are on the hosts' own eth0 of one bridge: a receive tap runs
 *   before netfilter, a send tap after it (rule-counter-checks.ts), so a rule never explains a copy
 *   missing on one side. Judged from the first step's start to the last step's end (the capture runs
 *   on both sides all that time). A segment re-cut on the way (GSO, GRO) counts as arrived when
 *   copies within DELIVERY_WINDOW_US cover its sequence range.
 * - rule counters: rule-counter-checks.ts.
 * - sample retransmissions: a row's retransmission count (icsk_retransmits, `num_timeout` for a request;
 *   incremented in tcp_update_rto_stats() just before the copy is sent, net/ipv4/tcp_timer.c) cannot
 *   exceed the copies of one segment that socket's capture shows sent (plus what the host's send-chain
 *   rules counted as dropped before capture).
 * - tracepoints (runs with a kernel trace): trace-consistency.ts.
 * - socket story: a socket sampled in SYN_SENT after its capture shows it sent the handshake-completing
 *   ACK (tcp_finish_connect() sets ESTABLISHED before tcp_send_ack(), net/ipv4/tcp_input.c), or after
 *   an acceptable RST reached it (ACK = ISN + 1: tcp_rcv_synsent_state_process() calls tcp_reset(),
 *   which closes the socket with ECONNREFUSED); a SYN sent again after either; a connection that was
 *   reset in SYN_SENT but reports an outcome other than ECONNREFUSED.
 * A row describes a moment in [readFromUs, timeUs] (agent protocol); rows recorded without readFromUs
 * (older agents stamped late, by up to 0.7 s under load) are given LEGACY_STAMP_SLACK_US.
 */

/** How far apart a sent copy and the copies covering it may arrive (a re-cut segment). */
export const DELIVERY_WINDOW_US = 100_000;
/** Slack for rows without `readFromUs` (stamped after the read by an older agent's clock). */
export const LEGACY_STAMP_SLACK_US = 1_000_000;
/** A row stamped this soon after a copy may have been read just before the copy was counted. */
const RETRANSMIT_STAMP_SLACK_US = 500_000;

/** The cross-source consistency checks of a run (every run, whatever its lab claims). */
export function checkConsistency(run: RunRecord, analysis: RunAnalysis): Check[] {
  const counted = checkCaptureCounters(run);
  return [
    ...(counted === undefined ? [] : [withOrigin(counted, { kind: 'consistency', consistency: 'capture-counters' })]),
    withOrigin(checkDelivery(run, analysis), { kind: 'consistency', consistency: 'delivery' }),
    ...checkRuleCounters(run, analysis).map((c) => withOrigin(c, { kind: 'consistency', consistency: 'rule-counter', host: ruleHost(c) })),
    withOrigin(checkSampleRetransmits(run, analysis), { kind: 'consistency', consistency: 'sample-retransmits' }),
    withOrigin(checkSocketStory(run, analysis), { kind: 'consistency', consistency: 'socket-story' }),
    ...[checkTraceConsistency(run)].flatMap((c) => (c === undefined ? [] : [withOrigin(c, { kind: 'consistency', consistency: 'tracepoints' })])),
  ];
}

function withOrigin(check: Check, origin: CheckOrigin): Check {
  return { ...check, origin, source: `consistency (${(origin as { consistency: ConsistencyKind }).consistency})` };
}

function ruleHost(check: Check): string | undefined {
  const ref = check.refs?.find((r) => r.kind === 'rule');
  return ref?.kind === 'rule' ? ref.host : undefined;
}

/** One story two sources cannot both tell, and where the sources part. */
interface Finding {
  readonly text: Text;
  readonly refs: readonly Evidence[];
}

/** The sentence in every language, from the words of consistency checks. */
function words(sentence: (w: ConsistencyWords, lang: Lang) => string): Text {
  return say(CONSISTENCY_WORDS, sentence);
}

/** A consistency check: pass with `judged` when nothing disagrees, else the first disagreement and up to 20 in the evidence. */
function verdictOf(name: Text, expected: Text, findings: readonly Finding[], judged: Text): Check {
  const first = findings[0];
  return textCheck({
    name,
    status: first === undefined ? 'pass' : 'fail',
    expected,
    observed: first === undefined ? judged : words((w, lang) => w.disagreements(findings.length, first.text[lang])),
    evidence: findings.slice(0, 20).map((f) => f.text),
    refs: findings.slice(0, 40).flatMap((f) => f.refs),
  });
}

/** tcpdump lost no packet on any host (run folders recorded before the counters were kept get no check). */
function checkCaptureCounters(run: RunRecord): Check | undefined {
  const counted = run.hosts.flatMap((h) => (h.captureCounters === undefined ? [] : [{ host: h.name, ...h.captureCounters }]));
  if (counted.length === 0) return undefined;
  const lost = counted.filter((c) => c.droppedByKernel + c.droppedByInterface > 0);
  return textCheck({
    name: words((w) => w.capturesCompleteName),
    status: lost.length === 0 ? 'pass' : 'fail',
    expected: words((w) => w.capturesCompleteExpected),
    observed: words((w) => counted.map((c) => w.captureCounts(c.host, c.captured, c.droppedByKernel, c.droppedByInterface)).join(w.separator)),
    evidence: lost.map((c) => words((w) => w.captureLost(c.host, c.droppedByKernel + c.droppedByInterface))),
  });
}

function checkDelivery(run: RunRecord, analysis: RunAnalysis): Check {
  const fromUs = Math.min(...run.steps.map((s) => s.startUs));
  const untilUs = stepsEndUs(run);
  const captured = new Set(run.hosts.filter((h) => h.segments.length > 0).map((h) => h.name));
  const findings: Finding[] = [];
  const uncaptured = new Map<string, TracedSegment[]>();
  const lost: TracedSegment[] = [];
  let judged = 0;
  for (const traced of analysis.trace.segments) {
    const timeUs = traced.segment.timeUs;
    if (!(timeUs >= fromUs && timeUs <= untilUs) || !captured.has(traced.from)) continue;
    if (!captured.has(traced.to)) {
      // tcplab captures on every host: a host with no captured segment at all, though another host's capture
      // shows segments sent to it, lost its capture (or had it emptied).
      uncaptured.set(traced.to, [...(uncaptured.get(traced.to) ?? []), traced]);
      continue;
    }
    judged++;
    if (traced.senderFrame !== undefined && traced.receiverFrame === undefined) {
      const receiver = hostByName(run, traced.to).segments;
      if (covered(traced.segment, receiver)) continue;
      // A segment can be lost between two captures (the bridge, a busy machine: seen for 5 of a 24-SYN
      // burst). That is a disagreement only when the receiver's own segments prove it arrived.
      if (!acknowledgedBy(traced.segment, receiver)) {
        lost.push(traced);
        continue;
      }
      const frame = traced.senderFrame;
      findings.push({
        text: words((w) => w.neverArrived(traced.from, frame, relTime(run, timeUs), traced.flags, traced.segment.seq, traced.to)),
        refs: [{ kind: 'segment', host: traced.from, frame }],
      });
    } else if (traced.senderFrame === undefined && traced.receiverFrame !== undefined) {
      if (covered(traced.segment, hostByName(run, traced.from).segments)) continue;
      const frame = traced.receiverFrame;
      findings.push({
        text: words((w) => w.neverSent(traced.to, frame, relTime(run, timeUs), traced.flags, traced.segment.seq, traced.from)),
        refs: [{ kind: 'segment', host: traced.to, frame }],
      });
    }
  }
  for (const [host, sent] of uncaptured) {
    const first = sent[0] as TracedSegment;
    const frames = sent.slice(0, 6).map((t) => t.senderFrame);
    findings.push({
      text: words((w) => w.emptyCapture(host, first.from, sent.length, relTime(run, first.segment.timeUs), frames)),
      refs: sent.slice(0, 1).flatMap((t): Evidence[] => (t.senderFrame === undefined ? [] : [{ kind: 'segment', host: t.from, frame: t.senderFrame }])),
    });
  }
  const lostWords = describeLost(run, lost);
  return verdictOf(
    words((w) => w.deliveryName),
    words((w) => w.deliveryExpected),
    findings,
    words((w, lang) => w.inBothCaptures(judged, lost.length, lostWords[lang])),
  );
}

function describeLost(run: RunRecord, lost: readonly TracedSegment[]): Text {
  return words((w) => {
    const shown = lost.slice(0, 4).map((t) => w.lostSegment(t.from, t.senderFrame, t.flags, relTime(run, t.segment.timeUs)));
    return lost.length > shown.length ? `${shown.join(w.listSeparator)}${w.more}` : shown.join(w.listSeparator);
  });
}

/**
 * Whether the receiver's capture proves it got `segment`: a segment back on the same 4-tuple whose
 * acknowledgment covers it (ack past its end: a SYN-ACK or an [R.] for a SYN, the ACK of data or a FIN).
 */
function acknowledgedBy(segment: TcpSegment, receiverSegments: readonly TcpSegment[]): boolean {
  const end = (segment.seq + sequenceLength(segment)) >>> 0;
  return receiverSegments.some(
    (r) =>
      r.src === segment.dst &&
      r.dst === segment.src &&
      r.srcPort === segment.dstPort &&
      r.dstPort === segment.srcPort &&
      r.timeUs >= segment.timeUs &&
      (r.flags & TcpFlag.ACK) !== 0 &&
      sequenceLength(segment) > 0 &&
      ((r.ack - end) | 0) >= 0 &&
      ((r.ack - end) | 0) < 0x40000000,
  );
}

/** Copies of `segment`'s direction in `copies` (the other capture) within DELIVERY_WINDOW_US that cover its sequence range. */
function covered(segment: TcpSegment, copies: readonly TcpSegment[]): boolean {
  const near = copies.filter(
    (c) =>
      c.src === segment.src &&
      c.dst === segment.dst &&
      c.srcPort === segment.srcPort &&
      c.dstPort === segment.dstPort &&
      Math.abs(c.timeUs - segment.timeUs) <= DELIVERY_WINDOW_US &&
      (c.flags & (TcpFlag.SYN | TcpFlag.RST)) === (segment.flags & (TcpFlag.SYN | TcpFlag.RST)),
  );
  const length = sequenceLength(segment);
  if (length === 0) return near.some((c) => c.seq === segment.seq && c.ack === segment.ack && c.flags === segment.flags);
  // Walk the range [seq, seq + length) over the nearby copies (32-bit sequence space).
  let from = 0;
  let progressed = true;
  while (from < length && progressed) {
    progressed = false;
    for (const c of near) {
      const start = (c.seq - segment.seq) | 0;
      const end = start + sequenceLength(c);
      if (start <= from && end > from) {
        from = end;
        progressed = true;
      }
    }
  }
  return from >= length;
}

function hostByName(run: RunRecord, name: string): RunHost {
  return run.hosts.find((h) => h.name === name) as RunHost;
}

type SocketRow = Extract<AgentEvent, { type: 'socket' }>;

function socketRows(host: RunHost, untilUs: number): SocketRow[] {
  return host.events.filter((e): e is SocketRow => e.type === 'socket' && isLabSocket(e.local) && e.timeUs <= untilUs);
}

/** Earliest moment the row can describe: readFromUs, else the stamp minus the legacy slack. */
function readFrom(row: { timeUs: number; readFromUs?: number }): number {
  return row.readFromUs ?? row.timeUs - LEGACY_STAMP_SLACK_US;
}

function sentBy(host: RunHost, local: string, remote: string): TcpSegment[] {
  return host.segments.filter((s) => {
    const { src, dst } = segmentEndpoints(s);
    return src === local && dst === remote;
  });
}

function checkSampleRetransmits(run: RunRecord, analysis: RunAnalysis): Check {
  const untilUs = stepsEndUs(run);
  const findings: Finding[] = [];
  let judged = 0;
  for (const host of run.hosts) {
    // A held egress queue (hold step) keeps retransmissions in the qdisc: tcp_retransmit_skb() refuses to send a
    // copy while the original is still in the host queue (skb_still_in_host_queue()), yet the count was raised. The
    // trace shows those fires (refused, below) and dates the held copies (held-sends.ts); without it, no judging.
    const holds = run.lab.steps.some((step) => step.kind === 'hold' && step.host === host.name);
    if (host.segments.length === 0 || (holds && host.kernelEvents === undefined)) continue;
    const { heldSends } = hostAnalysisOf(analysis, host.name);
    const sentAt = (s: TcpSegment): number => heldSends.get(s.frame)?.sentUs ?? s.timeUs;
    const dropsBeforeCapture = sendChainDrops(analysis, host.name);
    if (dropsBeforeCapture === undefined) continue;
    const reported = new Set<string>();
    for (const row of socketRows(host, untilUs)) {
      const claimed = row.timer.retransmits;
      if (claimed <= 0) continue;
      judged++;
      const copies = new Map<number, TcpSegment[]>();
      for (const s of sentBy(host, row.local, row.remote)) {
        if (sequenceLength(s) === 0 || sentAt(s) > row.timeUs + RETRANSMIT_STAMP_SLACK_US) continue;
        copies.set(s.seq, [...(copies.get(s.seq) ?? []), s]);
      }
      const most = [...copies.values()].sort((x, y) => y.length - x.length)[0] ?? [];
      const captured = Math.max(0, most.length - 1);
      // The timer counts a retransmission that tcp_retransmit_skb() refused (err ≠ 0: -EBUSY while the original is still
      // in the host queue, skb_still_in_host_queue(); seen on a loaded machine): the trace shows it, no copy was sent.
      const refused = (host.kernelEvents ?? []).filter(
        (e) => e.kind === 'retransmit' && (e.error ?? 0) !== 0 && e.local === row.local && e.remote === row.remote && e.timeUs <= row.timeUs,
      ).length;
      if (claimed <= captured + refused + dropsBeforeCapture + silentRequestTimeouts(run, host.name, row) || reported.has(row.local + row.remote)) continue;
      reported.add(row.local + row.remote);
      const copiesOf = most[0] === undefined ? undefined : { seq: most[0].seq, frames: most.map((s) => s.frame) };
      const sampled = { host: host.name, local: row.local, remote: row.remote, time: relTime(run, row.timeUs), state: row.state };
      findings.push({
        text: words((w) => w.rowCountsMore(sampled, claimed, captured, copiesOf, dropsBeforeCapture, refused)),
        // The sample is where the sources part: the copies are named in the text.
        refs: [{ kind: 'sample', host: host.name, timeUs: row.timeUs, socket: `${row.local} ${row.remote}`, state: row.state }],
      });
    }
  }
  return verdictOf(
    words((w) => w.retransmitsName),
    words((w) => w.retransmitsExpected),
    findings,
    words((w) => w.retransmitsJudged(judged)),
  );
}

/** Packets the host's DROP/REJECT rules on send chains counted (dropped before its capture); undefined when one has no counter. */
function sendChainDrops(analysis: RunAnalysis, host: string): number | undefined {
  let total = 0;
  for (const rule of analysis.rules.rules) {
    if (rule.host !== host || !SEND_CHAINS.has(rule.parsed.chain) || (rule.target !== 'DROP' && rule.target !== 'REJECT')) continue;
    if (rule.counter === undefined) return undefined;
    total += rule.counter.pkts;
  }
  return total;
}

const isPureSyn = (s: TcpSegment): boolean => (s.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;

/**
 * The moment one connection of a socket tuple left SYN_SENT by what its own capture shows: the completing ACK
 * it sent, or an acceptable RST it received; `untilUs` is when the tuple's next connection (a new ISN) began.
 */
interface SynSentExit {
  readonly how: 'handshake-ack' | 'reset';
  readonly segment: TcpSegment;
  readonly isn: number;
  readonly untilUs: number;
}

/** Each connection's exit from SYN_SENT on the tuple (a reused tuple has one connection per client ISN). */
function synSentExits(host: RunHost, local: string, remote: string, trace: readonly TracedSegment[]): SynSentExit[] {
  const segments = host.segments.filter((s) => {
    const { src, dst } = segmentEndpoints(s);
    return (src === local && dst === remote) || (src === remote && dst === local);
  });
  const exits: { how: SynSentExit['how']; segment: TcpSegment; isn: number; untilUs: number }[] = [];
  let isn: number | undefined;
  let decided = false;
  let synAckArrived = false;
  for (const s of segments) {
    const outgoing = segmentEndpoints(s).src === local;
    if (outgoing && isPureSyn(s)) {
      if (isn !== s.seq) {
        // A new ISN: a new connection on the same tuple (port reuse); the previous one ends here.
        const previous = exits.at(-1);
        if (previous !== undefined && previous.isn === isn && previous.untilUs === Infinity) previous.untilUs = s.timeUs;
        isn = s.seq;
        decided = false;
        synAckArrived = false;
      }
      continue;
    }
    if (isn === undefined || decided) continue;
    const plus1 = (isn + 1) >>> 0;
    if (outgoing && (s.flags & TcpFlag.ACK) !== 0 && (s.flags & (TcpFlag.SYN | TcpFlag.RST)) === 0 && s.seq === plus1) {
      exits.push({ how: 'handshake-ack', segment: s, isn, untilUs: Infinity });
      decided = true;
      continue;
    }
    // A SYN-ACK that reached TCP moves the socket on: from then on only its ACK tells (a later RST is no SYN_SENT reset).
    if (!outgoing && (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK) && !droppedOnArrival(trace, host.name, s)) synAckArrived = true;
    if (
      !outgoing &&
      !synAckArrived &&
      (s.flags & (TcpFlag.RST | TcpFlag.ACK)) === (TcpFlag.RST | TcpFlag.ACK) &&
      s.ack === plus1 &&
      !droppedOnArrival(trace, host.name, s)
    ) {
      // tcp_rcv_synsent_state_process() rejects an ACK failing PAWS before looking at RST: leave a timestamped RST undecided.
      decided = true;
      if (s.options?.timestamp !== undefined && s.options.timestamp.echo !== 0) continue;
      exits.push({ how: 'reset', segment: s, isn, untilUs: Infinity });
    }
  }
  return exits;
}

function droppedOnArrival(trace: readonly TracedSegment[], host: string, segment: TcpSegment): boolean {
  return trace.some((t) => t.to === host && t.receiverFrame === segment.frame && t.fate.kind === 'dropped');
}

function checkSocketStory(run: RunRecord, analysis: RunAnalysis): Check {
  const untilUs = stepsEndUs(run);
  const findings: Finding[] = [];
  let judged = 0;
  for (const host of run.hosts) {
    if (host.segments.length === 0) continue;
    const rows = socketRows(host, untilUs);
    const tuples = new Map<string, { local: string; remote: string }>();
    for (const row of rows) if (row.state === 'SYN_SENT') tuples.set(`${row.local} ${row.remote}`, { local: row.local, remote: row.remote });
    for (const { local, remote } of tuples.values()) {
      for (const exit of synSentExits(host, local, remote, analysis.trace.segments)) {
        judged++;
        const finding = storyFinding(run, host, rows, { local, remote }, exit);
        if (finding !== undefined) findings.push(finding);
      }
    }
  }
  return verdictOf(
    words((w) => w.storyName),
    words((w) => w.storyExpected),
    findings,
    words((w) => w.storyJudged(judged)),
  );
}

/** What contradicts one connection's exit from SYN_SENT: a later SYN_SENT row, its SYN sent again, or (after a reset) its outcome. */
function storyFinding(
  run: RunRecord,
  host: RunHost,
  rows: readonly SocketRow[],
  tuple: { local: string; remote: string },
  exit: SynSentExit,
): Finding | undefined {
  const { local, remote } = tuple;
  const at = exit.segment.timeUs;
  const { frame, seq, ack, flags } = exit.segment;
  const what = words((w) =>
    exit.how === 'handshake-ack'
      ? w.sentCompletingAck(host.name, frame, local, seq, relTime(run, at))
      : w.acceptableReset(host.name, frame, formatFlags(flags), ack, local, relTime(run, at)),
  );
  const segmentRef: Evidence = { kind: 'segment', host: host.name, frame: exit.segment.frame };
  const late = rows.find((r) => r.local === local && r.remote === remote && r.state === 'SYN_SENT' && readFrom(r) > at && r.timeUs < exit.untilUs);
  if (late !== undefined) {
    return {
      text: words((w, lang) => w.sampledInSynSentAfter(host.name, local, remote, relTime(run, late.timeUs), what[lang])),
      refs: [segmentRef, { kind: 'sample', host: host.name, timeUs: late.timeUs, socket: `${local} ${remote}`, state: late.state }],
    };
  }
  const syns = sentBy(host, local, remote).filter(isPureSyn);
  const again = syns.find((s) => s.seq === exit.isn && s.timeUs > at + 1000 && s.timeUs < exit.untilUs);
  if (again !== undefined) {
    return {
      text: words((w, lang) => w.synAgain(host.name, again.frame, local, relTime(run, again.timeUs), what[lang])),
      refs: [segmentRef, { kind: 'segment', host: host.name, frame: again.frame }],
    };
  }
  // Only with one connection on the tuple is its agent outcome this connection's.
  if (exit.how !== 'reset' || new Set(syns.map((s) => s.seq)).size !== 1) return undefined;
  const outcome = outcomeOf(host, local, remote);
  if (outcome === undefined || outcome.code === 'ECONNREFUSED') return undefined;
  return {
    text: words((w, lang) => w.wrongOutcome(host.name, outcome.conn, outcome.code, relTime(run, outcome.timeUs), what[lang])),
    refs: [
      segmentRef,
      { kind: 'event', host: host.name, timeUs: outcome.timeUs, event: outcome.code === 'connected' ? 'connected' : 'error', conn: outcome.conn },
    ],
  };
}

/** The first outcome (connected, or an error code) of the agent connection on this tuple. */
function outcomeOf(host: RunHost, local: string, remote: string): { conn: string; code: string; timeUs: number } | undefined {
  for (const event of host.events) {
    if (event.type !== 'connected' && event.type !== 'error') continue;
    const tuple = findConnTuple(host.events, event.conn);
    if (tuple === undefined || tuple.local !== local || tuple.remote !== remote) continue;
    return { conn: event.conn, code: event.type === 'connected' ? 'connected' : event.code, timeUs: event.timeUs };
  }
  return undefined;
}
