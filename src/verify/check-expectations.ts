import { analyzeRun, hostAnalysisOf, type RunAnalysis } from '../analysis/analyze-run.js';
import { hostOf, isAddressOf, relTime, type RunRecord } from '../analysis/run-record.js';
import { portOf, type StateSample } from '../analysis/socket-timeline.js';
import { assertNever } from '../assert-never.js';
import type { AgentEvent } from '../agent/protocol.js';
import type { Expectation, ExpectationKind } from '../lab/model.js';
import type { TcpState } from '../tcp/state.js';
import { formatFlags, parseFlagLetters, TcpFlag, type TcpSegment } from '../observe/packet.js';
import { checkTimingExpectation } from './timing-checks.js';
import { checkKeepaliveProbes, checkPersistProbes } from './probe-checks.js';
import { checkAcceptedFrom, checkByteCount } from './connection-checks.js';
import { checkIcmp } from './icmp-checks.js';
import { connSocketOf } from '../analysis/run-sockets.js';
import { checkTimerReading } from './timer-checks.js';
import { rewordCheck, segmentRefs, textCheck, type Check, type Evidence } from './verdict.js';
import { expectationSource } from './check-source.js';
import { EXPECTATION_WORDS, type ExpectationWords } from '../messages/check-words/expectation-words.js';
import { joinTexts, same, say, type Text } from '../messages/text.js';
import { boundsText, withinBounds } from './count-bounds.js';

type Checker<K extends ExpectationKind> = (expectation: Extract<Expectation, { kind: K }>, run: RunRecord, analysis: RunAnalysis) => Check;

/** Turns each of the lab's expectations into a check of expected against observed, with its lab line and typed origin. */
export function checkExpectations(run: RunRecord, analysis: RunAnalysis = analyzeRun(run)): Check[] {
  return run.lab.expectations.map((expectation, index) => {
    const check = checkExpectation(expectation, run, analysis);
    const host = 'host' in expectation ? expectation.host : undefined;
    return {
      ...check,
      source: expectationSource(run, index),
      origin: { kind: 'expectation', index, expectation: expectation.kind, ...(host !== undefined && { host }) },
      refs: check.refs ?? [],
    };
  });
}

function checkExpectation(expectation: Expectation, run: RunRecord, analysis: RunAnalysis): Check {
  const check = checkClaim(expectation, run, analysis);
  // A claim about a connection that never existed is false, whatever "none observed" would make of it.
  const conn = 'conn' in expectation ? expectation.conn : undefined;
  const missing = conn === undefined || !('host' in expectation) ? undefined : missingConnection(run, expectation.host, conn);
  if (missing === undefined) return check;
  const failed = rewordCheck(check, (lines, lang) => ({ observed: missing.observed[lang], evidence: [missing.evidence[lang], ...lines.evidence] }));
  return { ...failed, status: 'fail', refs: [] };
}

/** The sentence in every language, from the words of expectation checks. */
function words(sentence: (w: ExpectationWords) => string): Text {
  return say(EXPECTATION_WORDS, sentence);
}

/**
 * Why connection `conn` of `host` never existed, or undefined when it did: an `accepted-N` the host's
 * listeners never accepted (its agent reports each accept() as an `accepted` event), or a connect
 * step (its `as`) that never ran.
 */
export function missingConnection(run: RunRecord, host: string, conn: string): { observed: Text; evidence: Text } | undefined {
  const events = hostOf(run, host).events;
  const accepted = events.filter((e) => e.type === 'accepted');
  if (/^accepted-[1-9][0-9]*$/.test(conn)) {
    if (accepted.some((e) => e.conn === conn)) return undefined;
    return {
      observed: words((w) => w.noConnectionAccepted(conn, accepted.length)),
      evidence: words((w) => w.acceptsHeld(host, accepted.length, accepted.map((e) => e.conn).join(', '), conn)),
    };
  }
  const connectIndex = run.lab.steps.findIndex((step) => step.kind === 'connect' && step.host === host && step.conn === conn);
  const ran = connectIndex >= 0 && run.steps.some((step) => step.index === connectIndex);
  if (ran || events.some((e) => 'conn' in e && e.conn === conn)) return undefined;
  return connectIndex < 0
    ? { observed: words((w) => w.noConnectionOn(conn, host)), evidence: words((w) => w.noConnectStepNamed(host, conn)) }
    : {
        observed: words((w) => w.connectStepNeverRan(conn, connectIndex + 1)),
        evidence: words((w) => w.stepsRecorded(run.steps.length, run.lab.steps.length)),
      };
}

