import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { renderVerdict } from '../report/terminal-report.js';
import { verifyRun } from '../verify/verify-run.js';
import type { Verdict } from '../verify/verdict.js';
import { CliError, ExitCode } from './exit-codes.js';
import { readRunJson, readRunRecord } from './run-folder.js';

/** `tcplab verify <run-folder>`: recomputes a run's verdict offline and compares it with the stored one. */
export function registerVerify(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('verify')
    .description('verify offline (no Docker): a run folder (recompute its verdict) or a pcap/pcapng capture')
    .argument('<path>', 'run folder written by `tcplab run`, or a .pcap/.pcapng file')
    .option('--json', 'print JSON on stdout')
    .action(async (path: string, flags: { json?: boolean }) => {
      if (!existsSync(path)) throw new CliError(`${path}: no such file or folder; give a run folder (runs/<lab>-…) or a capture file`, ExitCode.usage);
      if (!statSync(path).isDirectory()) {
        const { verifyCaptureFile } = await import('./verify-capture.js');
        setExitCode(await verifyCaptureFile(path, flags));
        return;
      }
      if (!existsSync(join(path, 'run.json')))
        throw new CliError(`${path}: not a run folder (no run.json); give a folder written by \`tcplab run\``, ExitCode.usage);
      const record = await readRunRecord(path);
      const stored = readRunJson<Verdict>(join(path, 'verdict.json'));
      const verdict = verifyRun(record, path, stored?.durationMs ?? 0);
      const differences = stored ? compareVerdicts(stored, verdict) : ['no stored verdict.json to compare with'];
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ labs: [verdict], matchesStored: differences.length === 0, differences })}\n`);
      } else {
        process.stdout.write(`${renderVerdict(verdict, { color: process.stdout.isTTY === true })}\n`);
        for (const note of verdict.notes ?? []) process.stdout.write(`  note: ${note}\n`);
        process.stdout.write(
          differences.length === 0
            ? '  recomputed verdict matches the stored verdict.json\n'
            : `  differs from the stored verdict.json:\n${differences.map((d) => `    ${d}`).join('\n')}\n`,
        );
      }
      setExitCode(verdict.verdict === 'pass' ? ExitCode.ok : ExitCode.fail);
    });
}

/** Lists checks whose status, expected or observed value differ between two verdicts. */
export function compareVerdicts(stored: Verdict, recomputed: Verdict): string[] {
  const out: string[] = [];
  if (stored.verdict !== recomputed.verdict) out.push(`verdict: stored ${stored.verdict}, recomputed ${recomputed.verdict}`);
  const byName = new Map(stored.checks.map((c) => [c.name, c]));
  for (const check of recomputed.checks) {
    const old = byName.get(check.name);
    if (!old) out.push(`new check: ${check.name}`);
    else if (old.status !== check.status || old.observed !== check.observed || old.expected !== check.expected) {
      out.push(`${check.name}: stored ${old.status} (${old.observed}), recomputed ${check.status} (${check.observed})`);
    }
    byName.delete(check.name);
  }
  for (const name of byName.keys()) out.push(`check missing from the recomputation: ${name}`);
  return out;
}
