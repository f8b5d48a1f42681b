import { message, type Lang } from '../messages/catalog.js';
import type { Runtime } from '../runtime/runtime.js';
import { RUN_LABEL } from './deployed-lab.js';
import { listTracingInstanceRuns, sweepTracingInstances } from './kernel-tracer.js';
import { sweepChildEhashWindow } from '../runtime/docker/private-ehash.js';
import { currentOwner, ownerLiveness, type OwnerLiveness, type RunOwner } from './run-owner.js';

export interface SweepResult {
  containers: number;
  networks: number;
  hostRules: number;
  tracingInstances: number;
  /** The host's net.ipv4.tcp_child_ehash_entries, left set by a run killed while its containers started, was put back. */
  childEhashRestored: boolean;
  /** Runs (by id) whose resources were removed. */
  runs: string[];
  /** Runs left in place because their owner is alive (or on another machine). */
  kept: { runId: string; liveness: OwnerLiveness }[];
}

export interface SweepOptions {
  /** Also remove runs whose owner is alive or unknown (`tcplab clean --all/--force`). */
  includeLive?: boolean;
  self?: RunOwner;
  /** The machine's tcplab tracing instances (tests pass a fake). */
  tracing?: { listRuns(): string[]; sweep(isRunAlive: (runId: string) => boolean): Promise<string[]> };
  /** Puts back the host's child ehash size a killed run left set (tests pass a fake); true when it did. */
  childEhash?: () => boolean;
}

const MACHINE_TRACING = { listRuns: listTracingInstanceRuns, sweep: sweepTracingInstances };
const machineChildEhash = (): boolean => sweepChildEhashWindow();

/**
 * Removes what runs whose owner is gone left on the engine: containers, networks, the host
 * isolation rules of networks that no longer exist, and tracing instances. A run makes its network
 * before its tracing instance, so instances are listed before the engine is: an instance whose run
 * has no live resource in the later listing is a leftover, and one made after the listing is kept. Live runs of other processes are kept unless
 * `includeLive`. Runs first in every `tcplab run`, and is what `tcplab clean` does.
 */
export async function sweepDeadRuns(runtime: Runtime, options: SweepOptions = {}): Promise<SweepResult> {
  const self = options.self ?? currentOwner();
  const tracing = options.tracing ?? MACHINE_TRACING;
  const instancesBefore = new Set(tracing.listRuns());
  const found = await runtime.listLabelled(RUN_LABEL);
  const verdictOf = new Map<string, OwnerLiveness>();
  for (const resource of [...found.containers, ...found.networks]) {
    const runId = resource.labels[RUN_LABEL] ?? '';
    if (!verdictOf.has(runId)) verdictOf.set(runId, ownerLiveness(resource.labels, self));
  }
  const doomed = (labels: Record<string, string>): boolean => options.includeLive === true || verdictOf.get(labels[RUN_LABEL] ?? '') === 'dead';
  const containers = found.containers.filter((c) => doomed(c.labels));
  const networks = found.networks.filter((n) => doomed(n.labels));
  await Promise.all(containers.map((c) => runtime.removeHost({ id: c.id, name: c.name, address: '' })));
  await Promise.all(networks.map((n) => runtime.removeNetwork({ id: n.id, name: n.name, subnet: '' })));
  const hostRules = await runtime.sweepIsolationRules();
  const runs = [...verdictOf.keys()].filter((id) => options.includeLive === true || verdictOf.get(id) === 'dead');
  const kept = new Set([...verdictOf.keys()].filter((id) => !runs.includes(id)));
  const tracingInstances = (await tracing.sweep((runId) => !instancesBefore.has(runId) || kept.has(runId))).length;
  const childEhashRestored = (options.childEhash ?? machineChildEhash)();
  return {
    containers: containers.length,
    networks: networks.length,
    hostRules,
    tracingInstances,
    childEhashRestored,
    runs,
    kept: [...kept].map((runId) => ({ runId, liveness: verdictOf.get(runId) ?? 'unknown' })),
  };
}

/** One line saying what a sweep removed, or undefined when it removed nothing. */
export function describeSweep(result: SweepResult, lang: Lang = 'en'): string | undefined {
  if (result.containers + result.networks + result.hostRules + result.tracingInstances === 0 && !result.childEhashRestored) return undefined;
  const { containers, networks, hostRules, tracingInstances } = result;
  return (
    message(lang, 'run.swept', { runs: result.runs.length, containers, networks, hostRules, tracingInstances }) +
    (result.childEhashRestored ? message(lang, 'run.sweptEhash') : '')
  );
}
