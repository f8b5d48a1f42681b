import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processTreeTasks } from '../../../src/run/process-tree.js';

describe('processTreeTasks', () => {
  it('names every thread of a process and of its descendants (a fake /proc)', () => {
    const proc = mkdtempSync(join(tmpdir(), 'tcplab-proc-'));
    const task = (pid: number, tid: number, children: number[]): void => {
      mkdirSync(join(proc, String(pid), 'task', String(tid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'task', String(tid), 'children'), children.map((c) => `${c} `).join(''));
    };
    task(100, 100, [200]); // the agent's main thread started the worker
    task(100, 101, []); // a libuv thread
    task(200, 200, [300]);
    task(300, 300, []);
    expect(processTreeTasks(100, proc)).toEqual([100, 101, 200, 300]);
    expect(processTreeTasks(300, proc)).toEqual([300]);
    expect(processTreeTasks(999, proc)).toEqual([999]); // not in this /proc: itself only
  });

  it("on this machine's /proc: this process's threads and a child it started", async () => {
    const child = spawn('sleep', ['5']);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const tasks = processTreeTasks(process.pid);
      expect(tasks).toContain(process.pid);
      expect(tasks).toContain(child.pid);
      expect(processTreeTasks(child.pid as number)).toEqual([child.pid]);
    } finally {
      child.kill();
    }
  });
});
