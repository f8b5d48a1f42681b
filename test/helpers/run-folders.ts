import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The run folders under a runs folder (its hidden files, such as .lab-durations.json, left out), as paths. */
export function runFolders(runsDir: string): string[] {
  return readdirSync(runsDir)
    .filter((name) => !name.startsWith('.'))
    .map((name) => join(runsDir, name));
}
