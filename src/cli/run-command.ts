import type { Command } from 'commander';
import { defaultRunsDir } from './paths.js';
import { collect } from './show-command.js';
import { langOption } from './lang-option.js';

export interface RunFlags {
  all?: boolean;
  set: string[];
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  runsDir: string;
  parallel: string;
  offline?: boolean;
  junit?: string;
  lang: string;
}

/** `tcplab run <lab…>`: runs labs in Docker and prints their verdicts; exit 0 only if all pass. */
export function registerRun(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('run')
    .description('run labs in Docker containers and verify what the kernel did')
    .argument('[labs...]', 'lab names from `tcplab list`, or paths to lab files')
    .option('--all', 'run every lab in the catalog')
    .option('--set <host.sysctl.KEY=VALUE>', 'override a lab setting, e.g. client.sysctl.net.ipv4.tcp_syn_retries=6 (repeatable)', collect, [])
    .option('--json', 'print the verdicts as JSON on stdout')
    .option('--junit <file>', 'also write the verdicts as JUnit XML (one testcase per lab)')
    .option('-q, --quiet', 'print only the verdicts')
    .option('-v, --verbose', 'print the evidence of passing checks too')
    .option('--parallel <n>', 'run up to n labs at once, each on its own network', '1')
    .option('--runs-dir <dir>', 'where run folders are written', defaultRunsDir())
    .option('--offline', 'build the lab image from a debootstrap base without trying a registry')
    .option(...langOption('the live view, the verdicts and report.html (run folders and --json stay English)'))
    .action(async (names: string[], flags: RunFlags) => {
      const { runLabs } = await import('./run-action.js');
      await runLabs(names, flags, setExitCode);
    });
}
