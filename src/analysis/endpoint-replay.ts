import { fastRetransmitOf, rtoCopies, type RtoCopies } from './rto-copies.js';
import { acknowledges, formatFlags, sequenceEnd, sequenceLength, TcpFlag, type IcmpMessage, type TcpSegment } from '../observe/packet.js';
import { splitSocketAddress } from '../observe/socket-address.js';
import { rtoSeriesOf } from './icmp-during-series.js';
import { LINUX_TCP_CONSTANTS, resolveKernelSettings, type KernelSettings } from '../tcp/kernel-settings.js';
import { icmpDropsRequest } from '../tcp/icmp-errors.js';
import { linuxMachine } from '../tcp/linux-profile.js';
import type { TcpState } from '../tcp/state.js';
import type { TcpContext, TcpEvent, TransitionRow } from '../tcp/tcp-machine.js';
import {
  finWait2DurationMs,
  predictEstablishedSchedule,
  predictOrphanFinSchedule,
  predictSynAckSchedule,
  type SynQueuePressure,
  predictSynSchedule,
  timeWaitDurationMs,
  timerSlackMs,
  USERSPACE_ERROR_LATENCY_MS,
} from '../tcp/timing-model.js';

import { type AcceptQueueRefusal, type DeferredRequest } from './accept-queue.js';
import { assertNever } from '../assert-never.js';

import { icmpQuotingSocket, segmentEndpoints, segmentOfSocket, type QuotingIcmp, type SocketTuple } from './run-sockets.js';

import { REJECT_REPLY_WINDOW_US } from './rule-timeline.js';
import { synAckDropLimits } from './sampled-reads.js';
import { findSynAckReplies, isPureSyn, isSynAck } from './syn-ack-replies.js';
import { describeRto, giveUpWindowOverRtos, predictGiveUpWindow } from './timing-fit.js';
import { estimatePersistRto, probeSeriesOf } from './probe-series.js';
import { compareProbeSchedule, predictPersistSchedule } from '../tcp/probe-timing.js';
import { REPLAY_WORDS, type ReplayWords } from '../messages/check-words/conformance-words.js';
import { same, say, type Text } from '../messages/text.js';
import type { Lang } from '../messages/catalog.js';

/*
 * Replay: the state path each endpoint *should* have taken, predicted from its own packet trace and
 * its application's calls by the Linux machine (linuxMachine(host settings)).
 *
 * How it works. For one socket of one host, the user calls (lab steps on that connection, timed by the
 * step records) and the segments of the host's own capture on that 4-tuple are merged in time order
 * and fed to the machine as events. A received segment is classified against what the endpoint has
 * sent (its ISS and FIN position): a SYN-ACK acknowledging our SYN is `rcv-syn-ack`, an ACK covering
 * our FIN is `rcv-ack-of-fin`, a FIN that also covers ours is `rcv-fin-ack-of-fin` (RFC 9293 §3.3.2
 * Note 2), and so on. A segment the capture shows arriving but that the run's rule timeline says an
 * INPUT/PREROUTING DROP or REJECT rule of that host dropped (rule-timeline.ts) never reached TCP, and is skipped. A sent
 * segment stands for a call when the call itself is unknown (a FIN without a close step: close()).
 * Segments that change nothing (duplicates, plain data in ESTABLISHED) are ignored.
 * Timers come last: when the socket stays in a state that a timer ends, the timer's predicted expiry
 * (timing-model.ts: SYN give-up — or the agent's ETIMEDOUT —, request drop, orphan FIN give-up,
 * FIN_WAIT_2 timeout, TIME_WAIT) is added if it falls before the end of the run, with its window
 * [on time, as late as the timer wheel allows]. A retransmission give-up (the request's, or an orphan's
 * in FIN_WAIT_1, CLOSING or LAST_ACK: tcp_write_timeout() → tcp_write_err(), no RST) is predicted from
 * the host's settings and anchored, like compareSchedule(), at the last retransmission the capture
 * shows: each timer re-arms from its real fire, so the lateness of the earlier ones is not guessed.
 * A request's limit is not always tcp_synack_retries: reqsk_timer_handler() cuts it toward 2 at any fire
 * where the listener's SYN queue is more than half full of old requests (a SYN flood). The queue at each
 * fire is read from the host's samples (its SYN_RECV rows on the listener's address and their retransmit
 * counts: sampled-reads.ts synQueueReadings()) and the backlog from the lab's listen step; when the
 * readings around a fire allow two limits, both drops are predicted as separate windows (ReplayEntry
 * `windows`), and a drop in neither is not explained.
 *
 * The replay is a prediction, not a check: conformance.ts compares it with the sampled states.
 */

/** Why the replayed endpoint entered a state. */
export type ReplayCause =
  | { readonly kind: 'segment'; readonly frame: number; readonly direction: 'sent' | 'received'; readonly flags: string }
  | { readonly kind: 'call'; readonly op: string }
  /** An ICMP error the host received quoting this socket's segment (tcp_v4_err(), tcp_v6_err()). */
  | { readonly kind: 'icmp'; readonly frame: number; readonly family: 4 | 6; readonly type: number; readonly code: number }
  | { readonly kind: 'timer'; readonly name: string };

