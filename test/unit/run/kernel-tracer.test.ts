// The tracing instance's lifecycle on this machine's real tracefs (skipped where tracefs cannot be
// written: not root, or no tracefs). Only instances named tcplab-kt-test-* are ever made or swept.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { KernelEvent } from '../../../src/observe/kernel-trace.js';
import { checkCallPathSupport, checkTracefs, KernelTracer, sweepTracingInstances, TRACEFS, writeKernelTrace } from '../../../src/run/kernel-tracer.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { verifyRun } from '../../../src/verify/verify-run.js';

const available = (await checkTracefs(release())).ok;
const TEST_PREFIX = 'kt-test-';
const instances = (): string[] => (existsSync(join(TRACEFS, 'instances')) ? readdirSync(join(TRACEFS, 'instances')) : []);

describe('checkTracefs', () => {
  it('refuses a kernel that is not this one (a remote engine)', async () => {
    expect(await checkTracefs('5.10.0-other')).toMatchObject({ ok: false, reason: expect.stringMatching(/not the same kernel/) });
  });
  it('refuses a remote DOCKER_HOST', async () => {
    const saved = process.env['DOCKER_HOST'];
    process.env['DOCKER_HOST'] = 'tcp://10.0.0.9:2375';
    try {
      expect(await checkTracefs(release())).toMatchObject({ ok: false, reason: expect.stringMatching(/remote/) });
    } finally {
      if (saved === undefined) delete process.env['DOCKER_HOST'];
      else process.env['DOCKER_HOST'] = saved;
    }
  });
});

describe.skipIf(!available)('KernelTracer on the real tracefs', () => {
  it('creates a filtered instance, records a marker, and removes it', async () => {
    const runId = `${TEST_PREFIX}${process.pid}-a`;
    const tracer = await KernelTracer.start(runId, ['198.19.254.2'], release());
    expect(tracer.unavailable).toBeUndefined();
    expect(instances()).toContain(`tcplab-${runId}`);
    const dir = tracer.instanceDir as string;
    expect(readFileSync(join(dir, 'trace_clock'), 'utf8')).toMatch(/\[tai\]/);
    expect(readFileSync(join(dir, 'events/sock/inet_sock_set_state/filter'), 'utf8').trim()).toBe('saddr == 0x02fe13c6 || daddr == 0x02fe13c6');
    expect(readFileSync(join(dir, 'events/tcp/tcp_send_reset/enable'), 'utf8').trim()).toBe('1');
    const runDir = mkdtempSync(join(tmpdir(), 'tcplab-kt-'));
    mkdirSync(join(runDir, 'h'));
    const summary = tracer.collect(runDir, [{ name: 'h', address: '198.19.254.2' }]);
    expect(summary).toMatchObject({ stateSource: 'tracepoint', traceClock: 'tai', eventsPerHost: { h: 0 }, lost: 0 });
    expect(readFileSync(join(runDir, 'kernel-trace.txt'), 'utf8')).toContain('tcplab-clock realtime_us=');
    await tracer.remove();
    await tracer.remove(); // idempotent
    expect(instances()).not.toContain(`tcplab-${runId}`);
  });

  it('records stacks and connect(2) only as narrowly as written, and restore() puts every file back', async () => {
    const runId = `${TEST_PREFIX}${process.pid}-stacks`;
    const tracer = await KernelTracer.start(runId, ['198.19.254.6'], release());
    onTestFinished(() => tracer.remove());
    expect(tracer.callPathsUnavailable).toBeUndefined();
    const dir = tracer.instanceDir as string;
    const read = (file: string): string => readFileSync(join(dir, 'events', file), 'utf8');
    const addresses = 'saddr == 0x06fe13c6 || daddr == 0x06fe13c6';
    expect(read('sock/inet_sock_set_state/trigger')).toContain(`stacktrace:unlimited if ${addresses}`);
    expect(read('tcp/tcp_receive_reset/trigger')).toContain(`stacktrace:unlimited if ${addresses}`);
    expect(read('fib/fib_table_lookup/trigger')).toContain('stacktrace:count=64 if iif == 1 && proto == 6 && (src == 0x06fe13c6 || dst == 0x06fe13c6)');
    expect(read('fib/fib_table_lookup/enable').trim()).toMatch(/^1/); // `1*`: enabled, with a trigger
    tracer.traceConnectCalls({ client: [4242, 4243], server: [4343] });
    for (const event of ['syscalls/sys_enter_connect', 'syscalls/sys_exit_connect']) {
      expect(read(`${event}/filter`).trim()).toBe('common_pid == 4242 || common_pid == 4243 || common_pid == 4343');
      expect(read(`${event}/enable`).trim()).toBe('1');
    }
    expect(tracer.triggers()).toMatchObject({ 'fib/fib_table_lookup': expect.stringMatching(/^stacktrace:64 if /) });
    expect(tracer.restore()).toEqual([]);
    for (const event of ['sock/inet_sock_set_state', 'tcp/tcp_retransmit_synack', 'tcp/tcp_receive_reset', 'fib/fib_table_lookup']) {
      // An empty trigger file lists only `# Available triggers: …`.
      expect(
        read(`${event}/trigger`)
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('#')),
      ).toEqual([]);
    }
    for (const event of ['sock/inet_sock_set_state', 'fib/fib_table_lookup', 'syscalls/sys_enter_connect', 'syscalls/sys_exit_connect', 'tcp/tcp_send_reset']) {
      expect(read(`${event}/enable`).trim()).toBe('0');
      expect(read(`${event}/filter`).trim()).toBe('none');
    }
    await tracer.remove();
    expect(instances()).not.toContain(`tcplab-${runId}`);
  });

  it('a killed run leaves its triggers set; the sweep removes its instance all the same', async () => {
    const runId = `${TEST_PREFIX}${process.pid}-killed`;
    const tracer = await KernelTracer.start(runId, ['198.19.254.7'], release());
    onTestFinished(() => tracer.remove());
    tracer.traceConnectCalls({ client: [4444] });
    // Nothing restored (the process that would have restored it is gone): only the sweep remains.
    expect(readFileSync(join(tracer.instanceDir as string, 'events/sock/inet_sock_set_state/trigger'), 'utf8')).toMatch(/stacktrace/);
    expect(await sweepTracingInstances((id) => id !== runId)).toEqual([`tcplab-${runId}`]);
    expect(instances()).not.toContain(`tcplab-${runId}`);
  });

  it('sweeps the instances of dead runs and leaves live ones', async () => {
    const dead = await KernelTracer.start(`${TEST_PREFIX}${process.pid}-dead`, ['198.19.254.3'], release());
    const alive = await KernelTracer.start(`${TEST_PREFIX}${process.pid}-alive`, ['198.19.254.4'], release());
    const removed = await sweepTracingInstances((runId) => !runId.startsWith(TEST_PREFIX) || runId.endsWith('-alive'));
    expect(removed).toEqual([`tcplab-${TEST_PREFIX}${process.pid}-dead`]);
    expect(instances()).toContain(`tcplab-${TEST_PREFIX}${process.pid}-alive`);
    await alive.remove();
    await dead.remove(); // already swept: fine
    expect(instances().filter((i) => i.includes(`${TEST_PREFIX}${process.pid}`))).toEqual([]);
  });
});

