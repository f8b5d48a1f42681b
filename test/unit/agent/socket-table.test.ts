import { describe, expect, it } from 'vitest';
import { canonicalEndpoint, collapseRepeatedRows, diffSocketRows, formatEndpoint, keyOfTuple, type SampledSocketRow } from '../../../src/agent/socket-table.js';

function row(overrides: Partial<SampledSocketRow>): SampledSocketRow {
  return {
    local: '10.0.0.2:80',
    remote: '10.0.0.3:40000',
    state: 'ESTABLISHED',
    timer: { kind: 0, expiresMs: 0, retransmits: 0 },
    txQueue: 0,
    rxQueue: 0,
    inode: 1234,
    ...overrides,
  };
}

describe('diffSocketRows', () => {
  it('reports new rows without a previous state', () => {
    const { events, current } = diffSocketRows(new Map(), [row({})], 1_000);
    expect(events).toEqual([
      {
        type: 'socket',
        timeUs: 1_000,
        local: '10.0.0.2:80',
        remote: '10.0.0.3:40000',
        state: 'ESTABLISHED',
        inode: 1234,
        timer: { kind: 0, expiresMs: 0, retransmits: 0 },
        txQueue: 0,
        rxQueue: 0,
      },
    ]);
    expect(current.size).toBe(1);
  });

  it('is silent when nothing but the timer countdown and queues changed', () => {
    const first = diffSocketRows(new Map(), [row({ timer: { kind: 1, expiresMs: 200, retransmits: 0 } })], 1);
    const second = diffSocketRows(first.current, [row({ timer: { kind: 1, expiresMs: 150, retransmits: 0 }, txQueue: 10 })], 2);
    expect(second.events).toEqual([]);
  });

  it('reports a state change with the previous state', () => {
    const first = diffSocketRows(new Map(), [row({})], 1);
    const second = diffSocketRows(first.current, [row({ state: 'CLOSE_WAIT', rxQueue: 1 })], 2);
    expect(second.events).toHaveLength(1);
    expect(second.events[0]).toMatchObject({ type: 'socket', state: 'CLOSE_WAIT', previous: 'ESTABLISHED', rxQueue: 1, timeUs: 2 });
  });

  it('reports each retransmission the kernel counts, in the same state', () => {
    const synSent = (retransmits: number): SampledSocketRow =>
      row({ local: '10.0.0.3:40000', remote: '10.0.0.2:80', state: 'SYN_SENT', timer: { kind: 1, expiresMs: 900, retransmits } });
    let table = diffSocketRows(new Map(), [synSent(0)], 1).current;
    const observed: number[] = [];
    for (const retransmits of [0, 1, 1, 2, 3]) {
      const { events, current } = diffSocketRows(table, [synSent(retransmits)], 2);
      table = current;
      for (const event of events) if (event.type === 'socket') observed.push(event.timer.retransmits);
    }
    expect(observed).toEqual([1, 2, 3]);
  });

  it('follows a request socket becoming a full socket on the same tuple (inode 0 → n)', () => {
    const first = diffSocketRows(new Map(), [row({ state: 'SYN_RECEIVED', inode: 0 })], 1);
    const second = diffSocketRows(first.current, [row({ state: 'ESTABLISHED', inode: 99 })], 2);
    expect(second.events).toEqual([expect.objectContaining({ state: 'ESTABLISHED', previous: 'SYN_RECEIVED', inode: 99 })]);
  });

  it('reports vanished rows as socket-gone with their last state, once two reads in a row miss them', () => {
    const listener = row({ local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN' });
    const first = diffSocketRows(new Map(), [row({ state: 'TIME_WAIT', inode: 0 }), listener], 1);
    const second = diffSocketRows(first.current, [listener], 5);
    expect(second.events).toEqual([]);
    const third = diffSocketRows(second.current, [listener], 10);
    expect(third.events).toEqual([{ type: 'socket-gone', timeUs: 10, local: '10.0.0.2:80', remote: '10.0.0.3:40000', state: 'TIME_WAIT' }]);
    expect(diffSocketRows(third.current, [listener], 15).events).toEqual([]);
  });

  it('names the connection when the lookup knows the tuple, also for socket-gone', () => {
    const lookup = (local: string, remote: string): string | undefined =>
      keyOfTuple(local, remote) === keyOfTuple('10.0.0.2:80', '10.0.0.3:40000') ? 'accepted-1' : undefined;
    const first = diffSocketRows(new Map(), [row({}), row({ local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN' })], 1, lookup);
    expect(first.events.map((e) => e.conn)).toEqual(['accepted-1', undefined]);
    expect('conn' in (first.events[1] ?? {})).toBe(false);
    const second = diffSocketRows(diffSocketRows(first.current, [], 2, lookup).current, [], 3, lookup);
    expect(second.events.map((e) => [e.type, e.conn])).toEqual([
      ['socket-gone', 'accepted-1'],
      ['socket-gone', undefined],
    ]);
  });

  it('reports a row again, same state, once its connection becomes known', () => {
    let known: string | undefined;
    const lookup = (): string | undefined => known;
    const first = diffSocketRows(new Map(), [row({})], 1, lookup);
    expect(first.events).toHaveLength(1);
    expect(first.events[0]?.conn).toBeUndefined();
    expect(diffSocketRows(first.current, [row({})], 2, lookup).events).toEqual([]);
    known = 'accepted-3';
    const second = diffSocketRows(first.current, [row({})], 3, lookup);
    expect(second.events).toEqual([expect.objectContaining({ type: 'socket', state: 'ESTABLISHED', previous: 'ESTABLISHED', conn: 'accepted-3' })]);
    // Once reported, the name sticks (also if the lookup forgets it) and is not reported again.
    known = undefined;
    const third = diffSocketRows(second.current, [row({ state: 'CLOSE_WAIT' })], 4, lookup);
    expect(third.events).toEqual([expect.objectContaining({ state: 'CLOSE_WAIT', conn: 'accepted-3' })]);
    expect(diffSocketRows(diffSocketRows(third.current, [], 5, lookup).current, [], 6, lookup).events).toEqual([
      expect.objectContaining({ type: 'socket-gone', conn: 'accepted-3' }),
    ]);
  });

  it('keeps two rows on one tuple apart (SO_REUSEPORT listeners)', () => {
    const listener = (inode: number): SampledSocketRow => row({ local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN', inode });
    const first = diffSocketRows(new Map(), [listener(1), listener(2)], 1);
    expect(first.events).toHaveLength(2);
    expect(diffSocketRows(first.current, [listener(1), listener(2)], 2).events).toEqual([]);
    const once = diffSocketRows(first.current, [listener(1)], 3);
    expect(diffSocketRows(once.current, [listener(1)], 4).events).toMatchObject([{ type: 'socket-gone', local: '0.0.0.0:80' }]);
  });

  // The syn-flood lab's server (run of 2026-11-21): the walk over a growing ehash showed 198.18.134.236:2251
  // three times in one read, then skipped it in the next; the old sampler reported it gone and back twice.
  it('collapses a request socket read several times in one walk into one row, without a false socket-gone', () => {
    const request = (expiresMs: number, retransmits = 0): SampledSocketRow =>
      row({ local: '198.18.134.2:8888', remote: '198.18.134.236:2251', state: 'SYN_RECEIVED', inode: 0, timer: { kind: 1, expiresMs, retransmits } });
    const other = row({ local: '198.18.134.2:8888', remote: '198.18.134.237:2251', state: 'SYN_RECEIVED', inode: 0 });
    const first = diffSocketRows(new Map(), [request(980), other, request(950), request(930)], 1);
    expect(first.events.map((e) => e.remote)).toEqual(['198.18.134.236:2251', '198.18.134.237:2251']);
    expect(first.current.size).toBe(2);
    expect(first.events[0]).toMatchObject({ timer: { expiresMs: 930 } }); // the row read last
    const skipped = diffSocketRows(first.current, [other], 2);
    expect(skipped.events).toEqual([]);
    const back = diffSocketRows(skipped.current, [request(880), other], 3);
    expect(back.events).toEqual([]);
    expect(back.current.get(keyOfTuple('198.18.134.2:8888', '198.18.134.236:2251'))?.missingSinceUs).toBeUndefined();
    // A retransmission seen after a skipped read is still one `socket` event with the previous state.
    const skippedAgain = diffSocketRows(back.current, [other], 4);
    const retransmitted = diffSocketRows(skippedAgain.current, [other, request(1990, 1)], 5);
    expect(retransmitted.events).toEqual([
      expect.objectContaining({ type: 'socket', previous: 'SYN_RECEIVED', timer: expect.objectContaining({ retransmits: 1 }) }),
    ]);
  });

  it('takes the later of two differing rows of one socket in one read (the walk read it after it changed)', () => {
    const first = diffSocketRows(new Map(), [row({ state: 'SYN_RECEIVED', inode: 0 }), row({ state: 'ESTABLISHED', inode: 77 })], 1);
    expect(first.events).toEqual([expect.objectContaining({ state: 'ESTABLISHED', inode: 77 })]);
    expect(first.events.some((e) => e.type === 'socket-gone')).toBe(false);
  });

  it('reports a row gone after two misses even when other rows repeat', () => {
    const a = row({ remote: '10.0.0.3:1' });
    const b = row({ remote: '10.0.0.3:2' });
    const first = diffSocketRows(new Map(), [a, b], 1);
    const second = diffSocketRows(first.current, [a, a], 2);
    const third = diffSocketRows(second.current, [a, a, a], 3);
    expect(second.events).toEqual([]);
    expect(third.events).toEqual([expect.objectContaining({ type: 'socket-gone', remote: '10.0.0.3:2' })]);
  });
});

describe('collapseRepeatedRows', () => {
  it('keeps SO_REUSEPORT listeners apart by inode and merges a repeated listener row', () => {
    const listener = (inode: number): SampledSocketRow => row({ local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN', inode });
    expect(collapseRepeatedRows([listener(1), listener(2), listener(1)]).map((r) => r.inode)).toEqual([1, 2]);
  });
});

describe('endpoints', () => {
  it('formats IPv4 plain and IPv6 bracketed', () => {
    expect(formatEndpoint('10.0.0.2', 80)).toBe('10.0.0.2:80');
    expect(formatEndpoint('::1', 443)).toBe('[::1]:443');
  });

  it('canonicalises IPv6 spellings so Node and /proc agree', () => {
    expect(canonicalEndpoint('[::1]:80')).toBe('[0000:0000:0000:0000:0000:0000:0000:0001]:80');
    expect(canonicalEndpoint('[0:0:0:0:0:0:0:1]:80')).toBe(canonicalEndpoint('[::1]:80'));
    expect(canonicalEndpoint('[FE80::1%eth0]:22')).toBe('[fe80:0000:0000:0000:0000:0000:0000:0001]:22');
    expect(canonicalEndpoint('[2001:db8::]:1')).toBe('[2001:0db8:0000:0000:0000:0000:0000:0000]:1');
    expect(canonicalEndpoint('[::ffff:10.0.0.2]:80')).toBe('10.0.0.2:80');
    expect(canonicalEndpoint('[0:0:0:0:0:ffff:a00:2]:80')).toBe('10.0.0.2:80');
    expect(canonicalEndpoint('10.0.0.2:80')).toBe('10.0.0.2:80');
  });

  it('leaves malformed endpoints unchanged', () => {
    expect(canonicalEndpoint('[1::2::3]:80')).toBe('[1::2::3]:80');
    expect(canonicalEndpoint('[1:2:3:4:5:6:7:8:9]:80')).toBe('[1:2:3:4:5:6:7:8:9]:80');
    expect(canonicalEndpoint('[::zz]:80')).toBe('[::zz]:80');
  });
});
