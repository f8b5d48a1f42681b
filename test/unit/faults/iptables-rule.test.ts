import { describe, expect, it } from 'vitest';
import { RuleError, parseRule } from '../../../src/faults/iptables-rule.js';
import { splitShellWords } from '../../../src/faults/split-shell-words.js';

const HOSTS = { client: '172.20.0.3', server: '172.20.0.2' };

function reasonOf(text: string): string {
  try {
    parseRule(text, HOSTS);
  } catch (error) {
    if (error instanceof RuleError) return error.reason;
    throw error;
  }
  throw new Error(`expected "${text}" to be rejected`);
}

describe('parseRule', () => {
  it('parses the seed rule with a host name as the source', () => {
    const rule = parseRule('-I INPUT -s client -p tcp --dport 8888 -j DROP', HOSTS, { comment: 'tcplab:drop-syn' });
    expect(rule).toStrictEqual({
      family: 4,
      tool: 'iptables',
      table: 'filter',
      chain: 'INPUT',
      position: 'insert',
      spec: ['-s', '172.20.0.3', '-p', 'tcp', '--dport', '8888', '-j', 'DROP', '-m', 'comment', '--comment', 'tcplab:drop-syn'],
      argv: ['-t', 'filter', '-I', 'INPUT', '-s', '172.20.0.3', '-p', 'tcp', '--dport', '8888', '-j', 'DROP', '-m', 'comment', '--comment', 'tcplab:drop-syn'],
      deleteArgv: [
        '-t',
        'filter',
        '-D',
        'INPUT',
        '-s',
        '172.20.0.3',
        '-p',
        'tcp',
        '--dport',
        '8888',
        '-j',
        'DROP',
        '-m',
        'comment',
        '--comment',
        'tcplab:drop-syn',
      ],
      matchDescription: 'filter/INPUT: -s 172.20.0.3 -p tcp --dport 8888 -m comment --comment tcplab:drop-syn → DROP',
    });
  });

  it('keeps literal addresses, handles negation, /32, long options, lists, a rule number, -t and a leading "iptables"', () => {
    const rule = parseRule('iptables -t raw -I OUTPUT 2 ! --destination server/32 --source 10.0.0.0/24,client -p tcp -j DROP', HOSTS);
    expect(rule.table).toBe('raw');
    expect(rule.ruleNumber).toBe(2);
    expect(rule.argv).toStrictEqual([
      '-t',
      'raw',
      '-I',
      'OUTPUT',
      '2',
      '!',
      '--destination',
      '172.20.0.2/32',
      '--source',
      '10.0.0.0/24,172.20.0.3',
      '-p',
      'tcp',
      '-j',
      'DROP',
    ]);
    expect(rule.deleteArgv).toStrictEqual([
      '-t',
      'raw',
      '-D',
      'OUTPUT',
      '!',
      '--destination',
      '172.20.0.2/32',
      '--source',
      '10.0.0.0/24,172.20.0.3',
      '-p',
      'tcp',
      '-j',
      'DROP',
    ]);
    expect(parseRule('-A INPUT -s ! client -j ACCEPT', HOSTS).spec).toStrictEqual(['!', '-s', '172.20.0.3', '-j', 'ACCEPT']);
  });

  it('splits quotes and backslashes like a shell, without a shell', () => {
    const rule = parseRule(`-A INPUT -p tcp --tcp-flags 'SYN,ACK' SYN -m comment --comment "a b;c" -j LOG --log-prefix it\\'s\\ here`, HOSTS);
    expect(rule.position).toBe('append');
    expect(rule.spec).toStrictEqual([
      '-p',
      'tcp',
      '--tcp-flags',
      'SYN,ACK',
      'SYN',
      '-m',
      'comment',
      '--comment',
      'a b;c',
      '-j',
      'LOG',
      '--log-prefix',
      "it's here",
    ]);
    expect(rule.matchDescription).toBe("filter/INPUT: -p tcp --tcp-flags SYN,ACK SYN -m comment --comment a b;c --log-prefix it's here → LOG");
  });

  it('allows nat with allowed targets and any interface name', () => {
    expect(parseRule('-t nat -A POSTROUTING -o eth1 -j ACCEPT', HOSTS).argv).toStrictEqual(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth1', '-j', 'ACCEPT']);
  });

  it.each([
    ['-I INPUT -j DROP; iptables -F', 'is shell syntax (a command separator)'],
    ['-I INPUT -j DROP | tee x', 'is shell syntax (a pipe)'],
    ['-I INPUT -j DROP && true', 'is shell syntax (a background/and operator)'],
    ['-I INPUT -s $(hostname) -j DROP', 'is shell syntax (a shell expansion)'],
    ['-I INPUT -s "`hostname`" -j DROP', 'is shell syntax (command substitution)'],
    ['-I INPUT -j DROP > /dev/null', 'is shell syntax (a redirection)'],
  ])('refuses shell syntax: %s', (text, fragment) => {
    expect(reasonOf(text)).toContain(fragment);
  });

  it('gives exact reasons for the other rejections', () => {
    expect(reasonOf('-D INPUT -j DROP')).toBe(
      '-D (delete) is not allowed: a rule step only adds a rule with -I or -A; rules are removed with an `unrule` step (and every rule is removed when the run ends)',
    );
    expect(reasonOf('-F')).toContain('-F (flush) is not allowed');
    expect(reasonOf('-P INPUT DROP')).toContain('-P (policy) is not allowed');
    expect(reasonOf('-N mine')).toContain('-N (new-chain) is not allowed');
    expect(reasonOf('-p tcp -j DROP')).toBe('missing -I CHAIN or -A CHAIN; a rule step adds one rule, e.g. "-I INPUT -p tcp --dport 8888 -j DROP"');
    expect(reasonOf('-I INPUT -s sever -j DROP')).toBe('"sever" is neither a host of this lab nor an IPv4 address/CIDR; hosts: client, server');
    expect(reasonOf('-I INPUT -s 300.1.1.1 -j DROP')).toContain('"300.1.1.1" is neither a host');
    expect(reasonOf('-t nat -A PREROUTING -p tcp -j DNAT --to-destination 8.8.8.8')).toBe(
      "target DNAT rewrites the destination address; lab traffic must stay between the lab's hosts, so use DROP, REJECT, ACCEPT, LOG or NFQUEUE",
    );
    for (const target of ['SNAT', 'MASQUERADE', 'REDIRECT', 'TEE', 'NETMAP'])
      expect(reasonOf(`-t nat -A POSTROUTING -j ${target}`)).toMatch(new RegExp(`^target ${target} `));
    expect(reasonOf('-t security -A INPUT -j DROP')).toBe('unknown table "security"; use filter, raw, mangle or nat');
    expect(reasonOf('-t raw -A INPUT -j DROP')).toBe(
      'chain "INPUT" is not a built-in chain of table raw; use one of PREROUTING, OUTPUT (rule steps cannot create chains)',
    );
    expect(reasonOf('-I INPUT -j DROP -A OUTPUT')).toBe('a rule has exactly one -I or -A; put each rule in its own rule step');
    expect(reasonOf('-I INPUT --comment "open')).toBe('unclosed " quote; close it');
  });

  it('names the rule in the error message', () => {
    expect(() => parseRule('-X', HOSTS)).toThrow('rule "-X": -X (delete-chain) is not allowed');
  });
});

describe('splitShellWords', () => {
  it('joins adjacent quoted parts into one word and keeps empty quoted words', () => {
    expect(splitShellWords(`a"b c"'d' "" e\\ f`)).toStrictEqual({ ok: true, words: ['ab cd', '', 'e f'] });
  });
  it('allows shell characters inside single quotes', () => {
    expect(splitShellWords(`'$(x); | &'`)).toStrictEqual({ ok: true, words: ['$(x); | &'] });
  });
});
