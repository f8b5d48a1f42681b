import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChildEhashWindow, LAB_EHASH_BUCKETS, sweepChildEhashWindow, type EhashMachine } from '../../../src/runtime/docker/private-ehash.js';
import { currentOwner, ownerLabels } from '../../../src/run/run-owner.js';

/** A machine whose sysctl and state file are fields; `denied` makes writing the sysctl fail like EACCES. */
class FakeMachine implements EhashMachine {
  readonly writes: string[] = [];
  state: string | undefined;
  private readonly denied: boolean;

  constructor(
    public sysctl: string | undefined,
    options: { state?: string; denied?: boolean } = {},
  ) {
    this.state = options.state;
    this.denied = options.denied ?? false;
  }

  readSysctl = (): string | undefined => this.sysctl;
  writeSysctl = (value: string): void => {
    if (this.denied) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    this.writes.push(value);
    this.sysctl = value;
  };
  readState = (): string | undefined => this.state;
  writeState = (text: string): void => {
    this.state = text;
  };
  removeState = (): void => {
    this.state = undefined;
  };
}

const fakeMachine = (sysctl: string | undefined, options?: { state?: string; denied?: boolean }) => new FakeMachine(sysctl, options);

const deadHolder = { ...ownerLabels(currentOwner()), 'tcplab.owner.pid': '999999999' };

describe('the child ehash window: lab namespaces get a private socket table, the host keeps its value', () => {
  it('sets the size only while a start runs and puts the value found back after it', async () => {
    const machine = fakeMachine('0');
    const seen = await new ChildEhashWindow(machine).around(async () => machine.sysctl);
    expect(seen).toBe(LAB_EHASH_BUCKETS);
    expect(machine.sysctl).toBe('0');
    expect(machine.state).toBeUndefined();
  });

  it('starts that overlap share one window: the value goes back when the last one ends', async () => {
    const machine = fakeMachine('0');
    const window = new ChildEhashWindow(machine);
    let release = (): void => undefined;
    const first = window.around(() => new Promise<void>((resolve) => (release = resolve)));
    await window.around(async () => undefined);
    expect(machine.sysctl).toBe(LAB_EHASH_BUCKETS);
    release();
    await first;
    expect(machine.sysctl).toBe('0');
  });

  it('puts the value back even when the start fails', async () => {
    const machine = fakeMachine('256');
    await expect(new ChildEhashWindow(machine).around(() => Promise.reject(new Error('engine said no')))).rejects.toThrow('engine said no');
    expect(machine.sysctl).toBe('256');
  });

  it('changes nothing where the kernel has no such sysctl or it may not be written', async () => {
    const old = fakeMachine(undefined);
    await new ChildEhashWindow(old).around(async () => undefined);
    expect([old.writes, old.state]).toEqual([[], undefined]);
    const denied = fakeMachine('0', { denied: true });
    await new ChildEhashWindow(denied).around(async () => undefined);
    expect([denied.sysctl, denied.state]).toEqual(['0', undefined]);
  });

  it('another live holder keeps the window open: leaving does not put the value back', async () => {
    // Our parent process: alive, with its own pid and start time.
    const parentStat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const other = {
      ...ownerLabels(currentOwner()),
      'tcplab.owner.pid': String(process.ppid),
      'tcplab.owner.start': parentStat.slice(parentStat.lastIndexOf(')') + 2).split(' ')[19] ?? '',
    };
    const machine = fakeMachine(LAB_EHASH_BUCKETS, { state: JSON.stringify({ original: '0', holders: [other] }) });
    await new ChildEhashWindow(machine).around(async () => undefined);
    expect(machine.sysctl).toBe(LAB_EHASH_BUCKETS);
    expect(JSON.parse(machine.state ?? '{}')).toEqual({ original: '0', holders: [other] });
  });

  it('the sweep puts back what a killed holder left, and only then', () => {
    const left = fakeMachine(LAB_EHASH_BUCKETS, { state: JSON.stringify({ original: '0', holders: [deadHolder] }) });
    expect(sweepChildEhashWindow(left)).toBe(true);
    expect([left.sysctl, left.state]).toEqual(['0', undefined]);
    const live = fakeMachine(LAB_EHASH_BUCKETS, { state: JSON.stringify({ original: '0', holders: [ownerLabels(currentOwner())] }) });
    expect(sweepChildEhashWindow(live)).toBe(false);
    expect(live.sysctl).toBe(LAB_EHASH_BUCKETS);
    expect(sweepChildEhashWindow(fakeMachine('0'))).toBe(false);
  });
});
