import type { IcmpMessage } from '../observe/packet.js';
import { icmpRevertsBackoff, icmpSocketError } from '../tcp/icmp-errors.js';
import { LINUX_TCP_CONSTANTS } from '../tcp/kernel-settings.js';
import type { RtoScheduleOptions } from '../tcp/timing-model.js';
import { estimateFinRto, type FinRtoEstimate } from './timing-fit.js';
import { REPLAY_WORDS, type ReplayWords } from '../messages/check-words/conformance-words.js';

/** What the ICMP errors a host received during one retransmitted series did to its socket. */
export interface IcmpDuringSeries {
  /** The errors from the peer that a TCP socket takes (icmpSocketError()), in capture order. */
  readonly errors: readonly IcmpMessage[];
  /** The last one's errno: the soft error the give-up reports instead of ETIMEDOUT. */
  readonly softError?: string;
  /** The RTO retransmissions (1 = the first) whose doubling a net/host unreachable undid (RtoScheduleOptions.revertedAfterRto). */
  readonly revertedAfterRto: ReadonlySet<number>;
  /** For people: the errors and the soft error they leave (absent without errors). */
  readonly softErrorLine?: string;
  /** For people: which retransmissions they reverted (absent without reverts). */
  readonly revertLine?: string;
  /** The two lines above in Chinese (present with softErrorLine). */
  readonly zh?: { readonly softErrorLine: string; readonly revertLine?: string };
}

/**
 * The ICMP errors `icmp` (one host's capture) holds from `peer` while the host retransmitted a series of
 * copies sent at `sendsUs` (capture µs; the first is the original), and what they did (src/tcp/icmp-errors.ts):
 * the last one's errno is the soft error the give-up reports (tcp_v4_err() keeps it in sk_err_soft,
 * tcp_write_err() reports it instead of ETIMEDOUT), and a net or host unreachable arriving before the next
 * copy undid that RTO retransmission's doubling (tcp_ld_RTO_revert(), RFC 6069). `firstRto` is the index in
 * `sendsUs` of the first RTO retransmission (2 after a tail-loss probe). The quoted segment (IcmpMessage.quoted) is not matched here:
 * an error between two copies answers the first (every copy carries seq = SND.UNA, inside the [SND.UNA,
 * SND.NXT] tcp_v4_err() accepts; errors drawn by keepalive probes, which quote SND.UNA − 1, the kernel
 * ignores: test/fixtures/labs/teacher/keepalive-icmp.yaml).
 */
export function icmpDuringSeries(icmp: readonly IcmpMessage[], peer: string, sendsUs: readonly number[], firstRto: number): IcmpDuringSeries {
  const firstUs = sendsUs[0] ?? 0;
  const errors = icmp.filter((m) => m.src === peer && m.timeUs >= firstUs && icmpSocketError(m.family, m.type, m.code) !== undefined);
  const revertedAfterRto = new Set<number>();
  for (let i = firstRto; i < sendsUs.length; i += 1) {
    const from = sendsUs[i] ?? 0;
    const to = sendsUs[i + 1] ?? Infinity;
    if (errors.some((m) => m.timeUs > from && m.timeUs < to && icmpRevertsBackoff(m.family, m.type, m.code))) revertedAfterRto.add(i - firstRto + 1);
  }
  const last = errors.at(-1);
  if (last === undefined) return { errors, revertedAfterRto };
  const softError = icmpSocketError(last.family, last.type, last.code) as string;
  const lines = (w: ReplayWords): { softErrorLine: string; revertLine?: string } => ({
    softErrorLine: w.softErrorLine(errors.length, last.frame, last.type, last.code, softError),
    ...(revertedAfterRto.size > 0 && { revertLine: w.revertLine([...revertedAfterRto]) }),
  });
  return { errors, softError, revertedAfterRto, ...lines(REPLAY_WORDS.en), zh: lines(REPLAY_WORDS.zh) };
}

/** A series retransmitted on the RTO timer (an orphan's FIN, established data), as the model needs it. */
export interface RtoSeries {
  /** ms from the first copy. */
  readonly offsetsMs: readonly number[];
  readonly estimate: FinRtoEstimate;
  readonly icmp: IcmpDuringSeries;
  /** The schedule options the copies give: the tail-loss probe or fast retransmission, and the RFC 6069 reverts. */
  readonly options: RtoScheduleOptions;
}

/**
 * The one reading of an RTO-timed series that the checks (timing-checks.ts) and the replay's give-up timers
 * (endpoint-replay.ts) share: the copies' offsets, the ICMP errors from `peer` among them, and the RTO
 * estimate that takes their reverts into account (estimateFinRto()). `peer` is the peer's address; the RTO
 * floor is the route's rto_min the host recorded, else TCP_RTO_MIN.
 */
export function rtoSeriesOf(
  sendsUs: readonly number[],
  icmp: readonly IcmpMessage[],
  peer: string,
  recordedRtoMinMs: number | undefined,
  hz: number,
  /** The second send is not an RTO retransmission: a tail-loss probe of a later segment, or a fast retransmission (rto-copies.ts). */
  firstRepeat?: 'probe' | 'fast',
  /** Moments (ms from the first send) at which TCP restarted the timer by sending a copy that had waited (traced-fires.ts). */
  restartsMs: readonly number[] = [],
): RtoSeries {
  const rtoMinMs = recordedRtoMinMs ?? LINUX_TCP_CONSTANTS.TCP_RTO_MIN_MS;
  const firstUs = sendsUs[0] ?? 0;
  const offsetsMs = sendsUs.map((us) => (us - firstUs) / 1000);
  // Either re-arms the RTO from itself: the gaps that measure the RTO start after it (estimateFinRto()).
  const notRto = firstRepeat !== undefined;
  const firstRto = estimateFinRto(offsetsMs, rtoMinMs, hz, undefined, notRto, restartsMs).tlpAtMs === undefined ? 1 : 2;
  const errors = icmpDuringSeries(icmp, peer, sendsUs, firstRto);
  const estimated = estimateFinRto(offsetsMs, rtoMinMs, hz, errors.revertedAfterRto, notRto, restartsMs);
  const fastAtMs = firstRepeat === 'fast' ? offsetsMs[1] : undefined;
  const estimate = fastAtMs === undefined ? estimated : { ...estimated, tlpAtMs: undefined };
  const options = {
    ...(estimate.tlpAtMs !== undefined && { tlpAtMs: estimate.tlpAtMs }),
    ...(fastAtMs !== undefined && { fastRetransmitAtMs: fastAtMs }),
    revertedAfterRto: errors.revertedAfterRto,
  };
  return { offsetsMs, estimate, icmp: errors, options };
}
