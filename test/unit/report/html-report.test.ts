import { describe, expect, it } from 'vitest';
import { escapeHtml, renderHtmlReport, renderRunReportHtml } from '../../../src/report/html-report.js';
import { buildLadderModel } from '../../../src/report/ladder-model.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { loadFixtureRun } from './fixture-runs.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';

const count = (html: string, pattern: RegExp): number => html.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

describe('renderHtmlReport', async () => {
  const handshake = await loadFixtureRun('handshake');
  const synSent = await loadFixtureRun('syn-sent');

  it('is one self-contained document: no scripts, no external resources', () => {
    const html = renderRunReportHtml(analyzeRun(handshake.record), handshake.verdict);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|@import|url\(http|src="http|href="http/i);
    expect(count(html, /<svg class="ladder"/)).toBe(1);
  });

  it('draws one lifeline per host, one arrow group per segment with its id, and the states', () => {
    const model = buildLadderModel(analyzeRun(handshake.record), handshake.verdict);
    const html = renderHtmlReport(model);
    expect(count(html, /<g class="lifeline"/)).toBe(handshake.record.hosts.length);
    expect(count(html, /<g id="seg-\d+" class="arrow /)).toBe(model.arrows.length);
    expect(html).toContain('data-state="TIME_WAIT"');
    expect(html).toContain('three-way handshake');
    expect(html).toContain('four-way close');
    expect(count(html, /<tr class="check pass">/)).toBe(handshake.verdict.checks.length);
    const syn = model.arrows[0];
    expect(html).toContain(`seq=${syn?.segment.seq} len=0`);
  });

  it('draws syn-sent SYNs short with the rule name, retransmission badges and compressed gaps', () => {
    const html = renderRunReportHtml(analyzeRun(synSent.record), synSent.verdict);
    const model = buildLadderModel(analyzeRun(synSent.record), synSent.verdict);
    expect(count(html, /class="arrow dropped/)).toBe(model.arrows.length);
    expect(html).toContain('dropped by rule drop-syn on server');
    expect(count(html, /class="retrans-badge"/)).toBe(model.arrows.length - 1);
    expect(html).toMatch(/⋯ [\d.]+ s later ⋯/);
    expect(html).toContain('data-state="SYN_SENT"');
  });

  it('marks failed checks in the table and on the arrow they point at', () => {
    const model = buildLadderModel(analyzeRun(handshake.record), handshake.verdict);
    const frame = model.arrows[1]?.receiverFrame;
    const failing: Verdict = {
      ...handshake.verdict,
      verdict: 'fail',
      checks: [{ name: 'server refuses', status: 'fail', expected: '[R.]', observed: '[S.]', evidence: [`client capture #${frame}`] }],
    };
    const html = renderRunReportHtml(analyzeRun(handshake.record), failing);
    expect(html).toContain('<tr class="check fail">');
    expect(html).toMatch(/<g id="seg-2" class="arrow delivered failed"/);
    expect(html).toContain(`<a href="#seg-2">client capture #${frame}</a>`);
    expect(html).toContain('✗ FAIL');
  });

  it('escapes every text that comes from lab files and verdicts', () => {
    const evil = '<script>alert("x")</script>';
    const record = { ...handshake.record, lab: { ...handshake.record.lab, title: evil, description: `a ${evil} & \`code\`` } };
    const verdict: Verdict = { ...handshake.verdict, checks: [{ name: evil, status: 'fail', expected: evil, observed: `"'`, evidence: [evil] }] };
    const html = renderRunReportHtml(analyzeRun(record), verdict);
    expect(html).not.toContain('<script>');
    expect(html).toContain(escapeHtml(evil));
    expect(html).toContain('<code>code</code>');
    expect(escapeHtml(`<&"'>`)).toBe('&#60;&#38;&#34;&#39;&#62;');
  });

  it("speaks Chinese with lang zh: narrative, UI words and the seeds' terms", () => {
    const html = renderRunReportHtml(analyzeRun(handshake.record), handshake.verdict, { lang: 'zh' });
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('三次握手');
    expect(html).toContain('四次挥手');
    expect(html).toContain('检查结果');
    const firstZhLine = (handshake.record.lab.descriptionZh ?? '').split('\n')[0] ?? '';
    expect(firstZhLine.length).toBeGreaterThan(0);
    expect(html).toContain(escapeHtml(firstZhLine.trim()));
    const en = renderRunReportHtml(analyzeRun(handshake.record), handshake.verdict);
    expect(en).not.toContain('三次握手</text>');
  });
});

describe('the verdict table names where each check came from', async () => {
  const { verifyRun } = await import('../../../src/verify/verify-run.js');
  const { loadFixtureRun } = await import('./fixture-runs.js');
  it('shows the lab line of an expectation check and the producer of a conformance check', async () => {
    const { record } = await loadFixtureRun('syn-sent');
    const run = { ...record, lab: { ...record.lab, sourceFile: 'labs/syn-sent.yaml' } };
    const analysis = analyzeRun(run);
    const html = renderHtmlReport(buildLadderModel(analysis, verifyRun(run, 'x', 0, analysis)));
    expect(html).toMatch(/<div class="check-source">labs\/syn-sent\.yaml:\d+:\d+<\/div>/);
    expect(html).toContain('<div class="check-source">conformance (Linux machine, src/tcp/linux-profile.ts)</div>');
  });
});
