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
import { segmentRefs, type Check, type Evidence } from './verdict.js';
import { expectationSource } from './check-source.js';

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
  return { ...check, status: 'fail', observed: missing.observed, evidence: [missing.evidence, ...check.evidence], refs: [] };
}

/**
 * Why connection `conn` of `host` never existed, or undefined when it did: an `accepted-N` the host's
 * listeners never accepted (its agent reports each accept() as an `accepted` event), or a connect
 * step (its `as`) that never ran.
 */
export function missingConnection(run: RunRecord, host: string, conn: string): { observed: string; evidence: string } | undefined {
  const events = hostOf(run, host).events;
  const accepted = events.filter((e) => e.type === 'accepted');
  if (/^accepted-[1-9][0-9]*$/.test(conn)) {
    if (accepted.some((e) => e.conn === conn)) return undefined;
    return {
      observed: `no connection ${conn}: the listener accepted ${accepted.length}`,
      evidence:
        `${host}'s agent events hold ${accepted.length} accept()` +
        `${accepted.length === 0 ? '' : ` (${accepted.map((e) => e.conn).join(', ')})`}, none named ${conn}`,
    };
  }
  const connectIndex = run.lab.steps.findIndex((step) => step.kind === 'connect' && step.host === host && step.conn === conn);
  const ran = connectIndex >= 0 && run.steps.some((step) => step.index === connectIndex);
  if (ran || events.some((e) => 'conn' in e && e.conn === conn)) return undefined;
  return connectIndex < 0
    ? { observed: `no connection ${conn} on ${host}`, evidence: `no connect step of ${host} is named ${conn}, and its agent reported none of that name` }
    : {
        observed: `no connection ${conn}: its connect step (step ${connectIndex + 1}) never ran`,
        evidence: `the run recorded ${run.steps.length} of ${run.lab.steps.length} steps`,
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
  const evidence = matched.map((s) => `${s.state} sampled at ${relTime(run, s.timeUs)} (${s.local} ↔ ${s.remote})`);
  if (!pass) evidence.push(`never sampled in ${expectation.path[next]} after ${matched.at(-1)?.state ?? 'the start'}`);
  return {
    name: `${connLabel(expectation)}${portSuffix(expectation.port)} passes through ${expectation.path.join(' → ')}`,
    status: pass ? 'pass' : 'fail',
    expected: expectation.path.join(' → '),
    observed: describeSamples(samples),
    evidence,
    refs: sampleRefs(expectation.host, matched),
  };
};

const checkNeverStates: Checker<'never'> = (expectation, run, analysis) => {
  const samples = samplesOf(analysis, run, expectation);
  const offending = samples.filter((s) => expectation.states.includes(s.state));
  return {
    name: `${connLabel(expectation)}${portSuffix(expectation.port)} never in ${expectation.states.join(', ')}`,
    status: offending.length === 0 ? 'pass' : 'fail',
    expected: `none of ${expectation.states.join(', ')}`,
    observed: offending.length === 0 ? describeSamples(samples) : `${offending[0]?.state} at ${relTime(run, offending[0]!.timeUs)}`,
    evidence: offending.map((s) => `${s.state} sampled at ${relTime(run, s.timeUs)} (${s.local} ↔ ${s.remote})`),
    refs: sampleRefs(expectation.host, offending),
  };
};

const checkOutcome: Checker<'outcome'> = (expectation, run) => {
  const { observed, evidence, decisive } = connectOutcomeOf(run, expectation.host, expectation.conn);
  return {
    name: `connect() of ${expectation.host}/${expectation.conn} ends in ${expectation.is}`,
    status: observed === expectation.is ? 'pass' : 'fail',
    expected: expectation.is,
    observed,
    evidence,
    refs: decisive === undefined ? [] : [eventRef(expectation.host, decisive)],
  };
};

/** What connect() of `conn` on `host` ended in: its first `connected` or `error` event, or no outcome while still pending. */
export function connectOutcomeOf(
  run: RunRecord,
  host: string,
  conn: string,
): { observed: string; evidence: string[]; decisive?: Extract<AgentEvent, { type: 'connected' | 'error' }> } {
  const events = hostOf(run, host).events;
  const decisive = events.find(
    (e): e is Extract<AgentEvent, { type: 'connected' | 'error' }> => (e.type === 'connected' || e.type === 'error') && e.conn === conn,
  );
  if (decisive?.type === 'connected') {
    return { observed: 'connected', decisive, evidence: [`connect() succeeded at ${relTime(run, decisive.timeUs)} (${decisive.local} → ${decisive.remote})`] };
  }
  if (decisive?.type === 'error') {
    const evidence = [`${decisive.syscall ?? 'socket'} failed with ${decisive.code} at ${relTime(run, decisive.timeUs)}: ${decisive.message}`];
    return { observed: decisive.code, decisive, evidence };
  }
  return { observed: 'no outcome (the connection attempt was still pending when the run ended)', evidence: [] };
}

const checkConnectReturned: Checker<'connect-returned'> = (expectation, run) => {
  const returned = hostOf(run, expectation.host).events.find((e) => e.type === 'connect-returned' && e.conn === expectation.conn);
  const observed = returned?.type === 'connect-returned' ? returned.errno : 'no connect-returned event (connect(2) was never called)';
  return {
    name: `the nonblocking connect() of ${expectation.host}/${expectation.conn} returns ${expectation.is === 'ok' ? '0' : expectation.is}`,
    status: observed === expectation.is ? 'pass' : 'fail',
    expected: expectation.is,
    observed,
    evidence:
      returned?.type === 'connect-returned'
        ? [
            `connect(2) returned ${returned.errno === 'ok' ? '0' : `-1 with errno ${returned.errno}`} at ${relTime(run, returned.timeUs)} (bound to ${returned.local || 'nothing'})`,
          ]
        : [`no connect-returned event for ${expectation.conn} in ${expectation.host}'s agent events`],
    refs: returned === undefined ? [] : [eventRef(expectation.host, returned)],
  };
};

const checkSocketError: Checker<'error'> = (expectation, run) => {
  const { observed, evidence, error } = socketErrorOf(run, expectation.host, expectation.conn);
  return {
    name: `${expectation.host}/${expectation.conn} sees ${expectation.is === 'none' ? 'no socket error' : expectation.is}`,
    status: observed === expectation.is ? 'pass' : 'fail',
    expected: expectation.is,
    observed,
    evidence,
    refs: error === undefined ? [] : [eventRef(expectation.host, error)],
  };
};

/** The error the application saw on `conn` of `host` (its first `error` event), or `none`. */
export function socketErrorOf(
  run: RunRecord,
  host: string,
  conn: string,
): { observed: string; evidence: string[]; error?: Extract<AgentEvent, { type: 'error' }> } {
  const error = hostOf(run, host).events.find((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === conn);
  if (error === undefined) return { observed: 'none', evidence: [`no error event for ${conn} in ${host}'s agent events`] };
  return {
    observed: error.code,
    error,
    evidence: [`${error.syscall ?? 'socket'} failed with ${error.code} at ${relTime(run, error.timeUs)}: ${error.message}`],
  };
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
  const bounds = [expectation.min !== undefined && `at least ${expectation.min}`, expectation.max !== undefined && `at most ${expectation.max}`]
    .filter(Boolean)
    .join(' and ');
  const pass = (expectation.min === undefined || peak >= expectation.min) && (expectation.max === undefined || peak <= expectation.max);
  return {
    name: `${bounds} sockets of ${connLabel(expectation)}${portSuffix(expectation.port)} in ${expectation.state} at once`,
    status: pass ? 'pass' : 'fail',
    expected: bounds,
    observed: `${peak}`,
    evidence: peak > 0 ? [`${peak} in ${expectation.state} at ${relTime(run, peakUs)} (/proc/net/tcp samples)`] : [],
  };
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
  const bounds: string[] = [];
  if (expectation.count !== undefined) bounds.push(`exactly ${expectation.count}`);
  if (expectation.min !== undefined) bounds.push(`at least ${expectation.min}`);
  if (expectation.max !== undefined) bounds.push(`at most ${expectation.max}`);
  const n = matching.length;
  let pass =
    (expectation.count === undefined || n === expectation.count) &&
    (expectation.min === undefined || n >= expectation.min) &&
    (expectation.max === undefined || n <= expectation.max);
  const seqs = [...new Set(matching.map((s) => s.seq))];
  let observed = `${n}`;
  if (expectation.sameSeq) {
    bounds.push('all with the same sequence number');
    pass &&= seqs.length <= 1;
    observed += seqs.length <= 1 ? (n > 0 ? `, all seq ${seqs[0]}` : '') : `, ${seqs.length} different sequence numbers (${seqs.slice(0, 4).join(', ')})`;
  }
  if (nearMisses.length > 0) observed = `${observed.replace(/^\d+/, `${n} [${expectation.flags}]`)}; ${describeNearMisses(nearMisses)}`;
  const letters = atLeast ? expectation.flags.slice(0, -1) : expectation.flags;
  const where = (s: TcpSegment): string => `${expectation.from} capture #${s.frame} at ${relTime(run, s.timeUs)}`;
  return {
    name: atLeast
      ? `segments with ${letters} set (any other flags) ${expectation.from} → ${expectation.to}${portSuffix(expectation.port)}`
      : `[${expectation.flags}] segments ${expectation.from} → ${expectation.to}${portSuffix(expectation.port)}`,
    status: pass ? 'pass' : 'fail',
    expected: bounds.join(', '),
    observed,
    evidence: [
      ...matching.slice(0, 20).map((s) => `${where(s)}${atLeast ? ` [${formatFlags(s.flags)}]` : ''} seq ${s.seq}`),
      ...nearMisses
        .slice(0, 10)
        .map(
          (s) =>
            `not counted (flags differ from exactly [${expectation.flags}]): ${where(s)} [${formatFlags(s.flags)}] seq ${s.seq}; ` +
            `write "${letters}*" to count every segment with ${letters} set`,
        ),
    ],
    refs: segmentRefs(
      expectation.from,
      matching.map((s) => s.frame),
    ),
  };
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
function describeNearMisses(segments: readonly TcpSegment[]): string {
  const groups = new Map<string, TcpSegment[]>();
  for (const s of segments) groups.set(formatFlags(s.flags), [...(groups.get(formatFlags(s.flags)) ?? []), s]);
  return [...groups].map(([flags, list]) => `${list.length} [${flags}] ${list.length === 1 ? 'at' : 'first at'} #${list[0]?.frame}`).join('; ');
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
  const expected = 'SYN seq=x; SYN-ACK seq=y ack=x+1; ACK seq=x+1 ack=y+1';
  const name = `three-way handshake ${expectation.client} → ${expectation.server} (absolute sequence numbers)`;
  if (!syn || !synAck || !ack) {
    const missing = !syn ? 'no SYN' : !synAck ? 'no SYN-ACK answering the SYN' : 'no ACK of the SYN-ACK';
    return {
      name,
      status: 'fail',
      expected,
      observed: missing,
      evidence: syn ? [`SYN: ${expectation.client} capture #${syn.frame}`] : [],
      refs: segmentRefs(expectation.client, syn ? [syn.frame] : []),
    };
  }
  const x = syn.seq;
  const y = synAck.seq;
  const plus1 = (n: number): number => (n + 1) >>> 0;
  const ok = synAck.ack === plus1(x) && ack.seq === plus1(x) && ack.ack === plus1(y);
  return {
    name,
    status: ok ? 'pass' : 'fail',
    expected,
    observed: `SYN seq=${x}; SYN-ACK seq=${y} ack=${synAck.ack}; ACK seq=${ack.seq} ack=${ack.ack}`,
    evidence: [
      `SYN ${expectation.client} capture #${syn.frame}`,
      `SYN-ACK ${expectation.client} capture #${synAck.frame}${synAck.ack === plus1(x) ? '' : ` (ack should be ${plus1(x)})`}`,
      `ACK ${expectation.client} capture #${ack.frame}${ack.ack === plus1(y) ? '' : ` (ack should be ${plus1(y)})`}`,
    ],
    refs: segmentRefs(expectation.client, [syn.frame, synAck.frame, ack.frame]),
    reference: 'RFC 9293 §3.5',
  };
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

/** `client/c` for a claim about one connection, else the host. */
function connLabel(expectation: { host: string; conn?: string }): string {
  return expectation.conn === undefined ? expectation.host : `${expectation.host}/${expectation.conn}`;
}

function sampleRefs(host: string, samples: readonly StateSample[]): Evidence[] {
  return samples.map((s) => ({ kind: 'sample', host, timeUs: s.timeUs, socket: s.socket, state: s.state }));
}

function eventRef(host: string, event: { type: string; timeUs: number; conn?: string }): Evidence {
  return { kind: 'event', host, timeUs: event.timeUs, event: event.type, ...(event.conn !== undefined && { conn: event.conn }) };
}

function portSuffix(port: number | undefined): string {
  return port === undefined ? '' : ` (port ${port})`;
}

function describeSamples(samples: readonly StateSample[]): string {
  if (samples.length === 0) return 'no socket sampled';
  return statePathOf(samples).join(' → ');
}

/** The states samples pass through, in order, a state repeated by consecutive samples written once. */
export function statePathOf(samples: readonly StateSample[]): TcpState[] {
  const path: TcpState[] = [];
  for (const s of samples) if (path.at(-1) !== s.state) path.push(s.state);
  return path;
}
