import type { AgentEvent } from '../agent/protocol.js';
import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { parseTcpState } from '../tcp/state.js';
import { isAddressOf, type RunHost, type RunRecord } from './run-record.js';
import { segmentEndpoints } from './run-sockets.js';
import { portOf } from './socket-timeline.js';
import { listenStepBacklog } from './sampled-reads.js';
import { isPureSyn } from './syn-ack-replies.js';
import { REPLAY_WORDS, type ReplayWords } from '../messages/check-words/conformance-words.js';
import { say, type Text } from '../messages/text.js';

/*
 * What a listener's TCP does not act on, for the replay and the checks (listenerRefusals()):
 * TCP_DEFER_ACCEPT's dropped bare ACKs (deferAcceptOn(), below), and the accept queue of a listener whose
 * application never calls accept() (a `listen` step with `accept: false`), as Linux fills it:
 * - A final ACK makes a child socket only while the queue is not full: tcp_check_req() →
 *   tcp_v4_syn_recv_sock() fails on sk_acceptq_is_full() (sk_ack_backlog > sk_max_ack_backlog: a backlog
 *   of 1 holds 2). Then, with tcp_abort_on_overflow=0, the ACK is ignored (`inet_rsk(req)->acked = 1`): the
 *   request stays and keeps retransmitting its SYN-ACK until tcp_synack_retries drops it; with =1 the
 *   request is reset (a RST to the client).
 * - A SYN is dropped at once while the queue is full: tcp_conn_request() (`sk_acceptq_is_full(sk)`, LISTENOVERFLOWS).
 * A child leaves the queue when an `accept` step's accept(2) takes it (the agent's `accepted` event). Requests
 * are walked in time order over the listener host's capture. Pure.
 */

/** Why the listener's TCP did not act on a received segment because of its full accept queue, or undefined. */
export type AcceptQueueRefusal = (segment: TcpSegment) => Text | undefined;

/** The sentence in every language, from the words of the analysis. */
function words(sentence: (w: ReplayWords) => string): Text {
  return say(REPLAY_WORDS, sentence);
}