export interface ReplayEntry {
  readonly state: TcpState;
  /** When the state was entered (µs, capture clock); for a timer, its on-time expiry. */
  readonly timeUs: number;
  /** For timers: the latest moment the expiry may come (timer wheel slack); else equal to timeUs. */
  readonly latestUs: number;
  /**
   * For a timer whose evidence allows more than one expiry (a request whose SYN-ACK limit the sampled
   * queue cannot pin down): the separate windows, all inside [timeUs, latestUs]; the gaps between them
   * are not accepted. Absent: the one window [timeUs, latestUs].
   */
  readonly windows?: readonly { readonly timeUs: number; readonly latestUs: number }[];
  readonly cause: ReplayCause;
  /** The machine row taken (absent for the initial state). */
  readonly row?: TransitionRow;
  /** A timer's name in Chinese (`cause.name` is its English): timerNameOf() gives it in every language. */
  readonly zh?: { readonly timer: string };
}

/** The call op of a socket the capture shows already open: no call the replay knows of. */
export const OPEN_BEFORE_CAPTURE = 'unknown (open before the capture)';

export type EndpointRole = 'active' | 'passive' | 'unknown';

export interface EndpointReplay {
  readonly host: string;
  readonly tuple: SocketTuple;
  readonly conn: string | undefined;
  readonly role: EndpointRole;
  /** The first entry is the state the socket starts from (CLOSED before connect(), LISTEN for a passive socket). */
  readonly timeline: readonly ReplayEntry[];
  /** Segments that did not reach TCP or that the machine had no row for, with the reason (English; skippedOf(): every language). */
  readonly skipped: readonly { readonly frame: number; readonly reason: string }[];
  /** The Chinese of the words above: `skipped[i].reason` is `zh.skipped[i]`. */
  readonly zh: { readonly skipped: readonly string[] };
  /**
   * When this connection owned the 4-tuple (µs, capture clock): a new connection on a reused 4-tuple (a
   * SYN with a new ISN, e.g. out of TIME_WAIT) starts a replay of its own. Absent: the whole run.
   */
  readonly window?: { readonly fromUs: number; readonly untilUs: number };
}

/** A user call on the socket, as the replay needs it. */
export interface ReplayCall {
  /** `unlisten`: close(2) of the listener the socket (a passive request) came to. */
  readonly op: 'connect' | 'listen' | 'unlisten' | 'send' | 'shutdown' | 'close' | 'abort';
  readonly timeUs: number;
}

export interface ReplayInput {
  readonly host: string;
  readonly tuple: SocketTuple;
  readonly conn?: string;
  /** The host's own capture (all segments; the replay keeps the tuple's). */
  readonly segments: readonly TcpSegment[];
  /** The ICMP messages of the host's capture (soft errors and RFC 6069 reverts of a data series: icmp-during-series.ts). */
  readonly icmp?: readonly IcmpMessage[];
  readonly calls: readonly ReplayCall[];
  readonly settings: Partial<KernelSettings>;
  /** Why a received segment never reached TCP (a firewall rule), or undefined when it did (a string reads the same in every language). */
  readonly droppedBy?: (segment: TcpSegment) => Text | string | undefined;
  /** The application's error for this connection (e.g. ETIMEDOUT of connect()). */
  readonly error?: { readonly code: string; readonly timeUs: number };
  /** End of the observation: predicted timers after it are not added. */
  readonly endUs: number;
  /** The host's tcp_rto_min in ms (net.ipv4.tcp_rto_min_us), when recorded; else TCP_RTO_MIN. */
  readonly rtoMinMs?: number;
  /** The host's duplicate-ACK threshold (net.ipv4.tcp_reordering: reorderingOf()), for fast retransmissions; else 3. */
  readonly reordering?: number;
  /**
   * A passive socket's listener queue as sampled: every distinct reading of it from `fromUs` to `toUs`
   * (the reading in force at `fromUs` first), for reqsk_timer_handler()'s cut of the SYN-ACK limit.
   * Absent: the limit is tcp_synack_retries.
   */
  readonly synQueueReadings?: (fromUs: number, toUs: number, self?: string) => readonly SynQueuePressure[];
  /** What the listener's TCP did not act on (accept-queue.ts listenerRefusals()): a full accept queue, TCP_DEFER_ACCEPT. */
  readonly acceptQueue?: AcceptQueueRefusal;
  /** A passive socket's request kept by TCP_DEFER_ACCEPT after its bare ACK (deferredRequestOf()): its SYN-ACK schedule changes. */
  readonly deferred?: DeferredRequest;
  /** This connection's time on a reused 4-tuple (EndpointReplay.window); `segments` and `endUs` are already cut to it. */
  readonly window?: { readonly fromUs: number; readonly untilUs: number };
}

