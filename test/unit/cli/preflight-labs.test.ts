import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dir.js';
import { CliError } from '../../../src/cli/exit-codes.js';
import { checkLabsOnMachine } from '../../../src/cli/preflight-labs.js';
import { LabError } from '../../../src/lab/lab-error.js';
import type { SysctlFacts } from '../../../src/lab/kernel-sysctls.js';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import type { ExecResult, Runtime, ThrowawaySpec } from '../../../src/runtime/runtime.js';

const FACTS = JSON.parse(readFileSync('test/fixtures/sysctl-facts/lab-image-linux-6.18.json', 'utf8')) as SysctlFacts;
/** What the probe printed on this project's machine, rebuilt from the stored facts. */
const PROBE_OUTPUT = `${Object.entries(FACTS.values)
  .map(([k, v]) => `${k} = ${v}`)
  .join('\n')}\n#writable\n${FACTS.writable.map((k) => `/proc/sys/${k.replaceAll('.', '/')}`).join('\n')}\n`;

/** Answers engineInfo and the probe; every method that would create or change something fails the test. */
class ProbeOnlyRuntime {
  readonly throwaways: ThrowawaySpec[] = [];
  async engineInfo() {
    return { name: 'fake', version: '0', apiVersion: '0', kernel: FACTS.kernel, cgroupVersion: '1' };
  }
  async runThrowaway(spec: ThrowawaySpec): Promise<ExecResult> {
    this.throwaways.push(spec);
    return { exitCode: 0, stdout: Buffer.from(PROBE_OUTPUT), stderr: '' };
  }
}
const forbidden = (name: string) => () => {
  throw new Error(`${name} must not be called before the lab is known to be valid`);
};
function makeRuntime(): { runtime: Runtime; probe: ProbeOnlyRuntime } {
  const probe = new ProbeOnlyRuntime();
  const runtime = new Proxy(probe, {
    get: (target, key) => (key in target ? (target as unknown as Record<PropertyKey, unknown>)[key] : forbidden(String(key))),
  }) as unknown as Runtime;
  return { runtime, probe };
}

const LAB = [
  'title: t',
  'description: d',
  'hosts:',
  '  server: {}',
  '  client:',
  '    sysctls: { net.ipv4.tcp_syn_retries: 1000 }',
  'steps:',
  '  - listen: { host: server, port: 8888 }',
  `  - rule: { host: server, add: "-I INPUT -p tcp -j 'DROP;touch'" }`,
  '',
].join('\n');

// the rule check runs iptables-restore in `unshare --net` here (root); elsewhere it would use the lab image
function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['--net', '--', 'iptables-restore', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let cacheDir: string;
beforeEach(() => {
  cacheDir = tempDir('tcplab-cache-');
  process.env['TCPLAB_CACHE_DIR'] = cacheDir;
});
afterEach(() => {
  delete process.env['TCPLAB_CACHE_DIR'];
});

async function preflightLines(text: string, overrides: string[] = []): Promise<{ lines: string[]; probe: ProbeOnlyRuntime }> {
  const path = join(tempDir('tcplab-preflight-'), 'lab.yaml');
  writeFileSync(path, text);
  const { runtime, probe } = makeRuntime();
  try {
    await checkLabsOnMachine([{ lab: await loadLabFile(path, overrides), path }], overrides, runtime, 'tcplab/lab:test');
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return {
      lines: error
        .formatProblems()
        .split('\n')
        .map((line) => line.replace(path, 'lab.yaml')),
      probe,
    };
  }
  return { lines: [], probe };
}

describe.skipIf(!canUnshare())('checks against this machine, before anything is created', () => {
  it('a sysctl out of the kernel range and a rule iptables refuses: positioned in the file, nothing created', async () => {
    const { lines, probe } = await preflightLines(LAB);
    expect(lines).toStrictEqual([
      'lab.yaml:6:42: hosts.client.sysctls["net.ipv4.tcp_syn_retries"]: sysctl "net.ipv4.tcp_syn_retries" takes 1..127 (net/ipv4/sysctl_net_ipv4.c), received "1000"; choose a value in that range',
      "lab.yaml:9:32: steps[1].rule.add: iptables refuses this rule: Chain 'DROP;touch' does not exist; fix the rule (iptables(8), iptables-extensions(8))",
    ]);
    // the only container was the probe's: no network, no lab host
    expect(probe.throwaways.map((t) => t.argv[0])).toContain('sh');
  });

  it('--set client.sysctl.net.ipv4.tcp_syn_retries=abc is reported against the --set argument', async () => {
    const { lines } = await preflightLines(LAB.replace(`  - rule: { host: server, add: "-I INPUT -p tcp -j 'DROP;touch'" }\n`, ''), [
      'client.sysctl.net.ipv4.tcp_syn_retries=abc',
    ]);
    expect(lines).toStrictEqual([
      '--set:1:40: hosts.client.sysctls["net.ipv4.tcp_syn_retries"]: sysctl "net.ipv4.tcp_syn_retries" takes a whole number, received "abc"; its default here is "6"',
    ]);
  });

  it('a valid lab passes, and the facts are probed once per image and kernel, then read from the cache', async () => {
    const good = LAB.replace('1000', '3').replace(`'DROP;touch'`, 'DROP');
    const first = await preflightLines(good);
    const second = await preflightLines(good);
    expect(first.lines).toStrictEqual([]);
    expect(second.lines).toStrictEqual([]);
    expect(first.probe.throwaways.filter((t) => t.argv[0] === 'sh')).toHaveLength(1);
    expect(second.probe.throwaways.filter((t) => t.argv[0] === 'sh')).toHaveLength(0);
    expect(readFileSync(join(cacheDir, 'sysctl-facts', `tcplab_lab_test@${FACTS.kernel}.json`), 'utf8')).toMatch(/"net\.ipv4\.tcp_syn_retries":"6"/);
  });
});

describe('when the probe cannot run', () => {
  it('is an environment problem (exit 3), not bad input', async () => {
    const path = join(tempDir('tcplab-preflight-'), 'lab.yaml');
    writeFileSync(path, LAB);
    const runtime = {
      engineInfo: async () => ({ name: 'fake', version: '0', apiVersion: '0', kernel: 'k', cgroupVersion: '1' }),
      runThrowaway: async () => {
        throw new Error('no such image');
      },
    } as unknown as Runtime;
    const error = await checkLabsOnMachine([{ lab: await loadLabFile(path), path }], [], runtime, 'img').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(3);
    expect((error as CliError).message).toMatch(/cannot read which sysctls the kernel accepts from the lab image: no such image/);
  });
});
