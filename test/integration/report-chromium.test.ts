import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRunReportHtml } from '../../src/report/html-report.js';
import { buildLadderModel, type LadderModel } from '../../src/report/ladder-model.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { loadFixtureRun, type FixtureRunName } from '../unit/report/fixture-runs.js';
import { analyzeRun } from '../../src/analysis/analyze-run.js';
import { countColourRows } from '../helpers/png-pixels.js';

/**
 * Opens the HTML reports of the fixture runs in real headless Chromium (Debian's `chromium`), checks the
 * diagram's elements in the DOM Chromium built, and saves screenshots into test-output/ for people to look at.
 * Skips visibly when chromium is absent, unless TCPLAB_REQUIRE_DOCKER=1 (CI), where that is a failure.
 */
const CHROMIUM = process.env.TCPLAB_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = join(REPO_ROOT, 'test-output');

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.TCPLAB_REQUIRE_DOCKER === '1') {
    throw new Error(`TCPLAB_REQUIRE_DOCKER=1 but ${CHROMIUM} does not exist; install it with \`apt-get install -y chromium\` (or set TCPLAB_CHROMIUM)`);
  }
  process.stderr.write(
    `\n*** Chromium report tests SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium; TCPLAB_REQUIRE_DOCKER=1 makes this an error) ***\n\n`,
  );
  return false;
}

const available = chromiumAvailable();
const profile = mkdtempSync(join(tmpdir(), 'tcplab-chromium-'));
afterAll(() => rmSync(profile, { recursive: true, force: true }));

