// netstat, ss and /proc/net/tcp parsers, on output captured on this machine (loopback sockets
// made by a throw-away script: LISTEN, ESTAB, TIME-WAIT, SYN-SENT against a full accept queue,
// FIN-WAIT-2/CLOSE-WAIT after shutdown) plus the formats quoted in the reference doc.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNetstatTan } from '../../../src/observe/netstat-tan.js';
import { decodeProcAddress, parseProcNetTcp, ProcNetTcpParseError } from '../../../src/observe/proc-net-tcp.js';
import { parseSsTan, parseSsTimerTime } from '../../../src/observe/ss-tan.js';
import { TextParseError } from '../../../src/observe/text-parse-error.js';
import { observeFixtureDir } from './corpus-helpers.js';

const fixture = (name: string): string => readFileSync(join(observeFixtureDir, name), 'utf8');

describe('parseProcNetTcp', () => {
  it('reads SYN_SENT rows with their retransmit timer (this machine)', () => {
    const rows = parseProcNetTcp(fixture('proc-net-tcp-synsent.txt'), 4);
    const synSent = rows.filter((r) => r.state === 'SYN_SENT');
    expect(synSent).toHaveLength(3);
    expect(synSent[0]).toMatchObject({
      local: '127.0.0.1:49562',
      remote: '127.0.0.1:47811',
      kernelState: 2,
      txQueue: 1,
      rxQueue: 0,
      timer: { kind: 1, expiresMs: 700, retransmits: 3 },
      inode: 25035,
    });
    const listener = rows.find((r) => r.local === '127.0.0.1:47811' && r.state === 'LISTEN');
    expect(listener).toMatchObject({ remote: '0.0.0.0:0', rxQueue: 1, timer: { kind: 0, expiresMs: 0, retransmits: 0 } });
  });

  it('reads TIME_WAIT (timer 3) and keepalive (timer 2) rows', () => {
    const rows = parseProcNetTcp(fixture('proc-net-tcp.txt'), 4);
    expect(rows).toHaveLength(16);
    const tw = rows.find((r) => r.slot === 5)!;
    expect(tw).toMatchObject({ state: 'TIME_WAIT', local: '127.0.0.1:60588', timer: { kind: 3, expiresMs: 0x169d * 10 }, inode: 0 });
    expect(rows.find((r) => r.slot === 10)!.timer).toEqual({ kind: 2, expiresMs: 0xafc4d * 10, retransmits: 0 });
  });

  it('reads /proc/net/tcp6: ::1, FIN_WAIT2 with unread data, CLOSE_WAIT', () => {
    const rows = parseProcNetTcp(fixture('proc-net-tcp6-halfclose.txt'), 6);
    expect(rows.map((r) => [r.local, r.remote, r.state, r.rxQueue])).toEqual([
      ['[::1]:47812', '[::]:0', 'LISTEN', 0],
      ['[::1]:47842', '[::1]:47812', 'FIN_WAIT_2', 100],
      ['[::1]:47812', '[::1]:47842', 'CLOSE_WAIT', 1],
      ['[::1]:47802', '[::1]:58994', 'TIME_WAIT', 0], // left over from the first fixture script
    ]);
  });

  it('decodes addresses word by word', () => {
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('0101A8C0')).toBe('192.168.1.1');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(decodeProcAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
  });

  it('names the line of a malformed row and a wrong family', () => {
    expect(() => parseProcNetTcp('  sl  local_address\n   0: garbage\n', 4)).toThrow(ProcNetTcpParseError);
    expect(() => parseProcNetTcp('  sl  local_address\n   0: garbage\n', 4)).toThrow(/line 2/);
    expect(() => parseProcNetTcp(fixture('proc-net-tcp6.txt'), 4)).toThrow(/32-digit|8-digit|family 6/);
    expect(() => parseProcNetTcp('   0: 0100007F:0016 00000000:0000 0F 00000000:00000000 00:00000000 00000000     0        0 1 1', 4)).toThrow(
      /unknown kernel state number 0x0F/,
    );
  });
});

describe('parseNetstatTan', () => {
  it('reads -tanpo rows with PID and timers (this machine)', () => {
    const { rows, skippedLines } = parseNetstatTan(fixture('netstat-tanpo-synsent.txt'));
    expect(skippedLines).toBe(3); // title, header, trailing empty line
    expect(rows).toHaveLength(9);
    expect(rows[2]).toMatchObject({
      family: 4,
      sendQ: 1,
      localAddress: '127.0.0.1',
      localPort: 49562,
      state: 'SYN_SENT',
      stateText: 'SYN_SENT',
      pid: 14419,
      program: 'python3',
      timer: { kind: 'on', remainingMs: 730, retransmits: 3, probes: 0 },
    });
    expect(rows[5]!.pid).toBeUndefined(); // "-": the accepted child has no owner process yet
    expect(rows[6]).toMatchObject({ family: 6, localAddress: '::1', localPort: 47812, foreignAddress: '::', foreignPort: undefined, state: 'LISTEN' });
    expect(rows[7]).toMatchObject({ state: 'FIN_WAIT_2', stateText: 'FIN_WAIT2', recvQ: 100 });
    expect(rows[8]).toMatchObject({ state: 'CLOSE_WAIT', recvQ: 1 });
  });

  it('reads timewait and keepalive timers and plain -tan', () => {
    const po = parseNetstatTan(fixture('netstat-tanpo.txt')).rows;
    expect(po.find((r) => r.state === 'TIME_WAIT')!.timer).toEqual({ kind: 'timewait', kindText: 'timewait', remainingMs: 57850, retransmits: 0, probes: 0 });
    expect(po.find((r) => r.timer?.kind === 'keepalive')!.timer!.remainingMs).toBe(7199450);
    const plain = parseNetstatTan(fixture('netstat-tan.txt')).rows;
    expect(plain).toHaveLength(18);
    expect(plain.every((r) => r.timer === undefined && r.pid === undefined)).toBe(true);
  });

  it('rejects an unknown state with the line number', () => {
    expect(() => parseNetstatTan('Proto Recv-Q\ntcp 0 0 1.2.3.4:5 6.7.8.9:10 BOGUS\n')).toThrow(TextParseError);
    expect(() => parseNetstatTan('Proto Recv-Q\ntcp 0 0 1.2.3.4:5 6.7.8.9:10 BOGUS\n')).toThrow(/line 2: unknown TCP state "BOGUS"/);
  });
});

