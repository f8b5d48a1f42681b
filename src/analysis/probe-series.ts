import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { DataRetransmissionTracker, type ProbeKind, type ProbeMark } from './capture-retransmissions.js';
import { segmentEndpoints, segmentOfSocket, type SocketTuple } from './run-sockets.js';
import { timingText } from '../messages/check-words/timing-words.js';
import type { Text } from '../messages/text.js';

/*
 * The probes one socket sent, read from its host's capture, for the keepalive and persist checks. Which
 * segments are probes is decided by the capture's one classifier (capture-retransmissions.ts probeKindOf());
 * this adds what the timers are anchored on and what ended them. Both timers start at the last segment the
 * socket received before its first probe: keepalive idleness is measured from the last receipt
 * (keepalive_time_elapsed()), and every ACK that leaves the window shut re-arms the persist timer
 * (tcp_input.c tcp_ack() → tcp_ack_probe()).
 */

/** The probes of one kind a socket sent, with their anchor and their end. */
export interface ProbeSeries {
  readonly kind: ProbeKind;
  readonly tuple: SocketTuple;
  readonly probes: readonly ProbeMark[];
  /** The last segment received before the first probe (what the timer started from). */
  readonly anchor: TcpSegment | undefined;
  /** The RST the socket sent after its last probe, if any (a keepalive give-up sends one). */
  readonly rstAfter: TcpSegment | undefined;
  /** The first RST the socket received after its first probe: the peer reset the connection (tcp_reset()), which ends the series. */
  readonly resetBy: TcpSegment | undefined;
  /** For zero-window probes: the first segment of the peer that opened the window again, if any. */
  readonly windowOpened: TcpSegment | undefined;
  /** The last segment of the tuple in the capture (the horizon of a prediction). */
  readonly lastSegment: TcpSegment | undefined;
}

/** The probes of `kind` that `tuple.local` sent to `tuple.remote` in a capture (one host's view, capture order). */
export function probeSeriesOf(segments: readonly TcpSegment[], tuple: SocketTuple, kind: ProbeKind): ProbeSeries {
  const own = segments.filter((s) => segmentOfSocket(s, tuple));
  const isSent = (s: TcpSegment): boolean => segmentEndpoints(s).src === tuple.local;
  const tracker = new DataRetransmissionTracker(Number.MAX_SAFE_INTEGER);
  // Side 0 is the socket itself, whatever opened the connection.
  for (const segment of own) tracker.observe(segment, isSent(segment) ? 0 : 1);
  const probes = tracker.result.probes.filter((p) => p.from === 'a' && p.kind === kind);
  const first = probes[0];
  const last = probes.at(-1);
  const anchor = first === undefined ? undefined : own.findLast((s) => !isSent(s) && s.timeUs <= first.timeUs);
  const rstAfter = last === undefined ? undefined : own.find((s) => isSent(s) && s.timeUs >= last.timeUs && (s.flags & TcpFlag.RST) !== 0);
  const resetBy = first === undefined ? undefined : own.find((s) => !isSent(s) && s.timeUs >= first.timeUs && (s.flags & TcpFlag.RST) !== 0);
  const windowOpened = kind !== 'zero-window probe' || first === undefined ? undefined : own.find((s) => !isSent(s) && s.timeUs > first.timeUs && s.window > 0);
  return { kind, tuple, probes, anchor, rstAfter, resetBy, windowOpened, lastSegment: own.at(-1) };
}

/** The socket tuples of a host's capture that sent a probe of `kind`, in order of their first probe. */
export function probingTuples(segments: readonly TcpSegment[], hostAddress: string, kind: ProbeKind): SocketTuple[] {
  const seen = new Map<string, SocketTuple>();
  for (const segment of segments) {
    if (segment.src !== hostAddress) continue;
    const { src, dst } = segmentEndpoints(segment);
    const key = `${src} ${dst}`;
    if (!seen.has(key)) seen.set(key, { local: src, remote: dst });
  }
  return [...seen.values()].filter((tuple) => probeSeriesOf(segments, tuple, kind).probes.length > 0);
}

/**
 * The RTO behind a persist schedule, from the probes' offsets after the anchor: a timer fires no earlier than due,
 * so base << k ≤ gap k for every gap whose backoff still doubled (k ≤ tcp_retries2, below tcp_rto_max);
 * the estimate is the smallest such bound in whole jiffies, never below tcp_rto_min (tcp_probe0_base()).
 */
export function estimatePersistRto(
  probesMs: readonly number[],
  retries2: number,
  rtoMaxMs: number,
  rtoMinMs: number,
  hz: number,
): { rtoMs: number; source: Text } {
  const gaps = probesMs.map((t, i) => t - (i === 0 ? 0 : (probesMs[i - 1] ?? 0)));
  const bounds = gaps.slice(0, retries2 + 1).flatMap((gap, k) => (gap < rtoMaxMs ? [gap / 2 ** k] : []));
  const jiffyMs = 1000 / hz;
  if (bounds.length === 0) return { rtoMs: rtoMinMs, source: timingText((w) => w.persistNoGap) };
  const floored = Math.floor(Math.min(...bounds) / jiffyMs + 1e-9) * jiffyMs;
  if (floored < rtoMinMs) return { rtoMs: rtoMinMs, source: timingText((w) => w.gapsBelowRtoMin(rtoMinMs)) };
  return { rtoMs: floored, source: timingText((w) => w.persistFromGaps) };
}
