import type { RunRecord } from '../analysis/run-record.js';
import { loadRunRecord, readOptionalRunJson } from '../run/load-run.js';
import { RunFolderError } from '../run/run-folder-error.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Reads a run folder for verify, report and fsm: a damaged file is bad input (exit 2, one line naming the file and where). */
export async function readRunRecord(dir: string): Promise<RunRecord> {
  try {
    return await loadRunRecord(dir);
  } catch (err) {
    if (err instanceof RunFolderError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
}

/** A JSON file of a run folder (undefined when absent); damaged JSON is bad input, with `remedy` appended. */
export function readRunJson<T>(path: string, remedy = ''): T | undefined {
  try {
    return readOptionalRunJson<T>(path);
  } catch (err) {
    if (err instanceof RunFolderError) throw new CliError(`${err.message}${remedy}`, ExitCode.usage);
    throw err;
  }
}
