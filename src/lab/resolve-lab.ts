import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { LabError, didYouMean } from './lab-error.js';
import { MAX_LAB_FILE_BYTES, MAX_TITLE_CHARS } from './lab-limits.js';
import { clip, quote } from './quote-token.js';
import { checkYamlDepth } from './yaml-limits.js';

/** A lab found in a labs folder: its name (file name without .yaml) and its title. */
export interface LabListing {
  readonly name: string;
  readonly title: string;
  readonly file: string;
}

/**
 * Turns what the user typed into a lab file path: a path (contains `/` or ends in .yaml/.yml) is taken as
 * is; a bare name `syn-sent` means `<labsDir>/syn-sent.yaml`. An unknown name is a LabError listing the labs.
 */
export async function resolveLab(nameOrPath: string, labsDir: string): Promise<string> {
  if (nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath)) return nameOrPath;
  const names = await listLabNames(labsDir);
  if (names.includes(nameOrPath)) return join(labsDir, `${nameOrPath}.yaml`);
  const available = names.length > 0 ? `available labs: ${names.join(', ')}` : `no labs found in ${labsDir}`;
  const suggestion = didYouMean(nameOrPath, names);
  throw new LabError([
    {
      file: labsDir,
      line: 1,
      col: 1,
      path: nameOrPath,
      message: `unknown lab ${quote(nameOrPath)}; ${available}${suggestion === '' ? '; run `tcplab list` or give a path to a .yaml file' : suggestion}`,
    },
  ]);
}

/** Lists the labs of a folder (each *.yaml) with their titles, sorted by name; an unreadable title shows as `(invalid: …)`. */
export async function listLabs(labsDir: string): Promise<LabListing[]> {
  const names = await listLabNames(labsDir);
  return Promise.all(
    names.map(async (name) => {
      const file = join(labsDir, `${name}.yaml`);
      const text = await readFile(file, 'utf8');
      return { name, title: readTitle(text), file };
    }),
  );
}

/** The `title:` of lab text without full validation (listing must not fail on one broken lab). */
export function readTitle(text: string): string {
  if (text.length > MAX_LAB_FILE_BYTES) return '(invalid: too large for a lab file)';
  if (checkYamlDepth(text) !== undefined) return '(invalid: nested too deep)';
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return '(invalid: YAML syntax error)';
  const title: unknown = doc.get('title');
  // one line, no terminal control characters, no longer than the format allows
  // eslint-disable-next-line no-control-regex
  return typeof title === 'string' ? clip(title.replace(/[\x00-\x1f\x7f-\x9f]+/g, ' '), MAX_TITLE_CHARS) : '(invalid: no title)';
}

async function listLabNames(labsDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(labsDir);
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.endsWith('.yaml'))
    .map((entry) => entry.slice(0, -'.yaml'.length))
    .sort();
}
