import { describeIcmp } from '../messages/icmp-words.js';
import { linuxMachine } from '../tcp/linux-profile.js';
import type { TcpState } from '../tcp/state.js';
import type { TcpMachine } from '../tcp/tcp-machine.js';
import { readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { OPEN_BEFORE_CAPTURE, skippedOf, timerNameOf, type EndpointReplay, type ReplayEntry } from '../analysis/endpoint-replay.js';
import { replayRun } from '../analysis/run-replay.js';
import { relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { buildRuleTimeline, decisionsOf } from '../analysis/rule-timeline.js';
import { sampleStates, type StateSample } from '../analysis/socket-timeline.js';
import { lastSampleBefore, SAMPLE_ALLOWANCE_US } from '../analysis/sampled-reads.js';
import type { RunAnalysis } from '../analysis/analyze-run.js';
import { CONFORMANCE_WORDS, type ConformanceWords } from '../messages/check-words/conformance-words.js';
import { joinTexts, same, say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';
import { textCheck, type Check, type CheckDraft, type Evidence } from './verdict.js';
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

/** Between the parts of a list of violations (`a; b`). */
const SEPARATOR: Text = say(CONFORMANCE_WORDS, (w) => w.separator);

/** The sentence in every language, from the words of conformance checks. */
function words(sentence: (w: ConformanceWords, lang: Lang) => string): Text {
  return say(CONFORMANCE_WORDS, sentence);
}

/** One Check per sampled lab socket of every host: "follows the TCP state machine". */
export function checkConformance(run: RunRecord, replays: readonly EndpointReplay[] = replayRun(run), analysis?: RunAnalysis): Check[] {
  const checks: Check[] = [];
  // The run's boundary, for runs recorded with the end-of-run freeze (run-lab.ts; told here by their kernel
  // trace, which came with it): later samples and tracepoints are teardown, not the experiment. Older run
  // folders, and runs without tracefs, are judged on everything they recorded, as before.
  const frozen = run.hosts.some((h) => h.kernelEvents !== undefined);
  const boundaryUs = !frozen || run.steps.length === 0 ? Infinity : stepsEndUs(run);
  for (const host of run.hosts) {
    const analysed = analysis?.hosts.find((h) => h.name === host.name);
    const machine = linuxMachine((analysed?.settings ?? readHostKernelSettings(host)).settings);
    const bySocket = new Map<string, StateSample[]>();
    // Rules with hidden-state matches (-m limit, …) on this host: how their drops were decided (rule-timeline.ts).
    const decisions = decisionsOf(analysis?.rules ?? buildRuleTimeline(run), host.name);
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
        const nth = tupleReplays.length > 1 ? words((w) => w.nthConnection(index + 1, tupleReplays.length, replay?.conn)) : same('');
        const judged =
          transitions.length > 0 && replay !== undefined
            ? judgeSocketExactly(run, host, machine, transitions, samples, replay)
            : judgeSocket(run, host, machine, samples, replay, { local, remote }, tracedUntil(run, host, replay, boundaryUs));
        checks.push(
          textCheck({
            ...judged,
            name: words((w, lang) => w.followsMachine(host.name, local, remote, nth[lang])),
            evidence: [...judged.evidence, ...decisions.map((d) => words((w, lang) => w.note(d[lang])))],
            source:
              transitions.length > 0
                ? 'conformance on exact kernel events (tracepoints; Linux machine, src/tcp/linux-profile.ts)'
                : 'conformance (Linux machine, src/tcp/linux-profile.ts)',
            origin: { kind: 'conformance', host: host.name, local, remote },
            refs: [...(judged.refs ?? []), ...conformanceRefs(host.name, samples, replay)],
          }),
        );
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
  return Math.min(boundaryUs, stepsEndUs(run), replay.window?.untilUs ?? Infinity);
}

/** The received segments the replay left out and why (a rule's drop, a full or deferring accept queue, …): the first five. */
function skippedEvidence(replay: EndpointReplay): Text[] {
  return skippedOf(replay)
    .slice(0, 5)
    .map((skip) => words((w, lang) => w.detailed(w.captureFrame(replay.host, skip.frame), skip.reason[lang])));
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
  readonly message: Text;
  readonly expected: Text;
  readonly reference: string | undefined;
}

/** Checks one socket's samples against its replay (pure; exported for tests). */
export function checkSocket(...args: Parameters<typeof judgeSocket>): Check {
  return textCheck(judgeSocket(...args));
}

/** checkSocket()'s judgement, its words in every language. */
function judgeSocket(
  run: RunRecord,
  host: RunHost,
  machine: TcpMachine,
  samples: readonly StateSample[],
  replay: EndpointReplay | undefined,
  tuple: { local: string; remote: string } = samples[0] as StateSample,
  tracedUntilUs?: number,
): CheckDraft {
  const first = tuple;
  const name = words((w) => w.followsMachine(host.name, first.local, first.remote, ''));
  const observedPath = collapse(samples.map((s) => s.state)).join(' → ');
  const rel = (us: number): string => relTime(run, us);
  const reference = 'RFC 9293 §3.3.2, §3.10; Linux profile (src/tcp/linux-profile.ts)';
  if (replay === undefined) {
    return {
      name,
      status: 'fail',
      expected: words((w) => w.noReplayExpected),
      observed: words((w) => w.noReplayObserved(observedPath)),
      evidence: [words((w) => w.noReplayEvidence(first.local, first.remote, host.name))],
      reference,
    };
  }
  const timeline = replay.timeline;
  const passive = replay.role === 'passive';
  const matches = (entry: ReplayEntry, state: TcpState): boolean => entry.state === state || (passive && state === 'CLOSED' && entry.state === 'LISTEN');
  const cause = (entry: ReplayEntry): Text => describeCause(entry, replay.host);
  const ms = SAMPLE_ALLOWANCE_US / 1000;
  const evidence: Text[] = [];
  const violations: Violation[] = [];
  const references = new Set<string>();
  let position = 0;
  let previousObserved: TcpState = (timeline[0] as ReplayEntry).state;
  for (const sample of samples) {
    // The latest entry of the sampled state begun by the sample's time: a reused tuple's requests repeat
    // LISTEN → SYN_RECEIVED → LISTEN, and a row read at +1.096 s is the request made at +1.08 s, not the one of +0.08 s.
    let found: number | undefined;
    for (let j = position; j < timeline.length; j += 1) {
      const entry = timeline[j] as ReplayEntry;
      if (entry.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) break;
      if (matches(entry, sample.state) && !(j === 0 && passive && sample.state === 'CLOSED')) found = j;
    }
    if (found !== undefined) {
      for (let k = position + 1; k < found; k += 1) {
        const skipped = timeline[k] as ReplayEntry;
        evidence.push(words((w, lang) => w.notSampled(skipped.state, rel(skipped.timeUs), cause(skipped)[lang])));
        if (skipped.row) references.add(rowReference(skipped.row));
      }
      const entry = timeline[found] as ReplayEntry;
      if (entry.row) references.add(rowReference(entry.row));
      const lateTimer = found > position ? findLateTimer(host, timeline, position, found, sample) : undefined;
      if (lateTimer !== undefined) {
        const { timer, lastReadUs } = lateTimer;
        violations.push({
          timeUs: lastReadUs,
          message: words((w, lang) =>
            w.stillRead(
              previousObserved,
              rel(lastReadUs),
              sample.state,
              rel(sample.timeUs),
              cause(timer)[lang],
              rel(timer.latestUs),
              rel(timer.timeUs),
              rel(timer.latestUs),
            ),
          ),
          expected: words((w) => w.stateBetween(timer.state, rel(timer.timeUs), rel(timer.latestUs))),
          reference: timer.row ? rowReference(timer.row) : undefined,
        });
        position = found;
        previousObserved = sample.state;
        continue;
      }
      const lastReadUs = entry.cause.kind === 'timer' && found > position ? lastSampleBefore(host.events, sample.timeUs) : undefined;
      const between = found > position ? findTimerBetweenWindows(timeline, position, found, lastReadUs ?? sample.timeUs, sample.timeUs) : undefined;
      if (between !== undefined) {
        const windows = words((w) => (between.windows ?? []).map((o) => w.window(rel(o.timeUs), rel(o.latestUs))).join(w.windowsOr));
        const afterUs = lastReadUs ?? sample.timeUs;
        violations.push({
          timeUs: afterUs,
          message: words((w, lang) => w.betweenWindows(sample.state, rel(afterUs), rel(sample.timeUs), cause(between)[lang], windows[lang], ms)),
          expected: words((w, lang) => w.stateAt(between.state, windows[lang])),
          reference: between.row ? rowReference(between.row) : undefined,
        });
        position = found;
        previousObserved = sample.state;
        continue;
      }
      const sampledInterval =
        lastReadUs === undefined
          ? undefined
          : words((w) => w.sampledChange(sample.state, rel(lastReadUs), previousObserved, rel(sample.timeUs), rel(entry.timeUs), rel(entry.latestUs), ms));
      const next = timeline[found + 1];
      if (next !== undefined && next.latestUs < sample.timeUs - SAMPLE_ALLOWANCE_US && !matches(next, sample.state)) {
        violations.push({
          timeUs: sample.timeUs,
          message: words((w, lang) => w.leftFor(sample.state, rel(sample.timeUs), next.state, rel(next.timeUs), cause(next)[lang])),
          expected: words((w) => w.stateAt(next.state, rel(sample.timeUs))),
          reference: next.row ? rowReference(next.row) : undefined,
        });
      } else {
        evidence.push(words((w, lang) => w.sampledFrom(sample.state, rel(sample.timeUs), cause(entry)[lang], rel(entry.timeUs))));
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
        message: words((w, lang) => w.neverTraced(entry.state, rel(entry.timeUs), cause(entry)[lang], rel(tracedUntilUs))),
        expected: words((w) => w.stateAt(entry.state, rel(entry.timeUs))),
        reference: entry.row ? rowReference(entry.row) : undefined,
      });
    }
  }
  evidence.push(...skippedEvidence(replay));
  const replayed = words((w) => w.replayedFrom(collapse(timeline.map((e) => e.state)).join(' → '), replay.host));
  if (violations.length > 0) {
    const messages = violations.map((v) => v.message);
    return {
      name,
      status: 'fail',
      expected: listed([replayed, listed(violations.map((v) => v.expected))]),
      observed: detailed(same(observedPath), listed(messages)),
      evidence: [...messages.map((m) => words((w, lang) => w.violation(m[lang]))), ...evidence],
      refs: violations.map((v) => ({ kind: 'violation', host: host.name, timeUs: v.timeUs, message: v.message.en })),
      reference: [...new Set(violations.map((v) => v.reference).filter((r): r is string => r !== undefined)), reference].join('; '),
    };
  }
  return {
    name,
    status: 'pass',
    expected: replayed,
    observed: same(observedPath),
    evidence,
    reference: references.size > 0 ? [...references].join('; ') : reference,
  };
}

/** Texts joined as a list of parts (`a; b; c`). */
function listed(parts: readonly Text[]): Text {
  return joinTexts(parts, SEPARATOR);
}

/** `head: details`, in every language. */
function detailed(head: Text, details: Text): Text {
  return words((w, lang) => w.detailed(head[lang], details[lang]));
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
  const cause = (entry: ReplayEntry): Text => describeCause(entry, replay.host);
  const replayState = words((w, lang) => w.replayIn(current.state, rel(current.timeUs), cause(current)[lang]));
  const target = sample.state === 'CLOSED' ? ['CLOSED', 'LISTEN'] : [sample.state];
  const paths = target.flatMap((state) =>
    previous === state ? [[previous]] : machine.legalPaths(previous, state as TcpState, MAX_GAP_TRANSITIONS, { viaClosed: false }),
  );
  if (paths.length === 0) {
    const edges = machine.nextTransitions(previous).filter((r) => r.to !== previous);
    const leaving = words((w) => [...new Set(edges.map((r) => w.leavingEdge(r.to, r.event, r.rfc)))].join(w.edgeSeparator) || w.nothing);
    return {
      timeUs: sample.timeUs,
      message: words((w, lang) => w.cannotFollow(sample.state, rel(sample.timeUs), previous, leaving[lang])),
      expected: words((w, lang) => w.reachableFrom(previous, replayState[lang])),
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
      message: words((w, lang) =>
        w.noCauseYet(sample.state, rel(sample.timeUs), cause(pending)[lang], rel(pending.timeUs), rel(pending.latestUs), replay.host, replayState[lang]),
      ),
      expected: listed([
        words((w) => w.stateAt(current.state, rel(sample.timeUs))),
        words((w) => w.stateBetween(pending.state, rel(pending.timeUs), rel(pending.latestUs))),
      ]),
      reference: pending.row ? rowReference(pending.row) : 'RFC 9293 §3.8.3',
    };
  }
  return {
    timeUs: sample.timeUs,
    message: words((w, lang) => w.noCause(sample.state, rel(sample.timeUs), shortest.join(' → '), replay.host, replayState[lang])),
    expected: words((w) => w.stateAt(current.state, rel(sample.timeUs))),
    reference: `RFC 9293 §3.10 (event processing): ${machine.eventsBetween(shortest[shortest.length - 2] ?? previous, sample.state).join(' / ') || 'no single event'} is needed`,
  };
}

/**
 * One socket of a host with exact kernel events: its tracepoint transitions judged against the machine and
 * the replay (exact-conformance.ts), the samples cross-checked against them, and the samples after a
 * hand-over to a timewait socket (which has no tracepoint) judged against the replay as before.
 */
function judgeSocketExactly(
  run: RunRecord,
  host: RunHost,
  machine: TcpMachine,
  transitions: readonly ExactTransition[],
  samples: readonly StateSample[],
  replay: EndpointReplay,
): CheckDraft {
  const { local, remote } = replay.tuple;
  const name = words((w) => w.followsMachine(host.name, local, remote, ''));
  const judged = judgeExactTransitions(run, host, machine, transitions, replay);
  const violations = [...judged.violations, ...crossCheckSamples(run, host, transitions, samples, judged.handedToTimewaitUs)];
  const evidence = [...judged.evidence, ...skippedEvidence(replay)];
  const afterHandOver = judged.handedToTimewaitUs === undefined ? [] : samples.filter((s) => s.timeUs >= (judged.handedToTimewaitUs as number));
  let sampledPart: CheckDraft | undefined;
  if (afterHandOver.length > 0) {
    const part = judgeSocket(run, host, machine, afterHandOver, replay, { local, remote });
    evidence.push(
      words((w, lang) => w.afterHandOver(part.observed[lang])),
      ...part.evidence,
    );
    sampledPart = part;
  }
  const exactPath = collapse([(transitions[0] as ExactTransition).from, ...transitions.map((t) => (t.timeUs === judged.handedToTimewaitUs ? 'CLOSED' : t.to))]);
  const observed = words((w) => w.exactObserved(exactPath.join(' → '), judged.handedToTimewaitUs !== undefined));
  const replayed = words((w) => w.replayedFrom(collapse(replay.timeline.map((e) => e.state)).join(' → '), replay.host));
  const reference = 'RFC 9293 §3.3.2, §3.10; Linux profile (src/tcp/linux-profile.ts); exact events (src/verify/exact-conformance.ts)';
  if (violations.length > 0 || sampledPart?.status === 'fail') {
    const messages = [...violations.map((v) => v.message), ...(sampledPart?.status === 'fail' ? [sampledPart.observed] : [])];
    return {
      name,
      status: 'fail',
      expected: listed([replayed, listed(violations.map((v) => v.expected))]),
      observed: detailed(observed, listed(messages)),
      evidence: [...messages.map((m) => words((w, lang) => w.violation(m[lang]))), ...evidence],
      refs: [
        ...violations.map((v) => ({ kind: 'violation' as const, host: host.name, timeUs: v.timeUs, message: v.message.en })),
        ...(sampledPart?.refs ?? []),
      ],
      reference: [...new Set(violations.map((v) => v.reference).filter((r): r is string => r !== undefined)), reference].join('; '),
    };
  }
  return { name, status: 'pass', expected: replayed, observed, evidence, reference };
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

/** `client capture #12 (received [S.])`, `close() call`, `timer: TIME_WAIT expiry (TCP_TIMEWAIT_LEN)`: why the replay entered `entry`. */
export function describeCause(entry: ReplayEntry, host: string): Text {
  const cause = entry.cause;
  switch (cause.kind) {
    case 'segment':
      return words((w) => w.causeSegment(host, cause.frame, cause.direction, cause.flags));
    case 'call':
      return words((w) => (cause.op === OPEN_BEFORE_CAPTURE ? w.causeOpenBeforeCapture : w.causeCall(cause.op)));
    case 'timer':
      return words((w, lang) => w.causeTimer(timerNameOf(entry)[lang]));
    case 'icmp':
      return words((w, lang) => w.causeIcmp(host, cause.frame, describeIcmp(cause.type, cause.code, cause.family, lang)));
    default: {
      const never: never = cause;
      return same(String(never));
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
