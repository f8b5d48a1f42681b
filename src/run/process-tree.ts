import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every task (thread) of process `pid` and of its descendants, read from the host's /proc
 * (`/proc/<pid>/task/<tid>/children`): the pids a tracefs `common_pid` filter must name to see
 * every syscall of a process tree (the agent and a socket worker it started). A pid /proc does
 * not show (another pid namespace, or gone) gives just itself.
 */
export function processTreeTasks(pid: number, proc = '/proc'): number[] {
  const tasks: number[] = [];
  const seen = new Set<number>();
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    let threads: string[];
    try {
      threads = readdirSync(`${proc}/${next}/task`);
    } catch {
      tasks.push(next);
      continue;
    }
    for (const tid of threads) {
      tasks.push(Number(tid));
      try {
        for (const child of readFileSync(`${proc}/${next}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (child !== '') pending.push(Number(child));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return [...new Set(tasks)].sort((a, b) => a - b);
}
