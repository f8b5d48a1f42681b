import type { IcmpMessage, TcpSegment } from '../observe/packet.js';
import type { EndpointReplay } from './endpoint-replay.js';
import { replayRun } from './run-replay.js';
import { readHostKernelSettings, type HostKernelSettings } from './host-kernel-settings.js';
import { buildRuleTimeline, icmpReachingStack, ruleDropOf, type RuleTimeline } from './rule-timeline.js';
import { isAddressOf, type RunRecord, recordEndUs } from './run-record.js';
import { segmentEndpoints } from './run-sockets.js';
import { traceSegments, type LadderPhase, type SegmentTrace } from './segment-trace.js';
import { sampleStates, withExactStates, type StateSample } from './socket-timeline.js';
import { findSynAckReplies, isPureSyn, isSynAck } from './syn-ack-replies.js';
import { heldSendsOf, type HeldSend } from './held-sends.js';
import { tracedTimerFiresOf, type TracedTimerFires } from './traced-fires.js';
import { analyseSeries, type AnalysedSeries } from './timing-series.js';

/*
 * The analysis of one run, computed once (pure: from the RunRecord alone) and read by every check and
 * every report: the connections and each segment's copies and fate, the rule timeline, each host's
 * sampled states and recorded settings, the SYN-ACKs that answer a SYN rather than fire a timer, the
 * replay of every endpoint through the Linux machine, the timing fits of every retransmitted series under
 * one policy, and the phases (handshake, close, simultaneous open/close). Checks (src/verify) judge it against the lab; reports (src/report) draw it with the verdict.
 */

/** One TCP connection of the run: its two ends and its segments (ids into `trace.segments`). */
export interface RunConnection {
  /** `ip:port ip:port`, sorted. */
  readonly key: string;
  readonly segmentIds: readonly string[];
  readonly phases: readonly LadderPhase[];
}

/** What one host observed, digested. */
export interface HostAnalysis {
  readonly name: string;
  readonly address: string;
  readonly settings: HostKernelSettings;
  /**
   * States of every lab socket, one entry per change: the samples (socket-timeline.ts sampleStates()) and, on a
   * host with a kernel trace, the exact transitions the sampler missed (withExactStates()).
   */
  readonly samples: readonly StateSample[];
  /** SYN-ACK frame of this host's capture → the retransmitted SYN it answers (tcp_check_req(), syn-ack-replies.ts). */
  readonly synAckReplies: ReadonlyMap<number, TcpSegment>;
  /** Frames of this host's capture that a `hold` kept queued → when TCP sent them (held-sends.ts). */
  readonly heldSends: ReadonlyMap<number, HeldSend>;
  /** What this host's trace says of its timer fires: those that found the last copy queued, copies sent on release, lateness (traced-fires.ts). */
  readonly tracedFires: TracedTimerFires;
  /** The ICMP messages addressed to this host that its firewall let through (icmpReachingStack()): what TCP's error handler saw. */
  readonly icmp: readonly IcmpMessage[];
}

export interface RunAnalysis {
  readonly record: RunRecord;
  /** End of the observation (µs): the last step's end or the last agent event. */
  readonly endUs: number;
  readonly hosts: readonly HostAnalysis[];
  readonly rules: RuleTimeline;
  readonly trace: SegmentTrace;
  readonly connections: readonly RunConnection[];
  readonly replays: readonly EndpointReplay[];
  /** Every series of copies, the retransmitted SYN/SYN-ACK/FIN ones fitted to the timing model (timing-series.ts). */
  readonly series: readonly AnalysedSeries[];
}

/** Analyses a run record once; every check and report reads the result. */
export function analyzeRun(record: RunRecord): RunAnalysis {
  const rules = buildRuleTimeline(record);
  const trace = traceSegments(record, rules);
  const hosts: HostAnalysis[] = record.hosts.map((host) => {
    const dropped = (s: TcpSegment): boolean => ruleDropOf(rules, host.name, s.frame) !== undefined;
    const heldSends = heldSendsOf(record, host, dropped);
    return {
      name: host.name,
      address: host.address,
      settings: readHostKernelSettings(host),
      samples: withExactStates(sampleStates(host.events), host.events, host.kernelEvents, host.kernelSettings['net.ipv4.tcp_syncookies'] === '2'),
      synAckReplies: synAckRepliesOf(host.segments, (a) => isAddressOf(host, a), dropped, heldSends),
      heldSends,
      tracedFires: tracedTimerFiresOf(host),
      icmp: icmpReachingStack(rules, host),
    };
  });
  const endUs = recordEndUs(record);
  return {
    record,
    endUs,
    hosts,
    rules,
    trace,
    connections: connectionsOf(trace),
    replays: replayRun(record, rules),
    series: analyseSeries(record, hosts, trace.segments),
  };
}

/** The analysis of host `name`; a name the run lacks is a contradiction between lab and record. */
export function hostAnalysisOf(analysis: RunAnalysis, name: string): HostAnalysis {
  const host = analysis.hosts.find((h) => h.name === name);
  if (host === undefined)
    throw new Error(`run analysis has no host "${name}" (hosts: ${analysis.hosts.map((h) => h.name).join(', ')}); fix the expectation's host`);
  return host;
}

/** Every request series (SYN-ACKs of one 4-tuple and sequence number) of a capture, through findSynAckReplies(). */
function synAckRepliesOf(
  segments: readonly TcpSegment[],
  isOwn: (address: string) => boolean,
  dropped: (s: TcpSegment) => boolean,
  held: ReadonlyMap<number, HeldSend>,
): Map<number, TcpSegment> {
  const series = new Map<string, TcpSegment[]>();
  const syns = new Map<string, TcpSegment[]>();
  for (const s of segments) {
    const { src, dst } = segmentEndpoints(s);
    if (isOwn(s.src) && isSynAck(s)) {
      const key = `${src} ${dst} ${s.seq}`;
      series.set(key, [...(series.get(key) ?? []), s]);
    } else if (isOwn(s.dst) && isPureSyn(s)) {
      const key = `${dst} ${src}`;
      syns.set(key, [...(syns.get(key) ?? []), s]);
    }
  }
  const replies = new Map<number, TcpSegment>();
  for (const [key, synAcks] of series) {
    const tuple = key.slice(0, key.lastIndexOf(' '));
    const sentUs = (s: TcpSegment): number => held.get(s.frame)?.sentUs ?? s.timeUs;
    for (const [frame, syn] of findSynAckReplies(synAcks, syns.get(tuple) ?? [], dropped, sentUs)) replies.set(frame, syn);
  }
  return replies;
}

function connectionsOf(trace: SegmentTrace): RunConnection[] {
  const byKey = new Map<string, string[]>();
  for (const traced of trace.segments) {
    const s = traced.segment;
    const key = [`${s.src}:${s.srcPort}`, `${s.dst}:${s.dstPort}`].sort().join(' ');
    byKey.set(key, [...(byKey.get(key) ?? []), traced.id]);
  }
  return [...byKey].map(([key, segmentIds]) => ({
    key,
    segmentIds,
    phases: trace.phases.filter((p) => segmentIds.includes(p.first)),
  }));
}
