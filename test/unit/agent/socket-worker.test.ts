/**
 * The agent's socket worker (src/agent/sockets.py) through the compiled agent, on this machine's loopback:
 * options set and read back from the kernel with getsockopt(2), nonblocking connect's EINPROGRESS, accept of a
 * queued connection, pause/resume (the receive queue fills, then drains), unlisten, and errno names of refused
 * options. Needs python3 (Debian's python3 package; the lab image has it): without it the suite is skipped
 * with that reason in its name, and the image-based integration test (test/integration/socket-options.test.ts)
 * still covers the worker.
 */
import { describe, expect, it } from 'vitest';
import type { AgentEvent, SocketOptionReading } from '../../../src/agent/protocol.js';
import type { AgentProcess } from './helpers/agent-process.js';
import { hasPython, pythonVersion, useAgentPair } from './helpers/agent-pair.js';

type Event<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>;
const is =
  <T extends AgentEvent['type']>(type: T, match: (e: Event<T>) => boolean = () => true) =>
  (e: AgentEvent): e is Event<T> =>
    e.type === type && match(e as Event<T>);

const suite = hasPython ? describe : describe.skip;

let server: AgentProcess;
let client: AgentProcess;
useAgentPair((pair) => ({ server, client } = pair));

async function listen(extra: Record<string, unknown> = {}): Promise<number> {
  const before = server.events.length;
  expect(await server.command({ op: 'listen', port: 0, ...extra })).toMatchObject({ ok: true });
  const listening = server.events.slice(before).find(is('listening'));
  return listening?.port ?? 0;
}

function readBack(event: Event<'options-set'>): Record<string, SocketOptionReading['readBack']> {
  return Object.fromEntries(event.options.map((o) => [o.name, o.readBack]));
}