function checkClaim(expectation: Expectation, run: RunRecord, analysis: RunAnalysis): Check {
  switch (expectation.kind) {
    case 'states':
      return checkStatePath(expectation, run, analysis);
    case 'never':
      return checkNeverStates(expectation, run, analysis);
    case 'outcome':
      return checkOutcome(expectation, run, analysis);
    case 'connect-returned':
      return checkConnectReturned(expectation, run, analysis);
    case 'packets':
      return checkPackets(expectation, run, analysis);
    case 'handshake':
      return checkHandshake(expectation, run, analysis);
    case 'syn-retransmits':
    case 'synack-retransmits':
    case 'fin-retransmits':
    case 'data-retransmits':
      return checkTimingExpectation(expectation, run, analysis);
    case 'keepalive-probes':
      return checkKeepaliveProbes(expectation, run);
    case 'persist-probes':
      return checkPersistProbes(expectation, run);
    case 'timer':
      return checkTimerReading(expectation, run);
    case 'error':
      return checkSocketError(expectation, run, analysis);
    case 'sockets':
      return checkSocketCount(expectation, run, analysis);
    case 'received':
    case 'sent':
      return checkByteCount(expectation, run);
    case 'accepted':
      return checkAcceptedFrom(expectation, run);
    case 'icmp':
      return checkIcmp(expectation, run);
    default:
      return assertNever(expectation);
  }
}

const checkStatePath: Checker<'states'> = (expectation, run, analysis) => {
  const samples = samplesOf(analysis, run, expectation);
  const matched: StateSample[] = [];
  let next = 0;
  for (const sample of samples) {
    if (next < expectation.path.length && sample.state === expectation.path[next]) {
      matched.push(sample);
      next++;
    }
  }
  const pass = next === expectation.path.length;
  const evidence = matched.map((s) => sampledAt(run, s));
  if (!pass) evidence.push(words((w) => w.neverSampledAfter(expectation.path[next]!, matched.at(-1)?.state)));
  return textCheck({
    name: words((w) => w.passesThrough(subjectOf(w, expectation), expectation.path.join(' → '))),
    status: pass ? 'pass' : 'fail',
    expected: same(expectation.path.join(' → ')),
    observed: describeSamples(samples),
    evidence,
    refs: sampleRefs(expectation.host, matched),
  });
};

const checkNeverStates: Checker<'never'> = (expectation, run, analysis) => {
  const samples = samplesOf(analysis, run, expectation);
  const offending = samples.filter((s) => expectation.states.includes(s.state));
  const first = offending[0];
  return textCheck({
    name: words((w) => w.neverIn(subjectOf(w, expectation), expectation.states.join(', '))),
    status: first === undefined ? 'pass' : 'fail',
    expected: words((w) => w.noneOf(expectation.states.join(', '))),
    observed: first === undefined ? describeSamples(samples) : words((w) => w.stateAt(first.state, relTime(run, first.timeUs))),
    evidence: offending.map((s) => sampledAt(run, s)),
    refs: sampleRefs(expectation.host, offending),
  });
};

const checkOutcome: Checker<'outcome'> = (expectation, run) => {
  const { observed, text, evidence, decisive } = connectOutcomeOf(run, expectation.host, expectation.conn);
  return textCheck({
    name: words((w) => w.connectEndsIn(expectation.host, expectation.conn, expectation.is)),
    status: observed === expectation.is ? 'pass' : 'fail',
    expected: words((w) => w.outcome(expectation.is)),
    observed: text,
    evidence,
    refs: decisive === undefined ? [] : [eventRef(expectation.host, decisive)],
  });
};

/**
 * What connect() of `conn` on `host` ended in (`connected`, an errno name, or a sentence when it was still
 * pending; `text` says it to people): its first `connected` or `error` event.
 */
export function connectOutcomeOf(
  run: RunRecord,
  host: string,
  conn: string,
): { observed: string; text: Text; evidence: Text[]; decisive?: Extract<AgentEvent, { type: 'connected' | 'error' }> } {
  const events = hostOf(run, host).events;
  const decisive = events.find(
    (e): e is Extract<AgentEvent, { type: 'connected' | 'error' }> => (e.type === 'connected' || e.type === 'error') && e.conn === conn,
  );
  if (decisive?.type === 'connected') {
    const evidence = [words((w) => w.connectSucceeded(relTime(run, decisive.timeUs), decisive.local, decisive.remote))];
    return { observed: 'connected', text: words((w) => w.outcome('connected')), decisive, evidence };
  }
  if (decisive?.type === 'error') return { observed: decisive.code, text: same(decisive.code), decisive, evidence: [callFailed(run, decisive)] };
  const pending = words((w) => w.noOutcome);
  return { observed: pending.en, text: pending, evidence: [] };
}

