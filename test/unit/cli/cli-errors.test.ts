import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';
import { runCli } from '../../helpers/run-cli.js';

// No Docker needed: bad input is rejected before anything is created. DOCKER_HOST points
// nowhere, so a test that reached Docker would fail with exit 3, not 2.
const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

describe('bad input: clear message, exit 2, no stack trace', () => {
  it('unknown lab lists the available ones and suggests the closest', async () => {
    const result = await runCli(['run', 'syn-snt'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown lab "syn-snt"; available labs: .*handshake.*syn-sent/);
    expect(result.stderr).toMatch(/did you mean "syn-sent"/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a broken lab file reports every problem as file:line:col: path: message', async () => {
    const dir = tempDir('tcplab-bad-');
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'title: bad',
        'hosts:',
        '  server: {}',
        'steps:',
        '  - listen: { host: sever, port: 8888 }',
        '  - connect: { host: server, to: server, prot: 1 }',
        'expect: []',
        '',
      ].join('\n'),
    );
    const result = await runCli(['run', file], { env });
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: \\S+: `));
    expect(result.stderr).toMatch(/:5:\d+: steps\[0\]\.listen\.host: unknown host "sever"/);
    expect(result.stderr).toMatch(/:6:\d+: steps\[1\]\.connect.*prot/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad --set is reported against the --set argument', async () => {
    const result = await runCli(['run', 'syn-sent', '--set', 'clinet.sysctl.net.ipv4.tcp_syn_retries=2'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^--set:\d+:\d+: /m);
    expect(result.stderr).toMatch(/clinet/);
  });

  it('an unknown flag is a usage error', async () => {
    const result = await runCli(['run', 'syn-sent', '--frobnicate'], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--frobnicate'/);
  });
});

describe('no Docker engine', () => {
  it('run says so, names the fix, exits 3', async () => {
    const result = await runCli(['run', 'handshake'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock/);
    expect(result.stderr).toMatch(/Start one with: npx tcplab setup/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('doctor reports the engine problem with its fix and exits 3', async () => {
    const result = await runCli(['doctor'], { env });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/FIX .*Docker engine/);
    expect(result.stdout).toMatch(/→ npx tcplab setup/);
  });
});

describe('catalog verbs', () => {
  it('list shows both skeleton labs with titles', async () => {
    const result = await runCli(['list']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^handshake\s+Three-way handshake/m);
    expect(result.stdout).toMatch(/^syn-sent\s+SYN_SENT: /m);
  });

  it('show prints narrative, hosts with sysctls, steps and expectations; --lang zh the Chinese narrative', async () => {
    const result = await runCli(['show', 'syn-sent']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/client {2}\(net\.ipv4\.tcp_syn_retries=3, net\.ipv4\.tcp_syn_linear_timeouts=0\)/);
    expect(result.stdout).toMatch(/server: iptables -I INPUT -s client -p tcp --dport 8888 -j DROP/);
    expect(result.stdout).toMatch(/connect\(\) of client\/c ends in ETIMEDOUT/);
    const zh = await runCli(['show', 'syn-sent', '--lang', 'zh']);
    expect(zh.stdout).toMatch(/服务器在 8888 端口监听/);
  });
});

describe('hostile input: exit 2, one positioned line, no stack trace, no run folder (before Docker is even asked)', () => {
  const dir = tempDir('tcplab-hostile-cli-');
  const runsDir = join(dir, 'runs');
  const lab = (name: string, lines: string[]): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `${['title: t', 'description: d', 'hosts:', '  server: {}', '  client: {}', 'steps:', '  - listen: { host: server, port: 8888 }', ...lines].join('\n')}\n`,
    );
    return file;
  };
  const crowd = (): string => {
    const file = join(dir, 'crowd.yaml');
    writeFileSync(file, `${['title: t', 'description: d', 'hosts:', ...Array.from({ length: 300 }, (_, i) => `  h${i}: {}`), 'steps: []'].join('\n')}\n`);
    return file;
  };
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  ];
  const cases: [string, () => string[], RegExp][] = [
    ['timeout: 99999999999m', () => [lab('huge-timeout', ['timeout: 99999999999m'])], /:8:10: timeout: a duration is at most 60m/],
    ['timeout: 40000m', () => [lab('long-timeout', ['timeout: 40000m'])], /:8:10: timeout: a duration is at most 60m/],
    ['--set timeout=99999999999m', () => ['syn-sent', '--set', 'timeout=99999999999m'], /^--set:1:9: timeout: a duration is at most 60m/],
    ['an alias bomb', () => [lab('alias-bomb', bomb)], /:9:\d+: b\[0\]: YAML aliases here expand to too many nodes/],
    ['4,000-deep nesting', () => [lab('deep', [`x: ${'['.repeat(4000)}${']'.repeat(4000)}`])], /:8:\d+: x(\[0\])+: mappings and lists nest more than 20 deep/],
    ['300 hosts', () => [crowd()], /:4:3: hosts: a lab has at most 253 hosts \(its \/24 gives them \.2-\.254\), received 300/],
    [
      '--set client.sysctl.__proto__=1',
      () => ['syn-sent', '--set', 'client.sysctl.__proto__=1'],
      /^--set:1:1: client\.sysctl\.__proto__: "__proto__" is not allowed/,
    ],
    [
      'a sysctl key with empty words',
      () => ['refused', '--set', 'client.sysctl.net...ipv4..tcp_syn_retries=3'],
      /^--set:1:15: .*invalid sysctl "net\.\.\.ipv4\.\.tcp_syn_retries"/,
    ],
    [
      'a two-line sysctl value',
      () => ['refused', '--set', 'client.sysctl.net.ipv4.tcp_syn_retries=3\nkernel.panic=1'],
      /^--set:1:40: .*a sysctl value is one line, received "3\\nkernel\.panic=1"/,
    ],
    [
      'a rule with a line break',
      () => [lab('rule-newline', [`  - rule: { host: server, add: "-I INPUT -j 'DROP\\ntouch'" }`])],
      /:8:\d+: steps\[1\]\.rule\.add: a rule is one line/,
    ],
    ['/etc/passwd', () => ['/etc/passwd'], /^\/etc\/passwd:1:1: \(document\): this is not a lab file/],
    ['/proc/self/environ', () => ['/proc/self/environ'], /^\/proc\/self\/environ:1:1: \(document\): this is a binary file/],
    ['/dev/zero', () => ['/dev/zero'], /^\/dev\/zero:1:1: \(document\): this is not a regular file/],
  ];
  it.each(cases)('%s', async (_name, args, expected) => {
    const result = await runCli(['run', ...args(), '--runs-dir', runsDir], { env: { ...env, SECRET_FOR_TEST: 'hunter2-secret' } });
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(lines[0]?.length).toBeLessThan(400);
    expect(result.stderr).not.toMatch(/\n\s+at |hunter2|\/bin\/(ba)?sh|Error:/);
    expect(existsSync(runsDir)).toBe(false);
  });
});

describe('inject outside the lab', () => {
  it('is refused at load time with exit 2 and file:line:col, before Docker is reached and before any run folder exists', async () => {
    const dir = tempDir('tcplab-inject-');
    const file = join(dir, 'inject-out.yaml');
    const runsDir = join(dir, 'runs');
    writeFileSync(
      file,
      [
        'title: inject outside',
        'description: d',
        'hosts:',
        '  client: {}',
        '  server: {}',
        'steps:',
        '  - listen: { host: server, port: 8080 }',
        '  - inject: { host: client, to: 1.1.1.1, port: 53, from_port: 40000, flags: "S" }',
        '',
      ].join('\n'),
    );
    // The engine address points nowhere: reaching Docker (a network, a container) would be exit 3.
    const result = await runCli(['run', file, '--runs-dir', runsDir], { env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^${file.replace(/[.]/g, '\\.')}:8:\\d+: steps\\[1\\]\\.inject\\.to: inject sends only to lab hosts, by name`, 'm'),
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(runsDir)).toBe(false);
  });
});
