import type { Step } from '../lab/model.js';
import { formatFlags, type TcpSegment } from '../observe/packet.js';
import type { RunHost, RunRecord } from './run-record.js';

/*
 * Segments an `inject` step wrote on a raw socket (src/run/inject-segment.ts). They leave from the
 * sender's own address, so its capture shows them as sent by it, but no socket of the sender sent them:
 * its TCP never knew of them. The replay of the sender's sockets, the split of a 4-tuple into connections
 * and the timing model therefore leave them out of what the sender's TCP did (they keep them as what the
 * receiver's TCP received); packet counts and the ladder still show them, marked "injected".
 *
 * A segment is the injected one when the sender's capture holds it leaving with exactly the step's
 * ports, flags, sequence number and payload length, from the step's start to INJECT_SLACK_US after its
 * end; the first such segment per step is taken.
 */

/** hping3 sends at once; a capture stamps the segment within microseconds, so 50 ms covers a busy machine. */
const INJECT_SLACK_US = 50_000;

/** Where an injected segment is: the step that sent it and its frame in the sender's capture. */
export interface InjectedSegment {
  /** Index of the inject step in the lab. */
  readonly step: number;
  readonly host: string;
  readonly frame: number;
  readonly segment: TcpSegment;
}

/** The injected segments of a run, one per inject step that ran and was captured (pure). */
export function findInjectedSegments(run: RunRecord): InjectedSegment[] {
  const found: InjectedSegment[] = [];
  for (const record of run.steps) {
    const step: Step | undefined = run.lab.steps[record.index];
    if (step?.kind !== 'inject') continue;
    const sender = run.hosts.find((h) => h.name === step.host);
    const target = run.hosts.find((h) => h.name === step.to);
    if (sender === undefined || target === undefined) continue;
    const flags = step.flags === 'none' ? formatFlags(0) : step.flags;
    const segment = sender.segments.find(
      (s) =>
        s.src === sender.address &&
        s.dst === target.address &&
        s.srcPort === step.fromPort &&
        s.dstPort === step.port &&
        s.seq === step.seq &&
        s.payloadLength === step.bytes &&
        formatFlags(s.flags) === flags &&
        s.timeUs >= record.startUs - INJECT_SLACK_US &&
        s.timeUs <= record.endUs + INJECT_SLACK_US &&
        !found.some((f) => f.host === sender.name && f.frame === s.frame),
    );
    if (segment !== undefined) found.push({ step: record.index, host: sender.name, frame: segment.frame, segment });
  }
  return found;
}

/** The host's captured segments less those it injected: what its own TCP sent and received. */
export function segmentsOfTcp(host: RunHost, injected: readonly InjectedSegment[]): readonly TcpSegment[] {
  const frames = new Set(injected.filter((i) => i.host === host.name).map((i) => i.frame));
  return frames.size === 0 ? host.segments : host.segments.filter((s) => !frames.has(s.frame));
}
