import { describe, expect, it } from 'vitest';
import { RUN_LABEL } from '../../../src/run/deployed-lab.js';
import { describeSweep, sweepDeadRuns } from '../../../src/run/reaper.js';
import { currentOwner, ownerLabels, ownerLiveness, type RunOwner } from '../../../src/run/run-owner.js';
import type { LabelledResources, Runtime } from '../../../src/runtime/runtime.js';

const self: RunOwner = { host: 'lab-pc', bootId: 'boot-1', pid: 100, startTicks: '5000' };
const stat = (pid: number, start: string, comm = 'node') => `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 11 0 ${start} 1000 200`;

describe('ownerLiveness', () => {
  const proc = (files: Record<string, string>) => (path: string) => files[path];
  it('alive when the pid runs with the recorded start time', () => {
    const labels = ownerLabels({ ...self, pid: 42, startTicks: '777' });
    expect(ownerLiveness(labels, self, proc({ '/proc/42/stat': stat(42, '777') }))).toBe('alive');
  });
  it('dead when the pid is gone, or was reused by a later process', () => {
    const labels = ownerLabels({ ...self, pid: 42, startTicks: '777' });
    expect(ownerLiveness(labels, self, proc({}))).toBe('dead');
    expect(ownerLiveness(labels, self, proc({ '/proc/42/stat': stat(42, '9999') }))).toBe('dead');
  });
  it('a command name with spaces and parentheses does not shift the fields', () => {
    const labels = ownerLabels({ ...self, pid: 42, startTicks: '777' });
    expect(ownerLiveness(labels, self, proc({ '/proc/42/stat': stat(42, '777', 'my (odd) name') }))).toBe('alive');
  });
  it('dead after a reboot; unknown on another machine or without owner labels', () => {
    expect(ownerLiveness(ownerLabels({ ...self, bootId: 'boot-0' }), self, proc({ '/proc/100/stat': stat(100, '5000') }))).toBe('dead');
    expect(ownerLiveness(ownerLabels({ ...self, host: 'other-pc' }), self, proc({}))).toBe('unknown');
    expect(ownerLiveness({ [RUN_LABEL]: 'r1' }, self, proc({}))).toBe('unknown');
  });
  it('this process is alive by its own record', () => {
    const me = currentOwner();
    expect(ownerLiveness(ownerLabels(me), me)).toBe('alive');
  });
});

describe('sweepDeadRuns', () => {
  const me = currentOwner();
  const dead = { ...ownerLabels(me), 'tcplab.owner.start': 'not-my-start-time' };
  const resources = (): LabelledResources => ({
    containers: [
      { id: 'c1', name: 'tcplab-dead-client', labels: { [RUN_LABEL]: 'dead-run', ...dead } },
      { id: 'c2', name: 'tcplab-live-client', labels: { [RUN_LABEL]: 'live-run', ...ownerLabels(me) } },
    ],
    networks: [
      { id: 'n1', name: 'tcplab-dead', labels: { [RUN_LABEL]: 'dead-run', ...dead } },
      { id: 'n2', name: 'tcplab-live', labels: { [RUN_LABEL]: 'live-run', ...ownerLabels(me) } },
    ],
    images: [],
  });
  const fake = () => {
    const removed: string[] = [];
    const runtime = {
      listLabelled: async () => resources(),
      removeHost: async (h: { id: string }) => void removed.push(h.id),
      removeNetwork: async (n: { id: string }) => void removed.push(n.id),
      sweepIsolationRules: async () => 1,
    } as unknown as Runtime;
    const instances = new Set(['dead-run', 'live-run', 'orphan-run']);
    const tracing = {
      listRuns: () => [...instances],
      sweep: async (isRunAlive: (runId: string) => boolean) => {
        // A run that made its instance after the listing above must be kept.
        instances.add('new-run');
        const gone = [...instances].filter((id) => !isRunAlive(id));
        for (const id of gone) instances.delete(id);
        return gone;
      },
    };
    return { runtime, removed, tracing, instances };
  };

  it('removes only what dead owners left (tracing instances too), and says so in one line', async () => {
    const { runtime, removed, tracing, instances } = fake();
    const result = await sweepDeadRuns(runtime, { self: me, tracing });
    expect(removed.sort()).toEqual(['c1', 'n1']);
    expect(result.runs).toEqual(['dead-run']);
    expect(result.kept).toEqual([{ runId: 'live-run', liveness: 'alive' }]);
    // The orphan instance has no resource left at all: a run killed after its network was removed.
    expect([...instances].sort()).toEqual(['live-run', 'new-run']);
    expect(describeSweep(result)).toBe('removed what 1 dead run(s) left: 1 container(s), 1 network(s), 1 other host isolation rule(s), 2 tracing instance(s)');
  });

  it('includeLive (clean --all/--force) removes live runs too', async () => {
    const { runtime, removed, tracing, instances } = fake();
    await sweepDeadRuns(runtime, { self: me, includeLive: true, tracing });
    expect(removed.sort()).toEqual(['c1', 'c2', 'n1', 'n2']);
    expect([...instances]).toEqual(['new-run']);
  });
});
