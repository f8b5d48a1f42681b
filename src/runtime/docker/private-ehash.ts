import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { currentOwner, OWNER_LABELS, ownerLabels, ownerLiveness, type RunOwner } from '../../run/run-owner.js';

/**
 * Lab containers get a TCP socket hash table of their own.
 *
 * A network namespace shares the machine's established-socket hash (ehash) unless it was created
 * while its creator's net.ipv4.tcp_child_ehash_entries was non-zero (Linux ≥ 6.1, tcp_set_hashinfo()
 * in net/ipv4/tcp_ipv4.c reads the creating namespace's value when the namespace is made). Reading
 * /proc/net/tcp walks every bucket of the table the namespace uses (established_get_first() in
 * tcp_ipv4.c), whatever it holds: measured on this project's machines (262,144 buckets), 1.1 ms of
 * kernel time per read, so the agent's 5 ms sampler of /proc/net/tcp{,6} cost 47 % of a core per
 * lab host, idle — the load that made timing-sensitive labs late on a busy machine. With a private
 * table of 1024 buckets a read costs no measurable kernel time.
 *
 * The value is the host's, so it is set only while lab containers start (runc makes the namespace
 * then) and put back when the last start of any tcplab process has finished. A state file records
 * the value found and who holds the window; a process killed inside it is swept like a dead run's
 * containers (sweepChildEhashWindow). Namespaces others create in that window get a private table of
 * the same size, which works for any namespace (a busy one would want a larger table, hence the short window).
 * Without the sysctl or the right to write it, containers start as before.
 */

/** Buckets of a lab namespace's private table (the kernel rounds to a power of two). */
export const LAB_EHASH_BUCKETS = '1024';

export interface EhashMachine {
  readSysctl(): string | undefined;
  writeSysctl(value: string): void;
  readState(): string | undefined;
  writeState(text: string): void;
  removeState(): void;
}

interface WindowState {
  /** The sysctl's value before the first holder set it. */
  original: string;
  /** Owner labels (run-owner.ts) of the processes inside a start window. */
  holders: Record<string, string>[];
}

const SYSCTL = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const STATE = '/run/tcplab/child-ehash.json';

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export const MACHINE_EHASH: EhashMachine = {
  readSysctl: () => readOrUndefined(SYSCTL),
  writeSysctl: (value) => writeFileSync(SYSCTL, value),
  readState: () => readOrUndefined(STATE),
  writeState: (text) => {
    mkdirSync(dirname(STATE), { recursive: true });
    writeFileSync(`${STATE}.${process.pid}`, text);
    renameSync(`${STATE}.${process.pid}`, STATE);
  },
  removeState: () => rmSync(STATE, { force: true }),
};

function parseState(text: string | undefined): WindowState | undefined {
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as WindowState;
    return typeof state.original === 'string' && Array.isArray(state.holders) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Drops holders that are gone; puts the original value back and removes the state when none is left. */
function settle(machine: EhashMachine, state: WindowState, self: RunOwner): void {
  const holders = state.holders.filter((labels) => ownerLiveness(labels, self) === 'alive');
  if (holders.length > 0) {
    machine.writeState(JSON.stringify({ ...state, holders }));
    return;
  }
  machine.writeSysctl(state.original);
  machine.removeState();
}

/** Opens and closes this process's start windows; several hosts (and runs) of one process share one window. */
export class ChildEhashWindow {
  private open = 0;
  private readonly self: RunOwner;

  constructor(private readonly machine: EhashMachine = MACHINE_EHASH) {
    this.self = currentOwner();
  }

  /** Runs `start` (which creates a network namespace) with the host's child ehash size set for it. */
  async around<T>(start: () => Promise<T>): Promise<T> {
    const entered = this.enter();
    try {
      return await start();
    } finally {
      if (entered) this.leave();
    }
  }

  private enter(): boolean {
    if (this.open++ > 0) return true;
    try {
      const current = this.machine.readSysctl();
      if (current === undefined) return this.cancel(); // kernel before 6.1: every namespace shares the table
      this.machine.writeSysctl(current); // may we? (not root, /proc/sys read-only: throws before anything is recorded)
      const state = parseState(this.machine.readState()) ?? { original: current, holders: [] };
      // The state is written before the sysctl, so a process that finds our value also finds the state.
      this.machine.writeState(JSON.stringify({ ...state, holders: [...state.holders, ownerLabels(this.self)] }));
      this.machine.writeSysctl(LAB_EHASH_BUCKETS);
      return true;
    } catch {
      return this.cancel(); // containers start as before, sharing the machine's table
    }
  }

  private cancel(): false {
    this.open--;
    return false;
  }

  private leave(): void {
    if (--this.open > 0) return;
    const state = parseState(this.machine.readState());
    if (state === undefined) return;
    const pid = String(this.self.pid);
    try {
      settle(this.machine, { ...state, holders: state.holders.filter((labels) => labels[OWNER_LABELS.pid] !== pid) }, this.self);
    } catch {
      // The sweep of the next run puts it back.
    }
  }
}

/** Puts the host's value back when every process that held a start window is gone; true when it did. */
export function sweepChildEhashWindow(machine: EhashMachine = MACHINE_EHASH, self: RunOwner = currentOwner()): boolean {
  const state = parseState(machine.readState());
  if (state === undefined) return false;
  try {
    settle(machine, state, self);
  } catch {
    return false;
  }
  return machine.readState() === undefined;
}
