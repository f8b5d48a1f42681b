import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who owns a run's resources: the machine, its boot, and the process (pid + start time, so a
 * recycled pid is not mistaken for the owner). Every container and network a run creates carries
 * these as labels; the reaper removes only resources whose owner is provably gone.
 */
export interface RunOwner {
  host: string;
  bootId: string;
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: string;
}

export const OWNER_LABELS = {
  host: 'tcplab.owner.host',
  bootId: 'tcplab.owner.boot',
  pid: 'tcplab.owner.pid',
  startTicks: 'tcplab.owner.start',
} as const;

/** Reads a /proc file; undefined when it does not exist (the process is gone). */
export type ProcReader = (path: string) => string | undefined;

const readProc: ProcReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The owner record of this process. */
export function currentOwner(read: ProcReader = readProc): RunOwner {
  return {
    host: hostname(),
    bootId: (read('/proc/sys/kernel/random/boot_id') ?? '').trim(),
    pid: process.pid,
    startTicks: startTicksOf(process.pid, read) ?? '',
  };
}

/** The owner as labels for the engine. */
export function ownerLabels(owner: RunOwner): Record<string, string> {
  return {
    [OWNER_LABELS.host]: owner.host,
    [OWNER_LABELS.bootId]: owner.bootId,
    [OWNER_LABELS.pid]: String(owner.pid),
    [OWNER_LABELS.startTicks]: owner.startTicks,
  };
}

export type OwnerLiveness = 'alive' | 'dead' | 'unknown';

/**
 * Whether the owner named by a resource's labels still runs. An owner on another machine, or a
 * resource without owner labels (made by a tcplab older than ownership, which may still be running),
 * is 'unknown' and is never swept automatically (`tcplab clean --all` removes it).
 */
export function ownerLiveness(labels: Readonly<Record<string, string>>, self: RunOwner, read: ProcReader = readProc): OwnerLiveness {
  const host = labels[OWNER_LABELS.host];
  const pid = Number(labels[OWNER_LABELS.pid]);
  if (host === undefined || !Number.isInteger(pid) || host !== self.host) return 'unknown';
  if (labels[OWNER_LABELS.bootId] !== self.bootId) return 'dead';
  const start = startTicksOf(pid, read);
  return start !== undefined && start === labels[OWNER_LABELS.startTicks] ? 'alive' : 'dead';
}

function startTicksOf(pid: number, read: ProcReader): string | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19]; // field 22 overall: fields 3.. start at rest[0]
}
