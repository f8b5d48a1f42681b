/**
 * The state path of each endpoint of a captured connection, as a replay through the reference
 * machine (`tcplab fsm --linux`: linuxMachine() with default settings).
 *
 * Model. Segments arrive in capture order. Each segment is an event for two endpoints: for its
 * sender, the user call or reply that made it (a SYN is open-active, a FIN is close, a RST from a
 * synchronized state is abort; a retransmission changes nothing); for its receiver, a segment
 * arrival classified as RFC 9293 §3.10.7 does (an acceptable SYN-ACK, an ACK that covers our SYN or
 * our FIN, a FIN, an acceptable RST, or an unacceptable ACK — the challenge ACK of §3.10.7.3, answered
 * with a RST and no state change). Every change of state is `machine.step(state, event)`: a
 * transition that is not an edge of the machine is never recorded (it becomes an anomaly instead).
 *
 * What the capture cannot show is inferred only from what the segments prove, each inferred
 * transition marked `inferred`: an endpoint that sends a SYN-ACK had received a SYN (so it was
 * LISTEN, or SYN_SENT in a simultaneous open); an endpoint whose segments carry an ACK after its
 * SYN had received a SYN-ACK (a one-sided capture of the client); a SYN-ACK received by an
 * endpoint never seen sending a SYN means it sent one (a one-sided capture of the server). A receiver
 * whose first sight is a SYN waits for its answer: a SYN-ACK means LISTEN, a RST means CLOSED, none
 * means "unknown: the SYN was never answered". A connection picked up mid-stream starts with
 * "unknown: capture starts mid-stream" and is assumed ESTABLISHED from its first segment on.
 */
import type { TcpSegment } from '../observe/packet.js';
import { TcpFlag } from '../observe/packet.js';
import { linuxMachine } from '../tcp/linux-profile.js';
import type { StepResult, TcpContext, TcpEvent, TcpMachine } from '../tcp/tcp-machine.js';
import type { TcpState } from '../tcp/state.js';

/** The machine captures are replayed through: the one `tcplab fsm --linux` prints. */
export const CAPTURE_MACHINE: TcpMachine = linuxMachine();

export const UNKNOWN_MID_STREAM = 'unknown: capture starts mid-stream';
export const UNKNOWN_UNANSWERED = 'unknown: the SYN was never answered';
/** The marker of withdrawUnacknowledgedFin(). */
export const unknownFinArrival = (frame: number): string => `unknown: the peer's FIN (frame ${frame}) was never acknowledged, so its arrival is unproven`;
export const UNKNOWN_EARLIER = 'unknown: an earlier connection on this tuple (it answered the SYN with a challenge ACK)';

/** One recorded transition (an edge of CAPTURE_MACHINE). */
export interface StateTransition {
  from: TcpState;
  event: TcpEvent;
  to: TcpState;
  /** The frame that caused it (or that proves it, when inferred). */
  frame: number;
  /** True when the transition is deduced from what a later segment proves, not seen. */
  inferred: boolean;
}

/** An endpoint's replayed history. */
export interface EndpointHistory {
  /** Markers ("unknown: …") and states in order; consecutive states are edges of the machine. */
  path: string[];
  transitions: StateTransition[];
  /** Segments the machine could not place (an illegal step), with the reason. */
  problems: Array<{ frame: number; problem: string }>;
}

