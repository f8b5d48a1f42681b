import type { AgentEvent } from '../agent/protocol.js';
import type { Lab } from '../lab/model.js';
import type { KernelCallPaths } from '../observe/kernel-call-path.js';
import type { CaptureCounters } from '../observe/capture-counters.js';
import type { KernelEvent } from '../observe/kernel-trace.js';
import type { IcmpMessage, TcpSegment } from '../observe/packet.js';

/**
 * Everything a run observed, as loaded from its run folder. The verifier works on this alone,
 * so a run can be re-verified later, offline, on another machine.
 */
export interface RunRecord {
  lab: Lab;
  runId: string;
  /** Wall-clock µs when the first step started: the zero of every relative time in messages. */
  startedUs: number;
  hosts: readonly RunHost[];
  steps: readonly StepRecord[];
  /** Why the run has no kernel trace, as its kernel-trace.json records it (tracefs unavailable, remote engine, …); absent when it has one, or no file. */
  kernelTraceUnavailable?: string;
  /** The kernel's call paths (`kernel-paths.json`: stacks of the recorded calls, connect(2)'s return); absent in older folders. */
  kernelCallPaths?: KernelCallPaths;
}

export interface RunHost {
  name: string;
  address: string;
  /** The host's IPv6 address, when the lab used IPv6 (a dual-stack network). */
  address6?: string;
  /** Agent events in arrival order (socket operations and /proc/net/tcp state samples). */
  events: readonly AgentEvent[];
  /** Segments captured on this host's eth0, in capture order. */
  segments: readonly TcpSegment[];
  /** ICMP messages captured on this host's eth0, in capture order (absent in records made without them). */
  icmp?: readonly IcmpMessage[];
  /** net.ipv4.tcp_* settings read from the host's network namespace after deployment. */
  kernelSettings: Readonly<Record<string, string>>;
  /** `iptables-save -c` output taken after the last step (empty when the host had no rules). */
  ruleCounters: string;
  /** Per `unrule` step, in order: `iptables-save -c` read in the same command just before the delete (<host>/removed-rule-counters.jsonl). */
  removedRuleCounters?: readonly RemovedRuleCounters[];
  /** `ip6tables-save -c` output taken at the same moment (empty when the host had no IPv6 rules, or in older run folders). */
  ruleCounters6?: string;
  /**
   * The kernel's tracepoint events of this host's sockets (`<host>/kernel-events.jsonl`, on the
   * capture clock), in time order; absent when the run had no kernel trace (see stateSourceOf).
   */
  kernelEvents?: readonly KernelEvent[];
  /** tcpdump's counters for this host's capture (`<host>/capture-counters.json`; absent in older run folders). */
  captureCounters?: CaptureCounters;
}

/** The counters of a rule removed by `unrule`, read just before the delete: one line of <host>/removed-rule-counters.jsonl. */
export interface RemovedRuleCounters {
  /** The rule's name in the lab. */
  readonly rule: string;
  /** `iptables-save -c` output. */
  readonly counters: string;
  /** The comment of the count-only rule the delete left in its place (step-runner.ts unruleArgv()); absent in older run folders. */
  readonly passedComment?: string;
}

/** File of a host's run folder with the counters of the rules `unrule` removed. */
export const REMOVED_RULE_COUNTERS_FILE = 'removed-rule-counters.jsonl';
/** True when `address` (as decoded from a packet or a /proc row, without brackets) is one of the host's addresses, of either family. */
export function isAddressOf(host: Pick<RunHost, 'address' | 'address6'>, address: string): boolean {
  return address === host.address || (host.address6 !== undefined && address === host.address6);
}

/** The host's address of `family`: its IPv4 address, or its IPv6 one (undefined when it has none). */
export function addressOfFamily(host: Pick<RunHost, 'address' | 'address6'>, family: 4 | 6): string | undefined {
  return family === 4 ? host.address : host.address6;
}

/** Host name by address, both families (for decoding who sent a segment). */
export function hostNamesByAddress(hosts: readonly Pick<RunHost, 'name' | 'address' | 'address6'>[]): Map<string, string> {
  return new Map(hosts.flatMap((h) => [[h.address, h.name] as const, ...(h.address6 !== undefined ? [[h.address6, h.name] as const] : [])]));
}

/** Where a host's exact socket states come from: the kernel's tracepoints, or /proc/net/tcp samples only. */
export function stateSourceOf(host: RunHost): 'tracepoint' | 'sampled' {
  return host.kernelEvents !== undefined ? 'tracepoint' : 'sampled';
}

export interface StepRecord {
  index: number;
  kind: string;
  description: string;
  /** The connection a socket-call step acted on, as resolved at run time (its `conn`, else the host's latest one). */
  conn?: string;
  startUs: number;
  endUs: number;
  error?: string;
}

/** The host named `name`; a name the record lacks is a contradiction between lab and record. */
export function hostOf(run: RunRecord, name: string): RunHost {
  const host = run.hosts.find((h) => h.name === name);
  if (host === undefined) {
    throw new Error(`run record has no host "${name}" (hosts: ${run.hosts.map((h) => h.name).join(', ')}); fix the expectation's host`);
  }
  return host;
}

/** When the experiment ended: the end of its last step (the run's start without steps). What comes after is teardown. */
export function stepsEndUs(run: RunRecord): number {
  let end = run.startedUs;
  for (const step of run.steps) end = Math.max(end, step.endUs);
  return end;
}

/** The last moment the record holds: the end of the last step or the last agent event, whichever is later. */
export function recordEndUs(run: RunRecord): number {
  let end = stepsEndUs(run);
  for (const host of run.hosts) for (const event of host.events) end = Math.max(end, event.timeUs);
  return end;
}

/** `+1.234 s` relative to the start of the first step, as every check's evidence prints times. */
export function relTime(run: RunRecord, timeUs: number): string {
  return `+${((timeUs - run.startedUs) / 1e6).toFixed(3)} s`;
}
