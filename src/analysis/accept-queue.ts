import { TcpFlag, type TcpSegment } from '../observe/packet.js';
import { isAddressOf, type RunHost, type RunRecord } from './run-record.js';
import { listenStepBacklog } from './sampled-reads.js';
import { isPureSyn } from './syn-ack-replies.js';

/*
 * The accept queue of a listener whose application never calls accept() (a `listen` step with
 * `accept: false`), as Linux fills it:
 * - A final ACK makes a child socket only while the queue is not full: tcp_check_req() →
 *   tcp_v4_syn_recv_sock() fails on sk_acceptq_is_full() (sk_ack_backlog > sk_max_ack_backlog: a backlog
 *   of 1 holds 2). Then, with tcp_abort_on_overflow=0, the ACK is ignored (`inet_rsk(req)->acked = 1`): the
 *   request stays and keeps retransmitting its SYN-ACK until tcp_synack_retries drops it; with =1 the
 *   request is reset (a RST to the client).
 * - A SYN is dropped at once while the queue is full: tcp_conn_request() (`sk_acceptq_is_full(sk)`, LISTENOVERFLOWS).
 * Children are never taken out (no accept()), so the queue only grows. Requests are walked in time order
 * over the listener host's capture. Pure.
 */

/** Why the listener's TCP did not act on a received segment because of its full accept queue, or undefined. */
export type AcceptQueueRefusal = (segment: TcpSegment) => string | undefined;

/** The accept-queue refusals of the listener on `port` of `host`, or undefined when its application accepts. */
export function acceptQueueOf(run: RunRecord, host: RunHost, port: number): AcceptQueueRefusal | undefined {
  const step = run.lab.steps.find((s) => s.kind === 'listen' && s.host === host.name && s.port === port);
  if (step === undefined || step.kind !== 'listen' || step.accept !== false) return undefined;
  const backlog = listenStepBacklog(run, host, port) ?? 0;
  const abortOnOverflow = host.kernelSettings['net.ipv4.tcp_abort_on_overflow'] === '1';
  const refused = new Map<number, string>();
  const children = new Set<string>();
  const isn = new Map<string, number>(); // our SYN-ACK's sequence number per remote: what a final ACK must cover
  const full = (): boolean => children.size > backlog;
  const state = `(accept queue ${backlog + 1} of backlog ${backlog} full, no accept() — sk_acceptq_is_full())`;
  for (const s of host.segments) {
    if (isAddressOf(host, s.src) && s.srcPort === port && (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
      isn.set(`${s.dst}:${s.dstPort}`, s.seq);
      continue;
    }
    if (!isAddressOf(host, s.dst) || s.dstPort !== port) continue;
    const remote = `${s.src}:${s.srcPort}`;
    if (children.has(remote)) continue;
    if (isPureSyn(s)) {
      if (full() && !isn.has(remote)) refused.set(s.frame, `SYN dropped: ${state}, tcp_conn_request()`);
      continue;
    }
    const ours = isn.get(remote);
    const completes = (s.flags & (TcpFlag.ACK | TcpFlag.RST | TcpFlag.SYN)) === TcpFlag.ACK && ours !== undefined && s.ack === (ours + 1) >>> 0;
    if (!completes) continue;
    if (!full()) children.add(remote);
    else
      refused.set(
        s.frame,
        abortOnOverflow
          ? `final ACK refused: ${state}; tcp_abort_on_overflow=1 resets the request (tcp_check_req() → embryonic reset)`
          : `final ACK ignored: ${state}; tcp_abort_on_overflow=0 keeps the request, which retransmits its SYN-ACK (tcp_check_req(): acked = 1)`,
      );
  }
  return (segment) => (isAddressOf(host, segment.dst) ? refused.get(segment.frame) : undefined);
}
