import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareLab } from '../helpers/bare-lab.js';
import { DeployedLab } from '../../src/run/deployed-lab.js';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.js';
import { FORWARD_ISOLATION_CHAIN, ISOLATION_CHAIN, isolateFromHost, releaseFromHost, runOnThisMachine } from '../../src/runtime/docker/host-isolation.js';
import { ensureLabImage } from '../../src/runtime/lab-image.js';
import type { Lab } from '../../src/lab/model.js';
import { dockerAvailable } from '../helpers/docker-available.js';

/** A bare lab whose one (never run) connect says family: 6, so it is deployed dual-stack. */
function ipv6Lab(name: string): Lab {
  return { ...bareLab(name), steps: [{ kind: 'connect', host: 'client', to: 'server', port: 9000, conn: 'c', family: 6 }] };
}

/** Exit code of a TCP connect from inside `host` to address:port (0 connected, 1 refused or timed out). */
async function connectFrom(deployed: DeployedLab, host: string, address: string, port: number): Promise<number> {
  const script =
    `const s=require('net').connect(${port},'${address}');s.setTimeout(1500);` +
    `s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));`;
  const result = await deployed.runtime.exec(deployed.host(host).handle, ['node', '-e', script]);
  return result.exitCode;
}

/** The lab network's IPv6 gateway (the bridge's ::1). */
function gateway6(deployed: DeployedLab): string {
  return deployed.network.subnet6!.replace(/::\/64$/, '::1');
}

describe.skipIf(!(await dockerAvailable()))('IPv6 lab networks: dual-stack, and isolated from the machine and from each other', () => {
  const runtime = new DockerRuntime();
  const runDir = mkdtempSync(join(tmpdir(), 'tcplab-isolation6-'));
  let listener: Server;
  let port = 0;
  let first: DeployedLab;
  let second: DeployedLab;

  beforeAll(async () => {
    // A listener on every IPv6 (and IPv4) address of this machine: what a lab must not reach.
    listener = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '::', resolve));
    port = (listener.address() as { port: number }).port;
    const image = await ensureLabImage(runtime);
    first = await DeployedLab.deploy(runtime, ipv6Lab('isolation6-a'), { runId: `isolation6-a-${process.pid}`, image, runDir, log: () => {} });
    second = await DeployedLab.deploy(runtime, ipv6Lab('isolation6-b'), { runId: `isolation6-b-${process.pid}`, image, runDir, log: () => {} });
    for (const lab of [first, second]) await lab.host('server').agent.command({ op: 'listen', port: 9000, accept: true, dualStack: true });
  }, 300_000);

  afterAll(async () => {
    await first?.[Symbol.asyncDispose]();
    await second?.[Symbol.asyncDispose]();
    listener?.close();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('each run gets its own ULA /64 and its hosts their fixed addresses (::2, ::3)', () => {
    expect(first.network.subnet6).toMatch(/^fd00:7463:706c:[0-9a-f]{1,3}::\/64$/);
    expect(second.network.subnet6).not.toBe(first.network.subnet6);
    expect(first.addressOf('server', 6)).toBe(first.network.subnet6!.replace(/::\/64$/, '::2'));
    expect(first.addressOf('client', 6)).toBe(first.network.subnet6!.replace(/::\/64$/, '::3'));
  });

  it('a lab host reaches another lab host over IPv6 and over IPv4 (the probe itself works)', async () => {
    expect(await connectFrom(first, 'client', first.addressOf('server', 6), 9000)).toBe(0);
    expect(await connectFrom(first, 'client', first.addressOf('server'), 9000)).toBe(0);
  }, 30_000);

  it("a lab host cannot reach the host's listener through the lab network's IPv6 gateway", async () => {
    expect(await connectFrom(first, 'client', gateway6(first), port)).toBe(1);
    // The control: without tcplab's host rules the same connect gets through, so the ip6tables rule is what blocks it.
    await releaseFromHost(runOnThisMachine, first.network.id, first.network.name);
    try {
      expect(await connectFrom(first, 'client', gateway6(first), port)).toBe(0);
    } finally {
      await isolateFromHost(runOnThisMachine, first.network.id, first.network.name);
    }
    expect(await connectFrom(first, 'client', gateway6(first), port)).toBe(1);
  }, 30_000);

  it('nothing is routed off a lab bridge over IPv6: another lab network is unreachable (Docker 20.10 adds no ip6tables rules)', async () => {
    const other = second.addressOf('server', 6);
    expect(await connectFrom(first, 'client', other, 9000)).toBe(1);
    // The control: without tcplab's FORWARD drops on both bridges, the host routes the connect (IPv6 forwarding is on).
    await releaseFromHost(runOnThisMachine, first.network.id, first.network.name);
    await releaseFromHost(runOnThisMachine, second.network.id, second.network.name);
    try {
      expect(await connectFrom(first, 'client', other, 9000)).toBe(0);
    } finally {
      await isolateFromHost(runOnThisMachine, first.network.id, first.network.name);
      await isolateFromHost(runOnThisMachine, second.network.id, second.network.name);
    }
    expect(await connectFrom(first, 'client', other, 9000)).toBe(1);
  }, 30_000);

  it('the network has 3 rules per tool (INPUT drop, FORWARD in and out) and removing the network removes all 6', async () => {
    const rulesOf = async (lab: DeployedLab): Promise<number> => {
      let count = 0;
      for (const tool of ['iptables', 'ip6tables']) {
        for (const chain of [ISOLATION_CHAIN, FORWARD_ISOLATION_CHAIN]) {
          const listed = await runOnThisMachine([tool, '-w', '-S', chain]);
          count += listed.stdout
            .split('\n')
            .filter(
              (line) =>
                line.includes(`tcplab:${lab.network.name} `) || line.endsWith(`tcplab:${lab.network.name}`) || line.includes(`"tcplab:${lab.network.name}"`),
            ).length;
        }
      }
      return count;
    };
    expect(await rulesOf(second)).toBe(6);
    await second[Symbol.asyncDispose]();
    expect(await rulesOf(second)).toBe(0);
  }, 60_000);
});
