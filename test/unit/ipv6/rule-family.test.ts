import { describe, expect, it } from 'vitest';
import { checkLabRules, type RestoreRunner } from '../../../src/faults/check-rules.js';
import { parseRule, placeholderAddresses, RuleError, ruleToolOf } from '../../../src/faults/iptables-rule.js';
import { matchCounterToRule, parseRuleCounters } from '../../../src/faults/rule-counters.js';
import { compileRule } from '../../../src/faults/rule-matcher.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import { labUsesIpv6, type Lab } from '../../../src/lab/model.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';

const V6 = { client: 'fd00:7463:706c:7::3', server: 'fd00:7463:706c:7::2' };
const V4 = { client: '198.18.7.3', server: '198.18.7.2' };

function reasonOf(text: string, hosts: Record<string, string>, family: 4 | 6): string {
  try {
    parseRule(text, hosts, { family });
  } catch (error) {
    if (error instanceof RuleError) return error.reason;
    throw error;
  }
  throw new Error(`expected "${text}" to be rejected`);
}

describe('rule family: iptables for 4, ip6tables for 6', () => {
  it('a family-6 rule resolves host names to IPv6 addresses and goes to ip6tables', () => {
    const rule = parseRule('-I INPUT -s client -p tcp --dport 8080 -j DROP', V6, { family: 6, comment: 'tcplab:r' });
    expect(rule.family).toBe(6);
    expect(rule.tool).toBe('ip6tables');
    expect(rule.argv).toStrictEqual([
      '-t',
      'filter',
      '-I',
      'INPUT',
      '-s',
      'fd00:7463:706c:7::3',
      '-p',
      'tcp',
      '--dport',
      '8080',
      '-j',
      'DROP',
      '-m',
      'comment',
      '--comment',
      'tcplab:r',
    ]);
    expect(parseRule('-I INPUT -s server/128 -j DROP', V6, { family: 6 }).spec).toStrictEqual(['-s', 'fd00:7463:706c:7::2/128', '-j', 'DROP']);
    expect(parseRule('ip6tables -A OUTPUT -d fd00::/8 -j ACCEPT', V6, { family: 6 }).argv).toStrictEqual([
      '-t',
      'filter',
      '-A',
      'OUTPUT',
      '-d',
      'fd00::/8',
      '-j',
      'ACCEPT',
    ]);
  });

  it('the default family is 4 and goes to iptables', () => {
    const rule = parseRule('-I INPUT -s client -j DROP', V4);
    expect([rule.family, rule.tool, rule.spec[1]]).toStrictEqual([4, 'iptables', '198.18.7.3']);
    expect(ruleToolOf(4)).toBe('iptables');
    expect(ruleToolOf(6)).toBe('ip6tables');
  });

  it('refuses an address of the other family, a prefix too long, and the other tool, with the remedy', () => {
    expect(reasonOf('-I INPUT -s fd00::3 -j DROP', V4, 4)).toMatch(/IPv6 address needs family: 6/);
    expect(reasonOf('-I INPUT -s 198.18.7.3 -j DROP', V6, 6)).toMatch(
      /neither a host of this lab nor an IPv6 address\/CIDR; an IPv4 address needs a rule without family: 6/,
    );
    expect(reasonOf('-I INPUT -s client/129 -j DROP', V6, 6)).toMatch(/prefix length 0-128/);
    expect(reasonOf('-I INPUT -s client/33 -j DROP', V4, 4)).toMatch(/prefix length 0-32/);
    expect(reasonOf('ip6tables -I INPUT -j DROP', V4, 4)).toMatch(/starts with ip6tables but is of family 4; add family: 6/);
    expect(reasonOf('iptables -I INPUT -j DROP', V6, 6)).toMatch(/starts with iptables but is of family 6/);
  });

  it('placeholders for load-time checks come from the documentation ranges of each family', () => {
    expect(placeholderAddresses(['a', 'b'], 4)).toStrictEqual({ a: '192.0.2.1', b: '192.0.2.2' });
    expect(placeholderAddresses(['a', 'b'], 6)).toStrictEqual({ a: '2001:db8::1', b: '2001:db8::2' });
  });

  it('iptables-restore validation replays each family with its own tool', async () => {
    const lab = loadLabText(
      `
title: rules of both families
description: x
hosts:
  client: {}
  server: {}
steps:
  - rule: { host: server, add: "-I INPUT -s client -p tcp --dport 8080 -j DROP", family: 6, name: v6 }
  - rule: { host: server, add: "-I INPUT -s client -p tcp --dport 8080 -j DROP", name: v4 }
  - unrule: { host: server, name: v6 }
`,
      '/tmp/rules6.yaml',
    );
    const calls: { tool: string; input: string }[] = [];
    const runner: RestoreRunner = { restore: (input, tool) => (calls.push({ tool, input }), Promise.resolve({ exitCode: 0, stderr: '' })) };
    expect(await checkLabRules(lab, runner)).toStrictEqual([]);
    expect(calls.map((c) => c.tool).sort()).toStrictEqual(['ip6tables', 'iptables']);
    const v6 = calls.find((c) => c.tool === 'ip6tables')!.input;
    expect(v6).toContain('-I INPUT -s 2001:db8::1 -p tcp --dport 8080 -j DROP -m comment --comment tcplab:v6');
    expect(v6).toContain('-D INPUT -s 2001:db8::1');
    expect(calls.find((c) => c.tool === 'iptables')!.input).toContain('-s 192.0.2.1 ');
  });

  it('a lab uses IPv6 exactly when a connect or a rule says family: 6', () => {
    const steps = (family?: 4 | 6): Lab['steps'] => [{ kind: 'connect', host: 'client', to: 'server', port: 80, conn: 'c', ...(family && { family }) }];
    expect(labUsesIpv6({ steps: steps() })).toBe(false);
    expect(labUsesIpv6({ steps: steps(4) })).toBe(false);
    expect(labUsesIpv6({ steps: steps(6) })).toBe(true);
    expect(labUsesIpv6({ steps: [{ kind: 'rule', host: 'server', name: 'r', text: '-I INPUT -j DROP', family: 6 }] })).toBe(true);
  });
});

