import type { KernelEvent } from '../observe/kernel-trace.js';
import type { TcpSegment } from '../observe/packet.js';
import type { TcpState } from '../tcp/state.js';
import type { TcpMachine } from '../tcp/tcp-machine.js';
import type { EndpointReplay, ReplayEntry } from '../analysis/endpoint-replay.js';
import { isAddressOf, relTime, type RunHost, type RunRecord, stepsEndUs } from '../analysis/run-record.js';
import { segmentEndpoints } from '../analysis/run-sockets.js';
import { lastSampleBefore } from '../analysis/sampled-reads.js';
import { failedConnectTransitions, type StateSample } from '../analysis/socket-timeline.js';
import { describeCause } from './conformance.js';
import { CAPTURE_ALLOWANCE_MS } from '../tcp/timing-model.js';
import { CONFORMANCE_WORDS, type ConformanceWords } from '../messages/check-words/conformance-words.js';
import { say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/*
 * Conformance on exact kernel events: a host whose run recorded its tracepoints (RunHost.kernelEvents)
 * is judged by them, µs-exact, instead of by the 5 ms /proc/net/tcp samples.
 *
 * How it works. Each inet_sock_set_state transition of a socket, in order, must (1) be an edge of the
 * Linux machine, and (2) have a cause: an entry of the socket's replay (endpoint-replay.ts) into the same
 * state whose cause is a segment of the host's capture within EXACT_SEGMENT_ALLOWANCE_US of the
 * tracepoint, a socket call whose step was running (EXACT_CALL_WINDOW_US after its end), or a timer whose
 * window (timing model, host settings; timers fire between segments too) holds the moment. A replay entry
 * passed over on the way is a transition the model predicted and the kernel never made: a violation too.
 * Kernel facts that shape the matching:
 * - A passive socket's request (TCP_NEW_SYN_RECV) has no tracepoint; the child is born at the final ACK
 *   (tcp_check_req() → tcp_v4_syn_recv_sock() → tcp_create_openreq_child(): LISTEN → SYN_RECV), so its
 *   SYN_RECEIVED is the replay's, entered at the SYN, still held at that moment.
 * - tcp_time_wait() hands a connection to a timewait socket (TIME_WAIT, or FIN_WAIT_2 of an orphan) and
 *   closes the full one (KernelEvent.handedToTimewait): not a close. The timewait socket has no tracepoint,
 *   so what follows (its expiry, the FIN_WAIT_2 timeout) is judged from the samples (conformance.ts).
 *   A FIN_WAIT_1 → FIN_WAIT_2 within the same µs as the hand-over is the ACK half of a FIN+ACK.
 * When the model has no entry for what the kernel did, the violation names the kernel function a rule would need.
 */

/**
 * Capture − trace for the segment a tracepoint follows: measured median 10–19 µs, max 229 µs idle (README);
 * in CI on a loaded machine a received SYN-ACK's SYN_SENT → ESTABLISHED came more than 1 ms after its capture
 * (softirq delay between the tap and TCP), so 5 ms.
 */
export const EXACT_SEGMENT_ALLOWANCE_US = 5_000;
/** A call's kernel transition comes while its step runs, or just after (measured: connect's SYN_SENT 1.7 ms after the step's end). */
export const EXACT_CALL_WINDOW_US = 20_000;
/** Trace vs capture clock on a timer window anchored on capture stamps: how early a traced fire may come. */
export const EXACT_TIMER_ALLOWANCE_US = 2_000;
/**
 * How late past its window a traced timer fire may come: the timer softirq runs late on a busy machine
 * (measured with two busy loops and four labs at once: an orphan's give-up traced 4 and 8 ms past the
 * timer wheel's slack), the allowance the timing checks give every timer (CAPTURE_ALLOWANCE_MS).
 */
export const EXACT_TIMER_LATE_ALLOWANCE_US = CAPTURE_ALLOWANCE_MS * 1000;

/** One exact state transition of one socket. */
export type ExactTransition = KernelEvent & { readonly from: TcpState; readonly to: TcpState };

export interface ExactViolation {
  readonly timeUs: number;
  readonly message: Text;
  readonly expected: Text;
  readonly reference?: string;
}

export interface ExactJudgement {
  readonly violations: readonly ExactViolation[];
  readonly evidence: readonly Text[];
  /** The moment the full socket was handed to a timewait socket, when it was: later samples are judged by the replay. */
  readonly handedToTimewaitUs?: number;
  /** The replay position reached (index into its timeline). */
  readonly position: number;
}

/** The exact transitions of a host's socket (`local`, `remote`), in time order. */
export function exactTransitionsOf(host: RunHost, local: string, remote: string): ExactTransition[] {
  const failed = failedConnectTransitions(host.events, host.kernelEvents);
  return (host.kernelEvents ?? []).filter(
    (e): e is ExactTransition =>
      e.kind === 'state' &&
      e.from !== undefined &&
      e.to !== undefined &&
      !failed.has(e) &&
      (e.from === 'CLOSED' && e.to === 'SYN_SENT' ? synSentOwner(host, e) : e.local) === local &&
      e.remote === remote,
  );
}

/**
 * The socket a CLOSED → SYN_SENT belongs to: tcp_v4_connect() sets SYN_SENT *before* inet_hash_connect()
 * picks the local port (the tracepoint prints sport=0), so with two connects to one peer in flight the
 * trace's own attribution can be wrong. The SYN tcp_connect() sends right after names it: the pure SYN of the
 * host to that peer nearest the event (within the capture allowance: the trace and capture clocks differ by up
 * to a few ms under load); else the trace's attribution. Measured: two connects 4.2 ms apart, each SYN 0.1 ms
 * after its event — the first SYN at or after the second event's allowance was the first connect's.
 */
function synSentOwner(host: RunHost, event: KernelEvent): string {
  let nearest: TcpSegment | undefined;
  for (const s of host.segments) {
    if (!isAddressOf(host, s.src) || segmentEndpoints(s).dst !== event.remote || (s.flags & 0x17) !== 0x02) continue;
    const distance = Math.abs(s.timeUs - event.timeUs);
    if (distance <= EXACT_SEGMENT_ALLOWANCE_US && (nearest === undefined || distance < Math.abs(nearest.timeUs - event.timeUs))) nearest = s;
  }
  return nearest === undefined ? event.local : segmentEndpoints(nearest).src;
}

/** The kernel function a model rule for `from → to` would follow (tcp_input.c, tcp_timer.c, tcp.c, tcp_minisocks.c), in every language. */
export function kernelFunctionFor(from: TcpState, to: TcpState): Text {
  return words((w) => w.kernelCallers[`${from}>${to}`] ?? w.unknownCaller(from, to));
}

/** The sentence in every language, from the words of conformance checks. */
function words(sentence: (w: ConformanceWords, lang: Lang) => string): Text {
  return say(CONFORMANCE_WORDS, sentence);
}

/** Judges a socket's exact transitions against the machine and its replay (pure; exported for tests). */
export function judgeExactTransitions(
  run: RunRecord,
  host: RunHost,
  machine: TcpMachine,
  transitions: readonly ExactTransition[],
  replay: EndpointReplay,
): ExactJudgement {
  const rel = (us: number): string => relTime(run, us);
  const timeline = replay.timeline;
  const violations: ExactViolation[] = [];
  const evidence: Text[] = [];
  const cause = (entry: ReplayEntry): Text => describeCause(entry, replay.host);
  let position = 0;
  let handedToTimewaitUs: number | undefined;
  const passive = replay.role === 'passive';
  const stateAt = (us: number): ReplayEntry => {
    let current = timeline[0] as ReplayEntry;
    for (const entry of timeline) if (entry.timeUs <= us) current = entry;
    return current;
  };
  for (const [i, t] of transitions.entries()) {
    const where = words((w) => w.traced(t.from, t.to, rel(t.timeUs), t.line));
    if (handedToTimewaitUs !== undefined) {
      violations.push({
        timeUs: t.timeUs,
        message: words((w, lang) => w.afterTimewait(where[lang])),
        expected: words((w) => w.noTransitionAfterTimewait),
      });
      continue;
    }
    const next = transitions[i + 1];
    // The parser marks a close without a RST or error just before as a hand-over; a close the replay explains by a
    // timer (an orphan's tcp_write_err() after tcp_orphan_retries reports no error) is a close. A segment-caused close
    // is not: a segment that reached the host just after the hand-over (the peer's data, 4 ms later under load) meets
    // the timewait socket, not the full one.
    const realClose =
      t.handedToTimewait === true &&
      findEntry(timeline, position, (e) => e.state === 'CLOSED' && e.cause.kind === 'timer' && causeHolds(run, host, replay.tuple, e, t.timeUs), t.timeUs);
    const handOver = t.handedToTimewait === true && realClose === undefined;
    if (handOver || (t.to === 'FIN_WAIT_2' && next?.handedToTimewait === true && next.timeUs - t.timeUs <= EXACT_SEGMENT_ALLOWANCE_US)) {
      if (!handOver) continue; // the ACK half of a FIN+ACK: judged with the hand-over
      const entry = findEntry(
        timeline,
        position,
        (e) => (e.state === 'TIME_WAIT' || e.state === 'FIN_WAIT_2') && e.timeUs <= t.timeUs + EXACT_SEGMENT_ALLOWANCE_US,
        t.timeUs,
      );
      const held = stateAt(t.timeUs + EXACT_SEGMENT_ALLOWANCE_US);
      if (entry === undefined && !(held.state === 'TIME_WAIT' || held.state === 'FIN_WAIT_2')) {
        violations.push({
          timeUs: t.timeUs,
          message: words((w, lang) => w.handOverMismatch(where[lang], held.state, cause(held)[lang])),
          expected: words((w) => w.stateAt(held.state, rel(t.timeUs))),
          reference: 'tcp_time_wait() (net/ipv4/tcp_minisocks.c)',
        });
      } else {
        position = entry ?? timeline.indexOf(held);
        const substate = (timeline[position] as ReplayEntry).state;
        evidence.push(words((w, lang) => w.handedOver(where[lang], substate)));
      }
      handedToTimewaitUs = t.timeUs;
      continue;
    }
    const edge = machine.nextTransitions(t.from).some((row) => row.to === t.to);
    if (!edge) {
      const kernel = kernelFunctionFor(t.from, t.to);
      violations.push({
        timeUs: t.timeUs,
        message: words((w, lang) => w.noEdge(where[lang], t.from, t.to, kernel[lang])),
        expected: words((w) => w.transitionFrom(t.from)),
        reference: 'RFC 9293 §3.3.2; src/tcp/linux-profile.ts',
      });
      continue;
    }
    const childBirth = passive && t.from === 'LISTEN' && t.to === 'SYN_RECEIVED';
    const found = childBirth
      ? findLastEntry(timeline, position, (e) => e.state === 'SYN_RECEIVED' && e.timeUs <= t.timeUs + EXACT_SEGMENT_ALLOWANCE_US)
      : findEntry(timeline, position, (e) => e.state === t.to && causeHolds(run, host, replay.tuple, e, t.timeUs), t.timeUs);
    if (found === undefined) {
      const held = stateAt(t.timeUs);
      const later = timeline.slice(position + 1).find((e) => e.state === t.to);
      const laterText = words((w, lang) =>
        later === undefined
          ? w.replayNeverEnters
          : w.replayEnters(`${rel(later.timeUs)}${later.cause.kind === 'timer' ? `–${rel(later.latestUs)}` : ''}`, cause(later)[lang]),
      );
      const kernel = kernelFunctionFor(t.from, t.to);
      violations.push({
        timeUs: t.timeUs,
        message: words((w, lang) => w.noExactCause(where[lang], replay.host, laterText[lang], held.state, rel(held.timeUs), kernel[lang])),
        expected: words((w) => w.stateAt(held.state, rel(t.timeUs))),
        reference: kernel.en,
      });
      continue;
    }
    for (let k = position + 1; k < found; k += 1) {
      const skipped = timeline[k] as ReplayEntry;
      if (untraced(skipped, replay)) continue;
      violations.push({
        timeUs: skipped.timeUs,
        message: words((w, lang) => w.replayWentElsewhere(skipped.state, rel(skipped.timeUs), cause(skipped)[lang], where[lang])),
        expected: words((w) => w.stateAt(skipped.state, rel(skipped.timeUs))),
        ...(skipped.row && { reference: `${skipped.row.from} → ${skipped.row.to} on ${skipped.row.event}: RFC 9293 §${skipped.row.rfc}` }),
      });
    }
    const entry = timeline[found] as ReplayEntry;
    evidence.push(words((w, lang) => w.exactFrom(where[lang], cause(entry)[lang], childBirth)));
    position = found;
  }
  if (handedToTimewaitUs === undefined && transitions.length > 0)
    violations.push(...untracedTail(run, replay, position, transitions.at(-1) as ExactTransition));
  return { violations, evidence, position, ...(handedToTimewaitUs !== undefined && { handedToTimewaitUs }) };
}

/**
 * The replay's changes after the kernel's last traced transition that must have happened before the end of
 * the observation (the last step's end, or the end of this connection on a reused 4-tuple): the trace
 * shows none, so they never happened — the replay moved the socket where the kernel did not (e.g. a RST
 * TCP dropped, RFC 5961 §3.2).
 */
function untracedTail(run: RunRecord, replay: EndpointReplay, position: number, last: ExactTransition): ExactViolation[] {
  const lastStepEndUs = stepsEndUs(run);
  const endUs = Math.min(lastStepEndUs, replay.window?.untilUs ?? Infinity);
  return replay.timeline.slice(position + 1).flatMap((entry): ExactViolation[] => {
    if (untraced(entry, replay) || latestTracedUs(entry) >= endUs) return []; // or it could still have been under way when the observation ended
    const rel = (us: number): string => relTime(run, us);
    const cause = describeCause(entry, replay.host);
    return [
      {
        timeUs: entry.timeUs,
        message: words((w, lang) =>
          w.neverHappenedAfterLast(entry.state, rel(entry.timeUs), cause[lang], w.traced(last.from, last.to, rel(last.timeUs), last.line), rel(endUs)),
        ),
        expected: words((w) => w.stateAt(entry.state, rel(entry.timeUs))),
        ...(entry.row && { reference: `${entry.row.from} → ${entry.row.to} on ${entry.row.event}: RFC 9293 §${entry.row.rfc}` }),
      },
    ];
  });
}

/** Whether an entry's cause can explain a kernel transition at `atUs`. */
function causeHolds(run: RunRecord, host: RunHost, tuple: EndpointReplay['tuple'], entry: ReplayEntry, atUs: number): boolean {
  switch (entry.cause.kind) {
    case 'segment':
    case 'icmp':
      return Math.abs(entry.timeUs - atUs) <= EXACT_SEGMENT_ALLOWANCE_US;
    case 'call': {
      const step = run.steps.find((s) => s.startUs <= entry.timeUs && entry.timeUs <= s.endUs);
      const endUs = Math.max(step?.endUs ?? entry.timeUs, entry.timeUs) + EXACT_CALL_WINDOW_US;
      // The agent replies once the call is *started*; Node issues the syscall later (measured: 52 ms after the
      // step's end on a loaded run). The segment the call sends (SYN, FIN, RST) right after the change pins it.
      const sent = host.segments.find((s) => segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote && s.timeUs >= entry.timeUs);
      const latestUs = Math.max(endUs, sent === undefined ? 0 : sent.timeUs + EXACT_SEGMENT_ALLOWANCE_US);
      return atUs >= entry.timeUs - EXACT_SEGMENT_ALLOWANCE_US && atUs <= latestUs;
    }
    case 'timer': {
      const windows = entry.windows ?? [{ timeUs: entry.timeUs, latestUs: entry.latestUs }];
      return windows.some((w) => atUs >= w.timeUs - EXACT_TIMER_ALLOWANCE_US && atUs <= w.latestUs + EXACT_TIMER_LATE_ALLOWANCE_US);
    }
    default: {
      const never: never = entry.cause;
      return never;
    }
  }
}

/**
 * Replay entries no tracepoint reports: TIME_WAIT (a timewait socket), a passive socket's request life (SYN_RECEIVED,
 * and its drop: LISTEN again, or CLOSED with its listener) — a request socket is no full socket, inet_sock_set_state()
 * never sees it.
 */
export function untraced(entry: ReplayEntry, replay: EndpointReplay): boolean {
  if (entry.state === 'TIME_WAIT') return true;
  if (replay.role !== 'passive') return false;
  const index = replay.timeline.indexOf(entry);
  const afterRequest = index > 0 && replay.timeline[index - 1]?.state === 'SYN_RECEIVED';
  return entry.state === 'LISTEN' || entry.state === 'SYN_RECEIVED' || (entry.state === 'CLOSED' && afterRequest);
}

/** The latest moment a tracepoint could report the replay entry's transition (its cause's allowance). */
export function latestTracedUs(entry: ReplayEntry): number {
  const windows = entry.windows ?? [{ timeUs: entry.timeUs, latestUs: entry.latestUs }];
  return entry.cause.kind === 'timer'
    ? Math.max(...windows.map((w) => w.latestUs)) + EXACT_TIMER_LATE_ALLOWANCE_US
    : entry.timeUs + (entry.cause.kind === 'call' ? EXACT_CALL_WINDOW_US : EXACT_SEGMENT_ALLOWANCE_US);
}

/** First entry after `position` satisfying `ok`, not beyond `atUs` plus the largest window. */
function findEntry(timeline: readonly ReplayEntry[], position: number, ok: (e: ReplayEntry) => boolean, atUs: number): number | undefined {
  for (let j = position + 1; j < timeline.length; j += 1) {
    const entry = timeline[j] as ReplayEntry;
    if (entry.timeUs > atUs + EXACT_CALL_WINDOW_US) return undefined;
    if (ok(entry)) return j;
  }
  return undefined;
}

/** Last entry after `position` satisfying `ok`. */
function findLastEntry(timeline: readonly ReplayEntry[], position: number, ok: (e: ReplayEntry) => boolean): number | undefined {
  let found: number | undefined;
  for (let j = position + 1; j < timeline.length; j += 1) if (ok(timeline[j] as ReplayEntry)) found = j;
  return found;
}

/**
 * The samples as a cross-check of the exact transitions: a sample of state S stamped at t must show a
 * state the kernel held at some moment since the sampler's last earlier read (the read could not have
 * shown it otherwise). Only for samples up to the hand-over to a timewait socket, after the first exact event.
 */
export function crossCheckSamples(
  run: RunRecord,
  host: RunHost,
  transitions: readonly ExactTransition[],
  samples: readonly StateSample[],
  handedToTimewaitUs?: number,
): ExactViolation[] {
  const first = transitions[0];
  if (first === undefined) return [];
  // The run's boundary: after the last step the lab is frozen and the trace may have stopped.
  const boundaryUs = stepsEndUs(run);
  const violations: ExactViolation[] = [];
  for (const sample of samples) {
    if (sample.timeUs < first.timeUs || sample.timeUs > boundaryUs || (handedToTimewaitUs !== undefined && sample.timeUs >= handedToTimewaitUs)) continue;
    const sinceUs = (lastSampleBefore(host.events, sample.timeUs) ?? sample.timeUs) - EXACT_SEGMENT_ALLOWANCE_US;
    const untilUs = sample.timeUs + EXACT_SEGMENT_ALLOWANCE_US;
    const held = new Set<TcpState>();
    let current: TcpState = first.from;
    for (const t of transitions) {
      if (t.timeUs <= sinceUs) current = t.to;
      else if (t.timeUs <= untilUs) {
        held.add(current);
        current = t.to;
      }
    }
    held.add(current);
    if (!held.has(sample.state)) {
      violations.push({
        timeUs: sample.timeUs,
        message: words((w) => w.sampleDisagrees(sample.state, relTime(run, sample.timeUs), [...held], relTime(run, sinceUs))),
        expected: words((w) => w.inTheSample([...held])),
        reference: 'samples vs inet_sock_set_state (cross-check)',
      });
    }
  }
  return violations;
}
