// Kernel trace parser and clock mapping, on traces recorded by tcplab's own tracing instance on this
// project's machine (kernel 6.18): four catalog runs (test/fixtures/kernel-trace/<lab>/, whole run
// folders) and one trace of a network namespace (198.19.255.2, standing for "the run") recorded
// while the host's loopback answered connects with RSTs (the foreign traffic that must stay out).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressFilter, ipv4FilterValue, mapTraceClock, parseKernelTrace, type KernelEvent } from '../../../src/observe/kernel-trace.js';
import { compareSamplesWithTrace, compareTraceWithCapture } from '../../../src/observe/trace-fidelity.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { stateSourceOf } from '../../../src/analysis/run-record.js';
import { exactTransitionsOf } from '../../../src/verify/exact-conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/kernel-trace');
const readTrace = (lab: string): string => readFileSync(join(FIXTURES, lab, 'kernel-trace.txt'), 'utf8');
const hostsOf = (lab: string): { name: string; address: string }[] =>
  (JSON.parse(readFileSync(join(FIXTURES, lab, 'run.json'), 'utf8')) as { hosts: { name: string; address: string }[] }).hosts;
const transitions = (events: readonly KernelEvent[] | undefined): string[] => (events ?? []).filter((e) => e.kind === 'state').map((e) => `${e.from}→${e.to}`);

