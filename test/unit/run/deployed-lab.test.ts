import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Lab } from '../../../src/lab/model.js';
import { DeployedLab } from '../../../src/run/deployed-lab.js';
import type { ExecResult, HostHandle, HostProcess, HostSpec, LabelledResources, NetworkHandle, NetworkSpec, Runtime } from '../../../src/runtime/runtime.js';

/** A Runtime with no engine behind it: records what is created and removed, fails where told. */
class FakeRuntime implements Runtime {
  readonly networks = new Set<string>();
  readonly hosts = new Set<string>();
  readonly log: string[] = [];
  private readonly captures = new Map<string, PassThrough>();
  constructor(private readonly fail: { startHost?: string; removeHost?: string } = {}) {}

  async engineInfo() {
    return { name: 'fake', version: '0', apiVersion: '0', kernel: '', cgroupVersion: '1' };
  }
  async hasImage() {
    return true;
  }
  async buildImage() {}
  async pullImage() {
    return { ok: false as const, reason: 'no registry in a fake' };
  }
  async importImage() {}
  async createNetwork(spec: NetworkSpec): Promise<NetworkHandle> {
    this.networks.add(spec.name);
    return { id: spec.name, name: spec.name, subnet: spec.subnet };
  }
  async startHost(spec: HostSpec): Promise<HostHandle> {
    if (spec.name === this.fail.startHost) throw new Error(`cannot start ${spec.name}`);
    this.hosts.add(spec.name);
    return { id: spec.name, name: spec.name, address: spec.address };
  }
  async exec(host: HostHandle, argv: readonly string[]): Promise<ExecResult> {
    if (argv[0] === 'pkill') this.captures.get(host.id)?.end();
    return { exitCode: 0, stdout: Buffer.alloc(0), stderr: '' };
  }
  async spawn(host: HostHandle, argv: readonly string[]): Promise<HostProcess> {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const exited = new Promise<number>((resolve) => stdout.on('end', () => resolve(0)));
    if (argv[0] === 'node') {
      stdout.write(`${JSON.stringify({ type: 'ready', timeUs: 1, pid: 7, node: 'v18' })}\n`);
      stdin.on('data', (line: Buffer) => {
        if (line.toString().includes('"exit"')) stdout.end();
      });
      stdin.on('end', () => stdout.end());
    } else {
      stderr.write('tcpdump: listening on eth0, link-type EN10MB (Ethernet)\n');
      this.captures.set(host.id, stdout);
    }
    return { stdin, stdout, stderr, exited };
  }
  async removeHost(host: HostHandle) {
    this.log.push(`remove ${host.name}`);
    if (host.name === this.fail.removeHost) throw new Error(`engine refused to remove ${host.name}`);
    this.hosts.delete(host.name);
  }
  async removeNetwork(network: NetworkHandle) {
    this.log.push(`remove network`);
    this.networks.delete(network.name);
  }
  async removeImage() {}
  async listLabelled(): Promise<LabelledResources> {
    return { containers: [], networks: [], images: [] };
  }
  async listSubnets() {
    return [];
  }
}

const lab = {
  name: 'fake',
  title: 'fake',
  description: '',
  file: '/dev/null',
  hosts: [
    { name: 'server', sysctls: {} },
    { name: 'client', sysctls: {} },
  ],
  steps: [],
  expectations: [],
  timeoutMs: 1000,
  positions: { steps: [], expectations: [] },
} satisfies Lab;

const options = () => ({ runId: 'test', image: 'img', runDir: mkdtempSync(join(tmpdir(), 'tcplab-fake-')), log: () => {} });

describe('DeployedLab lifecycle (fake runtime)', () => {
  it('disposing removes every container, then the network', async () => {
    const runtime = new FakeRuntime();
    {
      await using deployed = await DeployedLab.deploy(runtime, lab, options());
      expect([...deployed.hosts.keys()].sort()).toEqual(['client', 'server']);
      expect(deployed.addressOf('server')).toMatch(/^198\.1[89]\.\d+\.2$/);
      expect(deployed.addressOf('client')).toMatch(/^198\.1[89]\.\d+\.3$/);
      expect(runtime.hosts.size).toBe(2);
    }
    expect(runtime.hosts.size).toBe(0);
    expect(runtime.networks.size).toBe(0);
    expect(runtime.log.at(-1)).toBe('remove network');
  });

  it('a host that fails to start: what was made is removed and the original error is re-thrown', async () => {
    const runtime = new FakeRuntime({ startHost: 'client' });
    await expect(DeployedLab.deploy(runtime, lab, options())).rejects.toThrow('cannot start client');
    expect(runtime.hosts.size).toBe(0);
    expect(runtime.networks.size).toBe(0);
  });

  it('a teardown error is logged, not thrown, and the rest is still removed', async () => {
    const runtime = new FakeRuntime({ removeHost: 'server' });
    const lines: string[] = [];
    const deployed = await DeployedLab.deploy(runtime, lab, { ...options(), log: (line: string) => lines.push(line) });
    await deployed[Symbol.asyncDispose]();
    expect(lines.join('\n')).toMatch(/could not remove container of server: engine refused to remove server.*tcplab clean/);
    expect([...runtime.hosts]).toEqual(['server']);
    expect(runtime.networks.size).toBe(0);
  });
});
