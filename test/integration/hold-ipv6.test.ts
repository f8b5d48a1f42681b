import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareLab } from '../helpers/bare-lab.js';
import { DeployedLab } from '../../src/run/deployed-lab.js';
import { holdEgress, releaseEgress } from '../../src/run/hold-egress.js';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime.js';
import { ensureLabImage } from '../../src/runtime/lab-image.js';
import type { Lab } from '../../src/lab/model.js';
import { dockerAvailable } from '../helpers/docker-available.js';

/** A bare lab whose one (never run) connect says family: 6, so it is deployed dual-stack. */
const lab: Lab = { ...bareLab('hold6'), steps: [{ kind: 'connect', host: 'client', to: 'server', port: 9000, conn: 'c', family: 6 }] };

describe.skipIf(!(await dockerAvailable()))('hold and release cover IPv6', () => {
  const runtime = new DockerRuntime();
  const runDir = mkdtempSync(join(tmpdir(), 'tcplab-hold6-'));
  let deployed: DeployedLab;

  beforeAll(async () => {
    const image = await ensureLabImage(runtime);
    deployed = await DeployedLab.deploy(runtime, lab, { runId: `hold6-${process.pid}`, image, runDir, log: () => {} });
    await deployed.host('server').agent.command({ op: 'listen', port: 9000, accept: true, dualStack: true });
  }, 300_000);

  afterAll(async () => {
    await deployed?.[Symbol.asyncDispose]();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('pins the peer’s IPv6 neighbour entry, holds an IPv6 connect until release, then it completes', async () => {
    const client = deployed.host('client').handle;
    await holdEgress(deployed, 'client');
    const neighbours = (await runtime.exec(client, ['ip', '-6', 'neigh', 'show', deployed.addressOf('server', 6)])).stdout.toString();
    expect(neighbours).toMatch(/PERMANENT/);
    // A connect started during the hold: its SYN waits in the queue, so it connects only after the release (its time, on the shared clock).
    const script =
      `const s=require('net').connect(9000,'${deployed.addressOf('server', 6)}');` +
      `s.on('connect',()=>{console.log(Date.now());process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),8000);`;
    const connecting = runtime.exec(client, ['node', '-e', script]);
    await new Promise((r) => setTimeout(r, 2500));
    const releasedAt = Date.now(); // containers share this machine's clock
    await releaseEgress(deployed, 'client');
    const result = await connecting;
    expect(result.exitCode).toBe(0);
    expect(Number(result.stdout.toString().trim())).toBeGreaterThanOrEqual(releasedAt);
  }, 60_000);
});
