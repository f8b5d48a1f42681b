import type { AgentEvent } from '../agent/protocol.js';
import { CaptureDecoder } from '../observe/capture-decoder.js';
import type { TcpSegment } from '../observe/packet.js';
import type { RunObserver } from './run-observer.js';
import { message, type Lang } from '../messages/catalog.js';
import { receiveDropRule } from '../analysis/rule-timeline.js';
import { isLabSocket } from '../analysis/socket-timeline.js';
import type { StepContext } from './step-runner.js';

/**
 * Turns a run's raw streams (pcap chunks of every host's capture, agent events) into what the
 * live view shows: each segment once, in capture-time order, with the rule that drops it, and each
 * socket state change. Times are relative to the first step (0 before it starts).
 */
export class LiveFeed {
  private readonly decoders = new Map<string, CaptureDecoder>();
  /** address → lab host name, known once the lab is deployed. */
  private readonly hostOf = new Map<string, string>();
  private readonly reorder = new TimeOrderedRelease(30);
  private ctx: StepContext | undefined;
  private startedUs = 0;

  constructor(
    private readonly observer: RunObserver,
    hostNames: readonly string[],
    /** The language of the notes it gives the observer. */
    private readonly lang: Lang = 'en',
  ) {
    for (const name of hostNames) {
      this.decoders.set(name, new CaptureDecoder({ onSegment: (seg) => this.onSegment(name, seg) }));
    }
  }

  /** The lab is deployed and its steps are about to run. */
  start(ctx: StepContext, startedUs: number): void {
    this.ctx = ctx;
    this.startedUs = startedUs;
    for (const host of ctx.lab.hosts.values()) this.hostOf.set(host.address, host.name);
  }

  pcapChunk(host: string, chunk: Buffer): void {
    this.decoders.get(host)?.push(chunk);
  }

  agentEvent(host: string, event: AgentEvent): void {
    if (event.type !== 'socket' || !isLabSocket(event.local) || event.state === event.previous) return;
    this.observer.state(this.rel(event.timeUs), host, `${event.local} ↔ ${event.remote}`, event.state, event.timer.retransmits);
  }

  /** Shows whatever is still held back. */
  flush(): void {
    this.reorder.flush();
  }

  private onSegment(capturedOn: string, seg: TcpSegment): void {
    // Shown from the sender's capture, or from the receiver's when the sender is outside the lab
    // (a spoofed source): never twice.
    const from = this.hostOf.get(seg.src);
    const to = this.hostOf.get(seg.dst) ?? seg.dst;
    if (from !== capturedOn && (from !== undefined || to !== capturedOn)) return;
    const note = this.ctx && describeDrop(this.ctx, to, seg, this.lang);
    this.reorder.add(seg.timeUs, () => this.observer.segment(this.rel(seg.timeUs), from ?? seg.src, to, seg, note));
  }

  private rel(timeUs: number): number {
    return this.startedUs === 0 ? 0 : timeUs - this.startedUs;
  }
}

/**
 * Names the rule on the receiving host that drops this segment: the first rule in place, in the order the
 * lab added them, that the rule timeline's one predicate calls a receive-side drop matching it
 * (analysis/rule-timeline.ts receiveDropRule(): INPUT/PREROUTING, DROP or REJECT, compiled once). A rule with
 * hidden-state matches (-m limit, statistic, recent) is named as a maybe. Live only: the report decides with the
 * rule counters.
 */
function describeDrop(ctx: StepContext, receiver: string, seg: TcpSegment, lang: Lang): string | undefined {
  for (const [key, { host, rule }] of ctx.rules) {
    if (host !== receiver) continue;
    const drop = receiveDropRule(rule);
    if (drop !== undefined && 'matches' in drop && drop.matches(seg)) {
      const words = { verb: message(lang, drop.target === 'DROP' ? 'run.drop.DROP' : 'run.drop.REJECT'), rule: key.slice(host.length + 1), host };
      // -m limit/statistic/recent: the rule takes only some of what it matches; its counter decides at the end.
      if (drop.unpredictable.length > 0) return message(lang, 'run.maybeDrop', { ...words, modules: drop.unpredictable.map((u) => u.module).join(', -m ') });
      return message(lang, 'run.drop', words);
    }
  }
  return undefined;
}

/**
 * Captures of different hosts arrive through different streams: each segment is held briefly and
 * released in timestamp order.
 */
class TimeOrderedRelease {
  private pending: { timeUs: number; release: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly holdMs: number) {}

  add(timeUs: number, release: () => void): void {
    this.pending.push({ timeUs, release });
    this.timer ??= setTimeout(() => this.flush(), this.holdMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.sort((a, b) => a.timeUs - b.timeUs);
    this.pending = [];
    for (const item of batch) item.release();
  }
}
