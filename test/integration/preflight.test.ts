import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { dockerAvailable } from '../helpers/docker-available.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

/*
 * Bad sysctls and rules that only this machine's kernel and iptables can judge: `tcplab run` must
 * refuse them with exit 2 and one positioned line before it creates anything. Each case runs a copy
 * of a catalog lab under a unique name, so any container or network it made would carry that name.
 */
const hasDocker = await dockerAvailable();

describe.skipIf(!hasDocker)('checks against the kernel and iptables create nothing', () => {
  const dir = tempDir('tcplab-preflight-');
  const name = `preflight-${process.pid}`;
  const copy = (source: string, edit: (text: string) => string): string => {
    const file = join(dir, `${name}.yaml`);
    const text = readFileSync(join(REPO_ROOT, 'labs', `${source}.yaml`), 'utf8');
    const edited = edit(`name: ${name}\n${text}`);
    if (edited === `name: ${name}\n${text}` && source !== 'refused') throw new Error('the edit changed nothing');
    writeFileSync(file, edited);
    return file;
  };
  beforeAll(async () => {
    // build the image first if needed, so the timed runs below measure the checks
    expect((await runCli(['image', 'build'])).exitCode).toBe(0);
  }, 600_000);

  const cases: [string, () => string[], RegExp][] = [
    [
      'tcp_syn_retries=abc',
      () => [copy('refused', (t) => t), '--set', 'client.sysctl.net.ipv4.tcp_syn_retries=abc'],
      /^--set:1:40: .*takes a whole number, received "abc"/,
    ],
    ['tcp_syn_retries=1000', () => [copy('refused', (t) => t), '--set', 'client.sysctl.net.ipv4.tcp_syn_retries=1000'], /^--set:1:40: .*takes 1\.\.127/],
    ['an unknown sysctl', () => [copy('refused', (t) => t), '--set', 'client.sysctl.net.ipv4.tcp_syn_retry=3'], /did you mean "net\.ipv4\.tcp_syn_retries"/],
    ['a read-only sysctl', () => [copy('refused', (t) => t), '--set', 'client.sysctl.net.ipv4.tcp_available_congestion_control=reno'], /is read-only/],
    [
      "the target 'DROP;touch'",
      () => [copy('refused', (t) => t.replace('\nsteps:\n', `\nsteps:\n  - rule: { host: server, add: "-I INPUT -p tcp -j 'DROP;touch'" }\n`))],
      /:36:\d+: steps\[0\]\.rule\.add: iptables refuses this rule: Chain 'DROP;touch' does not exist/,
    ],
  ];
  it.each(cases)(
    '%s: exit 2, one line, no container, network or run folder',
    async (_case, args, expected) => {
      const runsDir = join(dir, 'runs');
      const result = await runCli(['run', ...args(), '-q', '--runs-dir', runsDir]);
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(runsDir)).toBe(false);
      const docker = new Docker();
      const filters = JSON.stringify({ label: [`tcplab.lab=${name}`] });
      expect(await docker.listContainers({ all: true, filters })).toStrictEqual([]);
      expect(await docker.listNetworks({ filters })).toStrictEqual([]);
    },
    60_000,
  );
});
