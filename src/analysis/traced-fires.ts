import { sequenceLength } from '../observe/packet.js';
import { isAddressOf, type RunHost } from './run-record.js';
import { segmentEndpoints } from './run-sockets.js';
import { retransmissionKey } from './segment-trace.js';
import type { HeldSend } from './held-sends.js';
import type { ObservedSend } from './timing-fit.js';

/*
 * What a host's kernel trace says about its retransmission timer's fires, beyond the capture: the fires that found
 * the last copy still in the host, and how late each timer ran.
 *
 * Fires that found the last copy still in the host. tcp_retransmit_skb() does not resend a
 * segment while its last copy is still in a qdisc or driver queue (skb_still_in_host_queue() in tcp_output.c
 * returns -EBUSY; the tcp_retransmit_skb tracepoint shows err -16). The fire counts all the same:
 * tcp_retransmit_timer() backs off (or, in SYN_SENT, stays linear for tcp_syn_linear_timeouts) and re-arms,
 * since -EBUSY is not the "local congestion" (> 0) case. skb_still_in_host_queue() sets TSQ_THROTTLED, so when
 * the queued copy is freed, tcp_wfree() → tcp_tsq_write() → tcp_xmit_retransmit_queue() sends the lost head at
 * once and restarts the timer with the current RTO there, in the states tcp_tsq_write() serves and unless an ACK
 * got there first. Measured on this machine (hold steps, kernel 6.18, HZ 250):
 *  - closing-fin-lost under load: FIN fire at +0.218 s with err -16; the copy 0.16 ms after the queue drained at
 *    +0.267 s; the next fire 0.424 s after that send, not after the fire;
 *  - syn-held-long: SYN_SENT fires at 1, 2 and 3 s, all -EBUSY; on release one SYN left and no resend (SYN_SENT
 *    is not a TSQ state);
 *  - data-held-sender: fires 0.21 and 0.63 s after the write, -EBUSY; on release the ACK came back first.
 * So the schedule counts every fire: a copy sent on release at its fire, the next interval from its send.
 *
 * How late a timer ran. The timer softirq can run well after the wheel's bucket on a loaded machine (deferred to
 * ksoftirqd): the kernel trace's timer_expire_entry says by how much (now − baseclk, KernelEvent.timerLateJiffies),
 * and a send's window closes that much later (compareSchedule()). Measured: syn-flood's second SYN 65 ms after its
 * 1 s RTO under `run --all --parallel 4`; 86 fires of the next such run 0 or 1 jiffy late.
 */

/** A copy TSQ sent as the frame before it left the host: the timer fire it belongs to, and its send (absolute µs, capture clock). */
export interface ReleasedCopy {
  readonly fireUs: number;
  readonly sentUs: number;
}

/** One host's traced timer fires: those that found the last copy still queued, the copies sent on release, the lateness of each. */
export interface TracedTimerFires {
  /** 4-tuple (`local remote`) → its fires with err -EBUSY, oldest first. */
  readonly fires: ReadonlyMap<string, readonly number[]>;
  /** Frame of the host's capture → the fire whose copy it is. */
  readonly released: ReadonlyMap<number, ReleasedCopy>;
  /** 4-tuple → its traced timer sends (and -EBUSY fires) with how late their timer ran (KernelEvent.timerLateJiffies). */
  readonly timerLate: ReadonlyMap<string, readonly { readonly timeUs: number; readonly jiffies: number }[]>;
}

const EBUSY = -16;
/** tcp_wfree() runs as the driver frees the frame, microseconds after the capture saw it leave (measured 0.16 ms). */
const TSQ_SEND_MS = 2;

/**
 * The host's fires that found the last copy still queued (traced runs only), and the copies TSQ sent on release:
 * a traced retransmission with err 0 within TSQ_SEND_MS of the socket's previous frame leaving, after such a fire.
 * TSQ resends only in ESTABLISHED, FIN_WAIT_1, CLOSING, CLOSE_WAIT and LAST_ACK (tcp_tsq_write()), and only what
 * is still lost: an ACK processed first (the peer's answer to the released original) leaves nothing to send.
 */
