import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';
import { runCli } from '../../helpers/run-cli.js';

const FIXTURE = 'test/fixtures/runs/syn-sent';

function damagedCopy(damage: (dir: string) => void): string {
  const dir = join(tempDir('tcplab-corrupt-'), 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  damage(dir);
  return dir;
}

describe('a corrupt run folder: exit 2 naming the file and the offset, no stack trace', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'a truncated pcap',
      (dir) => {
        const pcap = join(dir, 'client', 'capture.pcap');
        const bytes = readFileSync(pcap);
        writeFileSync(pcap, bytes.subarray(0, bytes.length - 7));
      },
      /client\/capture\.pcap \(byte 410\): not a complete capture: file ends inside a record/,
    ],
    [
      'a non-pcap file',
      (dir) => writeFileSync(join(dir, 'server', 'capture.pcap'), 'SECRET=hunter2\n'),
      /server\/capture\.pcap \(byte 0\): not a complete capture: unknown magic number/,
    ],
    [
      'a broken events.jsonl line',
      (dir) => appendFileSync(join(dir, 'client', 'events.jsonl'), '{"SECRET": "hunter2\n'),
      /client\/events\.jsonl:24 \(byte 3878\): a broken line, not JSON/,
    ],
    [
      'capture counters that are not numbers',
      (dir) => writeFileSync(join(dir, 'server', 'capture-counters.json'), '{"captured": "SECRET"}\n'),
      /server\/capture-counters\.json: expected tcpdump's counters as tcplab run writes them/,
    ],
    [
      'a broken steps.jsonl line',
      (dir) => writeFileSync(join(dir, 'steps.jsonl'), '{"index": 0}\nSECRET=hunter2\n'),
      /steps\.jsonl:2 \(byte 13\): a broken line, not JSON/,
    ],
    ['a run.json that is not JSON', (dir) => writeFileSync(join(dir, 'run.json'), '  SECRET=hunter2'), /run\.json \(byte 2\): not valid JSON/],
    [
      'a run.json of another shape',
      (dir) => writeFileSync(join(dir, 'run.json'), '{"hosts": 3}'),
      /run\.json: expected an object with runId, startedUs and hosts/,
    ],
    [
      'a host name that leaves the folder',
      (dir) => {
        const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { hosts: { name: string }[] };
        (run.hosts[0] as { name: string }).name = '../../etc';
        writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
      },
      /run\.json: hosts\[0\] is not a host/,
    ],
    ['a lab.json of another shape', (dir) => writeFileSync(join(dir, 'lab.json'), '[]'), /lab\.json: expected the lab as tcplab run writes it/],
    [
      'a broken verdict.json',
      (dir) => writeFileSync(join(dir, 'verdict.json'), '{"verdict": "pass", SECRET=hunter2}'),
      /verdict\.json \(byte 20\): not valid JSON/,
    ],
  ];
  it.each(cases)('%s', async (_name, damage, expected) => {
    const result = await runCli(['verify', damagedCopy(damage)]);
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(lines[0]).toMatch(/the run folder is damaged, run the lab again/);
    expect(result.stderr).not.toMatch(/\n\s+at |hunter2|internal error/);
  });

  it('the undamaged fixture still verifies', async () => {
    const result = await runCli(['verify', FIXTURE]);
    expect(result.exitCode).toBe(0);
  });
});
