import type { Verdict } from '../verify/verdict.js';

/**
 * JUnit XML for CI (the de-facto schema read by Jenkins, GitLab and GitHub test reporters): one
 * `<testsuites>`, one `<testsuite name="tcplab">`, one `<testcase>` per lab run. A failed lab gets a
 * single `<failure>` (what most consumers accept) whose message counts the failed checks and names each
 * with its source (the lab line `labs/x.yaml:42:5`, or what produced it), and whose text lists each failed
 * check with its source, expected vs observed and its evidence. Times are in seconds.
 */

/** Escapes text for XML content or a double-quoted attribute; characters XML 1.0 forbids become U+FFFD. */
export function escapeXml(text: string): string {
  return (
    text
      // XML 1.0 forbids these characters outright (§2.2 Char): they are replaced, not escaped.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
      .replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch] as string)
  );
}

/** Escapes an attribute value, keeping line breaks (a parser turns a literal newline in an attribute into a space). */
function escapeAttribute(text: string): string {
  return escapeXml(text).replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** Renders verdicts (one per lab run) as a JUnit XML document. */
export function renderJUnit(verdicts: readonly Verdict[]): string {
  const failures = verdicts.filter((v) => v.verdict === 'fail').length;
  const totalMs = verdicts.reduce((sum, v) => sum + v.durationMs, 0);
  const counts = `tests="${verdicts.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(totalMs)}"`;
  const cases = verdicts.map((verdict) => {
    const open = `    <testcase classname="${escapeAttribute(`tcplab.${verdict.lab}`)}" name="${escapeAttribute(verdict.lab)}" time="${seconds(verdict.durationMs)}">`;
    const out = `      <system-out>${escapeXml(describeChecks(verdict))}</system-out>`;
    if (verdict.verdict === 'pass') return `${open}\n${out}\n    </testcase>`;
    const failed = verdict.checks.filter((c) => c.status === 'fail');
    const message =
      failed.length === 0
        ? 'verdict FAIL with no failed check (the lab produced no checks)'
        : `${failed.length} of ${verdict.checks.length} checks failed: ${failed.map((c) => (c.source === undefined ? c.name : `${c.name} (${c.source})`)).join('; ')}`;
    const text = failed
      .map((c) =>
        [
          `✗ ${c.name}`,
          ...(c.source ? [`  source: ${c.source}`] : []),
          `  expected: ${c.expected}`,
          `  observed: ${c.observed}`,
          ...c.evidence.map((e) => `  evidence: ${e}`),
          ...(c.reference ? [`  see: ${c.reference}`] : []),
        ].join('\n'),
      )
      .join('\n\n');
    return `${open}\n      <failure message="${escapeAttribute(message)}" type="tcplab.check">${escapeXml(`${text}\nrun folder: ${verdict.runDir}`)}</failure>\n${out}\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tcplab" ${counts}>`,
    `  <testsuite name="tcplab" ${counts}>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function describeChecks(verdict: Verdict): string {
  const lines = verdict.checks.map((c) => `${c.status === 'pass' ? '✓' : '✗'} ${c.name}: expected ${c.expected}; observed ${c.observed}`);
  return [...lines, `run folder: ${verdict.runDir}`].join('\n');
}
