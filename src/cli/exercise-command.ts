import { langOption } from './lang-option.js';
import type { Command } from 'commander';
import { defaultRunsDir } from './paths.js';

/** `tcplab exercise <lab>`: predict, run, grade — a sheet, a worksheet, or answers graded against a real run. */
export function registerExercise(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('exercise')
    .description('classroom exercise: answer questions about a lab, run it, and see each answer graded against what the kernel did')
    .argument('<lab>', 'lab name from `tcplab list`, or a path to a lab file')
    .option('--sheet', 'print the blank answer sheet (YAML) and exit')
    .option('--answers <file>', 'grade a filled answer sheet instead of asking on the terminal')
    .option('--json', 'print the graded answers as JSON')
    .option(...langOption('questions and results'))
    .option('--run <run-folder>', 'grade against this run of the lab instead of running it')
    .option('--worksheet', 'write a printable worksheet (HTML, and PDF where Chromium is installed)')
    .option('--out <file>', 'with --worksheet: the HTML file to write (default ./<lab>-worksheet[-zh].html)')
    .option('--report <file>', 'also write the run report with the answers beside the ladder here')
    .option('--runs-dir <dir>', 'where run folders are written', defaultRunsDir())
    .option('-q, --quiet', 'no progress lines while the lab runs')
    .action(async (name: string, flags: import('./exercise-action.js').ExerciseFlags) => {
      const { runExercise } = await import('./exercise-action.js');
      await runExercise(name, flags, setExitCode);
    });
}