function callFailed(run: RunRecord, error: Extract<AgentEvent, { type: 'error' }>): Text {
  return words((w) => w.callFailed(error.syscall, error.code, relTime(run, error.timeUs), error.message));
}

const checkConnectReturned: Checker<'connect-returned'> = (expectation, run) => {
  const returned = hostOf(run, expectation.host).events.find((e) => e.type === 'connect-returned' && e.conn === expectation.conn);
  const errno = returned?.type === 'connect-returned' ? returned.errno : undefined;
  return textCheck({
    name: words((w) => w.nonblockingReturns(expectation.host, expectation.conn, expectation.is === 'ok' ? '0' : expectation.is)),
    status: errno === expectation.is ? 'pass' : 'fail',
    expected: same(expectation.is),
    observed: errno === undefined ? words((w) => w.noConnectReturned) : same(errno),
    evidence:
      returned?.type === 'connect-returned'
        ? [words((w) => w.connectReturnedAt(returned.errno, relTime(run, returned.timeUs), returned.local))]
        : [words((w) => w.noConnectReturnedEvent(expectation.host, expectation.conn))],
    refs: returned === undefined ? [] : [eventRef(expectation.host, returned)],
  });
};

const checkSocketError: Checker<'error'> = (expectation, run) => {
  const { observed, evidence, error } = socketErrorOf(run, expectation.host, expectation.conn);
  return textCheck({
    name: words((w) => w.seesError(expectation.host, expectation.conn, expectation.is)),
    status: observed === expectation.is ? 'pass' : 'fail',
    expected: words((w) => w.outcome(expectation.is)),
    observed: words((w) => w.outcome(observed)),
    evidence,
    refs: error === undefined ? [] : [eventRef(expectation.host, error)],
  });
};

/** The error the application saw on `conn` of `host` (its first `error` event), or `none`. */
export function socketErrorOf(
  run: RunRecord,
  host: string,
  conn: string,
): { observed: string; evidence: Text[]; error?: Extract<AgentEvent, { type: 'error' }> } {
  const error = hostOf(run, host).events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  if (error === undefined) return { observed: 'none', evidence: [words((w) => w.noErrorEvent(host, conn))] };
  return { observed: error.code, error, evidence: [callFailed(run, error)] };
}

/** The peak number of `host`'s sockets in one state at the same time, replaying the samples in order. */
const checkSocketCount: Checker<'sockets'> = (expectation, run, analysis) => {
  const current = new Map<string, string>();
  let count = 0;
  let peak = 0;
  let peakUs = 0;
  for (const sample of samplesOf(analysis, run, expectation)) {
    const before = current.get(sample.socket);
    if (before === expectation.state) count--;
    current.set(sample.socket, sample.state);
    if (sample.state === expectation.state) count++;
    if (count > peak) [peak, peakUs] = [count, sample.timeUs];
  }
  const limits = { min: expectation.min, max: expectation.max };
  const bounds = boundsText(limits, 'and');
  const pass = withinBounds(peak, limits);
  return textCheck({
    name: say(EXPECTATION_WORDS, (w, lang) => w.socketsAtOnce(bounds[lang], subjectOf(w, expectation), expectation.state)),
    status: pass ? 'pass' : 'fail',
    expected: bounds,
    observed: same(peak),
    evidence: peak > 0 ? [words((w) => w.peakAt(peak, expectation.state, relTime(run, peakUs)))] : [],
  });
};

/**
 * Segments from → to in the sender's capture whose flags equal `flags` exactly (tcpdump's notation), or
 * include them all when `flags` ends in `*` (`R*`: RST set). An exact claim also shows its near misses,
 * the segments carrying those flags and more (`0 [R]; 1 [R.] at #12`), so "R" never hides an [R.] unseen.
 */
