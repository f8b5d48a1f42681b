import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/runs/syn-sent');
const scratch = mkdtempSync(join(tmpdir(), 'tcplab-corrupt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the syn-sent run folder with one file damaged by `damage`. */
function damaged(name: string, file: string, damage: (bytes: Buffer) => Buffer | string): string {
  const dir = join(scratch, name);
  cpSync(FIXTURE, dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, damage(existsSync(path) ? readFileSync(path) : Buffer.alloc(0)));
  return dir;
}

const cases: { name: string; file: string; damage: (b: Buffer) => Buffer | string; where: RegExp }[] = [
  {
    name: 'truncated run.json',
    file: 'run.json',
    damage: (b) => b.subarray(0, Math.floor(b.length / 2)),
    where: /run\.json \((byte \d+|at its end)\): not valid JSON/,
  },
  { name: 'invalid lab.json', file: 'lab.json', damage: (b) => b.toString('utf8').replace('{', '{,'), where: /lab\.json \(byte 1\): not valid JSON/ },
  {
    name: 'truncated pcap',
    file: 'client/capture.pcap',
    damage: (b) => b.subarray(0, 100),
    where: /client\/capture\.pcap \(byte \d+\): not a complete capture/,
  },
  {
    name: 'not a pcap',
    file: 'server/capture.pcap',
    damage: () => 'this is not a capture\n'.repeat(4),
    where: /server\/capture\.pcap \(byte 0\): not a complete capture/,
  },
  {
    name: 'broken events.jsonl line',
    file: 'client/events.jsonl',
    damage: (b) =>
      b
        .toString('utf8')
        .split('\n')
        .map((l, i) => (i === 2 ? l.slice(0, 10) : l))
        .join('\n'),
    where: /client\/events\.jsonl:3 \(byte \d+\): a broken line, not JSON/,
  },
  {
    name: 'kernel-paths.json not JSON',
    file: 'kernel-paths.json',
    damage: () => '{"calls": [',
    where: /kernel-paths\.json \((byte \d+|at its end)\): not valid JSON/,
  },
  {
    name: 'kernel-paths.json without calls',
    file: 'kernel-paths.json',
    damage: () => '{"note": "x"}',
    where: /kernel-paths\.json: expected an object with a calls array/,
  },
];

describe('a damaged run folder is bad input for verify, report and fsm --lab: exit 2, one line naming the file and where, no stack', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dir = damaged(c.name.replace(/\W+/g, '-'), c.file, c.damage);
      for (const args of [
        ['verify', dir],
        ['report', dir],
        ['fsm', '--lab', dir],
      ]) {
        const verb = args.join(' ');
        const result = await runCli(args);
        expect(result.exitCode, `${verb}: ${result.all}`).toBe(2);
        expect(result.stderr).toMatch(c.where);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    });
  }

  it('a damaged verdict.json: report says which file and where; verify compares against nothing it cannot read', async () => {
    const dir = damaged('verdict', 'verdict.json', (b) => b.subarray(0, 50));
    const report = await runCli(['report', dir]);
    expect(report.exitCode).toBe(2);
    expect(report.stderr).toMatch(/verdict\.json \((byte \d+|at its end)\): not valid JSON/);
    const verify = await runCli(['verify', dir]);
    expect(verify.exitCode).toBe(2);
    expect(verify.stderr).toMatch(/verdict\.json \((byte \d+|at its end)\): not valid JSON/);
  });
});
