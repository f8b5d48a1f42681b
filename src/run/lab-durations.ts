import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How long each lab took last time, kept in the runs folder, so `run --parallel N` can start the
 * longest labs first (longest-processing-time-first: with N workers the whole batch then ends soon
 * after its longest lab, instead of a long lab starting last). Labs never seen before go first:
 * their length is unknown, and a long one among them would otherwise end the batch late.
 */
const FILE = '.lab-durations.json';

/** The recorded durations (ms) by lab name; empty when there are none or the file is unreadable. */
export function readLabDurations(runsDir: string): Record<string, number> {
  try {
    const parsed = JSON.parse(readFileSync(join(runsDir, FILE), 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] >= 0));
  } catch {
    return {};
  }
}

/**
 * Records `durationMs` for each lab, keeping the others (written whole, then renamed into place).
 * Only an ordering hint: a folder that cannot be written is not an error.
 */
export function recordLabDurations(runsDir: string, durations: Readonly<Record<string, number>>): void {
  const merged = { ...readLabDurations(runsDir), ...durations };
  const temp = join(runsDir, `${FILE}.${process.pid}`);
  try {
    writeFileSync(temp, `${JSON.stringify(merged, null, 2)}\n`);
    renameSync(temp, join(runsDir, FILE));
  } catch {
    // read-only or vanished runs folder: the next batch starts in the given order
  }
}

/** The labs in the order to start them: unknown ones first (as given), then by recorded duration, longest first. */
export function longestFirst<T extends { readonly name: string }>(labs: readonly T[], durations: Readonly<Record<string, number>>): T[] {
  const known = (lab: T): number | undefined => durations[lab.name];
  return [...labs.filter((l) => known(l) === undefined), ...labs.filter((l) => known(l) !== undefined).sort((a, b) => known(b)! - known(a)!)];
}