describe('checkCallPathSupport', () => {
  it('says which parts a tracefs lacks (a fake one), and that a function_graph tracer is listed only when it is', () => {
    const fake = mkdtempSync(join(tmpdir(), 'tcplab-tracefs-'));
    for (const event of ['sock/inet_sock_set_state', 'tcp/tcp_retransmit_synack', 'tcp/tcp_receive_reset']) {
      mkdirSync(join(fake, 'events', event), { recursive: true });
      writeFileSync(join(fake, 'events', event, 'trigger'), '');
    }
    writeFileSync(join(fake, 'available_tracers'), 'blk function nop\n');
    expect(checkCallPathSupport(fake)).toEqual({ stacks: true, connectSyscall: false, routeLookup: false, functionGraph: false });
    mkdirSync(join(fake, 'events/syscalls/sys_enter_connect'), { recursive: true });
    mkdirSync(join(fake, 'events/syscalls/sys_exit_connect'), { recursive: true });
    writeFileSync(join(fake, 'available_tracers'), 'function_graph function nop\n');
    expect(checkCallPathSupport(fake)).toMatchObject({ connectSyscall: true, functionGraph: true });
  });
});

describe('a tracer without tracefs', () => {
  it('falls back to samples, says why in kernel-trace.json, and the verdict notes it', async () => {
    const tracer = await KernelTracer.start('never-made', ['198.19.254.5'], 'another-kernel');
    expect(tracer.instanceDir).toBeUndefined();
    const runDir = mkdtempSync(join(tmpdir(), 'tcplab-kt-'));
    const summary = tracer.collect(runDir, []);
    expect(summary).toMatchObject({ stateSource: 'sampled', unavailable: expect.stringMatching(/not the same kernel/) });
    expect(JSON.parse(readFileSync(join(runDir, 'kernel-trace.json'), 'utf8'))).toEqual(summary);
  });

  it('an old run folder without kernel events loads as sampled, and its verdict says so', async () => {
    const dir = join(import.meta.dirname, '../../fixtures/runs/handshake');
    const record = await loadRunRecord(dir);
    const verdict = verifyRun(record, dir, 0);
    expect(verdict.hosts?.map((h) => h.stateSource)).toEqual(record.hosts.map(() => 'sampled'));
    expect(verdict.notes?.[0]).toMatch(/come from \/proc\/net\/tcp samples only/);
  });

  it('a traced run folder loads as tracepoint, with no note', async () => {
    const dir = join(import.meta.dirname, '../../fixtures/kernel-trace/handshake');
    const verdict = verifyRun(await loadRunRecord(dir), dir, 0);
    expect(verdict.hosts).toEqual([
      { name: 'client', address: '198.18.25.3', stateSource: 'tracepoint' },
      { name: 'server', address: '198.18.25.2', stateSource: 'tracepoint' },
    ]);
    expect(verdict.notes).toBeUndefined();
  });
});

describe('writeKernelTrace', () => {
  it("leaves other addresses' lines out of kernel-trace.txt and numbers events by the lines written", () => {
    const text = readFileSync(join(import.meta.dirname, '../../fixtures/kernel-trace/netns-refused-with-foreign.txt'), 'utf8');
    const runDir = mkdtempSync(join(tmpdir(), 'tcplab-kt-'));
    const summary = writeKernelTrace(runDir, [{ name: 'run', address: '198.19.255.2' }], text, 'tai', '/none', {});
    expect(summary).toMatchObject({ stateSource: 'tracepoint', foreignDropped: { tcp_send_reset: 3 }, eventsPerHost: { run: 21 }, unparsedLines: 0 });
    const written = readFileSync(join(runDir, 'kernel-trace.txt'), 'utf8').split('\n');
    expect(written.join('\n')).not.toContain('127.0.0.1');
    expect(written.length).toBe(text.split('\n').length - 3);
    const events = readFileSync(join(runDir, 'run', 'kernel-events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as KernelEvent);
    for (const e of events) expect(written[e.line - 1]).toContain(`${e.tracepoint}:`);
    expect(events.every((e, i) => i === 0 || e.line > (events[i - 1] as KernelEvent).line)).toBe(true);
  });
});