suite(`socket worker (sockets.py, ${pythonVersion})`, () => {
  it('sets every option on a listener before listen(2) and reads each back from the kernel', async () => {
    const port = await listen({
      options: [
        { name: 'SO_REUSEADDR', value: 1 },
        { name: 'SO_REUSEPORT', value: 1 },
        { name: 'SO_KEEPALIVE', value: 1 },
        { name: 'TCP_KEEPIDLE', value: 7 },
        { name: 'TCP_KEEPINTVL', value: 3 },
        { name: 'TCP_KEEPCNT', value: 4 },
        { name: 'TCP_USER_TIMEOUT', value: 1500 },
        { name: 'SO_LINGER', value: { onoff: 1, seconds: 5 } },
        { name: 'TCP_NODELAY', value: 1 },
        { name: 'TCP_DEFER_ACCEPT', value: 2 },
        { name: 'SO_RCVBUF', value: 8192 },
        { name: 'SO_SNDBUF', value: 8192 },
        { name: 'TCP_MAXSEG', value: 1000 },
      ],
    });
    const set = await server.waitFor(is('options-set', (e) => e.conn === `listener-${port}`));
    const values = readBack(set);
    expect(values).toMatchObject({
      SO_REUSEADDR: 1,
      SO_REUSEPORT: 1,
      SO_KEEPALIVE: 1,
      TCP_KEEPIDLE: 7,
      TCP_KEEPINTVL: 3,
      TCP_KEEPCNT: 4,
      TCP_USER_TIMEOUT: 1500,
      SO_LINGER: { onoff: 1, seconds: 5 },
      TCP_NODELAY: 1,
      TCP_MAXSEG: 1000,
      // The kernel doubles buffer sizes (sk_setsockopt → __sock_set_rcvbuf): proof the value went through it.
      SO_RCVBUF: 16384,
      SO_SNDBUF: 16384,
    });
    // TCP_DEFER_ACCEPT is kept as a SYN-ACK retransmission count and read back as its seconds (2 s → 2 retransmits → 3 s).
    expect(values['TCP_DEFER_ACCEPT']).toBe(3);
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: true });
  });

  it('refuses an option the kernel refuses, with its errno name and the option named', async () => {
    const reply = await server.command({ op: 'listen', port: 0, options: [{ name: 'TCP_MAXSEG', value: 10 }] });
    expect(reply).toMatchObject({ ok: false, code: 'EINVAL' });
    if (!reply.ok) expect(reply.message).toContain('setsockopt(TCP_MAXSEG, 10) failed');
  });

  it('nonblocking connect: connect(2) returns EINPROGRESS with the port already bound, then connected', async () => {
    const port = await listen();
    expect(await client.command({ op: 'connect', conn: 'nb', host: '127.0.0.1', port, options: [{ name: 'TCP_USER_TIMEOUT', value: 2500 }] })).toMatchObject({
      ok: true,
    });
    const returned = await client.waitFor(is('connect-returned', (e) => e.conn === 'nb'));
    expect(returned.errno).toBe('EINPROGRESS');
    expect(returned.remote).toBe(`127.0.0.1:${port}`);
    const connected = await client.waitFor(is('connected', (e) => e.conn === 'nb'));
    expect(connected.local).toBe(returned.local);
    expect(client.events.indexOf(returned)).toBeLessThan(client.events.indexOf(connected));
    const set = client.events.find(is('options-set', (e) => e.conn === 'nb'));
    expect(set && readBack(set)).toStrictEqual({ TCP_USER_TIMEOUT: 2500 });
    // setsockopt on the open connection reaches the kernel too.
    expect(await client.command({ op: 'setsockopt', conn: 'nb', options: [{ name: 'TCP_KEEPIDLE', value: 11 }] })).toMatchObject({ ok: true });
    const later = await client.waitFor(is('options-set', (e) => e.conn === 'nb' && e.options[0]?.name === 'TCP_KEEPIDLE'));
    expect(readBack(later)).toStrictEqual({ TCP_KEEPIDLE: 11 });
    expect(await client.command({ op: 'abort', conn: 'nb' })).toMatchObject({ ok: true });
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: true });
  });

  it('accept: leaves connections queued until an accept step takes exactly one', async () => {
    const port = await listen({ accept: false });
    const acceptedBefore = server.events.filter(is('accepted')).length;
    for (const conn of ['a-1', 'a-2']) expect(await client.command({ op: 'connect', conn, host: '127.0.0.1', port })).toMatchObject({ ok: true });
    await client.waitFor(is('connected', (e) => e.conn === 'a-2'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.events.filter(is('accepted')).length).toBe(acceptedBefore);
    expect(await server.command({ op: 'accept', port })).toMatchObject({ ok: true });
    const accepted = await server.waitFor(is('accepted', (e) => e.port === port));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.events.filter(is('accepted')).length).toBe(acceptedBefore + 1);
    const first = client.events.find(is('connected', (e) => e.conn === 'a-1'));
    expect(accepted.remote).toBe(first?.local); // the accept queue is FIFO
    // unlisten closes the listener: the still-queued a-2 is reset, a new connect is refused.
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: true });
    expect((await client.waitFor(is('error', (e) => e.conn === 'a-2'))).code).toBe('ECONNRESET');
    expect(await client.command({ op: 'connect', conn: 'a-3', host: '127.0.0.1', port })).toMatchObject({ ok: true });
    expect((await client.waitFor(is('error', (e) => e.conn === 'a-3'))).code).toBe('ECONNREFUSED');
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: false, code: 'EUNKNOWNLISTENER' });
    expect(await server.command({ op: 'accept', port })).toMatchObject({ ok: false, code: 'EUNKNOWNLISTENER' });
  });

  it('pause: the receive queue fills and the sender is held back; resume reads it all', async () => {
    const port = await listen({ options: [{ name: 'SO_RCVBUF', value: 4096 }] });
    // A fixed, small send buffer (SO_SNDBUF turns off its autotuning): what the window does not take stays in the worker.
    expect(await client.command({ op: 'connect', conn: 'p', host: '127.0.0.1', port, options: [{ name: 'SO_SNDBUF', value: 4096 }] })).toMatchObject({
      ok: true,
    });
    const connected = await client.waitFor(is('connected', (e) => e.conn === 'p'));
    const accepted = await server.waitFor(is('accepted', (e) => e.remote === connected.local));
    expect(await server.command({ op: 'pause', conn: accepted.conn })).toMatchObject({ ok: true });
    const total = 2_000_000;
    expect(await client.command({ op: 'send', conn: 'p', bytes: total })).toMatchObject({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // netstat (from /proc/net/tcp) shows the unread bytes in the server's Recv-Q while nothing is read.
    const netstatBefore = server.events.length;
    expect(await server.command({ op: 'netstat' })).toMatchObject({ ok: true });
    const text = server.events.slice(netstatBefore).find(is('netstat'))?.text ?? '';
    const row = text.split('\n').find((line) => new RegExp(`127\\.0\\.0\\.1:${port}\\s+${connected.local.replace(/\./g, '\\.')}\\s`).test(line));
    expect(Number(row?.trim().split(/\s+/)[1])).toBeGreaterThan(0);
    const read = (): number => server.events.filter(is('data', (e) => e.conn === accepted.conn)).reduce((sum, e) => sum + e.bytes, 0);
    const sent = (): number => client.events.filter(is('sent', (e) => e.conn === 'p')).reduce((sum, e) => sum + e.bytes, 0);
    expect(read()).toBe(0);
    expect(sent()).toBeLessThan(total); // the window closed: the kernel took only part of it
    expect(await server.command({ op: 'resume', conn: accepted.conn })).toMatchObject({ ok: true });
    const deadline = Date.now() + 15_000;
    while ((read() < total || sent() < total) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect({ read: read(), sent: sent() }).toStrictEqual({ read: total, sent: total });
    expect(await client.command({ op: 'close', conn: 'p' })).toMatchObject({ ok: true });
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: true });
  });

  it('pause, then a RST: the error reaches the events though nobody reads', async () => {
    const port = await listen();
    expect(await client.command({ op: 'connect', conn: 'r', host: '127.0.0.1', port })).toMatchObject({ ok: true });
    const connected = await client.waitFor(is('connected', (e) => e.conn === 'r'));
    const accepted = await server.waitFor(is('accepted', (e) => e.remote === connected.local));
    expect(await server.command({ op: 'pause', conn: accepted.conn })).toMatchObject({ ok: true });
    expect(await client.command({ op: 'abort', conn: 'r' })).toMatchObject({ ok: true });
    const error = await server.waitFor(is('error', (e) => e.conn === accepted.conn));
    expect(error.code).toBe('ECONNRESET');
    await server.waitFor(is('closed', (e) => e.conn === accepted.conn && e.hadError));
    expect(await server.command({ op: 'unlisten', port })).toMatchObject({ ok: true });
  });
});
