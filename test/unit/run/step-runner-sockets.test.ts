import { describe, expect, it } from 'vitest';
import { loadLabText } from '../../../src/lab/load-lab.js';
import { runStep, stepConnection, type StepContext } from '../../../src/run/step-runner.js';
import { fakeLab } from './helpers/fake-lab.js';

const LAB = `title: t
description: d
hosts:
  server: {}
  client: {}
steps:
  - listen: { host: server, port: 8080, accept: false, options: { keepalive: { idle: 2s, interval: 1s, count: 3 }, defer_accept: 3s, reuseaddr: true } }
  - connect: { host: client, to: server, port: 8080, as: c, nonblocking: true, options: { user_timeout: 3s, linger: 2s, maxseg: 536 } }
  - accept: { host: server, port: 8080 }
  - setsockopt: { host: server, conn: accepted-1, options: { nodelay: true, rcvbuf: 4096 } }
  - pause: { host: server, conn: accepted-1 }
  - resume: { host: server, conn: accepted-1 }
  - setsockopt: { host: client, options: { linger: off } }
  - unlisten: { host: server, port: 8080 }
`;

describe('the socket steps become agent commands (fake runtime)', () => {
  it('sends each step as its command, options as setsockopt calls in kernel units, conn resolved', async () => {
    const lab = loadLabText(LAB, 'lab.yaml');
    const { lab: deployed, commands } = fakeLab(['server', 'client']);
    const ctx: StepContext = {
      lab: deployed,
      signal: new AbortController().signal,
      actionStart: new Map(),
      connections: new Map(),
      latestConn: new Map(),
      rules: new Map(),
    };
    const conns: (string | undefined)[] = [];
    for (const step of lab.steps) {
      conns.push(stepConnection(ctx, step));
      await runStep(ctx, step);
    }
    expect(commands.get('server')).toStrictEqual([
      {
        op: 'listen',
        port: 8080,
        backlog: undefined,
        accept: false,
        options: [
          { name: 'SO_REUSEADDR', value: 1 },
          { name: 'SO_KEEPALIVE', value: 1 },
          { name: 'TCP_KEEPIDLE', value: 2 },
          { name: 'TCP_KEEPINTVL', value: 1 },
          { name: 'TCP_KEEPCNT', value: 3 },
          { name: 'TCP_DEFER_ACCEPT', value: 3 },
        ],
      },
      { op: 'accept', port: 8080 },
      {
        op: 'setsockopt',
        conn: 'accepted-1',
        options: [
          { name: 'TCP_NODELAY', value: 1 },
          { name: 'SO_RCVBUF', value: 4096 },
        ],
      },
      { op: 'pause', conn: 'accepted-1' },
      { op: 'resume', conn: 'accepted-1' },
      { op: 'unlisten', port: 8080 },
    ]);
    expect(commands.get('client')).toStrictEqual([
      {
        op: 'connect',
        conn: 'c',
        host: '198.18.0.2',
        port: 8080,
        localPort: undefined,
        options: [
          { name: 'TCP_USER_TIMEOUT', value: 3000 },
          { name: 'SO_LINGER', value: { onoff: 1, seconds: 2 } },
          { name: 'TCP_MAXSEG', value: 536 },
        ],
      },
      // No conn given: the host's latest connection.
      { op: 'setsockopt', conn: 'c', options: [{ name: 'SO_LINGER', value: { onoff: 0, seconds: 0 } }] },
    ]);
    // steps.jsonl records the connection each socket call acted on (the offline replay attributes it).
    expect(conns).toStrictEqual([undefined, 'c', undefined, 'accepted-1', 'accepted-1', 'accepted-1', 'c', undefined]);
  });

  it('a listen or connect without options sends no options at all (no SO_REUSEADDR behind the lab’s back)', async () => {
    const lab = loadLabText(LAB.replace(/, options: \{[^\n]*\} \}\n/g, ' }\n').split('  - accept')[0]!, 'lab.yaml');
    const { lab: deployed, commands } = fakeLab(['server', 'client']);
    const ctx: StepContext = {
      lab: deployed,
      signal: new AbortController().signal,
      actionStart: new Map(),
      connections: new Map(),
      latestConn: new Map(),
      rules: new Map(),
    };
    for (const step of lab.steps) await runStep(ctx, step);
    expect(commands.get('server')![0]).not.toHaveProperty('options');
    expect(commands.get('client')![0]).not.toHaveProperty('options');
  });
});
