import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      ['title: bad', 'hosts:', '  server: {}', 'steps:', '  - listen: { host: sever, port: 8888 }', '  - connect: { host: server, to: server, prot: 1 }', 'expect: []', ''].join('\n'),
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
