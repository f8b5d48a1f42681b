import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import type { Step } from '../../../src/lab/model.js';
import { runStep, type StepContext } from '../../../src/run/step-runner.js';
import { parseTcpState } from '../../../src/tcp/state.js';
import { fakeLab } from './helpers/fake-lab.js';

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
