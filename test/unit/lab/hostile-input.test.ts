import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';
import { LabError } from '../../../src/lab/lab-error.js';
import { MAX_LAB_FILE_BYTES, MAX_YAML_ALIASES, MAX_YAML_DEPTH } from '../../../src/lab/lab-limits.js';
import { loadLabFile, loadLabText } from '../../../src/lab/load-lab.js';
import { MAX_QUOTED_CHARS, quote } from '../../../src/lab/quote-token.js';

const LAB = ['title: t', 'description: d', 'hosts:', '  server: {}', '  client: {}', 'steps:', '  - listen: { host: server, port: 8888 }', ''].join('\n');
const POSITIONED = /^[^:\n]+:\d+:\d+: \S.*: .+$/;

function problemsOfText(text: string, overrides: string[] = []): string[] {
  try {
    loadLabText(text, 'lab.yaml', overrides);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return error.formatProblems().split('\n');
  }
  return [];
}

async function problemsOfFile(file: string): Promise<string[]> {
  try {
    await loadLabFile(file);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return error.formatProblems().split('\n');
  }
  return [];
}

function tempFile(name: string, content: string | Buffer): string {
  const file = join(tempDir('tcplab-hostile-'), name);
  writeFileSync(file, content);
  return file;
}

describe('quote: the one way a message quotes what the user wrote', () => {
  it('caps at 60 characters with an ellipsis and escapes control characters', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('x'.repeat(200))).toBe(`"${'x'.repeat(MAX_QUOTED_CHARS)}…"`);
    expect(quote('3\nkernel.panic=1')).toBe('"3\\nkernel.panic=1"');
    expect(quote('\u001b[31mred\u009b')).toBe('"\\u001b[31mred\\u009b"');
  });
});

describe('error lines quote at most the offending token, never a whole file', () => {
  it('a text file that is not a lab (like /etc/passwd) gives one line quoting nothing of it', async () => {
    const passwd = Array.from({ length: 40 }, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}:User ${i},,,:/home/user${i}:/bin/bash`).join('\n');
    const lines = await problemsOfFile(tempFile('passwd', `${passwd}\n`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(POSITIONED);
    expect(lines[0]).toMatch(/this is not a lab file/);
    expect(lines[0]).not.toMatch(/user1:/);
  });

  it('the real /etc/passwd: one short line', async () => {
    const lines = await problemsOfFile('/etc/passwd');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.length).toBeLessThan(300);
    expect(lines[0]).not.toMatch(/\/bin\/(ba)?sh/);
  });

  it('an environment file with NUL separators (like /proc/self/environ) is refused as binary, quoting nothing', async () => {
    const lines = await problemsOfFile(tempFile('environ', 'SECRET_TOKEN=hunter2\0HOME=/root\0'));
    expect(lines).toStrictEqual([expect.stringMatching(/:1:1: \(document\): this is a binary file \(a NUL byte at offset 20\), not a lab file/)]);
    expect(lines[0]).not.toMatch(/hunter2/);
  });

  it('the real /proc/self/environ (stat size 0): one line, no variable', async () => {
    const lines = await problemsOfFile('/proc/self/environ');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/PATH=/);
  });

  it('a long value in a lab is quoted to 60 characters', () => {
    const lines = problemsOfText(LAB.replace('title: t', `title: t\ntimeout: "${'9'.repeat(5000)}x"`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lab\.yaml:2:\d+: timeout: .*"9{60}…"/);
    expect(lines[0]?.length).toBeLessThan(400);
  });

  it('a long unknown key appears capped in the path and in the message', () => {
    const key = `k${'y'.repeat(3000)}`;
    const lines = problemsOfText(`${LAB}${key}: 1\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.length).toBeLessThan(500);
  });
});

describe('files that cannot be labs are refused by size and shape before parsing', () => {
  it('a file over the size limit', async () => {
    const lines = await problemsOfFile(tempFile('big.yaml', `${LAB}# ${'x'.repeat(MAX_LAB_FILE_BYTES)}\n`));
    expect(lines).toStrictEqual([expect.stringMatching(/:1:1: \(document\): the file has \d+ bytes, more than a lab file may have \(262144\)/)]);
  });

  it('a binary file (invalid UTF-8, no NUL)', async () => {
    const lines = await problemsOfFile(tempFile('x.yaml', Buffer.from([0x74, 0x69, 0xff, 0xfe, 0x0a])));
    expect(lines).toStrictEqual([expect.stringMatching(/:1:1: \(document\): this is not UTF-8 text/)]);
  });

  it('a directory, a FIFO and /dev/zero', async () => {
    const dir = tempDir('tcplab-hostile-');
    expect(await problemsOfFile(dir)).toStrictEqual([expect.stringMatching(/this is a directory, not a lab file/)]);
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(await problemsOfFile(fifo)).toStrictEqual([expect.stringMatching(/this is not a regular file/)]);
    expect(await problemsOfFile('/dev/zero')).toStrictEqual([expect.stringMatching(/this is not a regular file/)]);
  });
});