describe('parseSsTan', () => {
  it('converts every print_ms_timer form to milliseconds', () => {
    expect(parseSsTimerTime('1.876ms')).toBe(1876); // Y.ZZZms means seconds
    expect(parseSsTimerTime('1.876sec')).toBe(1876);
    expect(parseSsTimerTime('048ms')).toBe(48);
    expect(parseSsTimerTime('744ms')).toBe(744);
    expect(parseSsTimerTime('59sec')).toBe(59000);
    expect(parseSsTimerTime('119min')).toBe(119 * 60000);
    expect(parseSsTimerTime('2min5sec')).toBe(125000);
    expect(parseSsTimerTime('')).toBe(0);
    expect(parseSsTimerTime('soon')).toBeUndefined();
  });

  it('reads -tanoi with info lines (this machine)', () => {
    const { rows } = parseSsTan(fixture('ss-tanoi-synsent.txt'));
    expect(rows).toHaveLength(9);
    const synSent = rows[2]!;
    expect(synSent).toMatchObject({
      state: 'SYN_SENT',
      sendQ: 1,
      localAddress: '127.0.0.1',
      localPort: 49562,
      timer: { name: 'on', expiresMs: 744, count: 3 },
    });
    expect(synSent.info).toMatchObject({ rtoMs: 1000, retrans: { current: 1, total: 3 }, unacked: 1, lost: 1 });
    expect(rows[0]).toMatchObject({ state: 'LISTEN', peerAddress: '0.0.0.0', peerPort: undefined, recvQ: 1 });
    expect(rows[7]).toMatchObject({ state: 'FIN_WAIT_2', localAddress: '::1', localPort: 47842, recvQ: 100 });
    expect(rows[1]!.info).toMatchObject({ rtoMs: 200, rttMs: 0.071, rttVarMs: 0.035 });
    expect(rows[1]!.info!.fields['send']).toBe('36891267606bps');
  });

  it('reads -tan and -tano (TIME-WAIT timers, keepalive, IPv6)', () => {
    const tan = parseSsTan(fixture('ss-tan.txt')).rows;
    expect(tan).toHaveLength(18);
    expect(tan.at(-1)).toMatchObject({ state: 'TIME_WAIT', localAddress: '::1', peerPort: 58994 });
    const tano = parseSsTan(fixture('ss-tano.txt')).rows;
    expect(tano.find((r) => r.timer?.name === 'keepalive')!.timer!.expiresMs).toBe(119 * 60000);
    expect(tano.filter((r) => r.timer?.name === 'timewait')).toHaveLength(10);
  });

  it('reads the reference doc rows, users:(...), mapped and wildcard addresses', () => {
    const text = [
      'State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
      'SYN-RECV   0      0          127.0.0.2:7002     127.0.0.1:34230 timer:(on,1.876ms,1)',
      'FIN-WAIT-2 0      0          127.0.0.1:55676    127.0.0.2:7005  timer:(timewait,59sec,0)',
      'ESTAB      0      0          127.0.0.1:34230    127.0.0.2:7002  users:(("python3",pid=9862,fd=3))',
      'ESTAB      0      0    [::ffff:1.2.3.4]:80     [::1]:5000 timer:(on,,2)',
      'UNCONN     0      0                  *:*           *:*',
    ].join('\n');
    const { rows } = parseSsTan(text);
    expect(rows[0]).toMatchObject({ state: 'SYN_RECEIVED', timer: { name: 'on', expiresMs: 1876, count: 1 } });
    expect(rows[1]!.timer).toEqual({ name: 'timewait', expiresMs: 59000, count: 0 });
    expect(rows[2]!.users).toBe('users:(("python3",pid=9862,fd=3))');
    expect(rows[3]).toMatchObject({ localAddress: '::ffff:1.2.3.4', localPort: 80, peerAddress: '::1', timer: { expiresMs: 0, count: 2 } });
    expect(rows[4]).toMatchObject({ state: 'CLOSED', localAddress: '*', localPort: undefined });
  });

  it('rejects a bad timer with the line number', () => {
    expect(() => parseSsTan('State Recv-Q\nESTAB 0 0 1.2.3.4:5 6.7.8.9:10 timer:(on,soon,1)')).toThrow(/line 2: timer time "soon"/);
  });
});
