import { langOption } from './lang-option.js';
import type { Command } from 'commander';
import { defaultRunsDir } from './paths.js';

export interface GradeFlags {
  run?: string;
  perSheet?: boolean;
  out?: string;
  lang: string;
  runsDir: string;
  quiet?: boolean;
}

/** `tcplab grade <lab> <folder>`: grades every answer sheet of a class against one run (or one run each) → Moodle CSV + HTML summary. */
export function registerGrade(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('grade')
    .description("grade a folder of answer sheets against one run of the lab: a CSV for Moodle's grade import and an HTML class summary")
    .argument('<lab>', 'lab name from `tcplab list`, or a path to a lab file')
    .argument('<folder>', 'folder of filled answer sheets (*.yaml, *.yml)')
    .option('--run <run-folder>', 'grade against this run of the lab instead of running it once')
    .option('--per-sheet', 'run the lab again for each sheet and grade each against its own run')
    .option('--out <dir>', 'where grades.csv and class-summary.html go (default: the sheets folder)')
    .option(...langOption('the summary'))
    .option('--runs-dir <dir>', 'where run folders are written', defaultRunsDir())
    .option('-q, --quiet', 'no progress lines while the lab runs')
    .action(async (name: string, folder: string, flags: GradeFlags) => {
      const { gradeClass } = await import('./grade-action.js');
      await gradeClass(name, folder, flags, setExitCode);
    });
}
