import type { AgentEvent } from '../agent/protocol.js';
import { assertNever } from '../assert-never.js';
import { sequenceEnd, sequenceLength, TcpFlag, type IcmpMessage } from '../observe/packet.js';
import { DEFAULT_KERNEL_SETTINGS, type KernelSettings } from '../tcp/kernel-settings.js';
import { parseTcpState } from '../tcp/state.js';
import { deferredRequestOf, listenerRefusals } from './accept-queue.js';
import { predictOrphanFinSchedule, predictSynAckSchedule, predictSynSchedule, type RetransmissionSchedule } from '../tcp/timing-model.js';
import { missingSettings, type HostKernelSettings } from './host-kernel-settings.js';
import { isAddressOf, type RunHost, type RunRecord } from './run-record.js';
import { connOfTuple, findConnTuple, segmentEndpoints, type SocketTuple } from './run-sockets.js';
import { connTimerOptions } from './conn-timer-options.js';
import { kindOf, type SegmentKind } from './segment-kind.js';
import { requestDropIcmp } from './syn-ack-replies.js';
import { retransmissionKey, type TracedSegment } from './segment-trace.js';
import type { HeldSend } from './held-sends.js';
import { observedSendsOf, timerFiresOf, type TracedTimerFires } from './traced-fires.js';
import { rtoCopies } from './rto-copies.js';
import { describeRto, fitOverRtos, fitRetransmissions, type FinRtoEstimate, type ScheduleFit, type TimerLateness } from './timing-fit.js';
import { rtoSeriesOf } from './icmp-during-series.js';

/*
 * Every series of copies of the run (segments that occupy sequence space with the same direction, seq,
 * flags and length: the trace's retransmission key, so copy k here is the ladder's copy k), and for a SYN,
 * SYN-ACK or orphan FIN that was retransmitted or never answered, its fit to the timing model: the one
 * fitter (timing-fit.ts) fed with the sending host's own settings, SYN-ACKs that answer a SYN left out
 * (syn-ack-replies.ts), and the moment the socket gave up when the run saw it. Computed once; the report's
 * commentary tells it. Times are µs relative to the run's start, like the trace's.
 */

/** Copies of one segment. */
export interface SegmentSeries {
  readonly kind: SegmentKind;
  readonly from: string;
  readonly to: string;
  readonly tuple: SocketTuple;
  readonly copies: readonly TracedSegment[];
}

/** The kinds of series the timing model predicts. */
export type ModelKind = 'SYN' | 'SYN-ACK' | 'FIN';

/** How a modelled series' socket gave up, as far as the run saw it. */
export interface SeriesGiveUp {
  /** Relative µs of the give-up (connect()'s ETIMEDOUT, or the row's disappearance), if observed. */
  readonly timeUs: number | undefined;
  /** The agent error that is the give-up (SYN series). */
  readonly error?: Extract<AgentEvent, { type: 'error' }>;
  /** `client/c` for a SYN series with a known connection, else the host. */
  readonly who: string;
  /** The state the socket was last in when its row went (FIN series). */
  readonly goneState?: string;
}

export type SeriesModel =
  | {
      readonly kind: 'fitted';
      readonly fit: ScheduleFit;
      readonly settings: string;
      /** Index in the fit's sends of each timer copy (fires that sent nothing come between: traced-fires.ts). */
      readonly sendOfCopy: readonly number[];
    }
  | { readonly kind: 'missing-settings'; readonly missing: readonly string[] }
  | { readonly kind: 'no-host' }
  /** A FIN after shutdown(): tcp_retries2 applies, which this model does not cover. */
  | { readonly kind: 'not-modelled' }
  /** Sent from an address that is not the host's own (a `flood` step's forged SYNs): no socket, no timer, nothing retransmits it. */
  | { readonly kind: 'forged'; readonly source: string }
  /** Written on a raw socket by an `inject` step (lab step index `step`): no socket, no timer, nothing retransmits it. */
  | { readonly kind: 'injected'; readonly step: number };

