#!/usr/bin/env node
// Round trip of one agent command on this machine's loopback, without Docker: the time from writing the
// command line to the agent's stdin to reading its reply (for socket ops: agent → socket worker → syscall →
// reply, forwarded). Medians over N commands of each op, and the connect → `connected` latency.
// Usage: bench/agent-round-trip.mjs [-n N] [--agent path/to/agent.js]   (default: this tree's dist/agent/agent.js,
// run from a temporary copy with src/agent/sockets.py beside it, as in the image; `npx tsc -p tsconfig.json` first)
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { argv } from 'zx';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const rounds = Number(argv.n ?? 200);
let agentPath = argv.agent;
let copy;
if (agentPath === undefined) {
  copy = mkdtempSync(join(tmpdir(), 'tcplab-agent-bench-'));
  cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
  cpSync(join(root, 'src/agent/sockets.py'), join(copy, 'dist/agent/sockets.py'));
  cpSync(join(root, 'package.json'), join(copy, 'package.json'));
  agentPath = join(copy, 'dist/agent/agent.js');
}

function startAgent() {
  const child = spawn('node', [agentPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiters = [];
  const events = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line);
    event.seenAt = performance.now();
    events.push(event);
    for (const w of [...waiters]) if (w.match(event)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(event));
  });
  let id = 0;
  const waitFor = (match) => {
    const seen = events.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
  };
  const command = async (body) => {
    const myId = ++id;
    const start = performance.now();
    child.stdin.write(`${JSON.stringify({ id: myId, ...body })}\n`);
    const reply = await waitFor((e) => e.type === 'reply' && e.id === myId);
    if (!reply.ok) throw new Error(`${body.op}: ${reply.code} ${reply.message}`);
    return { ms: reply.seenAt - start, start };
  };
  return { child, command, waitFor, events };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = startAgent();
const client = startAgent();
await client.waitFor((e) => e.type === 'ready');
await server.command({ op: 'listen', port: 0 });
const { port } = await server.waitFor((e) => e.type === 'listening');
const times = { netstat: [], connect: [], connected: [], send: [], close: [] };
for (let i = 0; i < rounds; i++) {
  times.netstat.push((await client.command({ op: 'netstat' })).ms);
  const connect = await client.command({ op: 'connect', conn: `c${i}`, host: '127.0.0.1', port });
  times.connect.push(connect.ms);
  const connected = await client.waitFor((e) => e.type === 'connected' && e.conn === `c${i}`);
  times.connected.push(connected.seenAt - connect.start);
  times.send.push((await client.command({ op: 'send', conn: `c${i}`, bytes: 10 })).ms);
  times.close.push((await client.command({ op: 'close', conn: `c${i}` })).ms);
}
console.log(`${rounds} rounds, medians (max); agent ${agentPath}`);
for (const [op, xs] of Object.entries(times)) console.log(`  ${op.padEnd(10)} ${median(xs).toFixed(3)} ms (${Math.max(...xs).toFixed(3)} ms)`);
for (const agent of [server, client]) agent.child.stdin.end();
await Promise.all([server, client].map((a) => new Promise((r) => a.child.on('exit', r))));
if (copy) rmSync(copy, { recursive: true, force: true });
