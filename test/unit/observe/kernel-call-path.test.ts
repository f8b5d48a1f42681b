// The kernel call-path parser on two runs recorded by tcplab's tracing instance on this project's machine
// (kernel 6.18, handshake and refused: test/fixtures/runs/*-traced), and on tamperings of them that must
// change the answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connectionCallPaths,
  NO_DURATIONS_NOTE,
  parseKernelCallPaths,
  returnValueName,
  splitAtSoftirq,
  type KernelCallPaths,
} from '../../../src/observe/kernel-call-path.js';
import { parseKernelTrace } from '../../../src/observe/kernel-trace.js';

const RUNS = join(import.meta.dirname, '../../fixtures/runs');

interface TracedRun {
  text: string;
  hosts: { name: string; address: string; agentTasks?: number[] }[];
  stored: KernelCallPaths;
}

function tracedRun(name: string): TracedRun {
  const dir = join(RUNS, name);
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { hosts: { name: string; address: string }[] };
  const summary = JSON.parse(readFileSync(join(dir, 'kernel-trace.json'), 'utf8')) as { agentTasks: Record<string, number[]> };
  const hosts = run.hosts.map((h) => ({ ...h, agentTasks: summary.agentTasks[h.name] }));
  return {
    text: readFileSync(join(dir, 'kernel-trace.txt'), 'utf8'),
    hosts,
    stored: JSON.parse(readFileSync(join(dir, 'kernel-paths.json'), 'utf8')) as KernelCallPaths,
  };
}

function parse(text: string, hosts: TracedRun['hosts']): KernelCallPaths {
  return parseKernelCallPaths(text, hosts, parseKernelTrace(text, hosts, 'tai'));
}

const framesOf = (paths: KernelCallPaths, kind: string, to?: string): string[] | undefined =>
  paths.calls.find((c) => c.kind === kind && (to === undefined || c.to === to))?.stack;