async function runChromium(args: string[]): Promise<string> {
  const result = await execa(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { timeout: 60_000, reject: false },
  );
  if (result.exitCode !== 0) throw new Error(`chromium ${args.join(' ')} exited with ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

async function renderFixture(name: FixtureRunName, lang: 'en' | 'zh' = 'en'): Promise<{ model: LadderModel; file: string; hosts: number }> {
  const { record, verdict } = await loadFixtureRun(name);
  const model = buildLadderModel(analyzeRun(record), verdict);
  mkdirSync(OUTPUT, { recursive: true });
  const file = join(OUTPUT, `${name}-report${lang === 'zh' ? '-zh' : ''}.html`);
  // The report exactly as `tcplab run` writes it (with the run's commentary).
  writeFileSync(file, renderRunReportHtml(analyzeRun(record), verdict, { lang }));
  return { model, file, hosts: record.hosts.length };
}

const count = (html: string, pattern: RegExp): number => html.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

describe.skipIf(!available)('HTML report in headless Chromium', () => {
  it('syn-sent: lifelines, one arrow per segment, dropped arrows naming the rule, states, verdict rows', async () => {
    const { model, file, hosts } = await renderFixture('syn-sent');
    const dom = await runChromium(['--dump-dom', `file://${file}`]);
    expect(count(dom, /<svg class="ladder"/)).toBe(1);
    expect(count(dom, /<g class="lifeline"/)).toBe(hosts);
    expect(count(dom, /<g id="seg-\d+" class="arrow /)).toBe(model.arrows.length);
    expect(model.arrows.length).toBeGreaterThanOrEqual(3);
    expect(count(dom, /<g id="seg-\d+" class="arrow dropped/)).toBe(model.arrows.length);
    expect(count(dom, />dropped by rule drop-syn on server</)).toBe(model.arrows.length);
    expect(dom).toContain('data-state="SYN_SENT"');
    expect(dom).toContain('data-state="CLOSED"');
    expect(count(dom, /<tr class="check (pass|fail)">/)).toBe(model.checks.length);
  });

  it('handshake: every segment delivered, handshake and close recognised, TIME_WAIT labelled', async () => {
    const { model, file, hosts } = await renderFixture('handshake');
    const dom = await runChromium(['--dump-dom', `file://${file}`]);
    expect(count(dom, /<g class="lifeline"/)).toBe(hosts);
    expect(count(dom, /<g id="seg-\d+" class="arrow delivered/)).toBe(model.arrows.length);
    expect(dom).toContain('data-kind="handshake"');
    expect(dom).toContain('data-kind="four-way-close"');
    expect(dom).toContain('data-state="TIME_WAIT"');
  });

  it('four-way-close: ACK and FIN of the server as separate segments, the states of both closers', async () => {
    const { model, file, hosts } = await renderFixture('four-way-close');
    const dom = await runChromium(['--dump-dom', `file://${file}`]);
    expect(count(dom, /<g class="lifeline"/)).toBe(hosts);
    expect(count(dom, /<g id="seg-\d+" class="arrow delivered/)).toBe(model.arrows.length);
    expect(dom).toContain('data-kind="four-way-close"');
    for (const state of ['FIN_WAIT_2', 'TIME_WAIT', 'CLOSE_WAIT']) expect(dom).toContain(`data-state="${state}"`);
    expect(dom).toMatch(/What happened/);
  });

  it("handshake (traced): the screenshot shows the kernel's call path of connect() and of the SYN-ACK's arrival below the ladder", async () => {
    const { file } = await renderFixture('handshake-traced');
    const dom = await runChromium(['--dump-dom', `file://${file}`]);
    expect(count(dom, /<div class="kpath-connection"/)).toBe(1);
    expect(dom).toMatch(
      /data-kind="syn-sent"[^>]*>.*?data-frames="connect\(\) __x64_sys_connect __sys_connect inet_stream_connect __inet_stream_connect tcp_v4_connect/,
    );
    expect(dom).toMatch(/data-kind="synack-arrival"[^>]*>.*?data-frames="[^"]*tcp_rcv_state_process tcp_finish_connect/);
    expect(dom).toContain('connect() returned -115 (EINPROGRESS)');
    const png = join(OUTPUT, 'handshake-traced-report.png');
    rmSync(png, { force: true });
    await runChromium([`--screenshot=${png}`, '--window-size=1400,4200', '--hide-scrollbars', `file://${file}`]);
    // The function names sit on chips of one colour (#e0e7ff) used nowhere else: count them in 200-px bands.
    const chips = countColourRows(readFileSync(png), [0xe0, 0xe7, 0xff], 200);
    expect([chips.width, chips.height]).toEqual([1400, 4200]);
    const bands = chips.perBand.flatMap((n, i) => (n > 500 ? [i] : []));
    expect(bands.length).toBeGreaterThanOrEqual(3); // connect side and receive side, many rows of frames
    // The untraced handshake report draws no chip anywhere: the count above is the call path's.
    const plain = await renderFixture('handshake');
    const plainPng = join(OUTPUT, 'handshake-untraced-check.png');
    await runChromium([`--screenshot=${plainPng}`, '--window-size=1400,4200', '--hide-scrollbars', `file://${plain.file}`]);
    expect(countColourRows(readFileSync(plainPng), [0xe0, 0xe7, 0xff], 200).perBand.every((n) => n === 0)).toBe(true);
    rmSync(plainPng, { force: true });
  });

  it("a capture a student brings (tcplab report x.pcap): one connection's ladder with its replayed states, screenshot saved", async () => {
    mkdirSync(OUTPUT, { recursive: true });
    for (const lang of ['en', 'zh'] as const) {
      const file = join(OUTPUT, `capture-handshake-report${lang === 'zh' ? '-zh' : ''}.html`);
      const capture = join(REPO_ROOT, 'test/fixtures/runs/handshake/client/capture.pcap');
      const written = await runCli(['report', capture, '--lang', lang, '--out', file]);
      expect(written.exitCode).toBe(0);
      const dom = await runChromium(['--dump-dom', `file://${file}`]);
      expect(count(dom, /<svg class="ladder"/)).toBe(1);
      expect(count(dom, /<g class="lifeline"/)).toBe(2);
      expect(count(dom, /<g id="c0-seg-\d+" class="arrow delivered/)).toBe(9);
      for (const state of ['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'FIN_WAIT_2', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT'])
        expect(dom).toContain(`data-state="${state}"`);
      expect(dom).toContain('data-kind="handshake"');
      expect(dom).toContain(lang === 'zh' ? '过程解说' : 'What happened');
      const png = join(OUTPUT, `capture-handshake-report${lang === 'zh' ? '-zh' : ''}.png`);
      rmSync(png, { force: true });
      await runChromium([`--screenshot=${png}`, '--window-size=1400,1800', '--hide-scrollbars', `file://${file}`]);
      expect(statSync(png).size).toBeGreaterThan(60_000);
    }
  });

  it('saves readable screenshots (English and Chinese)', async () => {
    for (const [name, lang] of [
      ['syn-sent', 'en'],
      ['handshake', 'en'],
      ['four-way-close', 'en'],
      ['syn-sent', 'zh'],
    ] as const) {
      const { file } = await renderFixture(name, lang);
      const png = join(OUTPUT, `${name}-report${lang === 'zh' ? '-zh' : ''}.png`);
      rmSync(png, { force: true });
      await runChromium([`--screenshot=${png}`, '--window-size=1400,1800', '--hide-scrollbars', `file://${file}`]);
      expect(existsSync(png)).toBe(true);
      const bytes = readFileSync(png);
      expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(bytes.readUInt32BE(16)).toBe(1400);
      expect(bytes.readUInt32BE(20)).toBe(1800);
      // a blank page compresses to a few kB; a drawn report is far larger
      expect(statSync(png).size).toBeGreaterThan(60_000);
    }
  });
});
