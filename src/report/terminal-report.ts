import { message, type Lang } from '../messages/catalog.js';
import { checkLines } from '../messages/text.js';
import type { Verdict } from '../verify/verdict.js';

/**
 * Renders a verdict for a terminal in `lang`: a headline, one line per check, the source and evidence under
 * failures, the run folder and the notes on how the run was observed.
 */
export function renderVerdict(verdict: Verdict, options: { color: boolean; verbose?: boolean; lang?: Lang }): string {
  const lang = options.lang ?? 'en';
  const paint = (code: number, text: string): string => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const head = verdict.verdict === 'pass' ? paint(32, message(lang, 'verdict.pass')) : paint(31, message(lang, 'verdict.fail'));
  const lines = [message(lang, 'verdict.headline', { verdict: head, lab: verdict.lab, seconds: (verdict.durationMs / 1000).toFixed(1) })];
  for (const check of verdict.checks) {
    const mark = check.status === 'pass' ? paint(32, '✓') : paint(31, '✗');
    const { name, expected, observed, evidence } = checkLines(check, lang);
    lines.push(`  ${message(lang, 'verdict.check', { mark, name, expected, observed })}`);
    if (check.status === 'fail' && check.source !== undefined) lines.push(`      ${paint(2, message(lang, 'verdict.from', { source: check.source }))}`);
    if (check.status === 'fail' || options.verbose) {
      for (const item of evidence) lines.push(`      ${paint(2, item)}`);
      if (check.reference) lines.push(`      ${paint(2, message(lang, 'verdict.see', { reference: check.reference }))}`);
    }
  }
  lines.push(`  ${message(lang, 'verdict.runFolder', { dir: verdict.runDir })}`);
  for (const note of (lang === 'zh' ? verdict.zh?.notes : undefined) ?? verdict.notes ?? []) lines.push(`  ${message(lang, 'verdict.note', { note })}`);
  return lines.join('\n');
}