describe('rule matcher and counters over IPv6 segments', () => {
  const seg: TcpSegment = {
    frame: 1,
    timeUs: 0,
    family: 6,
    src: 'fd00:7463:706c:7::3',
    dst: 'fd00:7463:706c:7::2',
    srcPort: 40000,
    dstPort: 8080,
    seq: 1,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 100,
    payloadLength: 0,
  };
  const matches = (spec: string, segment: TcpSegment): boolean => {
    const compiled = compileRule(spec.split(' '));
    if (!compiled.ok) throw new Error(`unsupported: ${compiled.unsupported.join(', ')}`);
    return compiled.matches(segment, {});
  };

  it('matches IPv6 addresses and prefixes, and never an address of the other family', () => {
    expect(matches('-s fd00:7463:706c:7::3 -p tcp --dport 8080 -j DROP', seg)).toBe(true);
    expect(matches('-s fd00:7463:706c:7::/64 -j DROP', seg)).toBe(true);
    expect(matches('-s fd00:7463:706c:8::/64 -j DROP', seg)).toBe(false);
    expect(matches('-s fd00::/8 -j DROP', seg)).toBe(true);
    expect(matches('-d fd00:7463:706c:7::3/128 -j DROP', seg)).toBe(false);
    expect(matches('-s 198.18.7.3 -j DROP', seg)).toBe(false);
    expect(matches('-s fd00::/8 -j DROP', { ...seg, family: 4, src: '198.18.7.3', dst: '198.18.7.2' })).toBe(false);
    expect(matches('-s 198.18.7.0/24 -j DROP', { ...seg, family: 4, src: '198.18.7.3', dst: '198.18.7.2' })).toBe(true);
  });

  it('finds the counter of a family-6 rule in ip6tables-save -c output, by comment and by spec', () => {
    const save = [
      '*filter',
      ':INPUT ACCEPT [10:800]',
      '[3:240] -A INPUT -s fd00:7463:706c:7::3/128 -p tcp -m tcp --dport 8080 -m comment --comment tcplab:drop6 -j DROP',
      '[1:80] -A INPUT -s fd00:7463:706c:7::3/128 -p tcp -m tcp --dport 9090 -j DROP',
      'COMMIT',
    ].join('\n');
    const counters = parseRuleCounters(save);
    const byComment = parseRule('-I INPUT -s client -p tcp --dport 8080 -j DROP', V6, { family: 6, comment: 'tcplab:drop6' });
    expect(matchCounterToRule(byComment, counters)?.pkts).toBe(3);
    const bySpec = parseRule('-I INPUT -s client -p tcp --dport 9090 -j DROP', V6, { family: 6 });
    expect(matchCounterToRule(bySpec, counters)?.pkts).toBe(1);
  });
});