describe('parseKernelTrace on recorded runs', () => {
  it('handshake: every state change of both sockets, attributed by local address, SYN_SENT given its port', () => {
    const parsed = parseKernelTrace(readTrace('handshake'), hostsOf('handshake'), 'tai');
    expect(parsed.unparsed).toEqual([]);
    expect(parsed.foreign).toBe(0);
    expect(parsed.entriesWritten).toBe(parsed.entriesInBuffer);
    const client = parsed.eventsByHost.get('client');
    const server = parsed.eventsByHost.get('server');
    expect(transitions(client)).toEqual([
      'CLOSED→SYN_SENT',
      'SYN_SENT→ESTABLISHED',
      'ESTABLISHED→FIN_WAIT_1',
      'FIN_WAIT_1→FIN_WAIT_2',
      // tcp_time_wait(): the orphan's full socket closes, a timewait socket carries FIN_WAIT_2/TIME_WAIT untraced
      'FIN_WAIT_2→CLOSED',
    ]);
    // The request socket gets no event; the child is made in SYN_RECV at the final ACK (inet_csk_clone_lock()).
    expect(transitions(server)).toEqual([
      'LISTEN→SYN_RECEIVED',
      'SYN_RECEIVED→ESTABLISHED',
      'ESTABLISHED→CLOSE_WAIT',
      'CLOSE_WAIT→LAST_ACK',
      'LAST_ACK→CLOSED',
    ]);
    expect(client?.[0]?.local).toBe('198.18.25.3:58694'); // printed sport=0, filled from the next event
    expect(client?.every((e) => e.local.startsWith('198.18.25.3:'))).toBe(true);
    expect(server?.every((e) => e.local.startsWith('198.18.25.2:'))).toBe(true);
    expect(client?.at(-1)).toMatchObject({ kind: 'destroy', socket: '2d' });
    expect(client?.filter((e) => e.handedToTimewait).map((e) => `${e.from}→${e.to}`)).toEqual(['FIN_WAIT_2→CLOSED']);
    expect(server?.some((e) => e.handedToTimewait)).toBe(false); // LAST_ACK → CLOSED is a real close
  });

  it('two connects to one peer at once: each sport=0 SYN_SENT is given a socket of its own (CI: accept-queue-overflow)', () => {
    const line = (time: string, sport: number, from: string, to: string): string =>
      `            node-1   [000] ..... ${time}: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=${sport} dport=8888 ` +
      `saddr=198.18.25.3 daddr=198.18.25.2 saddrv6=::ffff:198.18.25.3 daddrv6=::ffff:198.18.25.2 oldstate=TCP_${from} newstate=TCP_${to}`;
    const text = [
      '            node-1   [000] ...1. 1796156396.383107: tracing_mark_write: tcplab-clock realtime_us=1796156396383063',
      line('1796156397.993870', 0, 'CLOSE', 'SYN_SENT'),
      line('1796156397.993900', 0, 'CLOSE', 'SYN_SENT'),
      line('1796156397.994037', 44896, 'SYN_SENT', 'ESTABLISHED'),
      line('1796156397.994100', 44906, 'SYN_SENT', 'ESTABLISHED'),
    ].join('\n');
    const client = parseKernelTrace(text, hostsOf('handshake'), 'tai').eventsByHost.get('client') ?? [];
    expect(client.map((e) => `${e.local} ${e.from}→${e.to}`)).toEqual([
      '198.18.25.3:44896 CLOSED→SYN_SENT',
      '198.18.25.3:44906 CLOSED→SYN_SENT',
      '198.18.25.3:44896 SYN_SENT→ESTABLISHED',
      '198.18.25.3:44906 SYN_SENT→ESTABLISHED',
    ]);
  });

  it('a retransmission a TCP timer sent carries how late the timer ran (now − baseclk of its expiry on that CPU); other expiries are dropped', () => {
    const expiry = (cpu: string, time: string, fn: string, now: number, baseclk: number): string =>
      `          <idle>-0       [${cpu}] ..s1. ${time}: timer_expire_entry: timer=00000000e6ba2e4f function=${fn} now=${now} baseclk=${baseclk}`;
    const retransmit = (cpu: string, time: string): string =>
      `          <idle>-0       [${cpu}] .Ns2. ${time}: tcp_retransmit_skb: skbaddr=0000000095e4d188 skaddr=0000000000f7b82b family=AF_INET ` +
      'sport=44896 dport=8888 saddr=198.18.25.3 daddr=198.18.25.2 saddrv6=::ffff:198.18.25.3 daddrv6=::ffff:198.18.25.2 state=TCP_SYN_SENT err=0';
    const text = [
      '            node-1   [000] ...1. 1796156396.383107: tracing_mark_write: tcplab-clock realtime_us=1796156396383063',
      expiry('001', '1796156397.000100', 'tcp_write_timer', 4296117393, 4296117377),
      retransmit('001', '1796156397.000140'),
      expiry('000', '1796156398.000100', 'tcp_write_timer', 4296117640, 4296117640), // another socket's timer: no send follows
      retransmit('001', '1796156399.000140'), // no expiry on its CPU just before: TSQ, or a deferred timer
    ].join('\n');
    const parsed = parseKernelTrace(text, hostsOf('handshake'), 'tai');
    expect((parsed.eventsByHost.get('client') ?? []).map((e) => e.timerLateJiffies)).toEqual([16, undefined]);
    expect([...parsed.foreignLines]).toEqual([4]);
  });

  it("refused: the RST sent by the server and received by the client, the client's ECONNREFUSED", () => {
    const parsed = parseKernelTrace(readTrace('refused'), hostsOf('refused'), 'tai');
    expect(parsed.eventsByHost.get('server')).toMatchObject([{ kind: 'send-reset', reason: 'NO_SOCKET', local: '198.18.95.2:8888' }]);
    expect(parsed.eventsByHost.get('server')?.[0]?.state).toBeUndefined(); // state=UNKNOWN: no socket
    const client = parsed.eventsByHost.get('client') ?? [];
    expect(client.map((e) => e.kind)).toEqual(['state', 'receive-reset', 'state', 'error-report', 'destroy']);
    expect(client.find((e) => e.kind === 'error-report')?.error).toBe(111); // ECONNREFUSED
    expect(client.some((e) => e.handedToTimewait)).toBe(false);
  });

  it('syn-sent: one tcp_retransmit_skb per retransmitted SYN, then ETIMEDOUT', () => {
    const client = parseKernelTrace(readTrace('syn-sent'), hostsOf('syn-sent'), 'tai').eventsByHost.get('client') ?? [];
    expect(client.filter((e) => e.kind === 'retransmit').map((e) => [e.state, e.error])).toEqual([
      ['SYN_SENT', 0],
      ['SYN_SENT', 0],
      ['SYN_SENT', 0],
    ]);
    expect(client.find((e) => e.kind === 'error-report')?.error).toBe(110); // ETIMEDOUT
  });

  it("syn-rcvd: the server's half-open request is seen only through tcp_retransmit_synack", () => {
    const server = parseKernelTrace(readTrace('syn-rcvd'), hostsOf('syn-rcvd'), 'tai').eventsByHost.get('server') ?? [];
    expect(server.map((e) => e.kind)).toEqual(['synack-retransmit', 'synack-retransmit', 'synack-retransmit']);
  });

  it('keeps a foreign RST out and attributes a socket whose local address tcp_disconnect() cleared', () => {
    const text = readFileSync(join(FIXTURES, 'netns-refused-with-foreign.txt'), 'utf8');
    const parsed = parseKernelTrace(text, [{ name: 'run', address: '198.19.255.2' }], 'tai');
    expect(parsed.foreign).toBe(3);
    for (const line of parsed.foreignLines) expect(text.split('\n')[line - 1]).toContain('src=127.0.0.1:1');
    const events = parsed.eventsByHost.get('run') ?? [];
    expect(events).toHaveLength(21);
    const cleared = events.filter((e) => e.local.startsWith('0.0.0.0:'));
    expect(cleared.map((e) => e.kind)).toEqual(['error-report', 'destroy', 'error-report', 'destroy', 'error-report', 'destroy']);
    // Claim false: attributed by local address alone, those events would be foreign.
    const byAddressOnly = parseKernelTrace(text, [{ name: 'run', address: '198.19.255.3' }], 'tai');
    expect(byAddressOnly.eventsByHost.get('run')).toEqual([]);
    expect(byAddressOnly.foreign).toBe(24);
  });

  it('reports lines it does not understand and refuses a trace without its clock marker', () => {
    const text = readTrace('handshake');
    const broken = `${text}\n garbage line\n`;
    expect(parseKernelTrace(broken, hostsOf('handshake'), 'tai').unparsed.map((u) => u.text)).toEqual([' garbage line']);
    const unmarked = text
      .split('\n')
      .filter((l) => !l.includes('tracing_mark_write'))
      .join('\n');
    expect(() => parseKernelTrace(unmarked, hostsOf('handshake'), 'tai')).toThrow(/no clock marker/);
  });
});

