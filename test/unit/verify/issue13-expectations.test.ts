import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { LabError, formatProblems } from '../../../src/lab/lab-error.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import type { Expectation } from '../../../src/lab/model.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import { checkExpectations } from '../../../src/verify/check-expectations.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';
import { pcapFileHeader } from '../../../src/observe/pcap-writer.js';

async function checkOn(fixture: string, expectation: Expectation, change: (run: RunRecord) => RunRecord = (r) => r) {
  const run = change(await loadRunRecord(join(REPO_ROOT, 'test/fixtures/runs', fixture)));
  return checkExpectations({ ...run, lab: { ...run.lab, expectations: [expectation] } })[0]!;
}

const head =
  'title: t\ndescription: d\nhosts: { client: {}, server: {} }\nsteps:\n  - listen: { host: server, port: 80 }\n  - connect: { host: client, to: server, port: 80, as: c }\nexpect:\n';
function problemsOf(text: string): string {
  try {
    loadLabText(text, '/labs/x.yaml');
  } catch (error) {
    if (error instanceof LabError) return formatProblems(error.problems);
    throw error;
  }
  return '';
}

describe('outcome and error take any errno the kernel can return', () => {
  it('loads EADDRNOTAVAIL, EPIPE, ENETUNREACH; refuses a made-up name and suggests the upper case of a real one', () => {
    expect(problemsOf(`${head}  - outcome: { host: client, conn: c, is: EADDRNOTAVAIL }\n  - error: { host: client, conn: c, is: EPIPE }\n`)).toBe('');
    expect(problemsOf(`${head}  - outcome: { host: client, conn: c, is: ENETUNREACH }\n`)).toBe('');
    expect(problemsOf(`${head}  - outcome: { host: client, conn: c, is: ECONNFAILED }\n`)).toMatch(
      /:8:\d+: expect\[0\]\.outcome\.is: unknown errno "ECONNFAILED"/,
    );
    expect(problemsOf(`${head}  - error: { host: client, conn: c, is: epipe }\n`)).toMatch(/unknown errno "epipe".*write "EPIPE"/);
  });

  it('an outcome of EADDRNOTAVAIL FAILs against a run whose connect succeeded', async () => {
    const check = await checkOn('handshake', { kind: 'outcome', host: 'client', conn: 'c', is: 'EADDRNOTAVAIL' });
    expect(check).toMatchObject({ status: 'fail', expected: 'EADDRNOTAVAIL', observed: 'connected' });
  });
});

describe('conn filter on states, never and sockets (port-reuse: c1 and c2 share one 4-tuple)', () => {
  it('c2 alone never was in CLOSE_WAIT (c1 was): the port filter mixes them, the conn filter does not', async () => {
    const mixed = await checkOn('port-reuse', { kind: 'states', host: 'client', port: 8888, path: ['CLOSE_WAIT', 'ESTABLISHED'] });
    expect(mixed.status).toBe('pass');
    const c2 = await checkOn('port-reuse', { kind: 'states', host: 'client', conn: 'c2', path: ['CLOSE_WAIT', 'ESTABLISHED'] });
    expect(c2.status).toBe('fail');
    expect(c2.name).toBe('client/c2 passes through CLOSE_WAIT → ESTABLISHED');
    expect(c2.observed).toBe('SYN_SENT → ESTABLISHED');
    expect((await checkOn('port-reuse', { kind: 'states', host: 'client', conn: 'c1', path: ['ESTABLISHED', 'CLOSE_WAIT'] })).status).toBe('pass');
  });

  it('never: c2 is never in CLOSE_WAIT (PASS), c1 is (FAIL, with the sample time)', async () => {
    expect((await checkOn('port-reuse', { kind: 'never', host: 'client', conn: 'c2', states: ['CLOSE_WAIT'] })).status).toBe('pass');
    const c1 = await checkOn('port-reuse', { kind: 'never', host: 'client', conn: 'c1', states: ['CLOSE_WAIT'] });
    expect(c1.status).toBe('fail');
    expect(c1.evidence[0]).toMatch(/^CLOSE_WAIT sampled at \+\d+\.\d{3} s \(198\.19\.86\.3:40000 ↔ 198\.19\.86\.2:8888\)$/);
  });

  it('sockets: at most 0 of c2 in CLOSE_WAIT passes; at least 1 FAILs', async () => {
    expect((await checkOn('port-reuse', { kind: 'sockets', host: 'client', conn: 'c2', state: 'CLOSE_WAIT', max: 0 })).status).toBe('pass');
    expect((await checkOn('port-reuse', { kind: 'sockets', host: 'client', conn: 'c2', state: 'CLOSE_WAIT', min: 1 })).status).toBe('fail');
  });

  it('a conn filter naming an unknown connection is refused at load time', () => {
    expect(problemsOf(`${head}  - states: { host: client, conn: d, path: [SYN_SENT] }\n`)).toMatch(/expect\[0\]\.states\.conn: unknown connection "d"/);
  });
});

