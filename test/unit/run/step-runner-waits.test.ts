import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import type { Step } from '../../../src/lab/model.js';
import type { DeployedLab } from '../../../src/run/deployed-lab.js';
import { runStep, type StepContext } from '../../../src/run/step-runner.js';
import { parseTcpState } from '../../../src/tcp/state.js';

/** Agents with no container: commands succeed at once; waits look only at the events already there. */
function fakeLab(hosts: string[]): { lab: DeployedLab; events: Map<string, AgentEvent[]> } {
  const events = new Map(hosts.map((h) => [h, [] as AgentEvent[]]));
  const host = (name: string) => {
    const list = events.get(name)!;
    return {
      name,
      address: `198.18.0.${hosts.indexOf(name) + 2}`,
      agent: {
        events: list,
        command: async (command: { op: string; port?: number }) => {
          if (command.op === 'listen') list.push({ type: 'listening', timeUs: 1, port: command.port! });
        },
        waitFor: async (match: (e: AgentEvent) => boolean, _ms: number, what: string, from: number) => {
          const seen = list.slice(from).find(match);
          if (!seen) throw new Error(`${name}: no ${what}`);
          return seen;
        },
      },
    };
  };
  const all = new Map(hosts.map((h) => [h, host(h)]));
  const lab = {
    lab: { steps: [] },
    hosts: all,
    host: (name: string) => all.get(name)!,
    addressOf: (name: string) => all.get(name)!.address,
  } as unknown as DeployedLab;
  return { lab, events };
}

const sample = (conn: string, local: string, remote: string, state: string): AgentEvent => ({
  type: 'socket',
  timeUs: 1,
  conn,
  local,
  remote,
  state,
  inode: 1,
  timer: { kind: 0, expiresMs: 0, retransmits: 0 },
  txQueue: 0,
  rxQueue: 0,
});

describe('waits look back to the latest action on the host and connection they name', () => {
  const setup = () => {
    const { lab, events } = fakeLab(['client', 'server']);
    const ctx: StepContext = {
      lab,
      signal: new AbortController().signal,
      actionStart: new Map(),
      connections: new Map(),
      latestConn: new Map(),
      rules: new Map(),
    };
    ctx.connections.set('client/c1', { local: '198.18.0.2:40001', remote: '198.18.0.3:8888' });
    ctx.connections.set('client/c2', { local: '198.18.0.2:40002', remote: '198.18.0.3:8888' });
    return { ctx, client: events.get('client')!, server: events.get('server')! };
  };
  const waitC1FinWait2: Step = { kind: 'wait-state', host: 'client', state: parseTcpState('FIN_WAIT_2')!, conn: 'c1', timeoutMs: 1000 };

  it('close c1; shutdown c2; wait c1 FIN_WAIT_2 sees the sample taken before the shutdown', async () => {
    const { ctx, client } = setup();
    await runStep(ctx, { kind: 'close', host: 'client', conn: 'c1' });
    client.push(sample('c1', '198.18.0.2:40001', '198.18.0.3:8888', 'FIN_WAIT_2'));
    await runStep(ctx, { kind: 'shutdown', host: 'client', conn: 'c2' });
    await expect(runStep(ctx, waitC1FinWait2)).resolves.toBeUndefined();
  });

  it("another host's step in between does not hide it either", async () => {
    const { ctx, client } = setup();
    await runStep(ctx, { kind: 'close', host: 'client', conn: 'c1' });
    client.push(sample('c1', '198.18.0.2:40001', '198.18.0.3:8888', 'FIN_WAIT_2'));
    await runStep(ctx, { kind: 'listen', host: 'server', port: 9999, accept: true });
    await expect(runStep(ctx, waitC1FinWait2)).resolves.toBeUndefined();
  });

  it('a state reached before the latest action on that connection does not count', async () => {
    const { ctx, client } = setup();
    client.push(sample('c1', '198.18.0.2:40001', '198.18.0.3:8888', 'FIN_WAIT_2'));
    await runStep(ctx, { kind: 'close', host: 'client', conn: 'c1' });
    await expect(runStep(ctx, waitC1FinWait2)).rejects.toThrow(/no socket in FIN_WAIT_2 on c1/);
  });
});
