import type { Runtime } from '../runtime/runtime.js';
import { RUN_LABEL } from './deployed-lab.js';
import { currentOwner, ownerLiveness, type OwnerLiveness, type RunOwner } from './run-owner.js';

export interface SweepResult {
  containers: number;
  networks: number;
  hostRules: number;
  /** Runs (by id) whose resources were removed. */
  runs: string[];
  /** Runs left in place because their owner is alive (or on another machine). */
  kept: { runId: string; liveness: OwnerLiveness }[];
}

export interface SweepOptions {
  /** Also remove runs whose owner is alive or unknown (`tcplab clean --all/--force`). */
  includeLive?: boolean;
  self?: RunOwner;
}

/**
 * Removes what runs whose owner is gone left on the engine: containers, networks, and the host
 * isolation rules of networks that no longer exist. Live runs of other processes are kept unless
 * `includeLive`. Runs first in every `tcplab run`, and is what `tcplab clean` does.
 */
export async function sweepDeadRuns(runtime: Runtime, options: SweepOptions = {}): Promise<SweepResult> {
  const self = options.self ?? currentOwner();
  const found = await runtime.listLabelled(RUN_LABEL);
  const verdictOf = new Map<string, OwnerLiveness>();
  for (const resource of [...found.containers, ...found.networks]) {
    const runId = resource.labels[RUN_LABEL] ?? '';
    if (!verdictOf.has(runId)) verdictOf.set(runId, ownerLiveness(resource.labels, self));
  }
  const doomed = (labels: Record<string, string>): boolean =>
    options.includeLive === true || verdictOf.get(labels[RUN_LABEL] ?? '') === 'dead';
  const containers = found.containers.filter((c) => doomed(c.labels));
  const networks = found.networks.filter((n) => doomed(n.labels));
  await Promise.all(containers.map((c) => runtime.removeHost({ id: c.id, name: c.name, address: '' })));
  await Promise.all(networks.map((n) => runtime.removeNetwork({ id: n.id, name: n.name, subnet: '' })));
  const hostRules = await runtime.sweepIsolationRules();
  const runs = [...verdictOf.keys()].filter((id) => options.includeLive === true || verdictOf.get(id) === 'dead');
  const kept = [...verdictOf.entries()]
    .filter(([id]) => !runs.includes(id))
    .map(([runId, liveness]) => ({ runId, liveness }));
  return { containers: containers.length, networks: networks.length, hostRules, runs, kept };
}

/** One line saying what a sweep removed, or undefined when it removed nothing. */
export function describeSweep(result: SweepResult): string | undefined {
  if (result.containers + result.networks + result.hostRules === 0) return undefined;
  return (
    `removed what ${result.runs.length} dead run(s) left: ${result.containers} container(s), ${result.networks} network(s), ` +
    `${result.hostRules} host isolation rule(s)`
  );
}
