import { isDataOnly, sequenceLength, TcpFlag, type TcpSegment } from '../observe/packet.js';
import type { KernelEvent } from '../observe/kernel-trace.js';
import type { TcpState } from '../tcp/state.js';
import { isAddressOf, type RunHost, type RunRecord, type StepRecord } from './run-record.js';
import { connOfTuple, segmentEndpoints } from './run-sockets.js';
import { retransmissionKey } from './segment-trace.js';
import { isPureSyn } from './syn-ack-replies.js';

/*
 * When TCP sent the segments that a `hold` step kept in the host's egress queue. tcpdump stamps an outgoing
 * frame when the qdisc dequeues it (dev_queue_xmit_nit() in dev_hard_start_xmit()), so every held frame
 * carries the moment `release` ran the queue; TCP's timers run from the send. The send is dated by what the
 * run recorded at that moment:
 *  - a retransmission by the kernel trace (tcp_retransmit_skb with err 0, tcp_retransmit_synack), the k-th
 *    traced retransmission of a 4-tuple during the hold being the k-th held repeat copy of that 4-tuple
 *    (the queue is first in, first out);
 *  - the first copy of a SYN or FIN by the traced state entry that sent it (SYN_SENT; FIN_WAIT_1, LAST_ACK;
 *    SYN_RECEIVED for a simultaneous open's SYN-ACK);
 *  - a listener's first SYN-ACK by the arrival of the SYN it answers in the host's own capture (the request
 *    socket has no state event, and tcp_conn_request() sends the SYN-ACK in the same softirq);
 *  - the first held data segment of a connection by the application's first write on it during the hold
 *    (the agent's `sent` event, stamped as send() returns: tcp_sendmsg() pushed it before).
 * Untraced runs date only the last kind; a copy nothing dates keeps its capture time.
 */

/** A held frame of the host's capture and when TCP sent it (absolute µs, capture clock). */
export interface HeldSend {
  readonly sentUs: number;
  readonly how:
    | { readonly kind: 'retransmit' }
    | { readonly kind: 'state'; readonly state: TcpState }
    | { readonly kind: 'syn-arrival'; readonly frame: number }
    | { readonly kind: 'write' };
  /** Lab step indices (0-based) of the hold and of the release that sent the frame. */
  readonly holdStep: number;
  readonly releaseStep: number;
}

/** Frame of `host`'s capture → when TCP sent it, for its frames a hold kept queued. `dropped`: a received segment the host's firewall dropped. */
export function heldSendsOf(record: RunRecord, host: RunHost, dropped: (segment: TcpSegment) => boolean): ReadonlyMap<number, HeldSend> {
  const held = new Map<number, HeldSend>();
  for (const { hold, release } of holdWindows(record, host.name)) {
    const during = (us: number): boolean => us >= hold.startUs && us <= release.startUs;
    const queued = host.segments.filter((s) => isAddressOf(host, s.src) && s.timeUs >= release.startUs && sequenceLength(s) > 0);
    const seen = new Set(host.segments.filter((s) => isAddressOf(host, s.src) && s.timeUs < release.startUs).map(retransmissionKey));
    const mark = (segment: TcpSegment, sentUs: number | undefined, how: HeldSend['how']): void => {
      if (sentUs !== undefined && sentUs <= segment.timeUs && !held.has(segment.frame))
        held.set(segment.frame, { sentUs, how, holdStep: hold.index, releaseStep: release.index });
    };
    const repeats = new Map<string, TcpSegment[]>();
    const writeDated = new Set<string>();
    for (const segment of queued) {
      const key = retransmissionKey(segment);
      const { src, dst } = segmentEndpoints(segment);
      if (seen.has(key)) {
        const tuple = `${src} ${dst}`;
        repeats.set(tuple, [...(repeats.get(tuple) ?? []), segment]);
        continue;
      }
      seen.add(key);
      // Only a connection's first held data segment is dated by a write: which later write made which segment is not known.
      if (isDataOnly(segment)) {
        if (writeDated.has(`${src} ${dst}`)) continue;
        writeDated.add(`${src} ${dst}`);
      }
      mark(segment, ...firstSend(host, segment, src, dst, during, dropped));
    }
    for (const [tuple, copies] of repeats) {
      const [local, remote] = tuple.split(' ');
      const traced = (host.kernelEvents ?? []).filter((e) => isRetransmission(e) && e.local === local && e.remote === remote && during(e.timeUs));
      copies.forEach((copy, k) => mark(copy, traced[k]?.timeUs, { kind: 'retransmit' }));
    }
  }
  return held;
}

/** The host's hold steps, each with the release that followed it. */
function holdWindows(record: RunRecord, host: string): { hold: StepRecord; release: StepRecord }[] {
  const own = record.steps.filter((s) => {
    const step = record.lab.steps[s.index];
    return step !== undefined && 'host' in step && step.host === host;
  });
  return own.flatMap((hold) => {
    const release = hold.kind === 'hold' ? own.find((s) => s.kind === 'release' && s.startUs >= hold.endUs) : undefined;
    return release === undefined ? [] : [{ hold, release }];
  });
}

/** When TCP sent the first copy of a held segment, and what dates it; undefined when nothing does. */
function firstSend(
  host: RunHost,
  segment: TcpSegment,
  src: string,
  dst: string,
  during: (us: number) => boolean,
  dropped: (segment: TcpSegment) => boolean,
): [number | undefined, HeldSend['how']] {
  const entered = (states: readonly TcpState[]): KernelEvent | undefined =>
    (host.kernelEvents ?? []).findLast(
      (e) =>
        e.kind === 'state' &&
        e.local === src &&
        e.remote === dst &&
        e.to !== undefined &&
        states.includes(e.to) &&
        during(e.timeUs) &&
        e.timeUs <= segment.timeUs,
    );
  const stateSend = (states: readonly TcpState[]): [number | undefined, HeldSend['how']] => {
    const entry = entered(states);
    return [entry?.timeUs, { kind: 'state', state: entry?.to ?? states[0] ?? 'CLOSED' }];
  };
  const syn = (segment.flags & TcpFlag.SYN) !== 0;
  const ack = (segment.flags & TcpFlag.ACK) !== 0;
  if (syn && !ack) return stateSend(['SYN_SENT']);
  if (syn) {
    const simultaneous = entered(['SYN_RECEIVED']);
    if (simultaneous?.from === 'SYN_SENT') return [simultaneous.timeUs, { kind: 'state', state: 'SYN_RECEIVED' }];
    const answered = host.segments.find((s) => {
      const ends = segmentEndpoints(s);
      return isPureSyn(s) && ends.src === dst && ends.dst === src && (s.seq + 1) >>> 0 === segment.ack && during(s.timeUs) && !dropped(s);
    });
    return [answered?.timeUs, { kind: 'syn-arrival', frame: answered?.frame ?? 0 }];
  }
  if ((segment.flags & TcpFlag.FIN) !== 0) return stateSend(['FIN_WAIT_1', 'LAST_ACK']);
  if (isDataOnly(segment)) {
    // Data: the application's write on the connection during the hold (the agent stamps it as send() returns).
    const conn = connOfTuple(host.events, { local: src, remote: dst });
    const write = host.events.find((e) => e.type === 'sent' && e.conn === conn && during(e.timeUs) && e.timeUs <= segment.timeUs);
    return [write?.timeUs, { kind: 'write' }];
  }
  return [undefined, { kind: 'retransmit' }];
}

function isRetransmission(e: KernelEvent): boolean {
  return (e.kind === 'retransmit' && (e.error ?? 0) === 0) || e.kind === 'synack-retransmit';
}
