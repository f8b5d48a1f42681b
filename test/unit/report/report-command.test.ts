import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerReport } from '../../../src/cli/report-command.js';
import { CliError, ExitCode } from '../../../src/cli/exit-codes.js';
import { fixtureRunDir } from './fixture-runs.js';

/** Runs `tcplab report …` in-process; returns stdout, the exit code set, or the CliError thrown. */
async function runReport(args: string[]): Promise<{ stdout: string; exitCode?: number; error?: CliError }> {
  const program = new Command('tcplab').exitOverride();
  let exitCode: number | undefined;
  registerReport(program, (code) => {
    exitCode = code;
  });
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'tcplab', 'report', ...args]);
    return { stdout, ...(exitCode !== undefined && { exitCode }) };
  } catch (err) {
    if (err instanceof CliError) return { stdout, error: err };
    throw err;
  } finally {
    spy.mockRestore();
  }
}

describe('tcplab report', () => {
  const temporary: string[] = [];
  const copyFixture = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-report-'));
    temporary.push(dir);
    cpSync(fixtureRunDir('syn-sent'), dir, { recursive: true });
    return dir;
  };
  afterEach(() => {
    for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes <run-folder>/report.html and prints its path', async () => {
    const dir = copyFixture();
    const result = await runReport([dir]);
    expect(result.exitCode).toBe(ExitCode.ok);
    expect(result.stdout.trim()).toBe(join(dir, 'report.html'));
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('dropped by rule drop-syn on server');
  });

  it('honours --out and --lang zh', async () => {
    const dir = copyFixture();
    const out = join(dir, 'zh.html');
    const result = await runReport([dir, '--lang', 'zh', '--out', out]);
    expect(result.stdout.trim()).toBe(out);
    expect(readFileSync(out, 'utf8')).toContain('被 server 上的规则 drop-syn 丢弃');
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
  });

  it('prints Mermaid on stdout', async () => {
    const result = await runReport([copyFixture(), '--format', 'mermaid']);
    expect(result.stdout.startsWith('sequenceDiagram\n')).toBe(true);
    expect(result.stdout).toMatch(/client-xserver: \[S\]/);
  });

  it('recomputes the verdict when verdict.json is missing', async () => {
    const dir = copyFixture();
    rmSync(join(dir, 'verdict.json'));
    await runReport([dir]);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/<tr class="check (pass|fail)">/);
  });

  it('rejects a bad folder, a non-run folder and a bad option with exit 2 and a remedy', async () => {
    const missing = await runReport(['/nonexistent/run']);
    expect(missing.error?.exitCode).toBe(ExitCode.usage);
    expect(missing.error?.message).toMatch(/\/nonexistent\/run: no such folder or file; give a run folder .* or a capture file/);
    const empty = mkdtempSync(join(tmpdir(), 'tcplab-report-empty-'));
    temporary.push(empty);
    const notRun = await runReport([empty]);
    expect(notRun.error?.message).toMatch(/not a run folder \(no run\.json\)/);
    const file = join(empty, 'x.txt');
    writeFileSync(file, 'x');
    expect((await runReport([file])).error?.message).toMatch(
      /x\.txt: .*nothing could be read: give a run folder written by `tcplab run`, or a pcap\/pcapng capture/,
    );
    const format = await runReport([copyFixture(), '--format', 'pdf']);
    expect(format.error?.exitCode).toBe(ExitCode.usage);
    expect(format.error?.message).toBe('--format "pdf" is not supported; use one of: html, mermaid, text');
  });
});
