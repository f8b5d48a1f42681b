import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareLab } from '../helpers/bare-lab.js';
import { DeployedLab } from '../../src/run/deployed-lab.js';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.js';
import { isolateFromHost, releaseFromHost, runOnThisMachine } from '../../src/runtime/docker/host-isolation.js';
import { ensureLabImage } from '../../src/runtime/lab-image.js';
import { dockerAvailable } from '../helpers/docker-available.js';

const lab = bareLab('isolation');

/** Exit code of a TCP connect from inside `host` to address:port (0 connected, 1 refused or timed out). */
async function connectFrom(deployed: DeployedLab, host: string, address: string, port: number): Promise<number> {
  const script =
    `const s=require('net').connect(${port},'${address}');s.setTimeout(1500);` +
    `s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));`;
  const result = await deployed.runtime.exec(deployed.host(host).handle, ['node', '-e', script]);
  return result.exitCode;
}

describe.skipIf(!(await dockerAvailable()))('lab networks are isolated from the machine running them', () => {
  const runtime = new DockerRuntime();
  const runDir = mkdtempSync(join(tmpdir(), 'tcplab-isolation-'));
  let listener: Server;
  let port = 0;
  let deployed: DeployedLab;

  beforeAll(async () => {
    // A listener on every address of this machine: what a lab must not reach.
    listener = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    port = (listener.address() as { port: number }).port;
    const image = await ensureLabImage(runtime);
    deployed = await DeployedLab.deploy(runtime, lab, { runId: `isolation-${process.pid}`, image, runDir, log: () => {} });
    await deployed.host('server').agent.command({ op: 'listen', port: 9000, accept: true });
  }, 300_000);

  afterAll(async () => {
    await deployed?.[Symbol.asyncDispose]();
    listener?.close();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a lab host reaches another lab host (the probe itself works)', async () => {
    expect(await connectFrom(deployed, 'client', deployed.addressOf('server'), 9000)).toBe(0);
  }, 30_000);

  it("a lab host cannot reach the host's listener through the lab network's own gateway", async () => {
    const gateway = deployed.network.subnet.replace(/\.0\/24$/, '.1');
    expect(await connectFrom(deployed, 'client', gateway, port)).toBe(1);
    // The control: without tcplab's host rule the same connect gets through, so the rule is what blocks it.
    await releaseFromHost(runOnThisMachine, deployed.network.id, deployed.network.name);
    try {
      expect(await connectFrom(deployed, 'client', gateway, port)).toBe(0);
    } finally {
      await isolateFromHost(runOnThisMachine, deployed.network.id, deployed.network.name);
    }
    expect(await connectFrom(deployed, 'client', gateway, port)).toBe(1);
  }, 30_000);
});
