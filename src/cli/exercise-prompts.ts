import type { Lang } from '../messages/catalog.js';
import { input, select } from '@inquirer/prompts';
import { describeForm } from '../exercise/answer-sheet.js';
import { promptOf } from '../exercise/grade-answer.js';
import type { ExerciseQuestion } from '../lab/model.js';
import { assertNever } from '../assert-never.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Asks each question on the terminal (@inquirer/prompts): text for states, counts and durations, a list for choices and yes/no. */
export async function askQuestions(questions: readonly ExerciseQuestion[], lang: Lang): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  try {
    for (const [i, q] of questions.entries()) {
      const message = `${i + 1}/${questions.length} ${promptOf(q, lang)}`;
      const form = q.answer;
      switch (form.kind) {
        case 'states':
        case 'count':
        case 'duration':
          answers.set(q.id, await input({ message: `${message}\n  (${describeForm(form, lang)})` }));
          break;
        case 'choice':
          answers.set(q.id, await select({ message, choices: form.options.map((o) => ({ name: o, value: o })) }));
          break;
        case 'yes-no':
          answers.set(
            q.id,
            await select({
              message,
              choices: [
                { name: lang === 'zh' ? 'yes（是）' : 'yes', value: 'yes' },
                { name: lang === 'zh' ? 'no（否）' : 'no', value: 'no' },
              ],
            }),
          );
          break;
        default:
          assertNever(form);
      }
    }
  } catch (err) {
    // Ctrl-C at a prompt: @inquirer/prompts rejects with ExitPromptError; nothing was started yet.
    if (err instanceof Error && err.name === 'ExitPromptError') throw new CliError('interrupted before the run; nothing was started', ExitCode.interrupted);
    throw err;
  }
  return answers;
}