const SYNCHRONIZED: ReadonlySet<TcpState> = new Set(['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'TIME_WAIT']);
/** States from which a RST the endpoint sends is its abort (RFC 9293 §3.10.5 sends one only from these). */
const ABORT_SENDS_RST: ReadonlySet<TcpState> = new Set(['SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT']);
const PROBLEM_LIMIT = 16;
/** States kept per path (a connection cycling SYN/RST for hours stays bounded); then PATH_TRUNCATED. */
const PATH_LIMIT = 256;
export const PATH_TRUNCATED = '… (path truncated)';
/** Self-loops kept per endpoint (a change of state is kept up to PATH_LIMIT): a long transfer's data never hides its close. */
const TRANSITION_LIMIT = 64;

class Endpoint {
  state: TcpState | undefined;
  context: TcpContext = {};
  readonly history: EndpointHistory = { path: [], transitions: [], problems: [] };
  /** Own ISN, own FIN's sequence number + 1 (what acknowledges it), highest sequence received from the peer. */
  isn: number | undefined;
  /** SND.NXT: the end of the highest sequence this endpoint was seen sending (undefined: never seen sending). */
  sndNxt: number | undefined;
  finAckValue: number | undefined;
  /** The peer's FIN as received: its frame and the ACK value that covers it. */
  peerFin: { frame: number; ackValue: number; timeUs: number } | undefined;
  /** Whether this endpoint sent anything since the peer's FIN was taken as received, and the state it took it in. */
  sentSinceFin = false;
  peerFinState: TcpState | undefined;
  /** The endpoint before a FIN moved it from ESTABLISHED to CLOSE_WAIT, while it has sent nothing since. */
  beforeCloseWait: { context: TcpContext; path: number; transitions: number } | undefined;
  rcvNxt: number | undefined;
  peerIsn: number | undefined;
  peerFinSeen = false;
  /** Frame of a SYN received while this endpoint's state was still unknown (decided by its answer). */
  pendingSyn: number | undefined;
  /** First data received in FIN_WAIT_1/FIN_WAIT_2 (Linux resets an orphan that gets data: data-after-close). */
  dataAfterCloseFrame: number | undefined;
  /** The endpoint before a FIN moved it to TIME_WAIT, while it has sent nothing since (see undoTimeWait). */
  beforeTimeWait: { state: TcpState; context: TcpContext; path: number; transitions: number; finFrame: number } | undefined;

  constructor(private readonly machine: TcpMachine) {}

  /** Sets the first known state (after an optional "unknown" marker). */
  start(state: TcpState, marker?: string): void {
    if (marker !== undefined) this.history.path.push(marker);
    this.state = state;
    // A listener is a passive open (RFC 9293 Note 1 of §3.3.2 needs it to tell where a RST in SYN_RECEIVED returns).
    if (state === 'LISTEN') this.context = { ...this.context, openedBy: 'passive' };
    this.history.path.push(state);
  }

  /** Remembers the endpoint as it is, before a FIN that may move it to TIME_WAIT. */
  snapshot(finFrame: number): void {
    if (this.state === undefined) return;
    const h = this.history;
    this.beforeTimeWait = { state: this.state, context: this.context, path: h.path.length, transitions: h.transitions.length, finFrame };
  }

  /**
   * The endpoint answers the FIN that put it in TIME_WAIT with a bare RST: it was not in FIN_WAIT_2
   * any more but CLOSED — reset by data after close() (Linux data-after-close, tcp_rcv_state_process())
   * or by the FIN_WAIT_2 timeout — and the RST answers the FIN in CLOSED (§3.10.7.1). Rewinds the
   * TIME_WAIT step and replays that instead.
   */
  undoTimeWait(): boolean {
    const b = this.beforeTimeWait;
    this.beforeTimeWait = undefined;
    if (b === undefined || this.state !== 'TIME_WAIT') return false;
    this.state = b.state;
    this.context = b.context;
    this.history.path.length = b.path;
    this.history.transitions.length = b.transitions;
    if (this.dataAfterCloseFrame !== undefined) this.apply('rcv-data', this.dataAfterCloseFrame, true);
    else if (this.state === 'FIN_WAIT_2') this.apply('fin-wait-2-timeout', b.finFrame, true);
    if (this.state !== 'CLOSED') return false;
    this.apply('rcv-ack', b.finFrame);
    return true;
  }

  /**
   * At the end of the capture: a FIN this endpoint never acknowledged may never have reached it (a capture on the
   * sender's side shows the FIN leave, not arrive), so the state it would have caused — CLOSE_WAIT, CLOSING or
   * TIME_WAIT — is not claimed. The path goes back to before the FIN (an ACK of our own FIN that came after it still
   * counts: FIN_WAIT_1 → FIN_WAIT_2) and ends with a marker that names the frame.
   */
  withdrawUnacknowledgedFin(): void {
    const fin = this.peerFin;
    if (fin !== undefined && this.withdrawFin()) this.history.path.push(unknownFinArrival(fin.frame));
  }

  /**
   * Takes back the peer's FIN as received (withdrawUnacknowledgedFin() at the end; notReceivedFin() as soon as a
   * segment proves it): the path returns to before it, and a later copy of it is a new arrival. False when the
   * state it caused is gone (the endpoint sent since, which clears the snapshots).
   */
  withdrawFin(): boolean {
    if (this.peerFin === undefined) return false;
    const closeWait = this.beforeCloseWait;
    const before =
      this.state === 'CLOSE_WAIT' && closeWait !== undefined
        ? { ...closeWait, state: 'ESTABLISHED' as const }
        : this.state === 'CLOSING' || this.state === 'TIME_WAIT'
          ? this.beforeTimeWait
          : undefined;
    if (before === undefined) return false;
    const h = this.history;
    const ackOfFin = h.transitions.slice(before.transitions).find((t) => t.event === 'rcv-ack-of-fin' || t.event === 'rcv-fin-ack-of-fin');
    this.state = before.state;
    this.context = before.context;
    h.path.length = before.path;
    h.transitions.length = before.transitions;
    if (ackOfFin !== undefined && this.state === 'FIN_WAIT_1') this.apply('rcv-ack-of-fin', ackOfFin.frame);
    this.peerFin = undefined;
    this.peerFinSeen = false;
    this.beforeCloseWait = undefined;
    this.beforeTimeWait = undefined;
    return true;
  }

  /** Steps the machine; records the transition, or the problem when the machine has no such edge. */
  apply(event: TcpEvent, frame: number, inferred = false): boolean {
    if (this.state === undefined) return false;
    const result = cachedStep(this.machine, this.state, event, this.context);
    if ('illegal' in result) {
      if (this.history.problems.length < PROBLEM_LIMIT) this.history.problems.push({ frame, problem: `${event} in ${this.state}: ${result.illegal}` });
      return false;
    }
    this.context = result.context;
    if (this.history.transitions.length < (result.to === this.state ? TRANSITION_LIMIT : PATH_LIMIT))
      this.history.transitions.push({ from: this.state, event, to: result.to, frame, inferred });
    if (result.to !== this.state) {
      if (this.history.path.length < PATH_LIMIT) this.history.path.push(result.to);
      else if (this.history.path.length === PATH_LIMIT) this.history.path.push(PATH_TRUNCATED);
    }
    this.state = result.to;
    return true;
  }
}

/** Streaming replay of one connection's two endpoints (sides 0 = first sender, 1 = the other). */
export class CaptureStateReplay {
  private readonly sides: [Endpoint, Endpoint];
  /** Distinct ISNs seen on SYN-ACKs (a second one: TCP Fast Open or a server restart). */
  readonly synAckIsns: Array<{ isn: number; frame: number }> = [];
  private readonly handshake: { synUs?: number; synSide?: 0 | 1; synAckUs?: number; ackUs?: number } = {};

  constructor(machine: TcpMachine = CAPTURE_MACHINE) {
    this.sides = [new Endpoint(machine), new Endpoint(machine)];
  }

  /** Replays one segment sent by `side`. */
  observe(seg: TcpSegment, side: 0 | 1): void {
    const sender = this.sides[side];
    const receiver = this.sides[1 - side]!;
    this.timeHandshake(seg, side);
    if ((seg.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) === 0 && sender.state === 'ESTABLISHED' && receiver.state === 'ESTABLISHED') {
      // The bulk of any capture: data and ACKs between two established endpoints change no state.
      const end = (seg.seq + seg.payloadLength) >>> 0;
      if (sender.sndNxt === undefined || seqGt(end, sender.sndNxt)) sender.sndNxt = end;
      if (receiver.rcvNxt === undefined || seqGt(end, receiver.rcvNxt)) receiver.rcvNxt = end;
      return;
    }
    this.send(sender, receiver, seg);
    this.receive(receiver, sender, seg);
  }

  /** The first SYN, the first SYN-ACK after it from the other side, and the first ACK after that from the SYN's side. */
  private timeHandshake(seg: TcpSegment, side: 0 | 1): void {
    const h = this.handshake;
    if (h.ackUs !== undefined) return;
    const syn = (seg.flags & TcpFlag.SYN) !== 0;
    const ack = (seg.flags & TcpFlag.ACK) !== 0;
    if (syn && !ack && h.synUs === undefined) {
      h.synUs = seg.timeUs;
      h.synSide = side;
    } else if (syn && ack && h.synUs !== undefined && h.synAckUs === undefined && side !== h.synSide) h.synAckUs = seg.timeUs;
    else if (!syn && ack && h.synAckUs !== undefined && side === h.synSide) h.ackUs = seg.timeUs;
  }

  /** Histories of side 0 and side 1, with "unknown" for an endpoint that never got a known state. */
  histories(): [EndpointHistory, EndpointHistory] {
    return [finish(this.sides[0]), finish(this.sides[1])];
  }

  private send(me: Endpoint, peer: Endpoint, seg: TcpSegment): void {
    const f = seg.flags;
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    const fin = (f & TcpFlag.FIN) !== 0;
    const rst = (f & TcpFlag.RST) !== 0;
    this.notReceivedFin(me, seg);
    me.sentSinceFin = true;
    let crossedFin: number | undefined;
    if (syn && !ack && !rst) {
      me.isn ??= seg.seq;
      if (me.state === undefined) me.start('CLOSED');
      if (me.state === 'CLOSED') me.apply('open-active', seg.frame);
      if (me.pendingSyn !== undefined && me.state === 'SYN_SENT') {
        me.apply('rcv-syn', me.pendingSyn); // the peer's SYN had crossed ours: simultaneous open
        me.pendingSyn = undefined;
      }
    } else if (syn && ack && !rst) {
      if (!this.synAckIsns.some((s) => s.isn === seg.seq)) this.synAckIsns.push({ isn: seg.seq, frame: seg.frame });
      me.isn ??= seg.seq;
      me.peerIsn ??= (seg.ack - 1) >>> 0; // the SYN-ACK acknowledges the peer's ISN (even if its SYN was not captured)
      // Sending a SYN-ACK proves a SYN was received: from LISTEN (or a listener behind a CLOSED old TCB).
      if (me.state === undefined) me.start('LISTEN');
      if (me.state === 'CLOSED') me.apply('open-passive', seg.frame, true);
      if (me.state === 'LISTEN' || me.state === 'SYN_SENT') me.apply('rcv-syn', me.pendingSyn ?? seg.frame, me.pendingSyn === undefined);
      me.pendingSyn = undefined;
    } else if (rst) {
      if (me.state === 'TIME_WAIT' && me.undoTimeWait()) return;
      if (me.state === undefined && me.pendingSyn !== undefined) {
        me.start('CLOSED'); // a RST answers the SYN: no listener
        me.apply('rcv-syn', me.pendingSyn);
        me.pendingSyn = undefined;
      } else if (me.state === undefined) {
        me.start('ESTABLISHED', UNKNOWN_MID_STREAM);
        me.apply('abort', seg.frame);
      } else if (ABORT_SENDS_RST.has(me.state)) {
        me.apply('abort', seg.frame);
      }
      // A RST from SYN_SENT answers an unacceptable ACK (applied on receipt); from CLOSED/LISTEN it answers a segment.
    } else {
      if (me.state === undefined) {
        if (me.pendingSyn !== undefined) {
          // A bare ACK answering a SYN: the challenge ACK of a synchronized (older) connection (RFC 5961 §4).
          me.start('ESTABLISHED', UNKNOWN_EARLIER);
          me.apply('rcv-syn', me.pendingSyn);
          me.pendingSyn = undefined;
          me.rcvNxt = seg.ack; // the old connection's RCV.NXT: the RST that answers carries it (§3.10.7.3)
        } else {
          me.start('ESTABLISHED', UNKNOWN_MID_STREAM);
        }
      }
      if (me.state === 'SYN_SENT' && ack) {
        // An ACK after our SYN proves the SYN-ACK arrived (not captured: a one-sided capture).
        me.apply('rcv-syn-ack', seg.frame, true);
        if (peer.state === undefined) {
          peer.start('LISTEN');
          peer.apply('rcv-syn', peer.pendingSyn ?? seg.frame, true);
          peer.pendingSyn = undefined;
        }
        peer.isn ??= (seg.ack - 1) >>> 0;
      } else if (me.state === 'SYN_RECEIVED' && ack && me.peerIsn !== undefined && seqGt(seg.ack, (me.peerIsn + 1) >>> 0)) {
        me.apply('rcv-ack-of-syn', seg.frame, true); // it acknowledges the peer's data: the peer's ACK of our SYN came first
      }
      if (fin && me.state === 'CLOSE_WAIT' && me.peerFin !== undefined && me.beforeCloseWait !== undefined && ack && !seqGe(seg.ack, me.peerFin.ackValue)) {
        // Our FIN does not acknowledge the peer's: it left before that FIN arrived — the FINs crossed (§3.10.7.4 CLOSING).
        const b = me.beforeCloseWait;
        me.state = 'ESTABLISHED';
        me.context = b.context;
        me.history.path.length = b.path;
        me.history.transitions.length = b.transitions;
        me.apply('close', seg.frame);
        crossedFin = me.peerFin.frame; // it arrives after our FIN left: applied below, once what this send clears is cleared
      } else if (fin && (me.state === 'ESTABLISHED' || me.state === 'CLOSE_WAIT' || me.state === 'SYN_RECEIVED')) {
        me.apply('close', seg.frame);
      }
    }
    if (!rst) {
      me.beforeCloseWait = undefined;
      const end = (seg.seq + seg.payloadLength + (syn ? 1 : 0) + (fin ? 1 : 0)) >>> 0;
      if (me.sndNxt === undefined || seqGt(end, me.sndNxt)) me.sndNxt = end;
    }
    if (fin && me.finAckValue === undefined) me.finAckValue = (seg.seq + seg.payloadLength + (syn ? 1 : 0) + 1) >>> 0;
    if (!rst) me.beforeTimeWait = undefined;
    if (crossedFin !== undefined) {
      me.snapshot(crossedFin); // never acknowledged so far: see withdrawUnacknowledgedFin()
      me.apply('rcv-fin', crossedFin);
    }
  }

  /**
   * An ACK field is the sender's RCV.NXT when it sent the segment. One below the end of the peer's FIN, sent well
   * after that FIN reached this endpoint (more than two round trips of the handshake, plus 1 ms, after its capture:
   * at either end of the path, no longer in flight), proves the FIN never reached its TCP (dropped after the tap).
   */
  private notReceivedFin(me: Endpoint, seg: TcpSegment): void {
    const fin = me.peerFin;
    const rttUs = this.handshakeRttUs();
    if (fin === undefined || !me.peerFinSeen || rttUs === undefined || (seg.flags & (TcpFlag.ACK | TcpFlag.RST)) !== TcpFlag.ACK) return;
    if (seqGe(seg.ack, fin.ackValue) || seg.timeUs - fin.timeUs <= 2 * rttUs + 1000) return;
    me.withdrawFin();
  }

  /** The handshake's round trip as this capture shows it: the longer of SYN → SYN-ACK and SYN-ACK → ACK (the other is one host's turnaround). */
  private handshakeRttUs(): number | undefined {
    const h = this.handshake;
    if (h.synUs === undefined || h.synAckUs === undefined || h.ackUs === undefined) return undefined;
    return Math.max(h.synAckUs - h.synUs, h.ackUs - h.synAckUs);
  }

  private receive(me: Endpoint, peer: Endpoint, seg: TcpSegment): void {
    const f = seg.flags;
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    const fin = (f & TcpFlag.FIN) !== 0;
    const rst = (f & TcpFlag.RST) !== 0;
    const frame = seg.frame;
    const end = (seg.seq + seg.payloadLength + (syn ? 1 : 0) + (fin ? 1 : 0)) >>> 0;
    const duplicateSyn = syn && me.peerIsn !== undefined && seg.seq === me.peerIsn;
    if (syn && !rst) me.peerIsn ??= seg.seq;
    if (me.state === undefined) {
      if (syn && !ack) {
        me.pendingSyn ??= frame;
      } else if (syn && ack) {
        me.start('CLOSED'); // it receives a SYN-ACK, so it had sent a SYN (not captured)
        me.isn ??= (seg.ack - 1) >>> 0;
        me.apply('open-active', frame, true);
      } else if (!rst) {
        me.start('ESTABLISHED', UNKNOWN_MID_STREAM);
      }
    }
    // An acceptable ACK of our SYN: ISS < SEG.ACK =< SND.NXT (§3.10.7.3); beyond what we sent is not one.
    const withinSent = me.sndNxt === undefined || seqGe(me.sndNxt, seg.ack);
    const ackCoversSyn = ack && me.isn !== undefined && seqGe(seg.ack, (me.isn + 1) >>> 0) && withinSent;
    const ackCoversFin = ack && me.finAckValue !== undefined && seqGe(seg.ack, me.finAckValue) && withinSent;
    const state = me.state;
    if (state !== undefined) this.arrive(me, state, seg, syn, ack, fin, rst, duplicateSyn, ackCoversSyn, ackCoversFin);
    if (!rst && (me.rcvNxt === undefined || seqGt(end, me.rcvNxt))) me.rcvNxt = end;
    void peer;
  }

  /** RFC 9293 §3.10.7 for an endpoint in a known state. */
  private arrive(
    me: Endpoint,
    state: TcpState,
    seg: TcpSegment,
    syn: boolean,
    ack: boolean,
    fin: boolean,
    rst: boolean,
    duplicateSyn: boolean,
    ackCoversSyn: boolean,
    ackCoversFin: boolean,
  ): void {
    const s = { syn, ack, fin, rst, duplicateSyn, ackCoversSyn, ackCoversFin };
    const frame = seg.frame;
    if (s.rst) {
      if (state === 'SYN_SENT') {
        if (s.ack && s.ackCoversSyn) me.apply('rcv-rst', frame); // §3.10.7.3: only a RST that acknowledges our SYN
      } else if (state === 'SYN_RECEIVED') {
        me.apply('rcv-rst', frame);
      } else if (SYNCHRONIZED.has(state)) {
        // §3.10.7.4 first check: SEG.SEQ = RCV.NXT resets; another in-window RST gets a challenge ACK (RFC 5961 §3).
        if (me.rcvNxt === undefined || seg.seq === me.rcvNxt) me.apply('rcv-rst', frame);
      }
      return;
    }
    switch (state) {
      case 'CLOSED':
      case 'LISTEN':
        if (state === 'LISTEN' && s.syn && !s.ack) me.apply('rcv-syn', frame);
        return; // anything else: answered with a RST, no change
      case 'SYN_SENT':
        if (s.syn && s.ack) me.apply(s.ackCoversSyn || me.isn === undefined ? 'rcv-syn-ack' : 'rcv-bad-ack', frame);
        else if (s.syn)
          me.apply('rcv-syn', frame); // simultaneous open
        else if (s.ack && !s.ackCoversSyn) me.apply('rcv-bad-ack', frame); // the challenge ACK: we answer with a RST
        return;
      case 'SYN_RECEIVED':
        if (s.syn && !s.ack && !s.duplicateSyn) {
          me.apply('rcv-syn', frame);
          return;
        }
        if (s.ack && s.ackCoversSyn) me.apply('rcv-ack-of-syn', frame);
        if (s.fin && me.state === 'ESTABLISHED') this.finArrives(me, seg, s.ackCoversFin);
        return;
      default:
        if (s.syn && !s.duplicateSyn) me.apply('rcv-syn', frame); // a SYN in a synchronized state: challenge ACK
        if (seg.payloadLength > 0 && !s.syn && (state === 'FIN_WAIT_1' || state === 'FIN_WAIT_2')) me.dataAfterCloseFrame ??= frame;
        if (s.ack && s.ackCoversFin) {
          if (state === 'FIN_WAIT_1' && !s.fin) me.apply('rcv-ack-of-fin', frame);
          else if (state === 'CLOSING' || state === 'LAST_ACK') me.apply('rcv-ack-of-fin', frame);
        }
        if (s.fin) this.finArrives(me, seg, s.ackCoversFin);
    }
  }

  private finArrives(me: Endpoint, seg: TcpSegment, ackCoversFin: boolean): void {
    const frame = seg.frame;
    const finAckValue = finEnd(seg);
    // The same FIN again, and nothing from this endpoint since the copy taken as received: the sender never had an
    // ACK of it, and a FIN that reaches TCP in FIN_WAIT_1 or FIN_WAIT_2 is acknowledged at once (tcp_fin():
    // tcp_send_ack()), so that copy did not reach it (a firewall after the capture tap). This one may.
    // (In ESTABLISHED the ACK of a FIN may wait for the delayed-ACK timer: not judged.)
    const acksAtOnce = me.peerFinState === 'FIN_WAIT_1' || me.peerFinState === 'FIN_WAIT_2';
    if (me.peerFinSeen && me.peerFin?.ackValue === finAckValue && !me.sentSinceFin && acksAtOnce) me.withdrawFin();
    me.peerFin ??= { frame, ackValue: finAckValue, timeUs: seg.timeUs };
    if (me.peerFinSeen && me.state !== 'TIME_WAIT') return; // a retransmitted FIN
    me.peerFinSeen = true;
    me.sentSinceFin = false;
    me.peerFinState = me.state;
    if (me.state === 'ESTABLISHED') {
      const h = me.history;
      me.beforeCloseWait = { context: me.context, path: h.path.length, transitions: h.transitions.length };
    }
    if (me.state === 'FIN_WAIT_1' || me.state === 'FIN_WAIT_2') me.snapshot(frame);
    if (me.state === 'FIN_WAIT_1') me.apply(ackCoversFin ? 'rcv-fin-ack-of-fin' : 'rcv-fin', frame);
    else if (me.state === 'ESTABLISHED' || me.state === 'FIN_WAIT_2' || me.state === 'TIME_WAIT' || me.state === 'SYN_RECEIVED') me.apply('rcv-fin', frame);
  }
}

/** The ACK value that covers a FIN segment: SEG.SEQ + SEG.LEN (+1 for a SYN) + 1. */
function finEnd(seg: TcpSegment): number {
  return (seg.seq + seg.payloadLength + (seg.flags & TcpFlag.SYN ? 1 : 0) + 1) >>> 0;
}

const stepCache = new WeakMap<TcpMachine, Map<string, StepResult>>();

/**
 * machine.step, remembered per (state, event, openedBy): the replay only ever passes `openedBy` in the
 * context, and a step's result (row, target, new context) is never mutated, so it can be shared.
 */
function cachedStep(machine: TcpMachine, state: TcpState, event: TcpEvent, context: TcpContext): StepResult {
  let cache = stepCache.get(machine);
  if (cache === undefined) stepCache.set(machine, (cache = new Map<string, StepResult>()));
  const key = `${state}|${event}|${context.openedBy ?? ''}`;
  let result = cache.get(key);
  if (result === undefined) {
    result = machine.step(state, event, context);
    cache.set(key, result);
  }
  return result;
}

function finish(e: Endpoint): EndpointHistory {
  e.withdrawUnacknowledgedFin();
  if (e.history.path.length === 0) e.history.path.push(e.pendingSyn !== undefined ? UNKNOWN_UNANSWERED : UNKNOWN_MID_STREAM);
  return e.history;
}

function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