describe('parseKernelCallPaths on a recorded handshake', () => {
  const run = tracedRun('handshake-traced');
  const paths = parse(run.text, run.hosts);

  it('gives the same calls as the run stored in kernel-paths.json, with no stack left unclaimed', () => {
    expect(paths).toEqual(run.stored);
    expect(paths.orphanStacks).toBe(0);
    expect(paths.note).toBe(NO_DURATIONS_NOTE);
  });

  it('the stack lines do not disturb the socket events: nothing unparsed, the same transitions as kernel-events.jsonl', () => {
    const parsed = parseKernelTrace(run.text, run.hosts, 'tai');
    expect(parsed.unparsed).toEqual([]);
    const stored = readFileSync(join(RUNS, 'handshake-traced/client/kernel-events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(parsed.eventsByHost.get('client')).toEqual(stored);
  });

  it('connect side: connect(2) entered, CLOSED → SYN_SENT in tcp_v4_connect, connect(2) returned −115 EINPROGRESS', () => {
    const [path, ...others] = connectionCallPaths(paths);
    expect(others).toEqual([]);
    expect(path).toMatchObject({
      client: 'client',
      server: 'server',
      local: '198.19.190.3:48650',
      remote: '198.19.190.2:8888',
      returnValue: -115,
      errno: 'EINPROGRESS',
    });
    expect(path!.connect.map((s) => s.kind)).toEqual(['connect-entered', 'syn-sent', 'connect-returned']);
    expect(path!.connect[1]!.call.stack).toEqual([
      'entry_SYSCALL_64_after_hwframe',
      'do_syscall_64',
      '__x64_sys_connect',
      '__sys_connect',
      'inet_stream_connect',
      '__inet_stream_connect',
      'tcp_v4_connect',
      'inet_sk_state_store',
    ]);
    const times = path!.connect.map((s) => s.call.timeUs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('receive side: the request sock routes the SYN-ACK from tcp_conn_request, the SYN-ACK ends SYN_SENT in tcp_finish_connect, the child comes from tcp_v4_syn_recv_sock', () => {
    const path = connectionCallPaths(paths)[0]!;
    expect(path.receive.map((s) => `${s.call.host}:${s.kind}`)).toEqual([
      'server:request',
      'client:synack-arrival',
      'server:child',
      'server:child-established',
    ]);
    const [request, arrival, child] = path.receive.map((s) => splitAtSoftirq(s.call.stack ?? []));
    expect(request!.path.slice(0, 9)).toEqual([
      'net_rx_action',
      '__napi_poll',
      'process_backlog',
      '__netif_receive_skb_one_core',
      'ip_local_deliver_finish',
      'ip_protocol_deliver_rcu',
      'tcp_v4_rcv',
      'tcp_v4_do_rcv',
      'tcp_rcv_state_process',
    ]);
    expect(request!.path).toContain('tcp_conn_request');
    // The server's softirq ran on top of the client's connect(2), inside tcp_connect's transmit.
    expect(request!.interrupted).toEqual(expect.arrayContaining(['tcp_v4_connect', 'tcp_connect', '__tcp_transmit_skb', 'handle_softirqs']));
    // The SYN-ACK was processed from the socket's backlog when connect(2) released the socket.
    expect(arrival!.path.slice(-4)).toEqual(['tcp_v4_do_rcv', 'tcp_rcv_state_process', 'tcp_finish_connect', 'inet_sk_state_store']);
    expect(arrival!.path).toContain('release_sock');
    expect(child!.path.slice(-6)).toEqual([
      'tcp_v4_rcv',
      'tcp_check_req',
      'tcp_v4_syn_recv_sock',
      'tcp_create_openreq_child',
      'inet_csk_clone_lock',
      'inet_sk_set_state',
    ]);
  });
});

describe('parseKernelCallPaths on a recorded refused connect', () => {
  const run = tracedRun('refused-traced');
  const paths = parse(run.text, run.hosts);

  it('the server routes a RST from tcp_v4_send_reset; the client gets it in tcp_reset and closes in tcp_done; connect(2) returned EINPROGRESS', () => {
    expect(paths).toEqual(run.stored);
    const path = connectionCallPaths(paths)[0]!;
    expect(path.errno).toBe('EINPROGRESS');
    expect(path.receive.map((s) => `${s.call.host}:${s.kind}`)).toEqual(['server:reset-sent', 'client:reset-arrival', 'client:connect-failed']);
    expect(framesOf(paths, 'receive-reset')?.slice(-3)).toEqual(['tcp_v4_do_rcv', 'tcp_rcv_state_process', 'tcp_reset']);
    expect(framesOf(paths, 'state', 'CLOSED')?.slice(-4)).toEqual(['tcp_rcv_state_process', 'tcp_done_with_error', 'tcp_done', 'inet_sk_state_store']);
  });
});

describe('parseKernelCallPaths: tamperings that must change the answer', () => {
  const run = tracedRun('handshake-traced');

  it('without its stack lines, no call has a stack (a stack is never invented)', () => {
    const stripped = run.text
      .split('\n')
      .filter((line) => !/<stack trace>/.test(line) && !/^\s*=> /.test(line))
      .join('\n');
    const paths = parse(stripped, run.hosts);
    expect(paths.calls.length).toBe(run.stored.calls.length);
    expect(paths.calls.filter((c) => c.stack !== undefined)).toEqual([]);
  });

  it('a stack printed on another CPU than its event is claimed by no call (an orphan)', () => {
    const lines = run.text.split('\n');
    const synSent = lines.findIndex((l) => l.includes('newstate=TCP_SYN_SENT'));
    lines[synSent + 1] = (lines[synSent + 1] as string).replace('[001]', '[000]');
    const paths = parse(lines.join('\n'), run.hosts);
    expect(paths.orphanStacks).toBe(1);
    expect(paths.calls.find((c) => c.to === 'SYN_SENT')?.stack).toBeUndefined();
  });

  it("connect(2) of a pid that is no agent's is not the run's: no return value", () => {
    const hosts = run.hosts.map((h) => ({ name: h.name, address: h.address, agentTasks: [1] }));
    const paths = parse(run.text, hosts);
    expect(paths.calls.filter((c) => c.kind === 'connect-enter' || c.kind === 'connect-exit')).toEqual([]);
    expect(connectionCallPaths(paths)[0]!.returnValue).toBeUndefined();
  });

  it('a refused return value reads as ECONNREFUSED', () => {
    const text = run.text.replace('sys_connect -> 0xffffffffffffff8d', 'sys_connect -> 0xffffffffffffff91');
    const path = connectionCallPaths(parse(text, run.hosts))[0]!;
    expect([path.returnValue, path.errno]).toEqual([-111, 'ECONNREFUSED']);
  });
});

describe('returnValueName and splitAtSoftirq', () => {
  it('names errnos, and success as the number', () => {
    expect([returnValueName(0), returnValueName(-115), returnValueName(-110), returnValueName(-999)]).toEqual(['0', 'EINPROGRESS', 'ETIMEDOUT', 'errno 999']);
  });
  it('a task-context stack has no interrupted part; a softirq stack is cut after its innermost softirq entry', () => {
    expect(splitAtSoftirq(['a', 'b'])).toEqual({ path: ['a', 'b'], interrupted: [] });
    expect(splitAtSoftirq(['x', 'handle_softirqs', 'net_rx_action', 'tcp_v4_rcv'])).toEqual({
      path: ['net_rx_action', 'tcp_v4_rcv'],
      interrupted: ['x', 'handle_softirqs'],
    });
  });
});