describe('packets: port filter (either end)', () => {
  it('counts the [S] on port 8080 and none on another port; a wrong count FAILs', async () => {
    expect((await checkOn('old-duplicate-syn', { kind: 'packets', from: 'client', to: 'server', flags: 'S', port: 8080, count: 3 })).status).toBe('pass');
    expect((await checkOn('old-duplicate-syn', { kind: 'packets', from: 'client', to: 'server', flags: 'S', port: 40000, count: 3 })).status).toBe('pass');
    const other = await checkOn('old-duplicate-syn', { kind: 'packets', from: 'client', to: 'server', flags: 'S', port: 9999, count: 3 });
    expect(other).toMatchObject({ status: 'fail', observed: '0' });
    expect(other.name).toBe('[S] segments client → server (port 9999)');
  });
});

describe('accepted {from}', () => {
  it('accepted-1 came from the client (PASS) and not from the server (FAIL, with the peer address)', async () => {
    expect((await checkOn('old-duplicate-syn', { kind: 'accepted', host: 'server', conn: 'accepted-1', from: 'client' })).status).toBe('pass');
    const wrong = await checkOn('old-duplicate-syn', { kind: 'accepted', host: 'server', conn: 'accepted-1', from: 'server' });
    expect(wrong.status).toBe('fail');
    expect(wrong.observed).toMatch(/^from client \(198\.18\.\d+\.3:40000\)$/);
    expect(problemsOf(`${head}  - accepted: { host: server, conn: c, from: client }\n`)).toMatch(/accepted names a connection a listener accepted/);
  });
});

describe('received and sent: bytes from the agent events', () => {
  it('received: handshake server read 64 bytes on accepted-1; 65 FAILs', async () => {
    expect((await checkOn('handshake', { kind: 'received', host: 'server', conn: 'accepted-1', bytes: 64 })).status).toBe('pass');
    const wrong = await checkOn('handshake', { kind: 'received', host: 'server', conn: 'accepted-1', bytes: 65 });
    expect(wrong).toMatchObject({ status: 'fail', expected: 'exactly 65 bytes', observed: '64 bytes' });
    expect(wrong.evidence[0]).toMatch(/^1 data event\(s\) on accepted-1, \+\d+\.\d{3} s to \+\d+\.\d{3} s, 64 bytes in all$/);
  });

  it('sent: sums the sent events of that connection only; min above the sum FAILs', async () => {
    const withSent = (run: RunRecord): RunRecord =>
      withHost(run, 'client', (h) => ({
        events: [
          ...h.events,
          { type: 'sent', timeUs: run.startedUs + 10_000, conn: 'c', bytes: 40 },
          { type: 'sent', timeUs: run.startedUs + 20_000, conn: 'c', bytes: 24 },
          { type: 'sent', timeUs: run.startedUs + 30_000, conn: 'other', bytes: 1000 },
        ],
      }));
    expect((await checkOn('handshake', { kind: 'sent', host: 'client', conn: 'c', bytes: 64 }, withSent)).status).toBe('pass');
    expect(await checkOn('handshake', { kind: 'sent', host: 'client', conn: 'c', min: 100 }, withSent)).toMatchObject({ status: 'fail', observed: '64 bytes' });
    expect(await checkOn('handshake', { kind: 'sent', host: 'client', conn: 'c', min: 1 })).toMatchObject({ status: 'fail', observed: '0 bytes' });
  });
});