const checkPackets: Checker<'packets'> = (expectation, run) => {
  // Count on the sender's capture: a segment a rule drops on arrival was still sent.
  const { atLeast, wanted, sent, matching } = segmentsMatching(run, expectation.from, expectation.to, expectation.flags, expectation.port);
  const nearMisses = atLeast || wanted === 0 ? [] : sent.filter((s) => (s.flags & wanted) === wanted && formatFlags(s.flags) !== expectation.flags);
  const limits = { exactly: expectation.count, min: expectation.min, max: expectation.max };
  const n = matching.length;
  let pass = withinBounds(n, limits);
  const seqs = [...new Set(matching.map((s) => s.seq))];
  let seqWords: Text = same('');
  if (expectation.sameSeq) {
    pass &&= seqs.length <= 1;
    if (seqs.length > 1) seqWords = words((w) => w.differentSeqs(seqs.length, seqs.slice(0, 4).join(', ')));
    else if (n > 0) seqWords = words((w) => w.allSeq(seqs[0]!));
  }
  const counted = same(nearMisses.length > 0 ? `${n} [${expectation.flags}]` : `${n}`);
  const observed =
    nearMisses.length > 0 ? joinTexts([joinTexts([counted, seqWords], ''), describeNearMisses(nearMisses)], '; ') : joinTexts([counted, seqWords], '');
  const letters = atLeast ? expectation.flags.slice(0, -1) : expectation.flags;
  const where = (s: TcpSegment): Text => words((w) => w.captureFrameAt(expectation.from, s.frame, relTime(run, s.timeUs)));
  return textCheck({
    name: atLeast
      ? words((w) => w.segmentsWithFlags(letters, expectation.from, expectation.to, expectation.port))
      : words((w) => w.segmentsExactly(expectation.flags, expectation.from, expectation.to, expectation.port)),
    status: pass ? 'pass' : 'fail',
    expected: boundsText(limits, 'list', expectation.sameSeq ? [words((w) => w.sameSeq)] : []),
    observed,
    evidence: [
      ...matching.slice(0, 20).map((s) => joinTexts([where(s), same(`${atLeast ? ` [${formatFlags(s.flags)}]` : ''} seq ${s.seq}`)], '')),
      ...nearMisses
        .slice(0, 10)
        .map((s) => say(EXPECTATION_WORDS, (w, lang) => w.notCounted(expectation.flags, where(s)[lang], formatFlags(s.flags), s.seq, letters))),
    ],
    refs: segmentRefs(
      expectation.from,
      matching.map((s) => s.frame),
    ),
  });
};

/** Segments `from` sent to `to` in its own capture, and those whose flags equal `flags` (tcpdump letters), or include them all with a trailing `*`. */
export function segmentsMatching(
  run: RunRecord,
  fromHost: string,
  toHost: string,
  flags: string,
  port?: number,
): { atLeast: boolean; wanted: number; sent: TcpSegment[]; matching: TcpSegment[] } {
  const from = hostOf(run, fromHost);
  const to = hostOf(run, toHost);
  const atLeast = flags.endsWith('*');
  const wanted = parseFlagLetters(atLeast ? flags.slice(0, -1) : flags);
  const onPort = (s: TcpSegment): boolean => port === undefined || s.srcPort === port || s.dstPort === port;
  const sent = from.segments.filter((s) => isAddressOf(from, s.src) && isAddressOf(to, s.dst) && onPort(s));
  const matching = sent.filter((s) => (atLeast ? (s.flags & wanted) === wanted : formatFlags(s.flags) === flags));
  return { atLeast, wanted, sent, matching };
}

/** `1 [R.] at #12; 3 [FP.] first at #7`: segments grouped by their flags, in capture order. */
function describeNearMisses(segments: readonly TcpSegment[]): Text {
  const groups = new Map<string, TcpSegment[]>();
  for (const s of segments) groups.set(formatFlags(s.flags), [...(groups.get(formatFlags(s.flags)) ?? []), s]);
  return joinTexts(
    [...groups].map(([flags, list]) => words((w) => w.nearMiss(list.length, flags, list[0]?.frame))),
    '; ',
  );
}

