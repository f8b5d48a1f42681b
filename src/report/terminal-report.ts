import type { Verdict } from '../verify/verdict.js';

/** Renders a verdict for a terminal: a headline, one line per check, the source and evidence under failures. */
export function renderVerdict(verdict: Verdict, options: { color: boolean; verbose?: boolean }): string {
  const paint = (code: number, text: string): string => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const head = verdict.verdict === 'pass' ? paint(32, 'PASS') : paint(31, 'FAIL');
  const lines = [`${head} ${verdict.lab} (${(verdict.durationMs / 1000).toFixed(1)} s)`];
  for (const check of verdict.checks) {
    const mark = check.status === 'pass' ? paint(32, '✓') : paint(31, '✗');
    lines.push(`  ${mark} ${check.name}: expected ${check.expected}; observed ${check.observed}`);
    if (check.status === 'fail' && check.source !== undefined) lines.push(`      ${paint(2, `from ${check.source}`)}`);
    if (check.status === 'fail' || options.verbose) {
      for (const item of check.evidence) lines.push(`      ${paint(2, item)}`);
      if (check.reference) lines.push(`      ${paint(2, `see ${check.reference}`)}`);
    }
  }
  lines.push(`  run folder: ${verdict.runDir}`);
  return lines.join('\n');
}