/** A pcap (Ethernet) with one IPv4 ICMP message `type`/`code` from src to dst, quoting `quoted` (an IP datagram's start) if given. */
function icmpPcap(src: number[], dst: number[], type: number, code: number, quoted: Buffer = Buffer.alloc(0)): Buffer {
  const header = pcapFileHeader();
  const ip = Buffer.concat([Buffer.alloc(20 + 8), quoted]);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip[8] = 64;
  ip[9] = 1;
  Buffer.from(src).copy(ip, 12);
  Buffer.from(dst).copy(ip, 16);
  ip[20] = type;
  ip[21] = code;
  return ethernetPcap(header, Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ip]));
}

/** The IPv4 header and first 8 TCP bytes an ICMP error quotes (what ipt_REJECT sends: the whole header, RFC 1812 §4.3.2.3). */
function quotedTcp(src: number[], dst: number[], srcPort: number, dstPort: number, seq: number, protocol = 6): Buffer {
  const q = Buffer.alloc(20 + 8);
  q[0] = 0x45;
  q[9] = protocol;
  Buffer.from(src).copy(q, 12);
  Buffer.from(dst).copy(q, 16);
  q.writeUInt16BE(srcPort, 20);
  q.writeUInt16BE(dstPort, 22);
  q.writeUInt32BE(seq, 24);
  return q;
}

function ethernetPcap(header: Buffer, frame: Buffer): Buffer {
  const record = Buffer.alloc(16);
  record.writeUInt32LE(1_800_000_000, 0);
  record.writeUInt32LE(frame.length, 8);
  record.writeUInt32LE(frame.length, 12);
  return Buffer.concat([header, record, frame]);
}

