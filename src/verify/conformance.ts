import { describeIcmp } from '../tcp/icmp-errors.js';
import { linuxMachine } from '../tcp/linux-profile.js';
import type { TcpState } from '../tcp/state.js';
import type { TcpMachine } from '../tcp/tcp-machine.js';
import { readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import type { EndpointReplay, ReplayCause, ReplayEntry } from '../analysis/endpoint-replay.js';
import { replayRun } from '../analysis/run-replay.js';
import { relTime, type RunHost, type RunRecord } from '../analysis/run-record.js';
import { buildRuleTimeline } from '../analysis/rule-timeline.js';
import { sampleStates, type StateSample } from '../analysis/socket-timeline.js';
import { lastSampleBefore, SAMPLE_ALLOWANCE_US } from '../analysis/sampled-reads.js';
import type { RunAnalysis } from '../analysis/analyze-run.js';
import type { Check, Evidence } from './verdict.js';
import { crossCheckSamples, exactTransitionsOf, judgeExactTransitions, latestTracedUs, untraced, type ExactTransition } from './exact-conformance.js';

/*
 * Conformance: every sampled state of every lab socket against the Linux machine and the replay.
 *
 * How it works. /proc/net/tcp is read every 5 ms, so a state that lasts less (FIN_WAIT_1 for one round
 * trip, a request socket's SYN_RECV) can be missed. Each observed sample is matched, in order, to the
 * first entry of the socket's replay (replay.ts) with the same state that began no later than the sample
 * (plus SAMPLE_ALLOWANCE_US for timestamping): replay entries passed over on the way are the skipped
 * states, accepted because each has its cause in the packet trace, a call or a timer. A sample that
 * matches nothing is a violation: if the Linux machine has no path at all from the previous state, the
 * state is one the kernel could not have reached; otherwise the transition has no cause in the evidence.
 * A sample of a state the replay had already left (by more than the allowance, or a timer's latest
 * moment) is a violation too. A passive connection socket whose request is dropped goes back to LISTEN
 * in the machine, and its row simply disappears: LISTEN there matches an observed CLOSED.
 *
 * A sampled change is known only to within the gap between two reads: the new state (or the row's
 * disappearance) came after the sampler's last earlier read — which still showed the old state, since
 * every read reports every change (lastSampleBefore()) — and by the read that showed it. A transition
 * the replay owes to a timer (its window from the timing model and the host's settings) is therefore
 * accepted when that interval overlaps the window: early only if sampled before the window opened,
 * late only if the old state was still read after the window closed. A timer with several alternative
 * windows (a request's drop under either SYN-ACK limit the sampled queue allows) must overlap one of them:
 * a change in the gap between them is explained by neither and is a violation.
 */

/** Longest path the legality test considers between two consecutive samples. */
const MAX_GAP_TRANSITIONS = 6;

/** One Check per sampled lab socket of every host: "follows the TCP state machine". */
export function checkConformance(run: RunRecord, replays: readonly EndpointReplay[] = replayRun(run), analysis?: RunAnalysis): Check[] {
  const checks: Check[] = [];
  // The run's boundary, for runs recorded with the end-of-run freeze (run-lab.ts; told here by their kernel
  // trace, which came with it): later samples and tracepoints are teardown, not the experiment. Older run
  // folders, and runs without tracefs, are judged on everything they recorded, as before.
  const frozen = run.hosts.some((h) => h.kernelEvents !== undefined);
  const boundaryUs = !frozen || run.steps.length === 0 ? Infinity : Math.max(...run.steps.map((s) => s.endUs));
  for (const host of run.hosts) {
    const analysed = analysis?.hosts.find((h) => h.name === host.name);
    const machine = linuxMachine((analysed?.settings ?? readHostKernelSettings(host)).settings);
    const bySocket = new Map<string, StateSample[]>();
    // Rules with hidden-state matches (-m limit, …) on this host: how their drops were decided (rule-timeline.ts).
    const decisions = (analysis?.rules ?? buildRuleTimeline(run)).decisions.get(host.name) ?? [];
    for (const sample of analysed?.samples ?? sampleStates(host.events)) {
      if (sample.remote.endsWith(':0')) continue; // listeners: not a connection
      const list = bySocket.get(sample.socket) ?? [];
      list.push(sample);
      bySocket.set(sample.socket, list);
    }
    if (host.kernelEvents !== undefined) {
      for (const t of host.kernelEvents) {
        if (t.kind !== 'state' || t.remote.endsWith(':0') || t.local.startsWith('0.0.0.0:')) continue;
        const socket = `${t.local} ${t.remote}`;
        if (!bySocket.has(socket)) bySocket.set(socket, []);
      }
    }
    for (const [socket, allSamples] of bySocket) {
      const [local = '', remote = ''] = socket.split(' ');
      const tupleReplays = replays.filter((r) => r.host === host.name && r.tuple.local === local && r.tuple.remote === remote);
      // A reused 4-tuple carried several connections in turn: each is judged on its own window (EndpointReplay.window).
      for (const [index, replay] of (tupleReplays.length > 0 ? tupleReplays : [undefined]).entries()) {
        // The run's boundary: what came after the last step (the freeze, the agents' exit) is not the experiment.
        const inWindow = (us: number): boolean =>
          us <= boundaryUs && (replay?.window === undefined || (us >= replay.window.fromUs && us < replay.window.untilUs));
        const samples = allSamples.filter((s) => inWindow(s.timeUs));
        const transitions = exactTransitionsOf(host, local, remote).filter((t) => inWindow(t.timeUs));
        if (samples.length === 0 && transitions.length === 0) continue;
        const nth =
          tupleReplays.length > 1
            ? ` (connection ${index + 1} of ${tupleReplays.length} on this 4-tuple${replay?.conn === undefined ? '' : `: ${replay.conn}`})`
            : '';
        const judged =
          transitions.length > 0 && replay !== undefined
            ? checkSocketExactly(run, host, machine, transitions, samples, replay)
            : checkSocket(run, host, machine, samples, replay, { local, remote }, tracedUntil(run, host, replay, boundaryUs));
        const check = {
          ...judged,
          name: nth === '' ? judged.name : judged.name.replace(' follows the TCP state machine', `${nth} follows the TCP state machine`),
        };
        checks.push({
          ...check,
          evidence: [...(check.evidence ?? []), ...decisions.map((d) => `note: ${d}`)],
          source:
            transitions.length > 0
              ? 'conformance on exact kernel events (tracepoints; Linux machine, src/tcp/linux-profile.ts)'
              : 'conformance (Linux machine, src/tcp/linux-profile.ts)',
          origin: { kind: 'conformance', host: host.name, local, remote },
          refs: [...(check.refs ?? []), ...conformanceRefs(host.name, samples, replay)],
        });
      }
    }
  }
  return checks;
}

/**
 * For a socket the host's kernel trace shows no transition of at all (not even after the run's boundary): until when
 * a cause would have had its transition traced — the end of the last step (and of the socket's window on a reused
 * 4-tuple). Undefined for a host without a trace, or a socket it traced.
 */
function tracedUntil(run: RunRecord, host: RunHost, replay: EndpointReplay | undefined, boundaryUs: number): number | undefined {
  if (host.kernelEvents === undefined || run.steps.length === 0 || replay === undefined) return undefined;
  if (exactTransitionsOf(host, replay.tuple.local, replay.tuple.remote).length > 0) return undefined;
  return Math.min(boundaryUs, Math.max(...run.steps.map((s) => s.endUs)), replay.window?.untilUs ?? Infinity);
}

/** The received segments the replay left out and why (a rule's drop, a full or deferring accept queue, …): the first five. */
function skippedEvidence(replay: EndpointReplay): string[] {
  return replay.skipped.slice(0, 5).map((skip) => `${replay.host} capture #${skip.frame}: ${skip.reason}`);
}

/** The socket's samples, the capture frames its replay rests on, and the timer windows it predicts. */
function conformanceRefs(host: string, samples: readonly StateSample[], replay: EndpointReplay | undefined): Evidence[] {
  const refs: Evidence[] = samples.map((s) => ({ kind: 'sample', host, timeUs: s.timeUs, socket: s.socket, state: s.state }));
  for (const entry of replay?.timeline ?? []) {
    if (entry.cause.kind === 'segment' || entry.cause.kind === 'icmp') refs.push({ kind: 'segment', host, frame: entry.cause.frame });
    else if (entry.cause.kind === 'timer')
      refs.push({ kind: 'prediction', what: `${entry.state} by ${entry.cause.name}`, earliestUs: entry.timeUs, latestUs: entry.latestUs });
  }
  return refs;
}

interface Violation {
  /** The first moment the message names (where the observation departs). */
  readonly timeUs: number;
  readonly message: string;
  readonly expected: string;
  readonly reference: string | undefined;
}

/** Checks one socket's samples against its replay (pure; exported for tests). */
export function checkSocket(
  run: RunRecord,
  host: RunHost,
  machine: TcpMachine,
  samples: readonly StateSample[],
  replay: EndpointReplay | undefined,
  tuple: { local: string; remote: string } = samples[0] as StateSample,
  tracedUntilUs?: number,
): Check {
  const first = tuple;
  const name = `${host.name} ${first.local} ↔ ${first.remote} follows the TCP state machine`;
  const observedPath = collapse(samples.map((s) => s.state)).join(' → ');
  const rel = (us: number): string => relTime(run, us);
  const reference = 'RFC 9293 §3.3.2, §3.10; Linux profile (src/tcp/linux-profile.ts)';
  if (replay === undefined) {
    return {
      name,
      status: 'fail',
      expected: 'a packet trace of this socket to replay (the host capture on its 4-tuple)',
      observed: `${observedPath}, with no replay`,
      evidence: [`no capture segments or calls found for ${first.local} ↔ ${first.remote} on ${host.name}`],
      reference,
    };
  }
  const timeline = replay.timeline;
  const passive = replay.role === 'passive';
  const matches = (entry: ReplayEntry, state: TcpState): boolean => entry.state === state || (passive && state === 'CLOSED' && entry.state === 'LISTEN');
  const evidence: string[] = [];
  const violations: Violation[] = [];
  const references = new Set<string>();
  let position = 0;
  let previousObserved: TcpState = (timeline[0] as ReplayEntry).state;
  for (const sample of samples) {
    let found: number | undefined;
    for (let j = position; j < timeline.length; j += 1) {
      const entry = timeline[j] as ReplayEntry;
      if (entry.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) break;
      if (matches(entry, sample.state) && !(j === 0 && passive && sample.state === 'CLOSED')) {
        found = j;
        break;
      }
    }
    if (found !== undefined) {
      for (let k = position + 1; k < found; k += 1) {
        const skipped = timeline[k] as ReplayEntry;
        evidence.push(
          `${skipped.state} not sampled (shorter than the 5 ms sampling): entered at ${rel(skipped.timeUs)} on ${describeCause(skipped.cause, replay.host)}`,
        );
        if (skipped.row) references.add(rowReference(skipped.row));
      }
      const entry = timeline[found] as ReplayEntry;
      if (entry.row) references.add(rowReference(entry.row));
      const lateTimer = found > position ? findLateTimer(host, timeline, position, found, sample) : undefined;
      if (lateTimer !== undefined) {
        const { timer, lastReadUs } = lateTimer;
        violations.push({
          timeUs: lastReadUs,
          message:
            `${previousObserved} was still read at ${rel(lastReadUs)} (the last sample before ${sample.state} at ${rel(sample.timeUs)}), ` +
            `but ${describeCause(timer.cause, replay.host)} had to end it by ${rel(timer.latestUs)} (window ${rel(timer.timeUs)}–${rel(timer.latestUs)})`,
          expected: `${timer.state} between ${rel(timer.timeUs)} and ${rel(timer.latestUs)}`,
          reference: timer.row ? rowReference(timer.row) : undefined,
        });
        position = found;
        previousObserved = sample.state;
        continue;
      }
      const lastReadUs = entry.cause.kind === 'timer' && found > position ? lastSampleBefore(host.events, sample.timeUs) : undefined;
      const between = found > position ? findTimerBetweenWindows(timeline, position, found, lastReadUs ?? sample.timeUs, sample.timeUs) : undefined;
      if (between !== undefined) {
        const windows = (between.windows ?? []).map((w) => `${rel(w.timeUs)}–${rel(w.latestUs)}`).join(' or ');
        violations.push({
          timeUs: lastReadUs ?? sample.timeUs,
          message:
            `${sample.state} came between ${rel(lastReadUs ?? sample.timeUs)} and ${rel(sample.timeUs)}, which is in none of the windows of ` +
            `${describeCause(between.cause, replay.host)}: ${windows} (±${SAMPLE_ALLOWANCE_US / 1000} ms); no limit the evidence allows explains that moment`,
          expected: `${between.state} at ${windows}`,
          reference: between.row ? rowReference(between.row) : undefined,
        });
        position = found;
        previousObserved = sample.state;
        continue;
      }
      const sampledInterval =
        lastReadUs === undefined
          ? undefined
          : `${sample.state} is a sampled change: it came after the last earlier read at ${rel(lastReadUs)} (which still showed ${previousObserved}) ` +
            `and by ${rel(sample.timeUs)}; the timer's window ${rel(entry.timeUs)}–${rel(entry.latestUs)} (±${SAMPLE_ALLOWANCE_US / 1000} ms) overlaps that interval`;
      const next = timeline[found + 1];
      if (next !== undefined && next.latestUs < sample.timeUs - SAMPLE_ALLOWANCE_US && !matches(next, sample.state)) {
        violations.push({
          timeUs: sample.timeUs,
          message: `${sample.state} sampled at ${rel(sample.timeUs)}, but the socket had left it for ${next.state} at ${rel(next.timeUs)} on ${describeCause(next.cause, replay.host)}`,
          expected: `${next.state} at ${rel(sample.timeUs)}`,
          reference: next.row ? rowReference(next.row) : undefined,
        });
      } else {
        evidence.push(`${sample.state} sampled at ${rel(sample.timeUs)} ← ${describeCause(entry.cause, replay.host)} at ${rel(entry.timeUs)}`);
        if (sampledInterval !== undefined) evidence.push(sampledInterval);
      }
      position = found;
      previousObserved = sample.state;
      continue;
    }
    violations.push(describeViolation(machine, previousObserved, sample, timeline, position, replay, rel));
    previousObserved = sample.state;
  }
  // On a traced host that traced no transition of this socket, a state the replay has the kernel enter, of the kind a
  // tracepoint reports (untraced(): not a request's life, not TIME_WAIT), never happened — when its cause came before
  // the end of the last step (a timer: its whole window). The trace runs on past that end until the run collects it.
  if (tracedUntilUs !== undefined) {
    for (const entry of timeline.slice(1)) {
      const causeUs = entry.cause.kind === 'timer' ? latestTracedUs(entry) : entry.timeUs;
      if (untraced(entry, replay) || causeUs >= tracedUntilUs) continue;
      violations.push({
        timeUs: entry.timeUs,
        message: `the replay's ${entry.state} at ${rel(entry.timeUs)} (${describeCause(entry.cause, replay.host)}) never happened: the kernel traced no transition of this socket up to ${rel(tracedUntilUs)}`,
        expected: `${entry.state} at ${rel(entry.timeUs)}`,
        reference: entry.row ? rowReference(entry.row) : undefined,
      });
    }
  }
  evidence.push(...skippedEvidence(replay));
  const expectedPath = collapse(timeline.map((e) => e.state)).join(' → ');
  if (violations.length > 0) {
    return {
      name,
      status: 'fail',
      expected: `${expectedPath} (replayed from the ${replay.host} capture and calls); ${violations.map((v) => v.expected).join('; ')}`,
      observed: `${observedPath}: ${violations.map((v) => v.message).join('; ')}`,
      evidence: [...violations.map((v) => `violation: ${v.message}`), ...evidence],
      refs: violations.map((v) => ({ kind: 'violation', host: host.name, timeUs: v.timeUs, message: v.message })),
      reference: [...new Set(violations.map((v) => v.reference).filter((r): r is string => r !== undefined)), reference].join('; '),
    };
  }
  return {
    name,
    status: 'pass',
    expected: `${expectedPath} (replayed from the ${replay.host} capture and calls)`,
    observed: observedPath,
    evidence,
    reference: references.size > 0 ? [...references].join('; ') : reference,
  };
}

function describeViolation(
  machine: TcpMachine,
  previous: TcpState,
  sample: StateSample,
  timeline: readonly ReplayEntry[],
  position: number,
  replay: EndpointReplay,
  rel: (us: number) => string,
): Violation {
  let current = timeline[position] as ReplayEntry;
  for (let j = position; j < timeline.length; j += 1) {
    const entry = timeline[j] as ReplayEntry;
    if (entry.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) break;
    current = entry;
  }
  const replayState = `${current.state} (since ${rel(current.timeUs)}, ${describeCause(current.cause, replay.host)})`;
  const target = sample.state === 'CLOSED' ? ['CLOSED', 'LISTEN'] : [sample.state];
  const paths = target.flatMap((state) =>
    previous === state ? [[previous]] : machine.legalPaths(previous, state as TcpState, MAX_GAP_TRANSITIONS, { viaClosed: false }),
  );
  if (paths.length === 0) {
    const leaving = [
      ...new Set(
        machine
          .nextTransitions(previous)
          .filter((r) => r.to !== previous)
          .map((r) => `${r.to} (${r.event}, RFC 9293 §${r.rfc})`),
      ),
    ];
    return {
      timeUs: sample.timeUs,
      message:
        `${sample.state} sampled at ${rel(sample.timeUs)} cannot follow ${previous}: the Linux machine has no path ${previous} → ${sample.state}; ` +
        `from ${previous} it can only reach ${leaving.join(', ') || 'nothing'}`,
      expected: `a state reachable from ${previous}; the replay is in ${replayState}`,
      reference: 'RFC 9293 §3.3.2 (Figure 5), §3.10',
    };
  }
  const shortest = paths.sort((p, q) => p.length - q.length)[0] as TcpState[];
  const pending = timeline
    .slice(position + 1)
    .find((e) => e.cause.kind === 'timer' && (e.state === sample.state || (replay.role === 'passive' && sample.state === 'CLOSED' && e.state === 'LISTEN')));
  if (pending !== undefined && pending.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) {
    return {
      timeUs: sample.timeUs,
      message:
        `${sample.state} sampled at ${rel(sample.timeUs)} has no cause yet: the only one in the evidence, ${describeCause(pending.cause, replay.host)}, ` +
        `is due between ${rel(pending.timeUs)} and ${rel(pending.latestUs)} (timing model, ${replay.host}'s kernel settings), and no segment ` +
        `or call before then leads there; the replay is in ${replayState}`,
      expected: `${current.state} at ${rel(sample.timeUs)}; ${pending.state} between ${rel(pending.timeUs)} and ${rel(pending.latestUs)}`,
      reference: pending.row ? rowReference(pending.row) : 'RFC 9293 §3.8.3',
    };
  }
  return {
    timeUs: sample.timeUs,
    message:
      `${sample.state} sampled at ${rel(sample.timeUs)} has no cause: the machine allows ${shortest.join(' → ')}, but no segment in the ` +
      `${replay.host} capture, call or timer up to then leads there; the replay is in ${replayState}`,
    expected: `${current.state} at ${rel(sample.timeUs)}`,
    reference: `RFC 9293 §3.10 (event processing): ${machine.eventsBetween(shortest[shortest.length - 2] ?? previous, sample.state).join(' / ') || 'no single event'} is needed`,
  };
}

/**
 * One socket of a host with exact kernel events: its tracepoint transitions judged against the machine and
 * the replay (exact-conformance.ts), the samples cross-checked against them, and the samples after a
 * hand-over to a timewait socket (which has no tracepoint) judged against the replay as before.
 */
function checkSocketExactly(
  run: RunRecord,
  host: RunHost,
  machine: TcpMachine,
  transitions: readonly ExactTransition[],
  samples: readonly StateSample[],
  replay: EndpointReplay,
): Check {
  const { local, remote } = replay.tuple;
  const name = `${host.name} ${local} ↔ ${remote} follows the TCP state machine`;
  const judged = judgeExactTransitions(run, host, machine, transitions, replay);
  const violations = [...judged.violations, ...crossCheckSamples(run, host, transitions, samples, judged.handedToTimewaitUs)];
  const evidence = [...judged.evidence, ...skippedEvidence(replay)];
  const afterHandOver = judged.handedToTimewaitUs === undefined ? [] : samples.filter((s) => s.timeUs >= (judged.handedToTimewaitUs as number));
  let sampledPart: Check | undefined;
  if (afterHandOver.length > 0) {
    sampledPart = checkSocket(run, host, machine, afterHandOver, replay, { local, remote });
    evidence.push(`after the hand-over to a timewait socket (no tracepoint), from the samples: ${sampledPart.observed}`, ...(sampledPart.evidence ?? []));
  }
  const exactPath = collapse([(transitions[0] as ExactTransition).from, ...transitions.map((t) => (t.timeUs === judged.handedToTimewaitUs ? 'CLOSED' : t.to))]);
  const observed = `${exactPath.join(' → ')} (exact, from tracepoints)${judged.handedToTimewaitUs !== undefined ? ', handed to a timewait socket' : ''}`;
  const expectedPath = collapse(replay.timeline.map((e) => e.state)).join(' → ');
  const reference = 'RFC 9293 §3.3.2, §3.10; Linux profile (src/tcp/linux-profile.ts); exact events (src/verify/exact-conformance.ts)';
  if (violations.length > 0 || sampledPart?.status === 'fail') {
    const messages = [...violations.map((v) => v.message), ...(sampledPart?.status === 'fail' ? [sampledPart.observed] : [])];
    return {
      name,
      status: 'fail',
      expected: `${expectedPath} (replayed from the ${replay.host} capture and calls); ${violations.map((v) => v.expected).join('; ')}`,
      observed: `${observed}: ${messages.join('; ')}`,
      evidence: [...messages.map((m) => `violation: ${m}`), ...evidence],
      refs: [...violations.map((v) => ({ kind: 'violation' as const, host: host.name, timeUs: v.timeUs, message: v.message })), ...(sampledPart?.refs ?? [])],
      reference: [...new Set(violations.map((v) => v.reference).filter((r): r is string => r !== undefined)), reference].join('; '),
    };
  }
  return { name, status: 'pass', expected: `${expectedPath} (replayed from the ${replay.host} capture and calls)`, observed, evidence, reference };
}

/**
 * A timer-caused entry among timeline[position+1 .. found] whose window closed before the sampler's last
 * read preceding `sample` — a read that still showed the state before it (with SAMPLE_ALLOWANCE_US).
 */
function findLateTimer(
  host: RunHost,
  timeline: readonly ReplayEntry[],
  position: number,
  found: number,
  sample: StateSample,
): { timer: ReplayEntry; lastReadUs: number } | undefined {
  const lastReadUs = lastSampleBefore(host.events, sample.timeUs);
  if (lastReadUs === undefined) return undefined;
  for (let k = position + 1; k <= found; k += 1) {
    const entry = timeline[k] as ReplayEntry;
    if (entry.cause.kind === 'timer' && entry.latestUs < lastReadUs - SAMPLE_ALLOWANCE_US) return { timer: entry, lastReadUs };
  }
  return undefined;
}

/**
 * A timer-caused entry among timeline[position+1 .. found] with several alternative windows (replay.ts:
 * e.g. a request's drop under either SYN-ACK limit the sampled queue allows) none of which overlaps the
 * sampled interval [afterUs, byUs] (with SAMPLE_ALLOWANCE_US): the change happened in a gap between them.
 */
function findTimerBetweenWindows(timeline: readonly ReplayEntry[], position: number, found: number, afterUs: number, byUs: number): ReplayEntry | undefined {
  for (let k = position + 1; k <= found; k += 1) {
    const entry = timeline[k] as ReplayEntry;
    if (entry.cause.kind !== 'timer' || entry.windows === undefined) continue;
    const overlaps = entry.windows.some((w) => w.timeUs - SAMPLE_ALLOWANCE_US <= byUs && w.latestUs + SAMPLE_ALLOWANCE_US >= afterUs);
    if (!overlaps) return entry;
  }
  return undefined;
}

/** `client capture #12 (received [S.])`, `close() call`, `timer TIME_WAIT expiry`. */
export function describeCause(cause: ReplayCause, host: string): string {
  switch (cause.kind) {
    case 'segment':
      return `${host} capture #${cause.frame} (${cause.direction} [${cause.flags}])`;
    case 'call':
      return `${cause.op}() call`;
    case 'timer':
      return `timer: ${cause.name}`;
    case 'icmp':
      return `${host} capture #${cause.frame} (received ${describeIcmp(cause.type, cause.code, cause.family)})`;
    default: {
      const never: never = cause;
      return String(never);
    }
  }
}

function rowReference(row: NonNullable<ReplayEntry['row']>): string {
  return `${row.from} → ${row.to} on ${row.event}: RFC 9293 §${row.rfc}${row.kernel ? `, ${row.kernel}` : ''}`;
}

function collapse(states: readonly TcpState[]): TcpState[] {
  const out: TcpState[] = [];
  for (const s of states) if (out.at(-1) !== s) out.push(s);
  return out;
}
