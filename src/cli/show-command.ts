import type { Command } from 'commander';
import type { Lab } from '../lab/model.js';
import { message, type Lang } from '../messages/catalog.js';
import { langOption, pickLang } from './lang-option.js';
import { describeExpectationIn, describeStepIn } from '../messages/lab-words.js';
import { LABS_DIR } from './paths.js';

/** `tcplab show <lab>`: narrative, hosts, steps, faults and expectations of a lab. */
export function registerShow(program: Command): void {
  program
    .command('show')
    .description('print a lab: its narrative, hosts, steps, faults and what it expects')
    .argument('<lab>', 'lab name from `tcplab list`, or a path to a lab file')
    .option('--set <host.sysctl.KEY=VALUE>', 'override a setting (repeatable)', collect, [])
    .option(...langOption('the narrative, steps and expectations'))
    .action(async (name: string, opts: { set: string[]; lang: string }) => {
      const { loadLabFile } = await import('../lab/load-lab.js');
      const { resolveLab } = await import('../lab/resolve-lab.js');
      const lang = pickLang(opts.lang);
      const lab = await loadLabFile(await resolveLab(name, LABS_DIR), opts.set);
      process.stdout.write(renderLab(lab, lang));
    });
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function renderLab(lab: Lab, lang: Lang): string {
  const zh = lang === 'zh';
  const out: string[] = [`${lab.name}: ${lab.title}`];
  if (lab.source) out.push(message(lang, 'show.source', { source: lab.source }));
  out.push('', ((zh && lab.descriptionZh) || lab.description).trim(), '', message(lang, 'show.hosts'));
  for (const host of lab.hosts) {
    const sysctls = Object.entries(host.sysctls).map(([k, v]) => `${k}=${v}`);
    out.push(`  ${host.name}${sysctls.length ? `  (${sysctls.join(', ')})` : ''}`);
  }
  out.push('', message(lang, 'show.steps'));
  lab.steps.forEach((step, i) => out.push(`  ${String(i + 1).padStart(2)}. ${describeStepIn(lang, step)}`));
  out.push('', message(lang, 'show.expects'));
  for (const expectation of lab.expectations) out.push(`  - ${describeExpectationIn(lang, expectation)}`);
  return `${out.join('\n')}\n`;
}