describe('icmp: captured ICMP messages', () => {
  it('the capture decoder keeps ICMP messages (type, code, addresses) beside the TCP segments', () => {
    const { segments, icmp } = decodeCaptureBuffer(icmpPcap([198, 18, 0, 2], [198, 18, 0, 3], 3, 1));
    expect(segments).toEqual([]);
    expect(icmp).toEqual([{ frame: 1, timeUs: 1_800_000_000_000_000, family: 4, src: '198.18.0.2', dst: '198.18.0.3', type: 3, code: 1 }]);
  });

  it('decodes the TCP segment an error quotes (addresses, ports, sequence number); no quote for non-TCP or echo', () => {
    const quote = quotedTcp([198, 18, 0, 3], [198, 18, 0, 2], 8888, 40000, 0xdeadbeef);
    const [error] = decodeCaptureBuffer(icmpPcap([198, 18, 0, 2], [198, 18, 0, 3], 3, 1, quote)).icmp;
    expect(error?.quoted).toEqual({ src: '198.18.0.3', dst: '198.18.0.2', srcPort: 8888, dstPort: 40000, seq: 0xdeadbeef });
    const udp = quotedTcp([198, 18, 0, 3], [198, 18, 0, 2], 53, 40000, 1, 17);
    expect(decodeCaptureBuffer(icmpPcap([198, 18, 0, 2], [198, 18, 0, 3], 3, 3, udp)).icmp[0]?.quoted).toBeUndefined();
    expect(decodeCaptureBuffer(icmpPcap([198, 18, 0, 2], [198, 18, 0, 3], 0, 0, quote)).icmp[0]?.quoted).toBeUndefined();
    // Cut inside the quoted TCP header's first 8 bytes: nothing to match a socket by.
    expect(decodeCaptureBuffer(icmpPcap([198, 18, 0, 2], [198, 18, 0, 3], 3, 1, quote.subarray(0, 24))).icmp[0]?.quoted).toBeUndefined();
  });

  it('the recorded synack-icmp-host-unreachable run: each host unreachable quotes the server SYN-ACK it answers', async () => {
    const run = await loadFixtureRun('synack-icmp-host-unreachable');
    const server = run.hosts.find((h) => h.name === 'server')!;
    const synAcks = server.segments.filter((s) => (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK));
    expect(server.icmp?.map((m) => m.quoted?.seq)).toEqual(synAcks.map((s) => s.seq));
    expect(server.icmp?.every((m) => m.quoted?.src === server.address && m.quoted.srcPort === 8888)).toBe(true);
  });

  it('counts type 3 code 1 server → client; a claim of code 3 or of 2 messages FAILs', async () => {
    const withIcmp = (run: RunRecord): RunRecord => {
      const server = run.hosts.find((h) => h.name === 'server')!;
      const client = run.hosts.find((h) => h.name === 'client')!;
      const message = { frame: 99, timeUs: run.startedUs + 5_000, family: 4 as const, src: server.address, dst: client.address, type: 3, code: 1 };
      return withHost(run, 'server', () => ({ icmp: [message] }));
    };
    const ok = await checkOn('handshake', { kind: 'icmp', from: 'server', to: 'client', type: 3, code: 1, count: 1 }, withIcmp);
    expect(ok.status).toBe('pass');
    expect(ok.evidence[0]).toMatch(/^server capture #99 at \+0\.005 s: ICMP type 3 code 1 \(host unreachable\)$/);
    expect((await checkOn('handshake', { kind: 'icmp', from: 'server', to: 'client', type: 3, code: 3, count: 1 }, withIcmp)).status).toBe('fail');
    expect((await checkOn('handshake', { kind: 'icmp', from: 'server', to: 'client', type: 3, count: 2 }, withIcmp)).status).toBe('fail');
    expect(await checkOn('handshake', { kind: 'icmp', from: 'server', to: 'client', type: 3, min: 1 })).toMatchObject({ status: 'fail', observed: '0' });
  });
});

describe('icmp against a real run (host-unreachable as recorded: REJECT --reject-with icmp-host-unreachable)', () => {
  it('the server capture holds the one ICMP type 3 code 1 to the client; the claims PASS', async () => {
    const run = await loadFixtureRun('host-unreachable');
    const server = run.hosts.find((h) => h.name === 'server')!;
    expect(server.icmp?.map((m) => [m.type, m.code, m.src === server.address])).toEqual([[3, 1, true]]);
    expect((await checkOn('host-unreachable', { kind: 'icmp', from: 'server', to: 'client', type: 3, code: 1, count: 1 })).status).toBe('pass');
    expect((await checkOn('host-unreachable', { kind: 'outcome', host: 'client', conn: 'c', is: 'EHOSTUNREACH' })).status).toBe('pass');
  });

  it('FAILs for code 3 (port unreachable), for two messages, and in the other direction', async () => {
    const port = await checkOn('host-unreachable', { kind: 'icmp', from: 'server', to: 'client', type: 3, code: 3, count: 1 });
    expect(port).toMatchObject({ status: 'fail', observed: '0; 1 other ICMP message(s) server → client' });
    expect(port.evidence[0]).toMatch(/^not counted \(other type\/code\): server capture #\d+ at \+\d\.\d{3} s: ICMP type 3 code 1 \(host unreachable\)$/);
    expect((await checkOn('host-unreachable', { kind: 'icmp', from: 'server', to: 'client', type: 3, min: 2 })).status).toBe('fail');
    expect((await checkOn('host-unreachable', { kind: 'icmp', from: 'client', to: 'server', type: 3, min: 1 })).status).toBe('fail');
  });
});
