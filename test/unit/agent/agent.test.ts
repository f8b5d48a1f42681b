/**
 * The compiled agent, spawned as child processes on this machine's loopback: a "server" agent and
 * a "client" agent, as in a lab. The agent is compiled once into a temporary folder from exactly the
 * files the image will carry (helpers/build-agent.ts). Ports are ephemeral (listen port 0), and
 * socket events are filtered by those ports because /proc/net/tcp here lists the whole machine.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import { AgentProcess } from './helpers/agent-process.js';
import { hasPython, useAgentPair } from './helpers/agent-pair.js';

type SocketEvent = Extract<AgentEvent, { type: 'socket' }>;
type Listening = Extract<AgentEvent, { type: 'listening' }>;

const describeAgent = (name: string, body: () => void): void => {
  if (hasPython) describe(name, body);
  else describe.skip(`${name} (python3 missing: skipped)`, body);
};

let server: AgentProcess;
let client: AgentProcess;
let agentPath: string;
useAgentPair((pair) => ({ server, client, agentPath } = pair));

/** Starts a listener on an ephemeral port and returns the port. */
async function listen(agent: AgentProcess, extra: Record<string, unknown> = {}): Promise<number> {
  const before = agent.events.length;
  const reply = await agent.command({ op: 'listen', port: 0, ...extra });
  expect(reply).toMatchObject({ ok: true });
  const listening = agent.events.slice(before).find((e): e is Listening => e.type === 'listening');
  expect(listening).toBeDefined();
  return listening?.port ?? 0;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** Waits for a `socket` event on the tuple local→remote in the given state. */
function waitForSocketState(agent: AgentProcess, local: string, remote: string, state: string, timeoutMs = 3000): Promise<SocketEvent> {
  return agent.waitFor((e): e is SocketEvent => e.type === 'socket' && e.local === local && e.remote === remote && e.state === state, timeoutMs);
}

/** Connects conn from the client agent to the server agent's port; returns both ends' endpoints and the accepted conn name. */
async function connectPair(conn: string, port: number): Promise<{ clientLocal: string; serverLocal: string; accepted: string }> {
  const acceptedBefore = server.events.length;
  expect(await client.command({ op: 'connect', conn, host: '127.0.0.1', port })).toMatchObject({ ok: true });
  const connected = await client.waitFor((e): e is Extract<AgentEvent, { type: 'connected' }> => e.type === 'connected' && e.conn === conn);
  const accepted = await server.waitFor(
    (e): e is Extract<AgentEvent, { type: 'accepted' }> => e.type === 'accepted' && e.remote === connected.local && server.events.indexOf(e) >= acceptedBefore,
  );
  expect(accepted.local).toBe(connected.remote);
  expect(accepted.port).toBe(port);
  return { clientLocal: connected.local, serverLocal: accepted.local, accepted: accepted.conn };
}

describeAgent('agent start', () => {
  it('announces itself with pid, node version and a wall-clock µs time', async () => {
    const ready = await client.waitFor((e): e is Extract<AgentEvent, { type: 'ready' }> => e.type === 'ready');
    expect(ready.pid).toBeGreaterThan(1);
    expect(ready.node).toMatch(/^v\d+\.\d+\.\d+/);
    expect(Number.isInteger(ready.timeUs)).toBe(true);
    expect(Math.abs(ready.timeUs - Date.now() * 1000)).toBeLessThan(30_000_000);
  });
});

describeAgent('connections on loopback', () => {
  it('listen + connect: connected and accepted events, ESTABLISHED on both sides with conn names', async () => {
    const port = await listen(server);
    const listenerRow = await server.waitFor((e): e is SocketEvent => e.type === 'socket' && e.local === `0.0.0.0:${port}` && e.state === 'LISTEN');
    expect(listenerRow.remote).toBe('0.0.0.0:0');
    const { clientLocal, serverLocal, accepted } = await connectPair('c-basic', port);
    expect(accepted).toMatch(/^accepted-\d+$/);
    const clientRow = await waitForSocketState(client, clientLocal, serverLocal, 'ESTABLISHED');
    expect(clientRow.conn).toBe('c-basic');
    expect(clientRow.inode).toBeGreaterThan(0);
    // The child is ESTABLISHED in the accept queue before accept(), so a sample may see it unnamed
    // first; the agent then reports it again, same state, with the name.
    const serverRow = await server.waitFor(
      (e): e is SocketEvent => e.type === 'socket' && e.local === serverLocal && e.remote === clientLocal && e.conn !== undefined,
    );
    expect(serverRow).toMatchObject({ state: 'ESTABLISHED', conn: accepted });
    const serverRows = server.events.filter((e): e is SocketEvent => e.type === 'socket' && e.local === serverLocal && e.remote === clientLocal);
    expect(serverRows.length).toBeLessThanOrEqual(2);
  });

  it('numbers accepted sockets in order', async () => {
    const port = await listen(server);
    const first = await connectPair('c-order-1', port);
    const second = await connectPair('c-order-2', port);
    const n = (name: string): number => Number(name.replace('accepted-', ''));
    expect(n(second.accepted)).toBe(n(first.accepted) + 1);
  });

  it('send: the peer reads exactly that many bytes', async () => {
    const port = await listen(server);
    const { accepted } = await connectPair('c-send', port);
    expect(await client.command({ op: 'send', conn: 'c-send', bytes: 100_000 })).toMatchObject({ ok: true });
    const deadline = Date.now() + 3000;
    let observed = 0;
    while (Date.now() < deadline) {
      observed = server.events.reduce((sum, e) => (e.type === 'data' && e.conn === accepted ? sum + e.bytes : sum), 0);
      if (observed >= 100_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(observed).toBe(100_000);
  });

  it('connect to a closed port: ok reply, then error ECONNREFUSED and closed', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    expect(await client.command({ op: 'connect', conn: 'c-refused', host: '127.0.0.1', port: closedPort })).toMatchObject({ ok: true });
    const error = await client.waitFor((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === 'c-refused');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.syscall).toBe('connect');
    const closed = await client.waitFor((e): e is Extract<AgentEvent, { type: 'closed' }> => e.type === 'closed' && e.conn === 'c-refused');
    expect(closed.hadError).toBe(true);
    expect(closed.timeUs).toBeGreaterThanOrEqual(error.timeUs);
    expect(client.events.some((e) => e.type === 'connected' && e.conn === 'c-refused')).toBe(false);
  });

  it('orderly close: the closer goes FIN_WAIT_2 → TIME_WAIT, the peer stays in CLOSE_WAIT until it closes', async () => {
    const port = await listen(server);
    const { clientLocal, serverLocal, accepted } = await connectPair('c-close', port);
    await waitForSocketState(server, serverLocal, clientLocal, 'ESTABLISHED');
    expect(await client.command({ op: 'close', conn: 'c-close' })).toMatchObject({ ok: true });
    await client.waitFor((e) => e.type === 'closed' && e.conn === 'c-close');
    await server.waitFor((e) => e.type === 'end' && e.conn === accepted);
    const closeWait = await waitForSocketState(server, serverLocal, clientLocal, 'CLOSE_WAIT');
    expect(closeWait.conn).toBe(accepted);
    await waitForSocketState(client, clientLocal, serverLocal, 'FIN_WAIT_2');
    // Half-open everywhere: the peer's FIN alone does not close the accepted socket.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.events.some((e) => e.type === 'closed' && e.conn === accepted)).toBe(false);
    expect(await server.command({ op: 'close', conn: accepted })).toMatchObject({ ok: true });
    const serverClosed = await server.waitFor((e): e is Extract<AgentEvent, { type: 'closed' }> => e.type === 'closed' && e.conn === accepted);
    expect(serverClosed.hadError).toBe(false);
    const timeWait = await waitForSocketState(client, clientLocal, serverLocal, 'TIME_WAIT');
    expect(timeWait.previous).toBe('FIN_WAIT_2');
    expect(timeWait.conn).toBe('c-close');
    expect(timeWait.timer.kind).toBe(3);
    await server.waitFor((e) => e.type === 'socket-gone' && e.local === serverLocal && e.remote === clientLocal);
  });

  it('shutdown: FIN sent, the closer still reads the peer data', async () => {
    const port = await listen(server);
    const { clientLocal, serverLocal, accepted } = await connectPair('c-shut', port);
    expect(await client.command({ op: 'shutdown', conn: 'c-shut' })).toMatchObject({ ok: true });
    await server.waitFor((e) => e.type === 'end' && e.conn === accepted);
    await waitForSocketState(client, clientLocal, serverLocal, 'FIN_WAIT_2');
    expect(await server.command({ op: 'send', conn: accepted, bytes: 10 })).toMatchObject({ ok: true });
    const data = await client.waitFor((e): e is Extract<AgentEvent, { type: 'data' }> => e.type === 'data' && e.conn === 'c-shut');
    expect(data.bytes).toBe(10);
    const afterShutdown = await client.command({ op: 'send', conn: 'c-shut', bytes: 1 });
    expect(afterShutdown).toMatchObject({ ok: false, code: 'EPIPE' });
  });

  it('abort: the peer gets ECONNRESET, the aborting side leaves no TIME_WAIT', async () => {
    const port = await listen(server);
    const { clientLocal, serverLocal, accepted } = await connectPair('c-abort', port);
    await waitForSocketState(client, clientLocal, serverLocal, 'ESTABLISHED');
    expect(await client.command({ op: 'abort', conn: 'c-abort' })).toMatchObject({ ok: true });
    const error = await server.waitFor((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === accepted);
    expect(error.code).toBe('ECONNRESET');
    await server.waitFor((e) => e.type === 'closed' && e.conn === accepted && e.hadError);
    await client.waitFor((e) => e.type === 'socket-gone' && e.local === clientLocal && e.remote === serverLocal);
    expect(client.events.some((e) => e.type === 'socket' && e.local === clientLocal && e.state === 'TIME_WAIT')).toBe(false);
  });

  it('accept=false: the kernel completes handshakes into the accept queue, the agent never accepts', async () => {
    const acceptedBefore = server.events.filter((e) => e.type === 'accepted').length;
    const port = await listen(server, { accept: false, backlog: 1 });
    for (const conn of ['q-1', 'q-2', 'q-3']) {
      expect(await client.command({ op: 'connect', conn, host: '127.0.0.1', port })).toMatchObject({ ok: true });
    }
    // Linux queues backlog + 1 connections (sk_acceptq_is_full uses >); the third SYN is dropped.
    await client.waitFor((e) => e.type === 'connected' && e.conn === 'q-1');
    await client.waitFor((e) => e.type === 'connected' && e.conn === 'q-2');
    const listener = await server.waitFor((e): e is SocketEvent => e.type === 'socket' && e.local === `0.0.0.0:${port}` && e.state === 'LISTEN');
    expect(listener.state).toBe('LISTEN');
    const synSent = await client.waitFor(
      (e): e is SocketEvent => e.type === 'socket' && portOf(e.remote) === port && e.state === 'SYN_SENT' && e.conn === 'q-3',
    );
    expect(synSent.conn).toBe('q-3');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.events.filter((e) => e.type === 'accepted').length).toBe(acceptedBefore);
    expect(client.events.some((e) => e.type === 'connected' && e.conn === 'q-3')).toBe(false);
    // Closing the listener resets the queued connections (inet_csk_listen_stop).
    expect(await server.command({ op: 'close', conn: `listener-${port}` })).toMatchObject({ ok: true });
    const reset = await client.waitFor((e): e is Extract<AgentEvent, { type: 'error' }> => e.type === 'error' && e.conn === 'q-1');
    expect(reset.code).toBe('ECONNRESET');
    expect(await client.command({ op: 'abort', conn: 'q-3' })).toMatchObject({ ok: true });
  });

  it('listen on a port in use: error reply EADDRINUSE, with and without accept', async () => {
    const port = await listen(server);
    const reply = await server.command({ op: 'listen', port });
    expect(reply).toMatchObject({ ok: false, code: 'EADDRINUSE' });
    if (!reply.ok) expect(reply.message).toContain(`0.0.0.0:${port}`);
    expect(await server.command({ op: 'listen', port, accept: false })).toMatchObject({ ok: false, code: 'EADDRINUSE' });
  });

  it('rejects commands on unknown or reused conns', async () => {
    const unknown = await client.command({ op: 'send', conn: 'nope', bytes: 1 });
    expect(unknown).toMatchObject({ ok: false, code: 'EUNKNOWNCONN' });
    if (!unknown.ok) expect(unknown.message).toContain('"nope"');
    const port = await listen(server);
    await connectPair('c-dup', port);
    expect(await client.command({ op: 'connect', conn: 'c-dup', host: '127.0.0.1', port })).toMatchObject({ ok: false, code: 'EEXIST' });
    expect(await client.command({ op: 'close', conn: 'c-dup' })).toMatchObject({ ok: true });
    await client.waitFor((e) => e.type === 'closed' && e.conn === 'c-dup');
    expect(await client.command({ op: 'send', conn: 'c-dup', bytes: 1 })).toMatchObject({ ok: false, code: 'ENOTCONN' });
  });

  it('survives bad input and keeps answering', async () => {
    const fatalBefore = client.events.filter((e) => e.type === 'fatal').length;
    client.writeLine('this is not json');
    await client.waitFor((e) => e.type === 'fatal' && client.events.filter((f) => f.type === 'fatal').length > fatalBefore);
    client.writeLine('{"id": 9001, "op": "listen", port: 1}');
    const broken = await client.waitFor((e): e is Extract<AgentEvent, { type: 'reply' }> => e.type === 'reply' && e.id === 9001);
    expect(broken).toMatchObject({ ok: false, code: 'EBADCMD' });
    expect(await client.command({ op: 'teleport' })).toMatchObject({ ok: false, code: 'EBADCMD' });
    expect(await client.command({ op: 'listen', port: 0 })).toMatchObject({ ok: true });
  });

  it("samples this machine's /proc/net/tcp{,6} without reporting a problem", () => {
    for (const agent of [client, server]) {
      expect(agent.events.filter((e) => e.type === 'fatal' && e.message.includes('sampler'))).toEqual([]);
    }
  });

  it('stamps the events of each process (observer, socket worker) with non-decreasing wall-clock times', () => {
    // The worker's events are forwarded through a pipe, so a sample the observer takes meanwhile can come first
    // in the stream with a later stamp: each source is in time order, the stream is ordered by timeUs only per source.
    const observer = new Set(['ready', 'socket', 'socket-gone', 'netstat', 'fatal']);
    for (const agent of [client, server]) {
      for (const fromObserver of [true, false]) {
        // Replies come from either process (netstat, exit and malformed commands are answered by the observer).
        const events = agent.events.filter((e) => e.type !== 'reply' && observer.has(e.type) === fromObserver);
        expect(events.length).toBeGreaterThan(3);
        for (let i = 1; i < events.length; i++) {
          expect(events[i]!.timeUs, `${JSON.stringify(events[i - 1])} then ${JSON.stringify(events[i])}`).toBeGreaterThanOrEqual(events[i - 1]!.timeUs);
        }
      }
    }
  });
});

describeAgent('agent exit', () => {
  it('exits 0 on stdin EOF', async () => {
    const agent = new AgentProcess(agentPath);
    try {
      await agent.waitFor((e) => e.type === 'ready');
      agent.endInput();
      expect(await agent.exited).toBe(0);
    } finally {
      agent.kill();
    }
  });

  it('exit: replies, closes its sockets (the peer sees the FIN) and exits 0', async () => {
    const agent = new AgentProcess(agentPath);
    try {
      const port = await listen(server);
      expect(await agent.command({ op: 'connect', conn: 'x', host: '127.0.0.1', port })).toMatchObject({ ok: true });
      const connected = await agent.waitFor((e): e is Extract<AgentEvent, { type: 'connected' }> => e.type === 'connected');
      const accepted = await server.waitFor((e): e is Extract<AgentEvent, { type: 'accepted' }> => e.type === 'accepted' && e.remote === connected.local);
      expect(await agent.command({ op: 'exit' })).toMatchObject({ ok: true });
      expect(await agent.exited).toBe(0);
      await server.waitFor((e) => e.type === 'end' && e.conn === accepted.conn);
    } finally {
      agent.kill();
    }
  });
});
