import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../../src/lab/lab-error.js';
import { listLabs, resolveLab } from '../../../src/lab/resolve-lab.js';

const GOOD = 'test/fixtures/labs/good';

describe('resolveLab', () => {
  it('maps a bare name into the labs folder and takes paths as they are', async () => {
    expect(await resolveLab('syn-sent', GOOD)).toBe(join(GOOD, 'syn-sent.yaml'));
    expect(await resolveLab('./x/y.yaml', GOOD)).toBe('./x/y.yaml');
    expect(await resolveLab('other.yaml', GOOD)).toBe('other.yaml');
  });

  it('rejects an unknown name with the list of labs and a suggestion', async () => {
    const error = await resolveLab('syn-snet', GOOD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as LabError).formatProblems()).toBe(
      `${GOOD}:1:1: syn-snet: unknown lab "syn-snet"; available labs: handshake, syn-sent (did you mean "syn-sent"?)`,
    );
    const missing = await resolveLab('nothing-like-it', '/nonexistent-labs').catch((e: unknown) => e);
    expect((missing as LabError).problems[0]?.message).toBe(
      'unknown lab "nothing-like-it"; no labs found in /nonexistent-labs; run `tcplab list` or give a path to a .yaml file',
    );
  });
});

describe('listLabs', () => {
  it('lists names and titles, sorted, and survives a broken lab', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tcplab-labs-'));
    await writeFile(join(dir, 'b-lab.yaml'), 'title: "Second"\nhosts: {}\n');
    await writeFile(join(dir, 'a-lab.yaml'), 'title: "First"\n');
    await writeFile(join(dir, 'broken.yaml'), 'title: [unclosed\n');
    await writeFile(join(dir, 'notes.txt'), 'not a lab');
    expect(await listLabs(dir)).toStrictEqual([
      { name: 'a-lab', title: 'First', file: join(dir, 'a-lab.yaml') },
      { name: 'b-lab', title: 'Second', file: join(dir, 'b-lab.yaml') },
      { name: 'broken', title: '(invalid: YAML syntax error)', file: join(dir, 'broken.yaml') },
    ]);
  });
});

describe('readTitle never fails on a hostile lab (tcplab list must list the others)', () => {
  it('deep nesting, control characters and a huge title', async () => {
    const { readTitle } = await import('../../../src/lab/resolve-lab.js');
    expect(readTitle(`title: t\nx: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)).toBe('(invalid: nested too deep)');
    expect(readTitle('title: "a\\u001b[2Jb"\n')).toBe('a [2Jb'); // the escape is gone, so nothing drives the terminal
    expect(readTitle(`title: ${'x'.repeat(1000)}\n`)).toBe(`${'x'.repeat(200)}…`);
  });
});
