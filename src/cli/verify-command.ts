import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { renderVerdict } from '../report/terminal-report.js';
import { verifyRun } from '../verify/verify-run.js';
import type { Verdict } from '../verify/verdict.js';
import { CliError, ExitCode } from './exit-codes.js';
import { readRunJson, readRunRecord } from './run-folder.js';
import { langOption, pickLang } from './lang-option.js';
import { message, type Lang } from '../messages/catalog.js';
import { checkLines } from '../messages/text.js';

/** `tcplab verify <run-folder>`: recomputes a run's verdict offline and compares it with the stored one. */
export function registerVerify(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('verify')
    .description('verify offline (no Docker): a run folder (recompute its verdict) or a pcap/pcapng capture')
    .argument('<path>', 'run folder written by `tcplab run`, or a .pcap/.pcapng file')
    .option('--json', 'print JSON on stdout')
    .option(...langOption("a run folder's checks and verdict (captures and --json print English)"))
    .action(async (path: string, flags: { json?: boolean; lang: string }) => {
      const lang = pickLang(flags.lang);
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
      const differencesIn = (l: Lang): string[] => (stored ? compareVerdicts(stored, verdict, l) : [message(l, 'verify.noStored')]);
      const differences = differencesIn('en');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ labs: [verdict], matchesStored: differences.length === 0, differences })}\n`);
      } else {
        process.stdout.write(`${renderVerdict(verdict, { color: process.stdout.isTTY === true, lang })}\n`);
        process.stdout.write(
          differences.length === 0
            ? `  ${message(lang, 'verify.matches')}\n`
            : `  ${message(lang, 'verify.differs')}\n${(lang === 'en' ? differences : differencesIn(lang)).map((d) => `    ${d}`).join('\n')}\n`,
        );
      }
      setExitCode(verdict.verdict === 'pass' ? ExitCode.ok : ExitCode.fail);
    });
}

/** Lists, in `lang`, checks whose status, expected or observed value differ between two verdicts (matched by English name). */
export function compareVerdicts(stored: Verdict, recomputed: Verdict, lang: Lang = 'en'): string[] {
  const out: string[] = [];
  if (stored.verdict !== recomputed.verdict) out.push(message(lang, 'verify.verdictDiffers', { stored: stored.verdict, recomputed: recomputed.verdict }));
  const byName = new Map(stored.checks.map((c) => [c.name, c]));
  for (const check of recomputed.checks) {
    const old = byName.get(check.name);
    const fresh = checkLines(check, lang);
    if (!old) out.push(message(lang, 'verify.newCheck', { name: fresh.name }));
    else if (old.status !== check.status || old.observed !== check.observed || old.expected !== check.expected) {
      const before = checkLines(old, lang);
      out.push(
        message(lang, 'verify.checkDiffers', {
          name: fresh.name,
          stored: old.status,
          storedObserved: before.observed,
          status: check.status,
          observed: fresh.observed,
        }),
      );
    }
    byName.delete(check.name);
  }
  for (const old of byName.values()) out.push(message(lang, 'verify.checkMissing', { name: checkLines(old, lang).name }));
  return out;
}