const checkHandshake: Checker<'handshake'> = (expectation, run) => {
  const client = hostOf(run, expectation.client);
  const server = hostOf(run, expectation.server);
  const segments = client.segments;
  const isFlags = (s: TcpSegment, flags: number): boolean => (s.flags & 0x3f) === flags;
  const syn = segments.find((s) => isAddressOf(client, s.src) && isAddressOf(server, s.dst) && isFlags(s, TcpFlag.SYN));
  const synAck =
    syn &&
    segments.find(
      (s) =>
        isAddressOf(server, s.src) &&
        isAddressOf(client, s.dst) &&
        s.srcPort === syn.dstPort &&
        s.dstPort === syn.srcPort &&
        isFlags(s, TcpFlag.SYN | TcpFlag.ACK),
    );
  const ack =
    synAck &&
    segments.find(
      (s) =>
        s.frame > synAck.frame &&
        isAddressOf(client, s.src) &&
        s.srcPort === syn.srcPort &&
        s.dstPort === syn.dstPort &&
        (s.flags & TcpFlag.ACK) !== 0 &&
        (s.flags & TcpFlag.SYN) === 0,
    );
  const expected = same('SYN seq=x; SYN-ACK seq=y ack=x+1; ACK seq=x+1 ack=y+1');
  const name = words((w) => w.handshakeName(expectation.client, expectation.server));
  if (!syn || !synAck || !ack) {
    return textCheck({
      name,
      status: 'fail',
      expected,
      observed: words((w) => (!syn ? w.noSyn : !synAck ? w.noSynAck : w.noAckOfSynAck)),
      evidence: syn ? [words((w) => `SYN: ${w.captureFrame(expectation.client, syn.frame)}`)] : [],
      refs: segmentRefs(expectation.client, syn ? [syn.frame] : []),
    });
  }
  const x = syn.seq;
  const y = synAck.seq;
  const plus1 = (n: number): number => (n + 1) >>> 0;
  const ok = synAck.ack === plus1(x) && ack.seq === plus1(x) && ack.ack === plus1(y);
  const segment = (what: string, frame: number, ackShouldBe?: number): Text => words((w) => w.handshakeSegment(what, expectation.client, frame, ackShouldBe));
  return textCheck({
    name,
    status: ok ? 'pass' : 'fail',
    expected,
    observed: same(`SYN seq=${x}; SYN-ACK seq=${y} ack=${synAck.ack}; ACK seq=${ack.seq} ack=${ack.ack}`),
    evidence: [
      segment('SYN', syn.frame),
      segment('SYN-ACK', synAck.frame, synAck.ack === plus1(x) ? undefined : plus1(x)),
      segment('ACK', ack.frame, ack.ack === plus1(y) ? undefined : plus1(y)),
    ],
    refs: segmentRefs(expectation.client, [syn.frame, synAck.frame, ack.frame]),
    reference: 'RFC 9293 §3.5',
  });
};

/** The host's sampled states from the analysis, on `port` (local or remote) and of connection `conn` when given. */
export function samplesOf(analysis: RunAnalysis, run: RunRecord, filter: { host: string; port?: number; conn?: string }): readonly StateSample[] {
  const { host, port, conn } = filter;
  let samples = hostAnalysisOf(analysis, host).samples;
  if (port !== undefined) samples = samples.filter((s) => portOf(s.local) === port || portOf(s.remote) === port);
  if (conn !== undefined) {
    const socket = connSocketOf(run, host, conn);
    samples =
      socket === undefined
        ? []
        : samples.filter((s) => s.local === socket.local && s.remote === socket.remote && s.timeUs >= socket.fromUs && s.timeUs < socket.untilUs);
  }
  return samples;
}

/** `client/c (port 8888)`: what a claim is about, in the words `w`. */
function subjectOf(w: ExpectationWords, expectation: { host: string; conn?: string; port?: number }): string {
  return w.subject(expectation.host, expectation.conn, expectation.port);
}

function sampledAt(run: RunRecord, s: StateSample): Text {
  return words((w) => w.sampledAt(s.state, relTime(run, s.timeUs), s.local, s.remote));
}

function sampleRefs(host: string, samples: readonly StateSample[]): Evidence[] {
  return samples.map((s) => ({ kind: 'sample', host, timeUs: s.timeUs, socket: s.socket, state: s.state }));
}

function eventRef(host: string, event: { type: string; timeUs: number; conn?: string }): Evidence {
  return { kind: 'event', host, timeUs: event.timeUs, event: event.type, ...(event.conn !== undefined && { conn: event.conn }) };
}

function describeSamples(samples: readonly StateSample[]): Text {
  return samples.length === 0 ? words((w) => w.noSocketSampled) : same(statePathOf(samples).join(' → '));
}

/** The states samples pass through, in order, a state repeated by consecutive samples written once. */
export function statePathOf(samples: readonly StateSample[]): TcpState[] {
  const path: TcpState[] = [];
  for (const s of samples) if (path.at(-1) !== s.state) path.push(s.state);
  return path;
}
