import { sequenceLength } from '../observe/packet.js';
import { isAddressOf, type RunHost } from './run-record.js';
import { segmentEndpoints } from './run-sockets.js';
import { retransmissionKey } from './segment-trace.js';
import type { HeldSend } from './held-sends.js';

/*
 * Retransmissions that waited for their previous copy to leave the host. tcp_retransmit_skb() does not resend
 * a segment while its last copy is still in a qdisc or driver queue (skb_still_in_host_queue() in tcp_output.c
 * returns -EBUSY; the tcp_retransmit_skb tracepoint shows err -16). The timer fire counts all the same:
 * tcp_retransmit_timer() backs off and re-arms with the doubled RTO, since -EBUSY is not the "local congestion"
 * (> 0) case. skb_still_in_host_queue() sets TSQ_THROTTLED, so when the queued copy is freed, tcp_wfree() →
 * tcp_tsq_write() → tcp_xmit_retransmit_queue() sends the lost head at once, and restarts the timer with the
 * current (backed-off) RTO there. Measured (teacher lab closing-fin-lost under load, a `hold` queueing the
 * first FIN): fire at +0.218 s with err -16, the copy sent 0.3 ms after the queue drained at +0.267 s, the
 * next fire 0.424 s after that send (106 jiffies at HZ 250, within the jiffy), not after the fire.
 * So the timer's schedule counts the copy at its fire, and the next interval from the send.
 */

/** A captured retransmission whose timer fired, once or more, while the copy before it was still queued in the host. */
export interface DeferredSend {
  /** The fires that found the previous copy still queued (absolute µs, capture clock), oldest first. */
  readonly firesUs: readonly number[];
  /** When TCP sent it: the traced retransmission with err 0, or its capture time if earlier. */
  readonly sentUs: number;
  /** Sent by TSQ as the socket's previous frame left the host (the last fire's copy), not by a later fire of its own. */
  readonly onRelease: boolean;
}

const EBUSY = -16;
/** tcp_wfree() runs as the driver frees the frame, microseconds after the capture saw it leave (measured 0.16 ms). */
const TSQ_SEND_MS = 2;

/** Frame of `host`'s capture → the timer fires it waited for; only traced runs have them. */
export function deferredSendsOf(host: RunHost): ReadonlyMap<number, DeferredSend> {
  const deferred = new Map<number, DeferredSend>();
  const retransmits = (host.kernelEvents ?? []).filter((e) => e.kind === 'retransmit');
  const tuples = new Set(retransmits.filter((e) => e.error === EBUSY).map((e) => `${e.local} ${e.remote}`));
  for (const tuple of tuples) {
    const [local, remote] = tuple.split(' ');
    const events = retransmits.filter((e) => e.local === local && e.remote === remote);
    const own = host.segments.filter((s) => {
      const ends = segmentEndpoints(s);
      return isAddressOf(host, s.src) && ends.src === local && ends.dst === remote;
    });
    const seen = new Set<string>();
    const repeats = own.filter((s) => {
      if (sequenceLength(s) === 0) return false;
      const key = retransmissionKey(s);
      const repeat = seen.has(key);
      seen.add(key);
      return repeat;
    });
    let fires: number[] = [];
    for (const event of events) {
      if (event.error === EBUSY) {
        fires.push(event.timeUs);
        continue;
      }
      if (fires.length === 0) continue;
      const last = fires.at(-1) ?? 0;
      const copy = repeats.find((s) => s.timeUs >= last && !deferred.has(s.frame));
      if (copy !== undefined && event.error === 0) {
        const sentUs = Math.min(event.timeUs, copy.timeUs);
        const previous = own.findLast((s) => s.timeUs < copy.timeUs);
        const onRelease = previous !== undefined && previous.timeUs >= last && sentUs - previous.timeUs <= TSQ_SEND_MS * 1000;
        deferred.set(copy.frame, { firesUs: fires, sentUs, onRelease });
      }
      fires = [];
    }
  }
  return deferred;
}

/** One fire of a series' retransmission timer: when, and the copy it sent (none: the fire found the last copy still queued). */
export interface TimerFire<T> {
  readonly timeUs: number;
  readonly copy?: T;
}

/**
 * A series' sends as its timer made them, oldest first: each copy when TCP sent it (a held copy's send,
 * held-sends.ts; a deferred copy's fire), the fires that sent nothing, and the moments TCP restarted the
 * timer by sending a deferred copy (absolute µs). `frame`: the copy's frame in the sender's capture.
 */
export function timerFiresOf<T extends { readonly frame: number | undefined; readonly timeUs: number }>(
  copies: readonly T[],
  held: ReadonlyMap<number, HeldSend>,
  deferred: ReadonlyMap<number, DeferredSend>,
): { fires: TimerFire<T>[]; restartsUs: number[] } {
  const fires: TimerFire<T>[] = [];
  const restartsUs: number[] = [];
  for (const copy of copies) {
    const wait = copy.frame === undefined ? undefined : deferred.get(copy.frame);
    if (wait === undefined) {
      fires.push({ timeUs: (copy.frame === undefined ? undefined : held.get(copy.frame)?.sentUs) ?? copy.timeUs, copy });
      continue;
    }
    const empty = wait.onRelease ? wait.firesUs.slice(0, -1) : wait.firesUs;
    empty.forEach((timeUs) => fires.push({ timeUs }));
    fires.push({ timeUs: wait.onRelease ? (wait.firesUs.at(-1) ?? copy.timeUs) : wait.sentUs, copy });
    if (wait.onRelease) restartsUs.push(wait.sentUs);
  }
  return { fires, restartsUs };
}
