import type { Command } from 'commander';
import { LABS_DIR } from './paths.js';

/** `tcplab list`: the lab catalog, one line each. */
export function registerList(program: Command): void {
  program
    .command('list')
    .description('list the labs in the catalog')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { listLabs } = await import('../lab/resolve-lab.js');
      const labs = await listLabs(LABS_DIR);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(labs.map(({ name, title }) => ({ name, title })))}\n`);
        return;
      }
      const width = Math.max(0, ...labs.map((l) => l.name.length));
      for (const lab of labs) process.stdout.write(`${lab.name.padEnd(width)}  ${lab.title}\n`);
    });
}
