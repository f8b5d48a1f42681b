import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/agent/protocol.js';
import { dockerAvailable } from '../helpers/docker-available.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { runFolders } from '../helpers/run-folders.js';

/*
 * Each socket option of a lab reaches the kernel of its lab host. The lab test/fixtures/labs/good/socket-options.yaml
 * sets them on a listener, a connect and (setsockopt) an accepted connection, then sleeps 6 s; meanwhile this test
 * reads them inside the containers with ss (keepalive timer, mss/advmss, skmem rb/tb, two SO_REUSEPORT listeners on
 * one port). Options ss cannot show (TCP_USER_TIMEOUT, SO_LINGER, TCP_NODELAY, TCP_DEFER_ACCEPT, SO_REUSEADDR, the
 * TCP_KEEPINTVL/KEEPCNT values) are read back by the worker with getsockopt(2) right after setsockopt(2): its
 * `options-set` events in the run folder.
 */

const LAB = join(REPO_ROOT, 'test/fixtures/labs/good/socket-options.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'tcplab-socket-options-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function ss(container: string, args: string[]): Promise<string> {
  const result = await execa('docker', ['exec', container, 'ss', ...args], { reject: false });
  return result.stdout;
}

/** Polls until `read` returns text matching `ready` (or 15 s pass), and returns that text. */
async function readWhen(read: () => Promise<string>, ready: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 150; i++) {
    text = await read();
    if (ready.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return text;
}

describe.skipIf(!(await dockerAvailable()))('socket options in the kernel of the lab hosts', () => {
  beforeAll(async () => {
    const built = await runCli(['image', 'build']);
    expect(built.exitCode, built.all).toBe(0);
  }, 600_000);

  it('reads back each option with ss inside the containers and with getsockopt in the events', async () => {
    const runs = mkdtempSync(join(scratch, 'runs-'));
    const run = execa('node', [join(REPO_ROOT, 'bin/tcplab.js'), 'run', LAB, '--json', '--runs-dir', runs], { reject: false, all: true });
    let runId = '';
    for (let i = 0; i < 600 && runId === ''; i++) {
      runId = basename(runFolders(runs)[0] ?? '');
      if (runId === '') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runId, 'the run folder never appeared').not.toBe('');
    const client = `tcplab-${runId}-client`;
    const server = `tcplab-${runId}-server`;

    // The client's connection: keepalive timer from TCP_KEEPIDLE 11 s (≤ 11 s left, well above the 7 s of the
    // server's listener), MSS clamped by TCP_MAXSEG 536, SO_RCVBUF 4096 / SO_SNDBUF 6144 doubled by the kernel.
    const clientRow = await readWhen(() => ss(client, ['-tnoiem', 'state', 'established', '( dport = :8080 )']), /keepalive/);
    const clientTimer = /timer:\(keepalive,(\d+(?:\.\d+)?)(ms|sec|min)/.exec(clientRow);
    expect(clientTimer, clientRow).not.toBeNull();
    const clientLeft = Number(clientTimer![1]) * (clientTimer![2] === 'ms' ? 0.001 : clientTimer![2] === 'min' ? 60 : 1);
    expect(clientLeft, clientRow).toBeGreaterThan(7);
    expect(clientLeft, clientRow).toBeLessThanOrEqual(11);
    expect(clientRow).toMatch(/\badvmss:536\b/);
    expect(clientRow).toMatch(/\bmss:536\b/);
    expect(clientRow).toMatch(/\brb8192\b/);
    expect(clientRow).toMatch(/\btb12288\b/);

    // The accepted connection: setsockopt's TCP_KEEPIDLE 13 s (not the listener's 7 s), the listener's TCP_MAXSEG 1000
    // (its advmss) and its buffers, inherited by the child (SO_RCVBUF 8192 → rb16384, SO_SNDBUF 16384 → tb32768).
    const serverRow = await readWhen(() => ss(server, ['-tnoiem', 'state', 'established', '( sport = :8080 )']), /keepalive,(1[0-3]|[89])/);
    const serverTimer = /timer:\(keepalive,(\d+(?:\.\d+)?)(ms|sec|min)/.exec(serverRow);
    expect(serverTimer, serverRow).not.toBeNull();
    expect(Number(serverTimer![1]), serverRow).toBeGreaterThan(7);
    expect(serverRow).toMatch(/\badvmss:1000\b/);
    expect(serverRow).toMatch(/\brb16384\b/);
    expect(serverRow).toMatch(/\btb32768\b/);

    // Two listeners on port 9090, both bound: SO_REUSEPORT reached the kernel (without it the second bind is EADDRINUSE).
    const listeners = await ss(server, ['-tlnoe', '( sport = :9090 )']);
    expect(listeners.split('\n').filter((line) => line.startsWith('LISTEN')).length, listeners).toBe(2);

    const finished = await run;
    const verdict = (JSON.parse(finished.stdout) as { labs: { verdict: string; runDir: string }[] }).labs[0]!;
    expect(verdict.verdict, finished.all).toBe('pass');

    // The worker's getsockopt(2) read-back, for what ss cannot show.
    const readBacks = (host: string): Record<string, Record<string, unknown>> => {
      const events = readFileSync(join(verdict.runDir, host, 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as AgentEvent)
        .filter((e): e is Extract<AgentEvent, { type: 'options-set' }> => e.type === 'options-set');
      return Object.fromEntries(events.map((e) => [e.conn, Object.fromEntries(e.options.map((o) => [o.name, o.readBack]))]));
    };
    const onServer = readBacks('server');
    expect(onServer['listener-8080']).toStrictEqual({
      SO_REUSEADDR: 1,
      SO_KEEPALIVE: 1,
      TCP_KEEPIDLE: 7,
      TCP_KEEPINTVL: 3,
      TCP_KEEPCNT: 4,
      TCP_USER_TIMEOUT: 9000,
      SO_LINGER: { onoff: 1, seconds: 5 },
      TCP_NODELAY: 1,
      TCP_DEFER_ACCEPT: 3, // kept as 2 SYN-ACK retransmissions, read back as their 1 + 2 s (secs_to_retrans / retrans_to_secs)
      SO_RCVBUF: 16384,
      SO_SNDBUF: 32768,
      TCP_MAXSEG: 1000,
    });
    expect(onServer['accepted-1']).toStrictEqual({ SO_KEEPALIVE: 1, TCP_KEEPIDLE: 13, TCP_KEEPINTVL: 1, TCP_KEEPCNT: 2, SO_LINGER: { onoff: 0, seconds: 0 } });
    expect(readBacks('client')['c']).toStrictEqual({
      SO_KEEPALIVE: 1,
      TCP_KEEPIDLE: 11,
      TCP_KEEPINTVL: 2,
      TCP_KEEPCNT: 5,
      TCP_USER_TIMEOUT: 4000,
      SO_LINGER: { onoff: 1, seconds: 3 },
      TCP_NODELAY: 1,
      SO_RCVBUF: 8192,
      SO_SNDBUF: 12288,
      TCP_MAXSEG: 536,
    });
  }, 120_000);
});