/** A retransmitted or unanswered SYN, SYN-ACK or FIN series and its model. */
export interface ModelledSeries {
  readonly kind: ModelKind;
  /** Copy id → relative arrival of the retransmitted SYN this SYN-ACK answers (not a timer fire). */
  readonly replies: ReadonlyMap<string, number>;
  /** SYN copy id → relative arrival of the unacceptable ACK that re-armed the SYN_SENT timer at TCP_TIMEOUT_MIN (rearmedSynCopies()). */
  readonly rearmed?: ReadonlyMap<string, number>;
  readonly timerCopies: readonly TracedSegment[];
  readonly model: SeriesModel;
  /** Absent when the series was answered (the timer stopped). */
  readonly giveUp?: SeriesGiveUp;
}

export interface AnalysedSeries {
  /** `SYN|client`: the series' kind and sender, as timing checks name them. */
  readonly key: string;
  readonly series: SegmentSeries;
  /** The first delivered segment of the peer that acknowledges (or resets) the series after its first copy. */
  readonly answer?: TracedSegment;
  readonly modelled?: ModelledSeries;
}

/**
 * The peer's answer to the series `host` began with the segment at `frame` of its capture, as the time
 * (absolute µs, capture clock) it reached `host` and its frame there; undefined when it was never answered.
 */
export function answerToSend(
  record: RunRecord,
  series: readonly AnalysedSeries[],
  host: string,
  frame: number,
): { readonly timeUs: number; readonly frame: number | undefined } | undefined {
  const answer = series.find((s) => s.series.from === host && s.series.copies.some((c) => c.senderFrame === frame))?.answer;
  if (answer === undefined) return undefined;
  return { timeUs: (answer.arriveUs ?? timeOfSegment(answer)) + record.startedUs, frame: answer.receiverFrame };
}

/** When a traced segment left (or arrived, without a sender copy), relative µs. */
export function timeOfSegment(segment: TracedSegment): number {
  return segment.departUs ?? segment.arriveUs ?? 0;
}

