import type { Command } from 'commander';
import type { Expectation, Lab } from '../lab/model.js';
import { describeStep } from '../run/step-runner.js';
import { LABS_DIR } from './paths.js';

/** `tcplab show <lab>`: narrative, hosts, steps, faults and expectations of a lab. */
export function registerShow(program: Command): void {
  program
    .command('show')
    .description('print a lab: its narrative, hosts, steps, faults and what it expects')
    .argument('<lab>', 'lab name from `tcplab list`, or a path to a lab file')
    .option('--set <host.sysctl.KEY=VALUE>', 'override a setting (repeatable)', collect, [])
    .option('--lang <en|zh>', 'narrative language', 'en')
    .action(async (name: string, opts: { set: string[]; lang: string }) => {
      const { loadLabFile } = await import('../lab/load-lab.js');
      const { resolveLab } = await import('../lab/resolve-lab.js');
      const lab = await loadLabFile(await resolveLab(name, LABS_DIR), opts.set);
      process.stdout.write(renderLab(lab, opts.lang === 'zh'));
    });
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function renderLab(lab: Lab, zh: boolean): string {
  const out: string[] = [`${lab.name}: ${lab.title}`];
  if (lab.source) out.push(`source: ${lab.source}`);
  out.push('', ((zh && lab.descriptionZh) || lab.description).trim(), '', 'hosts:');
  for (const host of lab.hosts) {
    const sysctls = Object.entries(host.sysctls).map(([k, v]) => `${k}=${v}`);
    out.push(`  ${host.name}${sysctls.length ? `  (${sysctls.join(', ')})` : ''}`);
  }
  out.push('', 'steps:');
  lab.steps.forEach((step, i) => out.push(`  ${String(i + 1).padStart(2)}. ${describeStep(step)}`));
  out.push('', 'expects:');
  for (const expectation of lab.expectations) out.push(`  - ${describeExpectation(expectation)}`);
  return `${out.join('\n')}\n`;
}

function describeExpectation(e: Expectation): string {
  const port = 'port' in e && e.port !== undefined ? ` (port ${e.port})` : '';
  switch (e.kind) {
    case 'states':
      return `${e.host}${port} passes through ${e.path.join(' → ')}`;
    case 'never':
      return `${e.host}${port} is never in ${e.states.join(', ')}`;
    case 'outcome':
      return `connect() of ${e.host}/${e.conn} ends in ${e.is}`;
    case 'packets': {
      const bounds = [e.count !== undefined && `exactly ${e.count}`, e.min !== undefined && `at least ${e.min}`, e.max !== undefined && `at most ${e.max}`].filter(Boolean);
      return `[${e.flags}] ${e.from} → ${e.to}: ${bounds.join(', ')}${e.sameSeq ? ', same sequence number' : ''}`;
    }
    case 'handshake':
      return `three-way handshake ${e.client} → ${e.server} with ack = ISN + 1 on both sides`;
    case 'syn-retransmits':
      return `SYN retransmissions of ${e.host}${e.conn === undefined ? '' : `/${e.conn}`} and the ETIMEDOUT follow the Linux timing model`;
    case 'synack-retransmits':
      return `SYN-ACK retransmissions of ${e.host}${port} and the request's drop follow the Linux timing model`;
    case 'fin-retransmits':
      return `FIN retransmissions of orphaned ${e.host}${e.conn === undefined ? '' : `/${e.conn}`} and its silent end follow the Linux timing model`;
    case 'data-retransmits':
      return `data retransmissions of ${e.host}${e.conn === undefined ? '' : `/${e.conn}`} and the ETIMEDOUT follow the Linux timing model`;
    case 'error':
      return e.is === 'none' ? `${e.host}/${e.conn} sees no socket error` : `${e.host}/${e.conn} sees ${e.is}`;
    case 'sockets': {
      const bounds = [e.min !== undefined && `at least ${e.min}`, e.max !== undefined && `at most ${e.max}`].filter(Boolean).join(' and ');
      return `${bounds} sockets of ${e.host}${port} in ${e.state} at once`;
    }
    case 'timer':
      return `${e.host}'s timer reads ${e.aboutMs / 1000} s ± ${e.withinMs / 1000} s when a socket${port} is first seen in ${e.state}`;
  }
}
