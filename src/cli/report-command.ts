import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { renderRunReportHtml } from '../report/html-report.js';
import { renderRunMermaid } from '../report/mermaid-report.js';
import { buildRunCommentary, renderCommentaryText } from '../report/run-commentary.js';
import { analyzeRun, type RunAnalysis } from '../analysis/analyze-run.js';
import type { RunRecord } from '../analysis/run-record.js';
import type { Verdict } from '../verify/verdict.js';
import { attachRecomputed, isOlderVerdict, verifyRun } from '../verify/verify-run.js';
import { CliError, ExitCode } from './exit-codes.js';
import { readRunJson, readRunRecord } from './run-folder.js';
import { reportCapture } from './report-capture.js';
import { langOption, pickLang } from './lang-option.js';
import type { Lang } from '../messages/catalog.js';

const FORMATS = ['html', 'mermaid', 'text'] as const;

/** Writes `<runDir>/report.html` (or `out`) for a run and returns its path; what `tcplab run` calls after verifying. */
export function writeHtmlReport(runDir: string, analysis: RunAnalysis, verdict: Verdict, options: { lang?: Lang; out?: string } = {}): string {
  const path = resolve(options.out ?? join(runDir, 'report.html'));
  writeFileSync(path, renderRunReportHtml(analysis, verdict, { lang: options.lang ?? 'en' }));
  return path;
}

/** `tcplab report <run-folder>`: rebuilds a run's HTML report, or prints it as a Mermaid sequence diagram or as the commentary text. */
export function registerReport(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('report')
    .description('the report of a run folder, or of any capture file: HTML ladder diagram (report.html), Mermaid sequence diagram, or the commentary as text')
    .argument('<run-folder|capture>', 'run folder written by `tcplab run`, or a pcap/pcapng capture (optionally .gz or .zst)')
    .option('--format <format>', `output format: ${FORMATS.join(' | ')}`, 'html')
    .option(...langOption('the narrative, labels, commentary and checks'))
    .option('--conn <n>', 'a capture: draw only connection #n (as `tcplab verify <capture>` numbers them)')
    .option('--out <file>', 'write here instead of <run-folder>/report.html, <capture>.report.html (html) or stdout (mermaid, text)')
    .action(async (runDir: string, flags: { format: string; lang: string; conn?: string; out?: string }) => {
      const format = pickOne('--format', flags.format, FORMATS);
      const lang = pickLang(flags.lang);
      if (existsSync(runDir) && statSync(runDir).isFile()) {
        const conn = flags.conn === undefined ? undefined : parseConnection(flags.conn);
        setExitCode(await reportCapture(runDir, { format, lang, ...(conn !== undefined && { conn }), ...(flags.out !== undefined && { out: flags.out }) }));
        return;
      }
      if (flags.conn !== undefined) throw new CliError(`--conn picks a connection of a capture file; ${runDir} is not a file`, ExitCode.usage);
      const { record, analysis, verdict } = await loadRun(runDir);
      if (format === 'html') {
        process.stdout.write(`${writeHtmlReport(runDir, analysis, verdict, { lang, ...(flags.out !== undefined && { out: flags.out }) })}\n`);
      } else {
        const text =
          format === 'mermaid'
            ? renderRunMermaid(analysis, verdict)
            : renderCommentaryText(buildRunCommentary(analysis, verdict), lang, { title: record.lab.title, verdict: verdict.verdict });
        if (flags.out !== undefined) {
          writeFileSync(flags.out, text);
          process.stdout.write(`${resolve(flags.out)}\n`);
        } else {
          process.stdout.write(text);
        }
      }
      setExitCode(ExitCode.ok);
    });
}

function parseConnection(text: string): number {
  if (/^#?\d{1,9}$/.test(text)) return Number(text.replace('#', ''));
  throw new CliError(`--conn "${text}" is not a connection number; give one that \`tcplab verify <capture>\` prints (#0, #1, …)`, ExitCode.usage);
}

function pickOne<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`${option} "${value}" is not supported; use one of: ${allowed.join(', ')}`, ExitCode.usage);
}

/**
 * Loads a run folder, analyses it once, and takes its verdict (the stored verdict.json, else recomputed); a
 * stored verdict from before checks carried typed origins and Chinese words gets them from a recomputation, matched by name.
 * Bad folders are usage errors.
 */
async function loadRun(runDir: string): Promise<{ record: RunRecord; analysis: RunAnalysis; verdict: Verdict }> {
  if (!existsSync(runDir))
    throw new CliError(
      `${runDir}: no such folder or file; give a run folder written by \`tcplab run\` (runs/<lab>-<time>-<id>) or a capture file`,
      ExitCode.usage,
    );
  if (!statSync(runDir).isDirectory()) throw new CliError(`${runDir}: neither a run folder written by \`tcplab run\` nor a capture file`, ExitCode.usage);
  for (const file of ['run.json', 'lab.json']) {
    if (!existsSync(join(runDir, file)))
      throw new CliError(`${runDir}: not a run folder (no ${file}); give a folder written by \`tcplab run\``, ExitCode.usage);
  }
  const record = await readRunRecord(runDir);
  const analysis = analyzeRun(record);
  const verdictPath = join(runDir, 'verdict.json');
  if (!existsSync(verdictPath)) return { record, analysis, verdict: verifyRun(record, runDir, 0, analysis) };
  const stored = readRunJson<Verdict>(verdictPath, '; or delete verdict.json to recompute the verdict') as Verdict;
  if (!Array.isArray(stored.checks))
    throw new CliError(`${verdictPath}: expected a verdict written by \`tcplab run\` (no "checks" list); delete it to recompute the verdict`, ExitCode.usage);
  const verdict = isOlderVerdict(stored) ? attachRecomputed(stored, verifyRun(record, runDir, stored.durationMs, analysis)) : stored;
  return { record, analysis, verdict };
}
