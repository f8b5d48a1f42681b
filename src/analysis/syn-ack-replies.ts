import { TcpFlag, type IcmpMessage, type TcpSegment } from '../observe/packet.js';
import { icmpDropsRequest } from '../tcp/icmp-errors.js';
import { icmpQuotingSocket, type QuotingIcmp, type SocketTuple } from './run-sockets.js';

/*
 * A SYN-ACK is a *reply*, not a timer fire, when the request socket sent it because a retransmitted
 * SYN reached TCP: tcp_minisocks.c tcp_check_req() → inet_rtx_syn_ack() answers at once. Such SYN-ACKs
 * are left out of the request's retransmission schedule (timing checks, replay, commentary all use this
 * one rule). A SYN the host's firewall dropped never reached TCP, so it is answered by nothing.
 */

/** How close after a received SYN (that reached TCP) a SYN-ACK counts as its answer rather than a timer fire. */
export const SYN_REPLY_WINDOW_US = 5_000;

/**
 * The SYN-ACKs of one request that answer a retransmitted SYN, mapped to that SYN: every SYN-ACK but the
 * first sent within SYN_REPLY_WINDOW_US after a SYN from the peer that the host's capture shows arriving
 * and that no firewall rule dropped (`droppedBefore(frame)`), each SYN answered once (the first SYN-ACK
 * after it; a timer fire just after it is not a second answer).
 * `synAcks` are the request's SYN-ACKs (one sequence number) in capture order; `receivedSyns` the peer's
 * SYNs on the same 4-tuple in the same capture; `sentUs` when TCP sent a SYN-ACK (its capture time, or
 * for one a hold kept queued, its traced send: held-sends.ts).
 */
export function findSynAckReplies(
  synAcks: readonly TcpSegment[],
  receivedSyns: readonly TcpSegment[],
  droppedBefore: (segment: TcpSegment) => boolean,
  sentUs: (synAck: TcpSegment) => number = (synAck) => synAck.timeUs,
): Map<number, TcpSegment> {
  const replies = new Map<number, TcpSegment>();
  const answered = new Set<TcpSegment>();
  synAcks.forEach((synAck, index) => {
    if (index === 0) return;
    const at = sentUs(synAck);
    const syn = receivedSyns.find(
      (s) => !answered.has(s) && s.frame < synAck.frame && s.timeUs <= at && at - s.timeUs <= SYN_REPLY_WINDOW_US && !droppedBefore(s),
    );
    if (syn === undefined) return;
    answered.add(syn);
    replies.set(synAck.frame, syn);
  });
  return replies;
}

/** A pure SYN (no ACK, no RST). */
export function isPureSyn(segment: TcpSegment): boolean {
  return (segment.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === TcpFlag.SYN;
}

/** A SYN-ACK (no RST). */
export function isSynAck(segment: TcpSegment): boolean {
  return (segment.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === (TcpFlag.SYN | TcpFlag.ACK);
}

/**
 * The ICMP error (from the host's capture `icmp`) that dropped the request `tuple` whose SYN-ACK has ISN `isn`, sent at
 * `fromUs`: the first one after it quoting that SYN-ACK that tcp_req_err() aborts on (icmpDropsRequest()). The request
 * is gone at its arrival, so its timer sends nothing more.
 */
export function requestDropIcmp(icmp: readonly IcmpMessage[], tuple: SocketTuple, isn: number, fromUs: number): QuotingIcmp | undefined {
  return icmpQuotingSocket(icmp, tuple).find((m) => m.quoted.seq === isn && m.timeUs >= fromUs && icmpDropsRequest(m.family, m.type, m.code));
}