/** Groups the trace into series and fits the retransmitted ones to the model (pure). */
export function analyseSeries(
  record: RunRecord,
  hosts: readonly {
    readonly name: string;
    readonly settings: HostKernelSettings;
    readonly synAckReplies: ReadonlyMap<number, { readonly timeUs: number }>;
    readonly heldSends: ReadonlyMap<number, HeldSend>;
    readonly tracedFires: TracedTimerFires;
    readonly icmp: readonly IcmpMessage[];
  }[],
  segments: readonly TracedSegment[],
): AnalysedSeries[] {
  const refusals = new Map(record.hosts.map((h) => [h.name, listenerRefusals(record, h)]));
  const actedOn = (a: TracedSegment): boolean => a.receiverFrame === undefined || refusals.get(a.to)?.({ ...a.segment, frame: a.receiverFrame }) === undefined;
  return groupSeries(segments).map((series) => {
    const answer = findAnswer(series, segments, actedOn);
    const key = `${series.kind}|${series.from}`;
    const modelKind: ModelKind | undefined = series.kind === 'SYN' || series.kind === 'SYN-ACK' || series.kind === 'FIN' ? series.kind : undefined;
    if (modelKind === undefined || (series.copies.length <= 1 && answer !== undefined)) return { key, series, ...(answer && { answer }) };
    // A FIN's copies are the sends of its socket's retransmission timer (rto-copies.ts: merged copies, a probe); a
    // series that begins with such a merged copy is part of another one's timeline, not a segment of its own.
    const timeline = modelKind === 'FIN' ? finTimeline(series, segments) : undefined;
    if (timeline === 'merged-copy') return { key, series, ...(answer && { answer }) };
    const host = hosts.find((h) => h.name === series.from);
    const replies = new Map<string, number>();
    if (modelKind === 'SYN-ACK') {
      for (const copy of series.copies) {
        const syn = copy.senderFrame === undefined ? undefined : host?.synAckReplies.get(copy.senderFrame);
        if (syn !== undefined) replies.set(copy.id, syn.timeUs - record.startedUs);
      }
    }
    const rearmed =
      modelKind === 'SYN' ? rearmedSynCopies(series, segments, host?.settings.settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz) : new Map<string, number>();
    for (const [id, atUs] of rearmed) replies.set(id, atUs);
    const timerCopies = timeline?.sends ?? series.copies.filter((c) => !replies.has(c.id));
    const runHost = record.hosts.find((h) => h.name === series.from);
    if (host === undefined || runHost === undefined)
      return {
        key,
        series,
        ...(answer && { answer }),
        modelled: { kind: modelKind, replies, ...(rearmed.size > 0 && { rearmed }), timerCopies, model: { kind: 'no-host' } },
      };
    const injected = series.copies[0]?.injected;
    if (injected !== undefined) {
      return {
        key,
        series,
        ...(answer && { answer }),
        modelled: { kind: modelKind, replies, ...(rearmed.size > 0 && { rearmed }), timerCopies, model: { kind: 'injected', step: injected.step } },
      };
    }
    const source = series.copies[0]?.segment.src ?? '';
    if (!isAddressOf(runHost, source)) {
      return {
        key,
        series,
        ...(answer && { answer }),
        modelled: { kind: modelKind, replies, ...(rearmed.size > 0 && { rearmed }), timerCopies, model: { kind: 'forged', source } },
      };
    }
    // A SYN-ACK reply a hold kept queued is timed when TCP sent it (held-sends.ts).
    const sentOf = (c: TracedSegment): number => {
      const held = c.senderFrame === undefined ? undefined : host.heldSends.get(c.senderFrame);
      return held === undefined ? timeOfSegment(c) : held.sentUs - record.startedUs;
    };
    // The timer's fires, as the timing checks count them: a held copy at TCP's send, a copy sent on release at
    // the fire it belongs to, and the fires that found the last copy still queued (traced-fires.ts).
    const { src, dst } = segmentEndpoints((timerCopies[0] as TracedSegment).segment);
    const timer = timerFiresOf(
      timerCopies.map((c) => ({ frame: c.senderFrame, timeUs: timeOfSegment(c) + record.startedUs, traced: c })),
      host.heldSends,
      host.tracedFires,
      { local: src, remote: dst },
      answer === undefined ? Infinity : record.startedUs + (answer.arriveUs ?? timeOfSegment(answer)),
    );
    const firesUs = timer.fires.map((f) => f.timeUs);
    const predictor = predictorFor(record, modelKind, runHost, host, timerCopies, firesUs, timer.restartsUs, timeline?.probeFirst === true);
    const giveUp = answer === undefined ? findGiveUp(record, runHost, series, modelKind) : undefined;
    let model: SeriesModel;
    if (predictor === 'not-modelled') model = { kind: 'not-modelled' };
    else if ('missing' in predictor) model = { kind: 'missing-settings', missing: predictor.missing };
    else {
      const firstUs = (firesUs[0] ?? record.startedUs) - record.startedUs;
      const sends = observedSendsOf(timer.fires, predictor.hz, (c) => c.traced.senderFrame ?? c.traced.receiverFrame ?? 0, record.startedUs);
      const giveUpMs = giveUp?.timeUs === undefined ? undefined : (giveUp.timeUs - firstUs) / 1000;
      const observed = giveUpMs === undefined ? undefined : { afterMs: giveUpMs, byMs: giveUpMs, source: 'the give-up' };
      // A request dropped by an ICMP error quoting its SYN-ACK (tcp_req_err()) stops its timer as an answer does.
      const first = (timerCopies[0] as TracedSegment).segment;
      const dropIcmp = modelKind === 'SYN-ACK' ? requestDropIcmp(host.icmp, { local: src, remote: dst }, first.seq, first.timeUs) : undefined;
      // Trace times are µs from the run's start; the capture's are absolute.
      const stopsUs = [answer === undefined ? undefined : (answer.arriveUs ?? timeOfSegment(answer)), dropIcmp && dropIcmp.timeUs - record.startedUs].filter(
        (us): us is number => us !== undefined,
      );
      const answeredAtMs = stopsUs.length === 0 ? undefined : (Math.min(...stopsUs) - firstUs) / 1000;
      // A request's SYN-ACK replies restart its timer (tcp_check_req()).
      const rearmedAtMs =
        modelKind === 'SYN-ACK'
          ? series.copies.filter((c) => replies.has(c.id)).map((c) => (sentOf(c) - firstUs) / 1000)
          : timer.restartsUs.map((us) => (us - record.startedUs - firstUs) / 1000);
      const fitOptions = { placement: 'allow-gaps', ...(answeredAtMs !== undefined && { answeredAtMs }), rearmedAtMs } as const;
      const fitWith = (rtoMs?: number): ScheduleFit =>
        fitRetransmissions((o) => predictor.predict({ ...o, ...(rtoMs !== undefined && { rtoMs }) }), sends, observed, predictor.hz, fitOptions);
      const fit = predictor.rto === undefined ? fitWith() : fitOverRtos(predictor.rto, predictor.hz, fitWith).fit;
      const sendOfCopy = timerCopies.map((c) => timer.fires.findIndex((f) => f.copy?.traced === c));
      model = { kind: 'fitted', fit, settings: predictor.settings, sendOfCopy };
    }
    return {
      key,
      series,
      ...(answer && { answer }),
      modelled: { kind: modelKind, replies, ...(rearmed.size > 0 && { rearmed }), timerCopies, model, ...(giveUp && { giveUp }) },
    };
  });
}