const FLAGS_OF_INTEREST = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.FIN | TcpFlag.RST;

/** The sentence in every language, from the words of the replay. */
function words(sentence: (w: ReplayWords) => string): Text {
  return say(REPLAY_WORDS, sentence);
}

/** A timer entry's name in every language (`connect() ETIMEDOUT` reads the same in all); '' for another cause. */
export function timerNameOf(entry: ReplayEntry): Text {
  const name = entry.cause.kind === 'timer' ? entry.cause.name : '';
  return { en: name, zh: entry.zh?.timer ?? name };
}

/** The segments the replay left out, with why in every language. */
export function skippedOf(replay: EndpointReplay): { frame: number; reason: Text }[] {
  return replay.skipped.map((skip, i) => ({ frame: skip.frame, reason: { en: skip.reason, zh: replay.zh.skipped[i] ?? skip.reason } }));
}

/** Replays one endpoint (one socket of one host) through the Linux machine. */
export function replayEndpoint(input: ReplayInput): EndpointReplay {
  const machine = linuxMachine(input.settings);
  const settings = resolveKernelSettings(input.settings);
  const own = input.segments.filter((s) => segmentOfSocket(s, input.tuple));
  const isSent = (s: TcpSegment): boolean => segmentEndpoints(s).src === input.tuple.local;
  const firstSyn = own.find((s) => (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
  const connectCall = input.calls.find((c) => c.op === 'connect');
  const role: EndpointRole =
    connectCall !== undefined || (firstSyn !== undefined && isSent(firstSyn)) ? 'active' : firstSyn !== undefined ? 'passive' : 'unknown';

  const timeline: ReplayEntry[] = [];
  const skipped: { frame: number; reason: string }[] = [];
  const skippedZh: string[] = [];
  const skip = (frame: number, reason: Text | string): void => {
    const text = typeof reason === 'string' ? same(reason) : reason;
    skipped.push({ frame, reason: text.en });
    skippedZh.push(text.zh);
  };
  let state: TcpState;
  let context: TcpContext = {};
  if (role === 'passive') {
    const listen = input.calls.find((c) => c.op === 'listen');
    state = widened('LISTEN');
    context = { openedBy: 'passive' };
    const row = machine.nextTransitions('CLOSED', 'open-passive')[0];
    const start = listen?.timeUs ?? (firstSyn?.timeUs ?? 0) - 1;
    timeline.push({ state, timeUs: start, latestUs: start, cause: { kind: 'call', op: 'listen' }, ...(row && { row }) });
  } else if (role === 'active') {
    state = widened('CLOSED');
    const start = Math.min(connectCall?.timeUs ?? Infinity, firstSyn?.timeUs ?? Infinity);
    timeline.push({ state, timeUs: start, latestUs: start, cause: { kind: 'call', op: 'socket' } });
  } else {
    // No handshake in the capture: the socket was open before it started.
    state = widened('ESTABLISHED');
    const start = own[0]?.timeUs ?? input.calls[0]?.timeUs ?? 0;
    timeline.push({ state, timeUs: start, latestUs: start, cause: { kind: 'call', op: OPEN_BEFORE_CAPTURE } });
  }

  // Sequence bookkeeping (RFC 9293 §3.4): what acknowledges our SYN and our FIN.
  let iss: number | undefined;
  let ourFinAckValue: number | undefined;
  let ourFinAcked = false;
  let peerIsn: number | undefined;
  let peerFinSeen = false;
  /** RCV.NXT as far as the capture shows it: our own ACKs, and the peer's in-order segments TCP took. */
  let rcvNxt: number | undefined;
  const advanceRcvNxt = (to: number): void => {
    if (rcvNxt === undefined || ((to - rcvNxt) | 0) > 0) rcvNxt = to >>> 0;
  };
  let closedByApp: 'close' | 'shutdown' | undefined;
  /** When the listener of this passive request was closed (an `unlisten` while the request was in SYN_RECEIVED). */
  let listenerClosedUs: number | undefined;
  const ackCovers = (s: TcpSegment, value: number | undefined): boolean => value !== undefined && (s.flags & TcpFlag.ACK) !== 0 && ((s.ack - value) | 0) >= 0;

  const apply = (event: TcpEvent, timeUs: number, cause: ReplayCause, extra: TcpContext = {}): boolean => {
    const result = machine.step(state, event, { ...context, ...extra });
    if ('illegal' in result) return false;
    context = { ...result.context, lingerZero: false, unreadData: false };
    if (result.to !== state) {
      state = result.to;
      timeline.push({ state, timeUs, latestUs: timeUs, cause, row: result.row });
    }
    return true;
  };

  type Item = { timeUs: number; order: number; call?: ReplayCall; segment?: TcpSegment; icmp?: QuotingIcmp };
  const items: Item[] = [
    // A call timed at Infinity never ran (a close waiting for data the peer's window never let out, a close-on-fin with no FIN).
    ...input.calls.filter((c) => c.op !== 'listen' && Number.isFinite(c.timeUs)).map((call, i) => ({ timeUs: call.timeUs, order: i, call })),
    ...own.map((segment, i) => ({ timeUs: segment.timeUs, order: 1e6 + i, segment })),
    ...icmpQuotingSocket(input.icmp ?? [], input.tuple).map((icmp, i) => ({ timeUs: icmp.timeUs, order: 2e6 + i, icmp })),
  ].sort((x, y) => x.timeUs - y.timeUs || x.order - y.order);

  for (const item of items) {
    fireTimersBefore(item);
    if (item.icmp !== undefined) {
      replayIcmp(item.icmp);
      continue;
    }
    if (item.call !== undefined) {
      const { op, timeUs } = item.call;
      const cause: ReplayCause = { kind: 'call', op };
      switch (op) {
        case 'connect':
          if (state === 'CLOSED') apply('open-active', timeUs, cause);
          break;
        case 'close':
        case 'shutdown': {
          closedByApp = op;
          // close() is abortive (RST) when the next segment the socket sends is a RST (SO_LINGER 0, unread data).
          const next = own.find((s) => s.timeUs >= timeUs && isSent(s));
          const abortive = op === 'close' && next !== undefined && (next.flags & TcpFlag.RST) !== 0 && next.timeUs - timeUs < 1_000_000;
          apply('close', timeUs, cause, { lingerZero: abortive });
          break;
        }
        case 'abort':
          apply('abort', timeUs, cause);
          break;
        case 'unlisten':
          if (state === 'SYN_RECEIVED' && context.openedBy === 'passive') listenerClosedUs = timeUs;
          break;
        case 'send':
        case 'listen':
          break;
        default:
          assertNever(op);
      }
      continue;
    }
    const s = item.segment as TcpSegment;
    const flags = s.flags & FLAGS_OF_INTEREST;
    const sent = isSent(s);
    const cause: ReplayCause = { kind: 'segment', frame: s.frame, direction: sent ? 'sent' : 'received', flags: formatFlags(s.flags) };
    if (sent) {
      if ((flags & TcpFlag.ACK) !== 0 && (flags & TcpFlag.RST) === 0) advanceRcvNxt(s.ack);
      if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        iss ??= s.seq;
        if (state === 'CLOSED' && timeline.length === 1) apply('open-active', s.timeUs, cause);
      } else if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
        iss ??= s.seq;
      }
      if ((flags & TcpFlag.FIN) !== 0) {
        ourFinAckValue ??= sequenceEnd(s);
        if (closedByApp === undefined && (state === 'ESTABLISHED' || state === 'CLOSE_WAIT' || state === 'SYN_RECEIVED')) {
          closedByApp = 'close';
          apply('close', s.timeUs, cause);
        }
      }
      if ((flags & TcpFlag.RST) !== 0) {
        // `REJECT --reject-with tcp-reset` answers a dropped segment from netfilter: TCP sent nothing.
        const rejected = own.find(
          (r) => !isSent(r) && r.timeUs <= s.timeUs && s.timeUs - r.timeUs <= REJECT_REPLY_WINDOW_US && input.droppedBy?.(r) !== undefined,
        );
        const byFirewall = rejected === undefined ? undefined : words((w) => w.rejectReply(rejected.frame));
        if (byFirewall !== undefined) skip(s.frame, byFirewall);
        else if (closedByApp === undefined && ['ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'FIN_WAIT_2', 'SYN_RECEIVED'].includes(state))
          apply('abort', s.timeUs, cause);
      }
      continue;
    }
    const dropped = input.droppedBy?.(s) ?? input.acceptQueue?.(s);
    if (dropped !== undefined) {
      skip(s.frame, dropped);
      continue;
    }
    const handled = replayReceived(s, cause);
    // What TCP took moves RCV.NXT on, when it starts at RCV.NXT (a segment past a hole waits; a RST carries nothing).
    if ((flags & TcpFlag.RST) === 0 && ((flags & TcpFlag.SYN) !== 0 || rcvNxt === undefined || ((s.seq - rcvNxt) | 0) <= 0)) advanceRcvNxt(sequenceEnd(s));
    const unhandled = handled ? undefined : words((w) => w.noTransition(state, formatFlags(s.flags)));
    if (unhandled !== undefined) skip(s.frame, unhandled);
  }

  function replayReceived(s: TcpSegment, cause: ReplayCause): boolean {
    const flags = s.flags & FLAGS_OF_INTEREST;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ack = (flags & TcpFlag.ACK) !== 0;
    // The connection is gone (a timer ended it): a segment for no connection, answered by RST (§3.10.7.1).
    if (state === 'CLOSED' && timeline.length > 1 && !(syn && !ack)) return true;
    if ((flags & TcpFlag.RST) !== 0) {
      if (state === 'LISTEN' || state === 'CLOSED') return true;
      if (state === 'SYN_SENT' && !(ack && iss !== undefined && s.ack === (iss + 1) >>> 0)) return true; // unacceptable: ignored (§3.10.7.3)
      if (state !== 'SYN_SENT' && !resetsAtSequence(s)) return true;
      return apply('rcv-rst', s.timeUs, cause);
    }
    if (syn && !ack) {
      if (state === 'LISTEN' || state === 'SYN_SENT') {
        peerIsn = s.seq;
        // A new request (after the last one was dropped) sends a SYN-ACK with an ISN of its own.
        if (state === 'LISTEN') iss = undefined;
        return apply('rcv-syn', s.timeUs, cause);
      }
      if (state === 'SYN_RECEIVED' && context.openedBy === 'passive' && peerIsn !== undefined && s.seq !== peerIsn) return apply('rcv-syn', s.timeUs, cause);
      return true; // a retransmitted SYN: the SYN-ACK goes out again, the state stays
    }
    if (syn && ack) {
      if (state === 'SYN_SENT') {
        peerIsn = s.seq;
        return apply(iss !== undefined && s.ack === (iss + 1) >>> 0 ? 'rcv-syn-ack' : 'rcv-bad-ack', s.timeUs, cause);
      }
      if (state === 'SYN_RECEIVED' && ackCovers(s, iss === undefined ? undefined : (iss + 1) >>> 0)) return apply('rcv-ack-of-syn', s.timeUs, cause);
      return true;
    }
    if (state === 'SYN_RECEIVED' && ackCovers(s, iss === undefined ? undefined : (iss + 1) >>> 0)) {
      if (!apply('rcv-ack-of-syn', s.timeUs, cause)) return false;
    }
    const orphan = closedByApp === 'close';
    if (s.payloadLength > 0 && orphan && (state === 'FIN_WAIT_1' || state === 'FIN_WAIT_2')) return apply('rcv-data', s.timeUs, cause);
    const fin = (flags & TcpFlag.FIN) !== 0;
    const coversOurFin = !ourFinAcked && ackCovers(s, ourFinAckValue);
    if (fin && !peerFinSeen) {
      peerFinSeen = true;
      if (state === 'FIN_WAIT_1' && coversOurFin) {
        ourFinAcked = true;
        return apply('rcv-fin-ack-of-fin', s.timeUs, cause);
      }
      if (coversOurFin && (state === 'CLOSING' || state === 'LAST_ACK')) {
        ourFinAcked = true;
        apply('rcv-ack-of-fin', s.timeUs, cause);
      }
      return apply('rcv-fin', s.timeUs, cause);
    }
    if (coversOurFin && (state === 'FIN_WAIT_1' || state === 'CLOSING' || state === 'LAST_ACK')) {
      ourFinAcked = true;
      return apply('rcv-ack-of-fin', s.timeUs, cause);
    }
    return true;
  }

  /**
   * An ICMP error quoting a request's SYN-ACK (seq = ISS) drops the request when tcp_req_err() aborts on it
   * (icmpDropsRequest()). A SYN_SENT socket is not closed here at the ICMP's arrival: the kernel may close it later,
   * in process context (measured under load: 5.4 ms after the ICMP, 49 µs after connect()'s error), so its close
   * stays bounded by the application's error (nextTimer()).
   */
  function replayIcmp(m: QuotingIcmp): void {
    if (iss === undefined || m.quoted.seq !== iss) return;
    if (state === 'SYN_RECEIVED' && context.openedBy === 'passive' && icmpDropsRequest(m.family, m.type, m.code)) {
      apply('rcv-icmp-error', m.timeUs, { kind: 'icmp', frame: m.frame, family: m.family, type: m.type, code: m.code });
    }
  }

  /**
   * Whether a RST in a synchronized state (or SYN_RECEIVED) resets: RFC 5961 §3.2, as tcp_validate_incoming()
   * does it — only a sequence number of exactly RCV.NXT (or RCV.NXT − 1 after the peer's FIN, tcp_reset_check())
   * resets; one inside the window draws a challenge ACK, one outside it is dropped; neither changes the state.
   * With RCV.NXT unknown (no segment showed it), the RST is taken.
   */
  function resetsAtSequence(s: TcpSegment): boolean {
    if (rcvNxt === undefined) return true;
    return s.seq === rcvNxt || (peerFinSeen && s.seq === (rcvNxt - 1) >>> 0);
  }

  addTimers(input.endUs);

  /**
   * Timers fire between segments too: before the next call or segment, the state's pending timer fires if
   * its window closed before that item (it must have), or if its window had opened and the item is a
   * received segment the host answered at once with a bare RST (RFC 9293 §3.10.7.1: no connection any
   * more — e.g. an orphan's FIN_WAIT_2 timeout before the peer's late FIN, a request dropped before a late ACK).
   */
  function fireTimersBefore(item: Item): void {
    const answeredAsNoConnection = item.segment !== undefined && !isSent(item.segment) && noSocketReply(item.segment) !== undefined;
    addTimers(item.timeUs, (timer) => timer.latestUs < item.timeUs || (answeredAsNoConnection && timer.timeUs <= item.timeUs));
  }

  /** A bare RST (no ACK) the host sent within 10 ms of a received segment, with the sequence number it acknowledged. */
  function noSocketReply(received: TcpSegment): TcpSegment | undefined {
    if ((received.flags & TcpFlag.RST) !== 0) return undefined;
    return own.find(
      (r) =>
        isSent(r) &&
        (r.flags & (TcpFlag.RST | TcpFlag.ACK)) === TcpFlag.RST &&
        r.timeUs >= received.timeUs &&
        r.timeUs - received.timeUs <= 10_000 &&
        r.seq === received.ack,
    );
  }

  function addTimers(beforeUs: number, fires: (timer: TimerPrediction) => boolean = () => true): void {
    for (let guard = 0; guard < 3; guard += 1) {
      const last = timeline[timeline.length - 1] as ReplayEntry;
      const timer = nextTimer(last);
      if (timer === undefined || timer.timeUs > beforeUs || !fires(timer)) return;
      const result = machine.step(state, timer.event, context);
      if ('illegal' in result || result.to === state) return;
      state = result.to;
      context = result.context;
      timeline.push({
        state,
        timeUs: timer.timeUs,
        latestUs: timer.latestUs,
        cause: { kind: 'timer', name: timer.name.en },
        row: result.row,
        zh: { timer: timer.name.zh },
        ...(timer.windows !== undefined && { windows: timer.windows }),
      });
    }
  }

  type TimerPrediction = { event: TcpEvent; name: Text; timeUs: number; latestUs: number; windows?: ReplayEntry['windows'] };
  function nextTimer(last: ReplayEntry): TimerPrediction | undefined {
    const window = (startUs: number, onTimeMs: number, lateMs: number, name: Text, event: TcpEvent) => ({
      event,
      name,
      timeUs: startUs + onTimeMs * 1000,
      latestUs: startUs + lateMs * 1000,
    });
    switch (state) {
      case 'SYN_SENT': {
        if (input.error !== undefined && input.error.timeUs >= last.timeUs) {
          // User space sees the error after the kernel gave up (USERSPACE_ERROR_LATENCY_MS): the give-up lies before it.
          const earliestUs = Math.max(last.timeUs, input.error.timeUs - USERSPACE_ERROR_LATENCY_MS * 1000);
          return { event: 'retransmit-give-up', name: same(`connect() ${input.error.code}`), timeUs: earliestUs, latestUs: input.error.timeUs };
        }
        const startUs = firstSyn?.timeUs ?? last.timeUs;
        return window(
          startUs,
          predictSynSchedule(settings).failAtMs,
          predictSynSchedule(settings, { timerLateness: 'max' }).failAtMs,
          words((w) => w.synGiveUp),
          'retransmit-give-up',
        );
      }
      case 'SYN_RECEIVED': {
        if (context.openedBy !== 'passive') return undefined;
        if (listenerClosedUs !== undefined) {
          // The request outlives its closed listener in the hash table until its next segment (tcp_v4_rcv(): the
          // listener is not TCP_LISTEN, inet_csk_reqsk_queue_drop_and_put(), then no socket: RST) or its next timer
          // fire (reqsk_timer_handler(): the listener is not TCP_LISTEN, drop): by the first segment it received, else
          // some time before the observation ends (the fire's moment is not predicted).
          const next = own.find((r) => !isSent(r) && r.timeUs >= listenerClosedUs);
          return { event: 'close', name: words((w) => w.listenerClosed), timeUs: listenerClosedUs, latestUs: next?.timeUs ?? input.endUs };
        }
        // Timer fires only: a SYN-ACK answering a retransmitted SYN that reached TCP is a reply (syn-ack-replies.ts).
        // This request's SYN-ACKs (ISN `iss`): an earlier request on the tuple that was dropped had its own.
        const synAcks = own.filter((s) => isSent(s) && isSynAck(s) && s.seq === iss);
        const replies = findSynAckReplies(
          synAcks,
          own.filter((r) => !isSent(r) && isPureSyn(r)),
          (r) => input.droppedBy?.(r) !== undefined,
        );
        const timerSends = synAcks.filter((a) => !replies.has(a.frame));
        const first = timerSends[0];
        if (first === undefined) {
          return window(
            last.timeUs,
            predictSynAckSchedule(settings).failAtMs,
            predictSynAckSchedule(settings, { timerLateness: 'max' }).failAtMs,
            words((w) => w.synAckGiveUp),
            'retransmit-give-up',
          );
        }
        const offsetOf = (a: TcpSegment): number => (a.timeUs - first.timeUs) / 1000;
        return requestDropTimer(first.timeUs, timerSends.map(offsetOf), synAcks.filter((a) => replies.has(a.frame)).map(offsetOf));
      }
      case 'FIN_WAIT_1':
      case 'CLOSING':
      case 'LAST_ACK': {
        // Only an orphan (close(), not shutdown()) follows tcp_orphan_retries.
        if (closedByApp !== 'close' || ourFinAcked) return undefined;
        // The socket's one retransmission timer resends its head: the FIN, or data still unacknowledged before it.
        const head = unackedHead();
        if (head === undefined) return undefined;
        const { offsetsMs, estimate, options } = rtoSeries(rtoCopies(sentOccupying(), head));
        const giveUp = giveUpWindowOverRtos(
          estimate,
          settings.hz,
          (rtoMs, lateness) => predictOrphanFinSchedule(settings, rtoMs, { ...options, ...lateness }),
          offsetsMs,
        );
        return window(
          head.timeUs,
          giveUp.earliestMs,
          giveUp.latestMs,
          words((w) => w.orphanFinGiveUp(state, settings.tcp_orphan_retries, describeRto(estimate))),
          'retransmit-give-up',
        );
      }
      case 'ESTABLISHED':
      case 'CLOSE_WAIT':
        return dataGiveUpTimer() ?? persistGiveUpTimer();
      case 'FIN_WAIT_2': {
        if (closedByApp !== 'close') return undefined;
        const ms = finWait2DurationMs(settings, 200);
        const name = words((w) => w.finWait2Timeout);
        return window(last.timeUs, ms, ms + timerSlackMs(ms, settings.hz), name, 'fin-wait-2-timeout');
      }
      case 'TIME_WAIT': {
        const ms = timeWaitDurationMs();
        const name = words((w) => w.timeWaitExpiry);
        return window(last.timeUs, ms, ms + timerSlackMs(ms, settings.hz), name, 'time-wait-expiry');
      }
      default:
        return undefined;
    }
  }

  /**
   * Giving up on unacknowledged data (tcp_timer.c tcp_retransmit_timer() → tcp_write_timeout():
   * retransmits_timed_out(tcp_retries2) — the time since the first retransmission against
   * tcp_model_timeout(tcp_retries2, TCP_RTO_MIN) — then tcp_write_err(): ETIMEDOUT or the ICMP soft error, CLOSED,
   * no RST; ICMP net/host unreachable undo doublings: icmpDuringSeries(), the data check's rule). The copies
   * of the first data segment no received ACK covers give the RTO (estimateFinRto(): the same estimate, a
   * tail-loss probe first) and anchor the window, like the orphan's FIN.
   */
  /** The copies of a series sent on the RTO timer, read as the checks read them (rtoSeriesOf()). */
  function rtoSeries(copies: RtoCopies) {
    const received = own.filter((r) => !isSent(r) && input.droppedBy?.(r) === undefined);
    const fast = fastRetransmitOf(copies, received, input.reordering ?? 3) !== undefined;
    return rtoSeriesOf(
      copies.sends.map((c) => c.timeUs),
      input.icmp ?? [],
      splitSocketAddress(input.tuple.remote)?.address ?? '',
      input.rtoMinMs,
      settings.hz,
      copies.probe !== undefined ? 'probe' : fast ? 'fast' : undefined,
    );
  }

  /** The socket's sent segments that occupy sequence space (data, FIN), RST-free. */
  function sentOccupying(): TcpSegment[] {
    return own.filter((s) => isSent(s) && (s.flags & (TcpFlag.SYN | TcpFlag.RST)) === 0 && sequenceLength(s) > 0);
  }

  /** The first segment the socket sent (data or FIN) that no delivered ACK covers: what its retransmission timer resends. */
  function unackedHead(): TcpSegment | undefined {
    const acked = (s: TcpSegment): boolean => own.some((r) => !isSent(r) && input.droppedBy?.(r) === undefined && acknowledges(r, s));
    return sentOccupying().find((s) => !acked(s));
  }

  function dataGiveUpTimer(): TimerPrediction | undefined {
    const firstUnacked = unackedHead();
    if (firstUnacked === undefined || firstUnacked.payloadLength === 0) return undefined;
    const copies = rtoCopies(sentOccupying(), firstUnacked);
    if (copies.sends.length < 2) return undefined; // never retransmitted in the capture: nothing to time a give-up by
    const { offsetsMs, estimate, icmp, options } = rtoSeries(copies);
    const giveUp = giveUpWindowOverRtos(
      estimate,
      settings.hz,
      (rtoMs, lateness) => predictEstablishedSchedule(settings, rtoMs, { ...options, ...lateness }),
      offsetsMs,
    );
    return {
      event: 'retransmit-give-up',
      name: words((w) => w.dataGiveUp(state, settings.tcp_retries2, describeRto(estimate), icmp.softError ?? 'ETIMEDOUT')),
      timeUs: firstUnacked.timeUs + giveUp.earliestMs * 1000,
      latestUs: firstUnacked.timeUs + giveUp.latestMs * 1000,
    };
  }

  /**
   * Giving up on zero-window probes (tcp_timer.c tcp_probe_timer(): tcp_retries2 unanswered probes, or
   * TCP_USER_TIMEOUT since the first probe; tcp_write_err(): ETIMEDOUT, no RST), while the peer's window
   * stayed shut: the same prediction the persist-probes check fits, on time and with late timers.
   */
  function persistGiveUpTimer(): TimerPrediction | undefined {
    const series = probeSeriesOf(own, input.tuple, 'zero-window probe');
    if (series.probes.length === 0 || series.windowOpened !== undefined) return undefined;
    const anchorUs = series.anchor?.timeUs ?? (series.probes[0] as { timeUs: number }).timeUs;
    const probesMs = series.probes.map((p) => (p.timeUs - anchorUs) / 1000);
    const rto = estimatePersistRto(probesMs, settings.tcp_retries2, settings.tcp_rto_max_ms, input.rtoMinMs ?? LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS, settings.hz);
    const answered = (k: number): boolean => series.probes[k]?.answeredByFrame !== undefined;
    const windows = (['none', 'max'] as const).flatMap((timerLateness) => {
      const schedule = predictPersistSchedule({ rtoMs: rto.rtoMs }, settings, { timerLateness, answered });
      const item = compareProbeSchedule(schedule, probesMs, undefined, settings.hz, 0).find((i) => i.what === 'give-up');
      return item?.earliestMs === undefined || item.latestMs === undefined ? [] : [{ earliestMs: item.earliestMs, latestMs: item.latestMs }];
    });
    if (windows.length === 0) return undefined;
    return {
      event: 'retransmit-give-up',
      name: words((w) => w.persistGiveUp(state, settings.tcp_retries2, settings.userTimeoutMs, rto.rtoMs)),
      timeUs: anchorUs + Math.min(...windows.map((w) => w.earliestMs)) * 1000,
      latestUs: anchorUs + Math.max(...windows.map((w) => w.latestMs)) * 1000,
    };
  }

  /**
   * When a request socket is dropped: at the fire where num_timeout reaches the limit reqsk_timer_handler()
   * computes then (effectiveSynAckRetries(): tcp_synack_retries, cut toward 2 while the SYN queue is more
   * than half full of old requests). The queue at each fire is read from the samples around that fire's
   * window; when the readings there allow different limits, every drop they allow is a window of its own.
   */
  function requestDropTimer(firstUs: number, offsets: readonly number[], rearmedAtMs: readonly number[]): TimerPrediction {
    const retries = settings.tcp_synack_retries;
    const plain = words((w) => w.requestDrop(retries, false, undefined));
    const { deferred } = input;
    const deferAccept = deferred === undefined ? {} : { deferAccept: { retrans: deferred.retrans, ackedAtMs: (deferred.ackedAtUs - firstUs) / 1000 } };
    const windowFor = (limit: number | undefined) =>
      predictGiveUpWindow(
        (o) => predictSynAckSchedule(settings, { ...o, ...deferAccept, ...(limit !== undefined && { retriesLimit: limit }) }),
        offsets,
        settings.hz,
        rearmedAtMs,
      );
    const readingsOf = input.synQueueReadings;
    if (readingsOf === undefined) {
      const giveUp = windowFor(undefined);
      return { event: 'retransmit-give-up', name: plain, timeUs: firstUs + giveUp.earliestMs * 1000, latestUs: firstUs + giveUp.latestMs * 1000 };
    }
    const candidates = synAckDropLimits(settings, firstUs, offsets.length - 1, readingsOf, input.tuple.remote);
    const windows = candidates.map((c) => ({ ...c, ...windowFor(c.k) }));
    const describe = (lang: Lang, k: number): string => candidates.find((c) => c.k === k)?.words[lang] ?? REPLAY_WORDS[lang].dropLimit(k);
    if (windows.length === 0) {
      const giveUp = windowFor(undefined);
      return { event: 'retransmit-give-up', name: plain, timeUs: firstUs + giveUp.earliestMs * 1000, latestUs: firstUs + giveUp.latestMs * 1000 };
    }
    const cut = windows.some((w) => w.k < retries);
    const which = (w: ReplayWords, lang: Lang): string =>
      windows.length === 1
        ? describe(lang, (windows[0] as { k: number }).k)
        : w.eachLimitAccepted(
            windows.map((o) => w.limitWindow(describe(lang, o.k), (o.earliestMs / 1000).toFixed(3), (o.latestMs / 1000).toFixed(3))).join(w.limitsOr),
          );
    return {
      event: 'retransmit-give-up',
      name: say(REPLAY_WORDS, (w, lang) => w.requestDrop(retries, cut, which(w, lang))),
      timeUs: firstUs + Math.min(...windows.map((w) => w.earliestMs)) * 1000,
      latestUs: firstUs + Math.max(...windows.map((w) => w.latestMs)) * 1000,
      ...(windows.length > 1 && { windows: windows.map((w) => ({ timeUs: firstUs + w.earliestMs * 1000, latestUs: firstUs + w.latestMs * 1000 })) }),
    };
  }

  const zh = { skipped: skippedZh };
  return { host: input.host, tuple: input.tuple, conn: input.conn, role, timeline, skipped, zh, ...(input.window !== undefined && { window: input.window }) };
}

/** The state as a TcpState, so the replay loop does not narrow `state` to its first value. */
function widened(state: TcpState): TcpState {
  return state;
}
