import type { Lang } from '../messages/catalog.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { ExerciseQuestions } from '../exercise/exercise-questions.js';
import { renderWorksheetHtml } from '../exercise/worksheet-html.js';
import type { Lab } from '../lab/model.js';

/** Chromium for print-to-PDF: $TCPLAB_CHROMIUM, else Debian's /usr/bin/chromium (the report screenshot test uses the same). */
export function chromiumPath(): string {
  return process.env.TCPLAB_CHROMIUM ?? '/usr/bin/chromium';
}

/** Writes the worksheet HTML and, where Chromium is installed, its PDF next to it; returns the files written. */
export async function writeWorksheet(lab: Lab, exercise: ExerciseQuestions, lang: Lang, out?: string): Promise<string[]> {
  const html = resolve(out ?? `${lab.name}-worksheet${lang === 'zh' ? '-zh' : ''}.html`);
  writeFileSync(html, renderWorksheetHtml(lab, exercise, lang));
  const chromium = chromiumPath();
  if (!existsSync(chromium)) {
    process.stderr.write(`no PDF: ${chromium} not found (apt-get install -y chromium, or set TCPLAB_CHROMIUM); print the HTML from a browser instead\n`);
    return [html];
  }
  const pdf = html.replace(/\.html?$/i, '') + '.pdf';
  const profile = mkdtempSync(join(tmpdir(), 'tcplab-worksheet-'));
  try {
    const result = await execa(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--no-pdf-header-footer',
        `--print-to-pdf=${pdf}`,
        `file://${html}`,
      ],
      { reject: false, timeout: 90_000 },
    );
    if (result.exitCode !== 0 || !existsSync(pdf)) {
      process.stderr.write(`no PDF: chromium exited with ${result.exitCode}: ${String(result.stderr).split('\n').slice(-3).join(' ')}\n`);
      return [html];
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  return [html, pdf];
}
