import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRule } from '../../../src/faults/iptables-rule.js';
import { matchCounterToRule, normaliseSpec, parseListedCounters, parseRuleCounters, parseSavedCounters } from '../../../src/faults/rule-counters.js';

// Captured from iptables v1.8.9 (nf_tables) in a throw-away network namespace (`unshare -n`).
const fixture = (name: string): string => readFileSync(`test/fixtures/iptables/${name}`, 'utf8');
const HOSTS = { client: '127.0.0.1', server: '127.0.0.2' };

describe('parseSavedCounters (iptables-save -c)', () => {
  it('reads every rule with table, chain, position, counters, spec and comment', () => {
    const rows = parseSavedCounters(fixture('save-c.txt'));
    expect(rows).toStrictEqual([
      {
        format: 'save',
        table: 'raw',
        chain: 'OUTPUT',
        num: 1,
        pkts: 1,
        bytes: 60,
        spec: ['-p', 'tcp', '-m', 'statistic', '--mode', 'random', '--probability', '0.50000000000', '-j', 'DROP'],
      },
      { format: 'save', table: 'filter', chain: 'INPUT', num: 1, pkts: 0, bytes: 0, spec: ['!', '-d', '10.0.0.0/24', '-p', 'udp', '-j', 'ACCEPT'] },
      {
        format: 'save',
        table: 'filter',
        chain: 'INPUT',
        num: 2,
        pkts: 1,
        bytes: 60,
        spec: ['-s', '127.0.0.1/32', '-p', 'tcp', '-m', 'tcp', '--dport', '8888', '-m', 'comment', '--comment', 'tcplab:drop-syn', '-j', 'DROP'],
        comment: 'tcplab:drop-syn',
      },
      {
        format: 'save',
        table: 'filter',
        chain: 'INPUT',
        num: 3,
        pkts: 0,
        bytes: 0,
        spec: ['-p', 'tcp', '-m', 'tcp', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
      },
      { format: 'save', table: 'filter', chain: 'INPUT', num: 4, pkts: 0, bytes: 0, spec: ['-p', 'icmp', '-j', 'ACCEPT'] },
    ]);
    expect(parseRuleCounters(fixture('save-c.txt'))).toStrictEqual(rows);
  });
});

describe('parseListedCounters (iptables -L -v -n -x --line-numbers)', () => {
  it('reads rows, negated addresses, extras and comments', () => {
    const rows = parseListedCounters(fixture('list-filter-input.txt'));
    expect(rows.map((r) => [r.num, r.pkts, r.bytes, r.target, r.prot, r.destination, r.comment ?? null])).toStrictEqual([
      [1, 0, 0, 'ACCEPT', '17', '!10.0.0.0/24', null],
      [2, 1, 60, 'DROP', '6', '0.0.0.0/0', 'tcplab:drop-syn'],
      [3, 0, 0, 'REJECT', '6', '0.0.0.0/0', null],
      [4, 0, 0, 'ACCEPT', '1', '0.0.0.0/0', null],
    ]);
    expect(rows[1]).toStrictEqual({
      format: 'list',
      chain: 'INPUT',
      num: 2,
      pkts: 1,
      bytes: 60,
      target: 'DROP',
      prot: '6',
      opt: '--',
      in: '*',
      out: '*',
      source: '127.0.0.1',
      destination: '0.0.0.0/0',
      extra: 'tcp dpt:8888 /* tcplab:drop-syn */',
      comment: 'tcplab:drop-syn',
    });
    expect(parseRuleCounters(fixture('list-filter-input.txt'))).toStrictEqual(rows);
  });

  it('reads the raw table listing (statistic match)', () => {
    expect(parseListedCounters(fixture('list-raw-output.txt')).map((r) => [r.chain, r.num, r.pkts, r.bytes, r.target, r.extra])).toStrictEqual([
      ['OUTPUT', 1, 1, 60, 'DROP', 'statistic mode random probability 0.50000000000'],
    ]);
  });

  it('handles a rule without a target and an interface column', () => {
    const rows = parseListedCounters(fixture('list-filter-output-no-target.txt'));
    expect(rows.map((r) => [r.num, r.target, r.prot, r.out, r.extra])).toStrictEqual([
      [1, '', '6', '*', 'tcp spt:8888'],
      [2, 'ACCEPT', '6', 'lo', 'tcp flags:0x12/0x12'],
    ]);
  });

  it('reads the older legacy layout (protocol names, large counters)', () => {
    const text = [
      'Chain INPUT (policy ACCEPT 5121 packets, 300012 bytes)',
      'num      pkts      bytes target     prot opt in     out     source               destination         ',
      '1          7      420 DROP       tcp  --  *      *       172.20.0.3           0.0.0.0/0            tcp dpt:8888',
      '2    1234567 98765432 ACCEPT     all  --  eth0   *       0.0.0.0/0            0.0.0.0/0           ',
    ].join('\n');
    expect(parseListedCounters(text).map((r) => [r.num, r.pkts, r.bytes, r.target, r.prot, r.in, r.source, r.extra])).toStrictEqual([
      [1, 7, 420, 'DROP', 'tcp', '*', '172.20.0.3', 'tcp dpt:8888'],
      [2, 1234567, 98765432, 'ACCEPT', 'all', 'eth0', '0.0.0.0/0', ''],
    ]);
  });
});

describe('matchCounterToRule', () => {
  const saved = parseSavedCounters(fixture('save-c.txt'));
  it('finds a rule by its comment, in save and list output', () => {
    const rule = parseRule('-I INPUT -s client -p tcp --dport 8888 -j DROP', HOSTS, { comment: 'tcplab:drop-syn' });
    expect(matchCounterToRule(rule, saved)).toMatchObject({ num: 2, pkts: 1, bytes: 60 });
    expect(matchCounterToRule(rule, parseListedCounters(fixture('list-filter-input.txt')))).toMatchObject({ num: 2, pkts: 1 });
    const other = parseRule('-I INPUT -j DROP', HOSTS, { comment: 'tcplab:other' });
    expect(matchCounterToRule(other, saved)).toBeUndefined();
  });

  it('finds a rule without comment by its normalised spec (what iptables-save rewrites), and not in another table', () => {
    const statistic = parseRule('-t raw -A OUTPUT -p tcp -m statistic --mode random --probability 0.5 -j DROP', HOSTS);
    expect(matchCounterToRule(statistic, saved)).toMatchObject({ table: 'raw', num: 1, pkts: 1 });
    const flags = parseRule('-A INPUT --protocol tcp --tcp-flags SYN,ACK SYN,ACK --jump REJECT --reject-with tcp-reset', HOSTS);
    expect(matchCounterToRule(flags, saved)).toMatchObject({ num: 3 });
    const negated = parseRule('-A INPUT -p udp ! -d 10.0.0.0/24 -j ACCEPT', HOSTS);
    expect(matchCounterToRule(negated, saved)).toMatchObject({ num: 1 });
    const wrongTable = parseRule('-t mangle -A OUTPUT -p tcp -m statistic --mode random --probability 0.5 -j DROP', HOSTS);
    expect(matchCounterToRule(wrongTable, saved)).toBeUndefined();
    const different = parseRule('-A INPUT -p tcp --dport 9999 -j DROP', HOSTS);
    expect(matchCounterToRule(different, saved)).toBeUndefined();
  });

  it('normalises /32, implicit -m tcp and option order', () => {
    expect(normaliseSpec(['-s', '1.2.3.4', '-p', 'tcp', '--dport', '80', '-j', 'DROP'])).toBe(
      normaliseSpec(['-p', 'tcp', '-s', '1.2.3.4/32', '-m', 'tcp', '--dport', '80', '-j', 'DROP']),
    );
    expect(normaliseSpec(['!', '-s', '1.2.3.4'])).not.toBe(normaliseSpec(['-s', '1.2.3.4']));
  });
});