export function tracedTimerFiresOf(host: RunHost): TracedTimerFires {
  const fires = new Map<string, number[]>();
  const released = new Map<number, ReleasedCopy>();
  const retransmits = (host.kernelEvents ?? []).filter((e) => e.kind === 'retransmit');
  const timerLate = new Map<string, { timeUs: number; jiffies: number }[]>();
  for (const e of host.kernelEvents ?? []) {
    if (e.timerLateJiffies === undefined) continue;
    const key = tupleKey(e.local, e.remote);
    timerLate.set(key, [...(timerLate.get(key) ?? []), { timeUs: e.timeUs, jiffies: e.timerLateJiffies }]);
  }
  for (const e of retransmits) if (e.error === EBUSY) fires.set(tupleKey(e.local, e.remote), [...(fires.get(tupleKey(e.local, e.remote)) ?? []), e.timeUs]);
  for (const [tuple, busy] of fires) {
    const own = host.segments.filter((s) => {
      const ends = segmentEndpoints(s);
      return isAddressOf(host, s.src) && tupleKey(ends.src, ends.dst) === tuple;
    });
    const seen = new Set<string>();
    const repeats = own.filter((s) => {
      if (sequenceLength(s) === 0) return false;
      const key = retransmissionKey(s);
      const repeat = seen.has(key);
      seen.add(key);
      return repeat;
    });
    for (const event of retransmits) {
      if (event.error !== 0 || tupleKey(event.local, event.remote) !== tuple) continue;
      const fireUs = busy.findLast((us) => us < event.timeUs);
      const copy = repeats.find((s) => fireUs !== undefined && s.timeUs >= fireUs && !released.has(s.frame));
      if (fireUs === undefined || copy === undefined) continue;
      const sentUs = Math.min(event.timeUs, copy.timeUs);
      const previous = own.findLast((s) => s.timeUs < copy.timeUs);
      const onRelease = previous !== undefined && previous.timeUs >= fireUs && sentUs - previous.timeUs <= TSQ_SEND_MS * 1000;
      if (onRelease && ![...released.values()].some((r) => r.fireUs === fireUs)) released.set(copy.frame, { fireUs, sentUs });
    }
  }
  return { fires, released, timerLate };
}

function tupleKey(local: string, remote: string): string {
  return `${local} ${remote}`;
}

/** The host's fires on `tuple` that found the last copy still queued, within (fromUs, untilUs). */
export function queuedFiresOf(waits: TracedTimerFires, tuple: { local: string; remote: string }, fromUs: number, untilUs: number): number[] {
  return (waits.fires.get(tupleKey(tuple.local, tuple.remote)) ?? []).filter((us) => us > fromUs && us < untilUs);
}

/** One fire of a series' retransmission timer: when, the copy it sent (none: the fire found the last copy still queued), how late its timer ran. */
export interface TimerFire<T> {
  readonly timeUs: number;
  readonly copy?: T;
  /** Jiffies the timer softirq ran after the wheel's bucket (traced; absent: not known, or no timer sent it). */
  readonly lateJiffies?: number;
}

/** A timer's send is traced microseconds from its capture (the tracepoint at transmission, the tap at the device). */
const TRACE_TO_CAPTURE_US = 2000;

/**
 * A series' sends as its timer made them, oldest first (absolute µs): each copy when TCP sent it (a held copy's
 * send, held-sends.ts; a copy sent on release at the fire it belongs to), every other fire on `tuple` that found
 * the last copy still queued, after the first send and before `untilUs` (the answer), and the moments TCP
 * restarted the timer by sending a copy on release. `frame`: the copy's frame in the sender's capture.
 */
export function timerFiresOf<T extends { readonly frame: number | undefined; readonly timeUs: number }>(
  copies: readonly T[],
  held: ReadonlyMap<number, HeldSend>,
  waits: TracedTimerFires,
  tuple: { local: string; remote: string },
  untilUs: number,
): { fires: TimerFire<T>[]; restartsUs: number[] } {
  const fires: TimerFire<T>[] = [];
  const restartsUs: number[] = [];
  for (const copy of copies) {
    const release = copy.frame === undefined ? undefined : waits.released.get(copy.frame);
    if (release !== undefined) restartsUs.push(release.sentUs);
    fires.push({ timeUs: release?.fireUs ?? (copy.frame === undefined ? undefined : held.get(copy.frame)?.sentUs) ?? copy.timeUs, copy });
  }
  const claimed = new Set(fires.map((f) => f.timeUs));
  const firstUs = fires[0]?.timeUs ?? Infinity;
  for (const timeUs of queuedFiresOf(waits, tuple, firstUs, untilUs)) if (!claimed.has(timeUs)) fires.push({ timeUs });
  fires.sort((a, b) => a.timeUs - b.timeUs);
  const late = waits.timerLate.get(tupleKey(tuple.local, tuple.remote)) ?? [];
  const withLateness = fires.map((f, i) => {
    if (i === 0) return f; // the original: no timer sent it
    const traced = late.find((l) => Math.abs(l.timeUs - f.timeUs) <= TRACE_TO_CAPTURE_US);
    return traced === undefined ? f : { ...f, lateJiffies: traced.jiffies };
  });
  return { fires: withLateness, restartsUs };
}

/**
 * The fires as the timing fit takes them: offsets from the first fire, the copy's frame (`frameOf`; 0 for a fire that
 * sent nothing, marked `fireOnly`), the traced lateness in ms at `hz`; `originUs` is taken off every time.
 */
export function observedSendsOf<T>(fires: readonly TimerFire<T>[], hz: number, frameOf: (copy: T) => number, originUs = 0): ObservedSend[] {
  const firstUs = fires[0]?.timeUs ?? originUs;
  return fires.map(({ timeUs, copy, lateJiffies }) => ({
    offsetMs: (timeUs - firstUs) / 1000,
    frame: copy === undefined ? 0 : frameOf(copy),
    timeUs: timeUs - originUs,
    ...(copy === undefined && { fireOnly: true as const }),
    ...(lateJiffies !== undefined && lateJiffies > 0 && { timerLateMs: (lateJiffies * 1000) / hz }),
  }));
}
