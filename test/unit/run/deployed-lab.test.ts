import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { bareLab } from '../../helpers/bare-lab.js';
import { DeployedLab } from '../../../src/run/deployed-lab.js';
import type { ExecResult, HostHandle, HostProcess, HostSpec, LabelledResources, NetworkHandle, NetworkSpec, Runtime } from '../../../src/runtime/runtime.js';

/** A Runtime with no engine behind it: records what is created and removed, fails where told. */
class FakeRuntime implements Runtime {
  readonly networks = new Set<string>();
  readonly hosts = new Set<string>();
  readonly log: string[] = [];
  private readonly captures = new Map<string, PassThrough>();
  constructor(
    private readonly fail: { startHost?: string; removeHost?: string } = {},
    /** Called as each host starts and as each is removed: lets a test hold one back. */
    private readonly hooks: { startHost?: (name: string) => Promise<void>; removeHost?: (name: string) => Promise<void> } = {},
  ) {}

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
    await this.hooks.startHost?.(spec.name);
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
  async runThrowaway(): Promise<ExecResult> {
    throw new Error('DeployedLab never runs throw-away containers');
  }
  async removeHost(host: HostHandle) {
    this.log.push(`remove ${host.name}`);
    await this.hooks.removeHost?.(host.name);
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
  async sweepIsolationRules() {
    return 0;
  }
}

const lab = bareLab('fake', 1000);

const runDirs: string[] = [];
const options = () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tcplab-fake-'));
  runDirs.push(runDir);
  return { runId: 'test', image: 'img', runDir, log: () => {} };
};
afterAll(() => {
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

/** Resolves once `n` callers are waiting on it: proves they ran at the same time. */
function barrier(n: number): () => Promise<void> {
  let waiting = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return async () => {
    if (++waiting === n) release();
    await all;
  };
}

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

  it('the teardown warning speaks the run language', async () => {
    const runtime = new FakeRuntime({ removeHost: 'server' });
    const lines: string[] = [];
    const deployed = await DeployedLab.deploy(runtime, lab, { ...options(), lang: 'zh', log: (line: string) => lines.push(line) });
    await deployed[Symbol.asyncDispose]();
    expect(lines).toEqual(['清理：未能移除 server 的容器：engine refused to remove server（下一次 `tcplab run` 或 `tcplab clean` 会清除它）']);
  });

  it('a host still starting when another fails is removed too, once it has started', async () => {
    let releaseServer!: () => void;
    const serverHeld = new Promise<void>((resolve) => (releaseServer = resolve));
    const runtime = new FakeRuntime(
      { startHost: 'client' },
      {
        startHost: async (name) => {
          if (name === 'server') await serverHeld;
          else setTimeout(releaseServer, 20); // the server finishes starting after the client failed
        },
      },
    );
    await expect(DeployedLab.deploy(runtime, lab, options())).rejects.toThrow('cannot start client');
    expect(runtime.hosts.size).toBe(0);
    expect(runtime.networks.size).toBe(0);
  });

  it('an abort during deployment stops it: deploy rejects with the abort reason and nothing is left', async () => {
    const controller = new AbortController();
    const runtime = new FakeRuntime({}, { startHost: async () => controller.abort(new Error('Ctrl-C')) });
    await expect(DeployedLab.deploy(runtime, lab, { ...options(), signal: controller.signal })).rejects.toThrow('Ctrl-C');
    expect(runtime.hosts.size).toBe(0);
    expect(runtime.networks.size).toBe(0);
  });

  it('hosts are torn down in parallel, then the network', async () => {
    const runtime = new FakeRuntime({}, { removeHost: barrier(2) });
    const deployed = await DeployedLab.deploy(runtime, lab, options());
    await deployed[Symbol.asyncDispose](); // would never resolve if the removals ran one after the other
    expect(runtime.hosts.size).toBe(0);
    expect(runtime.log.at(-1)).toBe('remove network');
  });
});
