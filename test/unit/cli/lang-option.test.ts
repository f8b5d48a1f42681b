import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';
import { FIXTURE_RUNS } from '../verify/run-fixtures.js';

// DOCKER_HOST points nowhere: a command that reached Docker would exit 3, not 2.
const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
const cjk = /[\u4e00-\u9fff]/;

describe('--lang: every command that prints for people takes it, and rejects a language it does not have', () => {
  for (const args of [
    ['run', 'syn-sent'],
    ['verify', join(FIXTURE_RUNS, 'syn-sent')],
    ['show', 'syn-sent'],
    ['report', join(FIXTURE_RUNS, 'syn-sent')],
  ]) {
    it(`${args[0]} --lang fr: exit 2 before anything runs, naming the languages`, async () => {
      const result = await runCli([...args, '--lang', 'fr'], { env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/--lang "fr" is not supported; use one of: en, zh/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('verify --lang zh: the headline, every check line, the notes and the comparison read in Chinese', async () => {
    const result = await runCli(['verify', join(FIXTURE_RUNS, 'syn-sent'), '--lang', 'zh'], { env });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^通过 syn-sent（[\d.]+ 秒）$/);
    const checks = lines.filter((l) => l.startsWith('  ✓') || l.startsWith('  ✗'));
    expect(checks.length).toBeGreaterThan(5);
    for (const line of checks) expect(line).toMatch(/：预期 .*；观察到 /);
    for (const line of lines) expect(line, line).toMatch(cjk);
    expect(result.stdout).toContain('重新计算的判定与保存的 verdict.json 一致');
  });

  it('verify in English is unchanged by the Chinese words', async () => {
    const result = await runCli(['verify', join(FIXTURE_RUNS, 'syn-sent')], { env });
    expect(result.stdout).toMatch(/^PASS syn-sent \([\d.]+ s\)\n/);
    expect(result.stdout).not.toMatch(cjk);
  });
});

describe('report --lang zh: the verdict table of report.html reads in Chinese', () => {
  it('each check row holds the Chinese words of its check', async () => {
    const { tempDir } = await import('../../helpers/temp-dir.js');
    const { readFileSync } = await import('node:fs');
    const out = join(tempDir('tcplab-zh-report-'), 'report.html');
    const result = await runCli(['report', join(FIXTURE_RUNS, 'syn-sent'), '--lang', 'zh', '--out', out], { env });
    expect(result.exitCode).toBe(0);
    const rows = [...readFileSync(out, 'utf8').matchAll(/<tr class="check (?:pass|fail)">(.*?)<\/tr>/g)].map((m) => m[1] ?? '');
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) expect(row).toMatch(cjk);
    expect(rows.join('')).toContain('依次经过 SYN_SENT → CLOSED');
  });
});