/** Scheduling slack of the re-armed fire beyond its jiffies: measured 11 and 16 ms after the ACK at HZ 250; far below the 1 s initial RTO. */
const REARM_SLACK_MS = 50;

/**
 * SYN copies sent because an unacceptable ACK re-armed the retransmit timer: a SYN_SENT socket that receives a segment
 * whose ACK does not acknowledge its SYN (an old duplicate's SYN-ACK) answers with RST and, while it has retransmitted
 * nothing yet (icsk_retransmits == 0), sets the timer to TCP_TIMEOUT_MIN, 2 jiffies (tcp_rcv_synsent_state_process(),
 * net/ipv4/tcp_input.c: "Previous FIN/ACK or RST/ACK might be ignored."), so the SYN leaves again at once, not after the
 * RTO. Only the first retransmission can be one. Copy id → relative arrival of that ACK.
 */
export function rearmedSynCopies(series: SegmentSeries, segments: readonly TracedSegment[], hz: number): Map<string, number> {
  const rearmed = new Map<string, number>();
  const [first, second] = series.copies;
  const secondUs = second?.departUs;
  if (first === undefined || second === undefined || secondUs === undefined) return rearmed;
  const windowUs = ((3 * 1000) / hz + REARM_SLACK_MS) * 1000;
  const synSeq = first.segment.seq;
  const trigger = segments.find((t) => {
    const { src, dst } = segmentEndpoints(t.segment);
    return (
      src === series.tuple.remote &&
      dst === series.tuple.local &&
      t.arriveUs !== undefined &&
      t.fate.kind !== 'dropped' &&
      (t.segment.flags & (TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.ACK &&
      t.segment.ack !== (synSeq + 1) >>> 0 &&
      t.arriveUs > timeOfSegment(first) &&
      t.arriveUs <= secondUs &&
      secondUs - t.arriveUs <= windowUs
    );
  });
  if (trigger?.arriveUs !== undefined) rearmed.set(second.id, trigger.arriveUs);
  return rearmed;
}

/** The sends of a FIN series' retransmission timer among the socket's traced segments, or `merged-copy` when its first copy re-sends earlier data. */
function finTimeline(series: SegmentSeries, segments: readonly TracedSegment[]): { sends: TracedSegment[]; probeFirst: boolean } | 'merged-copy' {
  const first = series.copies[0] as TracedSegment;
  const own = segments.filter((t) => {
    const ends = segmentEndpoints(t.segment);
    return t.from === series.from && t.senderFrame !== undefined && ends.src === series.tuple.local && ends.dst === series.tuple.remote;
  });
  const earlier = own.filter((t) => sequenceLength(t.segment) > 0 && timeOfSegment(t) < timeOfSegment(first));
  if (earlier.some((t) => t.segment.seq === first.segment.seq && t.segment.flags !== first.segment.flags)) return 'merged-copy';
  const timeline = rtoCopies(
    own.map((t) => t.segment),
    first.segment,
  );
  return { sends: timeline.sends.map((s) => own.find((t) => t.segment === s) as TracedSegment), probeFirst: timeline.probe !== undefined };
}

function groupSeries(segments: readonly TracedSegment[]): SegmentSeries[] {
  const byKey = new Map<string, TracedSegment[]>();
  for (const traced of segments) {
    const s = traced.segment;
    // The trace's retransmission key, so that copy numbers agree with the diagram.
    const key = sequenceLength(s) > 0 ? retransmissionKey(s) : traced.id;
    byKey.set(key, [...(byKey.get(key) ?? []), traced]);
  }
  return [...byKey.values()].map((copies) => {
    const first = copies[0] as TracedSegment;
    const ends = segmentEndpoints(first.segment);
    return {
      kind: kindOf(first.segment.flags, first.segment.payloadLength),
      from: first.from,
      to: first.to,
      tuple: { local: ends.src, remote: ends.dst },
      copies,
    };
  });
}

/** The peer's first delivered segment answering the series' first copy; `actedOn` leaves out what the receiver's TCP ignored (listenerRefusals()). */
function findAnswer(series: SegmentSeries, segments: readonly TracedSegment[], actedOn: (a: TracedSegment) => boolean): TracedSegment | undefined {
  const first = series.copies[0] as TracedSegment;
  const s = first.segment;
  const end = sequenceEnd(s);
  return segments.find((a) => {
    if (a.fate.kind !== 'delivered' || a.from !== series.to || a.to !== series.from || !actedOn(a)) return false;
    const r = a.segment;
    if (r.src !== s.dst || r.srcPort !== s.dstPort || r.dst !== s.src || r.dstPort !== s.srcPort) return false;
    if ((a.arriveUs ?? timeOfSegment(a)) < timeOfSegment(first)) return false;
    // A reset answers a SYN only when it acknowledges exactly the SYN (tcp_rcv_synsent_state_process(): a RST
    // without an acceptable ACK is discarded, RFC 9293 §3.10.7.3); other series' resets are taken as sent in window.
    if ((r.flags & TcpFlag.RST) !== 0) return series.kind !== 'SYN' || ((r.flags & TcpFlag.ACK) !== 0 && r.ack === end);
    // An ACK that moves snd_una past the series' first byte stops its backoff (tcp_ack(): icsk_retransmits = 0, the
    // timer re-armed for the new head), though it may acknowledge only part of a GSO super-segment (rto-copies.ts).
    return (r.flags & TcpFlag.ACK) !== 0 && ((r.ack - s.seq) | 0) > 0;
  });
}

interface Predictor {
  /** `rtoMs`: for a series whose RTO was estimated (`rto`), the candidate the fit tries (fitOverRtos()). */
  readonly predict: (options: { timerLateness: TimerLateness; rtoMs?: number }) => RetransmissionSchedule;
  readonly hz: number;
  readonly settings: string;
  readonly rto?: FinRtoEstimate;
}

function predictorFor(
  record: RunRecord,
  kind: ModelKind,
  host: RunHost,
  analysed: { readonly settings: HostKernelSettings; readonly icmp: readonly IcmpMessage[] },
  timerCopies: readonly TracedSegment[],
  /** When the timer sent each copy, or fired with nothing sent (absolute µs: timerFiresOf()). */
  firesUs: readonly number[],
  restartsUs: readonly number[],
  probeFirst: boolean,
): Predictor | { missing: string[] } | 'not-modelled' {
  const recorded = analysed.settings;
  const settings = recorded.settings;
  const hz = settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz;
  switch (kind) {
    case 'SYN': {
      const missing = missingSettings(recorded, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']);
      if (missing.length > 0) return { missing };
      // The connection's TCP_USER_TIMEOUT bounds its SYNs as checkSynRetransmits() says.
      const { segment } = timerCopies[0] as TracedSegment;
      const { src, dst } = segmentEndpoints(segment);
      const conn = connOfTuple(host.events, { local: src, remote: dst });
      const userTimeoutMs = conn === undefined ? undefined : connTimerOptions(record, host.name, conn, segment.srcPort).userTimeoutMs;
      const synSettings = { ...settings, userTimeoutMs };
      return {
        predict: (o) => predictSynSchedule(synSettings, o),
        hz,
        settings:
          settingsText(settings, ['tcp_syn_retries', 'tcp_syn_linear_timeouts']) +
          (userTimeoutMs === undefined ? '' : `, TCP_USER_TIMEOUT ${userTimeoutMs} ms`),
      };
    }
    case 'SYN-ACK': {
      const missing = missingSettings(recorded, ['tcp_synack_retries']);
      if (missing.length > 0) return { missing };
      const first = timerCopies[0] as TracedSegment;
      const { segment } = first;
      const deferred = deferredRequestOf(record, host, segment.srcPort, segmentEndpoints(segment).dst);
      const firstUs = firesUs[0] ?? 0;
      const deferAccept = deferred === undefined ? undefined : { retrans: deferred.retrans, ackedAtMs: (deferred.ackedAtUs - firstUs) / 1000 };
      return {
        predict: (o) => predictSynAckSchedule(settings, { ...o, ...(deferAccept !== undefined && { deferAccept }) }),
        hz,
        settings: settingsText(settings, ['tcp_synack_retries']) + (deferred === undefined ? '' : `, TCP_DEFER_ACCEPT ${deferred.seconds} s`),
      };
    }
    case 'FIN': {
      // Only a socket the application close()d is an orphan; after shutdown() tcp_retries2 applies (not modelled here).
      if (record.lab.steps.some((s) => s.kind === 'shutdown' && s.host === host.name)) return 'not-modelled';
      const missing = missingSettings(recorded, ['tcp_orphan_retries']);
      if (missing.length > 0) return { missing };
      const peer = (timerCopies[0] as TracedSegment).segment.dst;
      const restartsMs = restartsUs.map((us) => (us - (firesUs[0] ?? 0)) / 1000);
      const { estimate, options } = rtoSeriesOf(firesUs, analysed.icmp, peer, recorded.rtoMinMs, hz, probeFirst ? 'probe' : undefined, restartsMs);
      return {
        predict: (o) => predictOrphanFinSchedule(settings, o.rtoMs ?? estimate.rtoMs, { ...o, ...options }),
        hz,
        settings: `${settingsText(settings, ['tcp_orphan_retries'])}, RTO ${describeRto(estimate)}`,
        rto: estimate,
      };
    }
    default:
      return assertNever(kind);
  }
}

function settingsText(settings: Partial<KernelSettings>, names: readonly (keyof KernelSettings)[]): string {
  return names.map((n) => `${n}=${String(settings[n])}`).join(', ');
}

/** How the series' socket gave up, and whether (when) the run saw it. */
function findGiveUp(record: RunRecord, host: RunHost, series: SegmentSeries, kind: ModelKind): SeriesGiveUp {
  const rel = (us: number): number => us - record.startedUs;
  switch (kind) {
    case 'SYN': {
      const error = host.events.find((e): e is Extract<AgentEvent, { type: 'error' }> => {
        if (e.type !== 'error') return false;
        const tuple = findConnTuple(host.events, e.conn);
        return tuple !== undefined && tuple.local === series.tuple.local && tuple.remote === series.tuple.remote;
      });
      const timedOut = error !== undefined && error.code === 'ETIMEDOUT';
      return {
        timeUs: timedOut ? rel(error.timeUs) : undefined,
        ...(timedOut && { error }),
        who: error === undefined ? host.name : `${host.name}/${error.conn}`,
      };
    }
    case 'SYN-ACK': {
      const gone = host.events.find(
        (e) => e.type === 'socket-gone' && e.local === series.tuple.local && e.remote === series.tuple.remote && parseTcpState(e.state) === 'SYN_RECEIVED',
      );
      return { timeUs: gone === undefined ? undefined : rel(gone.timeUs), who: host.name };
    }
    case 'FIN': {
      const gone = host.events.find((e) => e.type === 'socket-gone' && e.local === series.tuple.local && e.remote === series.tuple.remote);
      const goneState = gone?.type === 'socket-gone' ? (parseTcpState(gone.state) ?? gone.state) : undefined;
      return { timeUs: gone === undefined ? undefined : rel(gone.timeUs), who: host.name, ...(goneState !== undefined && { goneState }) };
    }
    default:
      return assertNever(kind);
  }
}