describe('clock mapping', () => {
  it("tai: the offset is whole seconds, exact even when the marker's real time is off by 400 ms", () => {
    const traceUs = 1_796_156_396_383_107;
    expect(mapTraceClock('tai', traceUs, traceUs - 37_000_000 + 400_000).offsetUs).toBe(37_000_000);
    expect(mapTraceClock('tai', traceUs, traceUs - 44).offsetUs).toBe(0);
    // mono: the offset is what the marker says, as good as the real time written in it.
    expect(mapTraceClock('mono', 215_147_883, 215_147_883 - 1_000_000_123).offsetUs).toBe(1_000_000_123);
  });

  it('puts every recorded tracepoint within 1 ms of the segment it caused or followed, on the same host', async () => {
    const deltas: number[] = [];
    for (const lab of ['handshake', 'refused', 'syn-sent', 'syn-rcvd']) {
      const record = await loadRunRecord(join(FIXTURES, lab));
      for (const host of record.hosts) {
        expect(stateSourceOf(host)).toBe('tracepoint');
        for (const pair of compareTraceWithCapture({ ...host, kernelEvents: host.kernelEvents ?? [] })) deltas.push(pair.deltaUs);
      }
    }
    expect(deltas.length).toBeGreaterThanOrEqual(15);
    for (const d of deltas) expect(Math.abs(d)).toBeLessThan(1000);
  });

  it('a mapping off by one second fails the same comparison', async () => {
    const record = await loadRunRecord(join(FIXTURES, 'syn-sent'));
    const client = record.hosts.find((h) => h.name === 'client');
    const shifted = (client?.kernelEvents ?? []).map((e) => ({ ...e, timeUs: e.timeUs + 1_000_000 }));
    const pairs = compareTraceWithCapture({ address: client?.address ?? '', events: [], segments: client?.segments ?? [], kernelEvents: shifted });
    expect(pairs.length).toBeGreaterThan(0);
    expect(pairs.every((p) => Math.abs(p.deltaUs) >= 1000)).toBe(true);
  });
});

describe('filter values', () => {
  it('writes an IPv4 address as the little-endian u32 the event filter compares', () => {
    expect(ipv4FilterValue('198.18.25.2')).toBe('0x021912c6'); // the value the handshake run's filter used
    expect(addressFilter(['198.18.25.2'])).toBe('saddr == 0x021912c6 || daddr == 0x021912c6');
    expect(() => ipv4FilterValue('198.18.25')).toThrow(/not an IPv4 address/);
  });
});

describe('sampler against the exact events', () => {
  it("handshake: the sampler missed the server's LAST_ACK, and its stamps are late, never early", async () => {
    const record = await loadRunRecord(join(FIXTURES, 'handshake'));
    const server = record.hosts.find((h) => h.name === 'server');
    const rows = compareSamplesWithTrace({ ...server!, kernelEvents: server?.kernelEvents ?? [] });
    expect(rows.filter((r) => r.sampledUs === undefined).map((r) => r.to)).toEqual(['SYN_RECEIVED', 'LAST_ACK']);
    for (const r of rows) if (r.sampledUs !== undefined) expect(r.sampledUs - r.exactUs).toBeGreaterThanOrEqual(0);
  });
});

describe('recorded accept-queue-overflow run: two connects to one peer 4.2 ms apart', () => {
  it('each CLOSED → SYN_SENT belongs to the socket whose SYN is nearest it, and the run conforms', async () => {
    const run = await loadFixtureRun('accept-queue-overflow-close-connects');
    const client = run.hosts.find((h) => h.name === 'client')!;
    const ports = ['198.19.148.3:33524', '198.19.148.3:33534'];
    for (const local of ports) {
      expect(exactTransitionsOf(client, local, '198.19.148.2:8888').filter((t) => t.to === 'SYN_SENT')).toHaveLength(1);
    }
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });
});
