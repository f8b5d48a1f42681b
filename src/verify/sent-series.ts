import { hostAnalysisOf, type RunAnalysis } from '../analysis/analyze-run.js';
import { observedSendsOf, timerFiresOf, type ReleasedCopy } from '../analysis/traced-fires.js';
import type { HeldSend } from '../analysis/held-sends.js';
import { isAddressOf, relTime, type RunHost, type RunRecord } from '../analysis/run-record.js';
import { segmentEndpoints, type SocketTuple } from '../analysis/run-sockets.js';
import { fastRetransmitOf, reorderingOf, rtoCopies, type FastRetransmit } from '../analysis/rto-copies.js';
import { ruleDropOf } from '../analysis/rule-timeline.js';
import type { ObservedSend } from '../analysis/timing-fit.js';
import { DEFAULT_KERNEL_SETTINGS } from '../tcp/kernel-settings.js';
import { acknowledges, type TcpSegment } from '../observe/packet.js';
import { timingText } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/* The sends of one socket's retransmitted segment, as its timer made them: what every timing check fits (timing-checks.ts). */

export interface SentSeries {
  readonly sends: ObservedSend[];
  /** When TCP sent the first copy: its capture time, or, for a copy a `hold` step held, when TCP sent it (held-sends.ts). */
  readonly firstUs: number;
  readonly tuple: SocketTuple;
  /** One line per copy whose time is not its capture time (it waited in the host's held queue, or for the copy before it). */
  readonly held: readonly Text[];
  /** When TCP restarted the timer by sending a copy on release, ms from the first send (traced-fires.ts). */
  readonly restartsMs: readonly number[];
  /** The second send is a tail-loss probe of a later segment, or a fast retransmission (rto-copies.ts). */
  readonly firstRepeat?: 'probe' | 'fast';
  readonly fast?: FastRetransmit;
}

/**
 * The sends of one socket's retransmitted segment in the host's capture: segments from the host
 * matching `isKind`, on `tuple` (or the first such segment's tuple), with the first one's sequence number,
 * each timed when TCP's timer sent it (a copy a hold kept queued is captured at its release: analysis/held-sends.ts;
 * a copy that waited for the one before it to leave the host counts at its fire: analysis/traced-fires.ts).
 */
export function sentRetransmissions(
  run: RunRecord,
  analysis: RunAnalysis,
  host: RunHost,
  tuple: SocketTuple | undefined,
  isKind: (s: TcpSegment) => boolean,
): SentSeries {
  const candidates = host.segments.filter((s) => isAddressOf(host, s.src) && isKind(s));
  const first = candidates.find((s) => tuple === undefined || (segmentEndpoints(s).src === tuple.local && segmentEndpoints(s).dst === tuple.remote));
  if (first === undefined) return { sends: [], firstUs: 0, tuple: tuple ?? { local: '', remote: '' }, held: [], restartsMs: [] };
  const ends = segmentEndpoints(first);
  const own: SocketTuple = { local: ends.src, remote: ends.dst };
  const { heldSends, tracedFires, settings } = hostAnalysisOf(analysis, host.name);
  const socketSent = host.segments.filter((s) => s.srcPort === first.srcPort && s.src === first.src && s.dst === first.dst && s.dstPort === first.dstPort);
  const timeline = rtoCopies(socketSent, first);
  const { sends: copies, probe } = timeline;
  // What the socket's TCP received: the host's own firewall may have dropped some of the peer's ACKs.
  const received = host.segments.filter(
    (s) =>
      s.src === first.dst &&
      s.srcPort === first.dstPort &&
      s.dst === first.src &&
      s.dstPort === first.srcPort &&
      ruleDropOf(analysis.rules, host.name, s.frame) === undefined,
  );
  const fast = fastRetransmitOf(timeline, received, reorderingOf(host.kernelSettings));
  // The timer stops at the first ACK of the segment that reached TCP: later fires on the tuple are another segment's.
  const answeredUs = received.find((r) => acknowledges(r, first))?.timeUs ?? Infinity;
  const { fires, restartsUs } = timerFiresOf(copies, heldSends, tracedFires, own, answeredUs);
  const firstUs = fires[0]?.timeUs ?? first.timeUs;
  const sends = observedSendsOf(fires, settings.settings.hz ?? DEFAULT_KERNEL_SETTINGS.hz, (copy) => copy.frame);
  const held = copies.flatMap((s, index) => {
    const send = heldSends.get(s.frame);
    const release = tracedFires.released.get(s.frame);
    return [
      ...(send === undefined ? [] : [heldLine(run, host.name, s, index + 1, send)]),
      ...(release === undefined ? [] : [releasedLine(run, host.name, s, index + 1, release)]),
    ];
  });
  const queued = fires.filter((f) => f.copy === undefined).map((f) => relTime(run, f.timeUs));
  if (queued.length > 0) held.push(timingText((w) => w.queuedFires(host.name, queued.join(', '))));
  return {
    sends,
    firstUs,
    tuple: own,
    held,
    restartsMs: restartsUs.map((us) => (us - firstUs) / 1000),
    firstRepeat: probe !== undefined ? 'probe' : fast !== undefined ? 'fast' : undefined,
    fast,
  };
}

/** The evidence that copy `copy` of a series belongs to a fire that found the copy before still queued in `host`, and when TCP sent it. */
function releasedLine(run: RunRecord, host: string, segment: TcpSegment, copy: number, release: ReleasedCopy): Text {
  return timingText((w) => w.releasedCopy(host, copy, segment.frame, relTime(run, release.fireUs), relTime(run, release.sentUs)));
}

/** The evidence that a series' first repeat was a fast retransmission, and what set it off (none when it was not). */
export function fastLine(run: RunRecord, host: string, fast: FastRetransmit | undefined): Text[] {
  if (fast === undefined) return [];
  return [timingText((w) => w.fastRetransmitLine(host, fast.copy.frame, relTime(run, fast.copy.timeUs), fast.trigger.frame, fast.sack, fast.reordering))];
}

/** The evidence that copy `copy` of a series waited in `host`'s held queue, and what dates TCP's send of it. */
function heldLine(run: RunRecord, host: string, segment: TcpSegment, copy: number, send: HeldSend): Text {
  const hold = send.holdStep + 1;
  const release = send.releaseStep + 1;
  const sentAt = relTime(run, send.sentUs);
  const capturedAt = relTime(run, segment.timeUs);
  const { how } = send;
  if (how.kind === 'state' && copy === 1) return timingText((w) => w.heldFirstCopy(host, hold, sentAt, how.state, capturedAt, release, segment.frame));
  return timingText((w) => w.heldCopy(host, copy, segment.frame, hold, release, sentAt, capturedAt, how.kind === 'state' ? { kind: 'retransmit' } : how));
}
