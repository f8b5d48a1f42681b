import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyzeRun, type RunAnalysis } from '../analysis/analyze-run.js';
import type { Lab } from '../lab/model.js';
import { resolveLab } from '../lab/resolve-lab.js';
import { loadLabFile } from '../lab/load-lab.js';
import { verifyRun } from '../verify/verify-run.js';
import type { Verdict } from '../verify/verdict.js';
import { CliError, ExitCode } from './exit-codes.js';
import { LABS_DIR } from './paths.js';
import { readRunJson, readRunRecord } from './run-folder.js';

/** A run to grade against: its analysis and verdict (recomputed from the record, so the truth is the verifier's own). */
export interface GradingRun {
  readonly runDir: string;
  readonly analysis: RunAnalysis;
  readonly verdict: Verdict;
}

/** Loads a lab for an exercise by catalog name or path (a bad file is a LabError: exit 2, file:line:col). */
export async function loadExerciseLab(name: string): Promise<{ lab: Lab; path: string }> {
  const path = await resolveLab(name, LABS_DIR);
  const lab = await loadLabFile(path);
  return { lab: { ...lab, sourceFile: path === join(LABS_DIR, `${name}.yaml`) ? `labs/${name}.yaml` : path }, path };
}

/** Reads a run folder of `lab` to grade against; a folder that is not a run, or a run of another lab, is bad input. */
export async function loadGradingRun(runDir: string, lab: Lab): Promise<GradingRun> {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory() || !existsSync(join(runDir, 'run.json'))) {
    throw new CliError(`--run ${runDir}: not a run folder (no run.json); give a folder written by \`tcplab run ${lab.name}\``, ExitCode.usage);
  }
  const record = await readRunRecord(runDir);
  if (record.lab.name !== lab.name) {
    throw new CliError(
      `--run ${runDir}: a run of lab ${record.lab.name}, not ${lab.name}; give a run of ${lab.name}, or grade ${record.lab.name}`,
      ExitCode.usage,
    );
  }
  const analysis = analyzeRun(record);
  // The verdict is recomputed (the truth is today's verifier's); the run's duration is the stored verdict's.
  const stored = readRunJson<{ durationMs?: unknown }>(join(runDir, 'verdict.json'), '; or delete verdict.json');
  const durationMs = typeof stored?.durationMs === 'number' ? stored.durationMs : 0;
  return { runDir: resolve(runDir), analysis, verdict: verifyRun(record, resolve(runDir), durationMs, analysis) };
}