/** The accept-queue refusals of the listener on `port` of `host`, or undefined when its application accepts. */
function acceptQueueOf(run: RunRecord, host: RunHost, port: number): AcceptQueueRefusal | undefined {
  const step = run.lab.steps.find((s) => s.kind === 'listen' && s.host === host.name && s.port === port);
  if (step === undefined || step.kind !== 'listen' || step.accept !== false) return undefined;
  const backlog = listenStepBacklog(run, host, port) ?? 0;
  const abortOnOverflow = host.kernelSettings['net.ipv4.tcp_abort_on_overflow'] === '1';
  const refused = new Map<number, Text>();
  const children = new Set<string>();
  const isn = new Map<string, number>(); // our SYN-ACK's sequence number per remote: what a final ACK must cover
  const full = (): boolean => children.size > backlog;
  const synDropped = words((w) => w.synDroppedQueueFull(w.acceptQueueFull(backlog)));
  const ackRefused = words((w) => (abortOnOverflow ? w.finalAckRefused(w.acceptQueueFull(backlog)) : w.finalAckIgnored(w.acceptQueueFull(backlog))));
  // Each accept step's accept(2) takes its child out of the queue: the agent's `accepted` event names it.
  const accepts = host.events.filter((e): e is Extract<AgentEvent, { type: 'accepted' }> => e.type === 'accepted' && portOf(e.local) === port);
  let nextAccept = 0;
  const taken = new Set<string>();
  for (const s of host.segments) {
    for (let a = accepts[nextAccept]; a !== undefined && a.timeUs <= s.timeUs; a = accepts[++nextAccept]) {
      children.delete(a.remote);
      taken.add(a.remote);
    }
    if (isAddressOf(host, s.src) && s.srcPort === port && (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
      isn.set(segmentEndpoints(s).dst, s.seq);
      continue;
    }
    if (!isAddressOf(host, s.dst) || s.dstPort !== port) continue;
    const remote = segmentEndpoints(s).src;
    if (children.has(remote) || taken.has(remote)) continue;
    if (isPureSyn(s)) {
      if (full() && !isn.has(remote)) refused.set(s.frame, synDropped);
      continue;
    }
    const ours = isn.get(remote);
    const completes = (s.flags & (TcpFlag.ACK | TcpFlag.RST | TcpFlag.SYN)) === TcpFlag.ACK && ours !== undefined && s.ack === (ours + 1) >>> 0;
    if (!completes) continue;
    if (!full()) children.add(remote);
    else refused.set(s.frame, ackRefused);
  }
  return (segment) => (isAddressOf(host, segment.dst) ? refused.get(segment.frame) : undefined);
}

/**
 * TCP_DEFER_ACCEPT of `seconds` as the kernel keeps it: a count of SYN-ACK timeouts (net/ipv4/tcp.c
 * secs_to_retrans(seconds, TCP_TIMEOUT_INIT / HZ, TCP_RTO_MAX / HZ): 1 s, 2 s, 4 s … periods until their
 * sum reaches `seconds`; 0 s is off).
 */
export function deferAcceptRetrans(seconds: number): number {
  if (seconds <= 0) return 0;
  let timeout = 1;
  let period = timeout;
  let retrans = 1;
  while (seconds > period && retrans < 255) {
    retrans += 1;
    timeout = Math.min(timeout * 2, 120);
    period += timeout;
  }
  return retrans;
}

/** What TCP_DEFER_ACCEPT did on one listener: the bare ACKs it dropped, and when each request was first acked. */
interface DeferAccept {
  readonly seconds: number;
  readonly retrans: number;
  /** Frame of a dropped bare ACK → why. */
  readonly dropped: ReadonlyMap<number, Text>;
  /** Remote `addr:port` → when its request was first acked by a dropped bare ACK (µs). */
  readonly ackedAtUs: ReadonlyMap<string, number>;
}

/**
 * The bare final ACKs a TCP_DEFER_ACCEPT listener drops (tcp_check_req(): while the request's num_timeout
 * is below rskq_defer_accept, an ACK carrying no data — end_seq = rcv_isn + 1 — only marks it acked; the
 * request stays in SYN_RECV and no child is made). An ACK with data makes the child at once. num_timeout
 * counts the request timer's fires (reqsk_timer_handler()); while acked, a fire resends the SYN-ACK only
 * once num_timeout reaches rskq_defer_accept − 1 (syn_ack_recalc(): the last chance), and num_timeout is
 * then rskq_defer_accept. So: the first bare ACK is dropped when fewer than rskq_defer_accept SYN-ACK
 * retransmissions preceded it; a later one is dropped unless a SYN-ACK was retransmitted after the first.
 * Undefined for a listener without the option (the lab's listen step sets it before listen(2)).
 */
function deferAcceptOn(run: RunRecord, host: RunHost, port: number): DeferAccept | undefined {
  const ms = deferAcceptMsOf(run, host.name, port);
  const retrans = ms === undefined ? 0 : deferAcceptRetrans(ms / 1000);
  if (ms === undefined || retrans === 0) return undefined;
  const dropped = new Map<number, Text>();
  const deferring = words((w) => w.bareAckDeferred(ms / 1000, retrans));
  const ackedAtUs = new Map<string, number>();
  const requests = new Map<string, { isn: number; peerIsn: number; retransmits: number; retransmittedSinceAcked: boolean; child: boolean }>();
  for (const s of host.segments) {
    const synAck = (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    if (synAck && isAddressOf(host, s.src) && s.srcPort === port) {
      const remote = segmentEndpoints(s).dst;
      const request = requests.get(remote);
      if (request === undefined || request.isn !== s.seq) {
        requests.set(remote, { isn: s.seq, peerIsn: (s.ack - 1) >>> 0, retransmits: 0, retransmittedSinceAcked: false, child: false });
        ackedAtUs.delete(remote);
      } else {
        request.retransmits += 1;
        if (ackedAtUs.has(remote)) request.retransmittedSinceAcked = true;
      }
      continue;
    }
    if (!isAddressOf(host, s.dst) || s.dstPort !== port) continue;
    const remote = segmentEndpoints(s).src;
    const request = requests.get(remote);
    if (request === undefined || request.child || (s.flags & (TcpFlag.ACK | TcpFlag.RST | TcpFlag.SYN)) !== TcpFlag.ACK) continue;
    if (s.ack !== (request.isn + 1) >>> 0) continue;
    const bare = s.payloadLength === 0 && (s.flags & TcpFlag.FIN) === 0 && s.seq === (request.peerIsn + 1) >>> 0;
    const deferred = bare && (ackedAtUs.has(remote) ? !request.retransmittedSinceAcked : request.retransmits < retrans);
    if (!deferred) {
      request.child = true;
      continue;
    }
    if (!ackedAtUs.has(remote)) ackedAtUs.set(remote, s.timeUs);
    dropped.set(s.frame, deferring);
  }
  return { seconds: ms / 1000, retrans, dropped, ackedAtUs };
}

/** The bare ACKs a TCP_DEFER_ACCEPT listener on `port` dropped (deferAcceptOn()), or undefined without the option. */
function deferAcceptOf(run: RunRecord, host: RunHost, port: number): AcceptQueueRefusal | undefined {
  const defer = deferAcceptOn(run, host, port);
  if (defer === undefined) return undefined;
  return (segment) => (isAddressOf(host, segment.dst) ? defer.dropped.get(segment.frame) : undefined);
}

/** A request a TCP_DEFER_ACCEPT listener kept after dropping its bare ACK: the option and when it was acked. */
export interface DeferredRequest {
  readonly seconds: number;
  /** rskq_defer_accept: the option as SYN-ACK timeouts (deferAcceptRetrans()). */
  readonly retrans: number;
  readonly ackedAtUs: number;
}

/** The request of `remote` on a TCP_DEFER_ACCEPT listener that dropped its bare ACK, for predictSynAckSchedule(); else undefined. */
export function deferredRequestOf(run: RunRecord, host: RunHost, port: number, remote: string): DeferredRequest | undefined {
  const defer = deferAcceptOn(run, host, port);
  const ackedAtUs = defer?.ackedAtUs.get(remote);
  if (defer === undefined || ackedAtUs === undefined) return undefined;
  return { retrans: defer.retrans, ackedAtUs, seconds: defer.seconds };
}

/** TCP_DEFER_ACCEPT (ms) of the lab's listen step on `host` and `port`, if it sets one. */
function deferAcceptMsOf(run: RunRecord, host: string, port: number): number | undefined {
  const step = run.lab.steps.find((s) => s.kind === 'listen' && s.host === host && s.port === port);
  return step?.kind === 'listen' ? step.options?.deferAcceptMs : undefined;
}

/**
 * How many timeouts a sampled row may count without a copy sent (its retransmission count, a request's
 * num_timeout, running ahead of the capture): a request of a TCP_DEFER_ACCEPT listener, once acked, resends
 * nothing at its fires below rskq_defer_accept − 1 (syn_ack_recalc()); 0 for every other row.
 */
export function silentRequestTimeouts(run: RunRecord, host: string, row: { readonly local: string; readonly state: string }): number {
  if (parseTcpState(row.state) !== 'SYN_RECEIVED') return 0;
  const ms = deferAcceptMsOf(run, host, portOf(row.local));
  return ms === undefined ? 0 : Math.max(0, deferAcceptRetrans(ms / 1000) - 1);
}

/**
 * The received segments a listener's TCP did not act on, over every listen step of `host`: final ACKs a full
 * accept queue refused (acceptQueueOf()) and bare ACKs TCP_DEFER_ACCEPT dropped (deferAcceptOf()); undefined
 * when no listener of the host refuses anything.
 */
export function listenerRefusals(run: RunRecord, host: RunHost): AcceptQueueRefusal | undefined {
  const ports = new Set(run.lab.steps.flatMap((s) => (s.kind === 'listen' && s.host === host.name ? [s.port] : [])));
  const refusals = [...ports].flatMap((port) => [acceptQueueOf(run, host, port), deferAcceptOf(run, host, port)]).filter((r) => r !== undefined);
  if (refusals.length === 0) return undefined;
  return (segment) => {
    for (const refusal of refusals) {
      const reason = refusal(segment);
      if (reason !== undefined) return reason;
    }
    return undefined;
  };
}