describe('YAML limits: each a positioned exit-2 problem, never a stack overflow or ReferenceError', () => {
  it('4,000-deep flow nesting', () => {
    const lines = problemsOfText(`${LAB}x: ${'['.repeat(4000)}${']'.repeat(4000)}\n`);
    expect(lines).toStrictEqual([
      expect.stringMatching(new RegExp(`^lab\\.yaml:8:\\d+: x(\\[0\\])+: mappings and lists nest more than ${MAX_YAML_DEPTH} deep here`)),
    ]);
  });

  it('block nesting: 300 deep is refused by depth, 4,000 deep (8 MB of indentation) by size', () => {
    const block = (levels: number): string => Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}k:\n`).join('');
    const lines = problemsOfText(block(300));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lab\.yaml:21:\d+: k(\.k)+: mappings and lists nest more than 20 deep here/);
    expect(problemsOfText(block(4000))).toStrictEqual([expect.stringMatching(/^lab\.yaml:1:1: \(document\): the text has 8010000 characters, more than/)]);
  });

  it('the depth limit itself: a document 20 levels deep passes the limit check, 21 does not', () => {
    // the top-level mapping is level 1, so x's value may hold 19 more
    const nested = (lists: number): string => `${'['.repeat(lists)}1${']'.repeat(lists)}`;
    expect(problemsOfText(`${LAB}x: ${nested(MAX_YAML_DEPTH - 1)}\n`).join('\n')).not.toMatch(/nest more than/);
    expect(problemsOfText(`${LAB}x: ${nested(MAX_YAML_DEPTH)}\n`).join('\n')).toMatch(/nest more than/);
  });

  it('an alias bomb', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    ];
    const lines = problemsOfText(`${LAB}${bomb.join('\n')}\n`);
    expect(lines).toStrictEqual([expect.stringMatching(/^lab\.yaml:9:\d+: b\[0\]: YAML aliases here expand to too many nodes \(an alias bomb\)/)]);
  });

  it('more aliases than allowed', () => {
    const aliases = Array.from({ length: MAX_YAML_ALIASES + 1 }, () => '*a').join(', ');
    const lines = problemsOfText(`${LAB}a: &a 1\nb: [${aliases}]\n`);
    expect(lines).toStrictEqual([expect.stringMatching(/^lab\.yaml:9:\d+: b\[50\]: more than 50 YAML aliases/)]);
  });

  it('a few aliases are fine (the limit is not a ban)', () => {
    const lines = problemsOfText(`${LAB.replace('port: 8888', 'port: &p 8888')}  - connect: { host: client, to: server, port: *p }\n`);
    expect(lines).toStrictEqual([]);
  });

  it('only the first YAML syntax error of a file that is not YAML', () => {
    const lines = problemsOfText('a: [\nb: {\nc: "\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/more YAML error\(s\) after this one/);
  });
});

describe('prototype keys are refused everywhere', () => {
  it('in the file: a host named __proto__ or constructor', () => {
    expect(problemsOfText(LAB.replace('  client: {}', '  __proto__: {}'))).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:5:3: hosts\.__proto__: key "__proto__" is not allowed \(a JavaScript prototype name\)/),
    ]);
    expect(problemsOfText(LAB.replace('  client: {}', '  client: { sysctls: { constructor: 1 } }'))).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:5:\d+: hosts\.client\.sysctls\.constructor: key "constructor" is not allowed/),
    ]);
  });

  it('in --set: client.sysctl.__proto__=1 (silently dropped before)', () => {
    expect(problemsOfText(LAB, ['client.sysctl.__proto__=1'])).toStrictEqual([
      expect.stringMatching(/^--set:1:1: client\.sysctl\.__proto__: "__proto__" is not allowed in an override/),
    ]);
    expect(problemsOfText(LAB, ['__proto__.sysctl.net.ipv4.tcp_syn_retries=1'])).toHaveLength(1);
    expect(problemsOfText(LAB, ['client.sysctl.net.prototype.x=1'])).toHaveLength(1);
  });
});
