import type { Lang } from '../messages/catalog.js';
import { LANGS } from '../messages/text.js';
import { CliError, ExitCode } from './exit-codes.js';

/** The `--lang` option of every command that prints words for people: flags, description, default. */
export function langOption(what: string): [flags: string, description: string, defaultValue: string] {
  return ['--lang <lang>', `language of ${what}: ${LANGS.join(' | ')}`, 'en'];
}

/** The value of `--lang`, or a usage error naming the languages there are. */
export function pickLang(value: string): Lang {
  if ((LANGS as readonly string[]).includes(value)) return value as Lang;
  throw new CliError(`--lang "${value}" is not supported; use one of: ${LANGS.join(', ')}`, ExitCode.usage);
}
