import { describe, expect, it } from 'vitest';
import { TcpFlag, type IcmpMessage, type TcpSegment } from '../../../src/observe/packet.js';
import { compileRule, countOnlySpec, protocolOf, type RulePacket } from '../../../src/faults/rule-matcher.js';

const base: TcpSegment = {
  frame: 1,
  timeUs: 0,
  family: 4,
  src: '10.0.0.3',
  dst: '10.0.0.2',
  srcPort: 40000,
  dstPort: 8888,
  seq: 1,
  ack: 0,
  flags: TcpFlag.SYN,
  window: 100,
  payloadLength: 0,
};
const seg = (over: Partial<TcpSegment>): TcpSegment => ({ ...base, ...over });

function matches(spec: string, segment: RulePacket, where = {}): boolean {
  const compiled = compileRule(spec.split(' '));
  if (!compiled.ok) throw new Error(`unsupported: ${compiled.unsupported.join(', ')}`);
  return compiled.matches(segment, where);
}

describe('compileRule', () => {
  it('matches protocol, address, prefix and port', () => {
    expect(matches('-s 10.0.0.3/32 -p tcp -m tcp --dport 8888 -j DROP', base)).toBe(true);
    expect(matches('-s 10.0.0.0/24 -p tcp --dport 8888 -j DROP', base)).toBe(true);
    expect(matches('-s 10.0.1.0/24 -p tcp --dport 8888 -j DROP', base)).toBe(false);
    expect(matches('-d 10.0.0.2 -p tcp --dport 8889 -j DROP', base)).toBe(false);
    expect(matches('-p tcp --sport 39000:41000 -j DROP', base)).toBe(true);
    expect(matches('-p tcp --sport 41000: -j DROP', base)).toBe(false);
    expect(matches('-p udp -j DROP', base)).toBe(false);
    expect(matches('-s 10.0.0.9,10.0.0.3 -j DROP', base)).toBe(true);
  });

  it('--syn is SYN set with ACK, RST and FIN clear; --tcp-flags compares under the mask', () => {
    expect(matches('-p tcp --syn -j DROP', base)).toBe(true);
    expect(matches('-p tcp --syn -j DROP', seg({ flags: TcpFlag.SYN | TcpFlag.ACK }))).toBe(false);
    expect(matches('-p tcp --tcp-flags SYN,ACK SYN,ACK -j DROP', seg({ flags: TcpFlag.SYN | TcpFlag.ACK }))).toBe(true);
    expect(matches('-p tcp --tcp-flags SYN,ACK SYN,ACK -j DROP', base)).toBe(false);
    expect(matches('-p tcp --tcp-flags ALL FIN,ACK -j DROP', seg({ flags: TcpFlag.FIN | TcpFlag.ACK }))).toBe(true);
    expect(matches('-p tcp --tcp-flags ALL FIN,ACK -j DROP', seg({ flags: TcpFlag.FIN | TcpFlag.ACK | TcpFlag.PSH }))).toBe(false);
    expect(matches('-p tcp --tcp-flags RST RST -j REJECT --reject-with tcp-reset', seg({ flags: TcpFlag.RST }))).toBe(true);
  });

  it('handles negation and interfaces (eth0 by default, + wildcard)', () => {
    expect(matches('! -s 10.0.0.3 -p tcp -j DROP', base)).toBe(false);
    expect(matches('-p tcp ! --syn -j DROP', seg({ flags: TcpFlag.ACK }))).toBe(true);
    expect(matches('-i eth0 -p tcp -j DROP', base)).toBe(true);
    expect(matches('-i eth+ -p tcp -j DROP', base)).toBe(true);
    expect(matches('-i eth1 -p tcp -j DROP', base)).toBe(false);
    expect(matches('-i eth1 -p tcp -j DROP', base, { inInterface: 'eth1' })).toBe(true);
  });

  it('ignores IPv6 segments for IPv4 address matches and reads the target', () => {
    expect(matches('-s 10.0.0.3 -j DROP', seg({ family: 6, src: 'fd00::3' }))).toBe(false);
    const compiled = compileRule('-p tcp -m comment --comment tcplab:x -j REJECT --reject-with tcp-reset'.split(' '));
    expect(compiled.ok && compiled.target).toBe('REJECT');
  });

  it('refuses options it cannot evaluate instead of guessing', () => {
    const compiled = compileRule('-p tcp -m owner --uid-owner 0 -j DROP'.split(' '));
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.unsupported).toContain('-m owner');
    expect(compileRule('-p tcp -m conntrack --ctstate INVALID -j DROP'.split(' ')).ok).toBe(false);
    expect(compileRule('-p icmp --icmp-type no-such-type -j DROP'.split(' ')).ok).toBe(false);
    expect(compileRule('-s not-an-address -j DROP'.split(' ')).ok).toBe(false);
  });

  it('returns hidden-state matches (-m statistic, -m limit) as unpredictable, with their options, and matches the rest', () => {
    const compiled = compileRule('-p tcp -m statistic --mode random --probability 0.5 --dport 8888 -j DROP'.split(' '));
    if (!compiled.ok) throw new Error(compiled.unsupported.join());
    expect(compiled.unpredictable).toEqual([{ module: 'statistic', text: '-m statistic --mode random --probability 0.5', last: false }]);
    expect(compiled.matches(seg({ dstPort: 8888 }), {})).toBe(true);
    expect(compiled.matches(seg({ dstPort: 9999 }), {})).toBe(false);
    const limit = compileRule('-p tcp --tcp-flags SYN,ACK SYN,ACK -m limit --limit 1/hour --limit-burst 1 -j DROP'.split(' '));
    if (!limit.ok) throw new Error(limit.unsupported.join());
    expect(limit.unpredictable.map((u) => u.text)).toEqual(['-m limit --limit 1/hour --limit-burst 1']);
    expect(limit.target).toBe('DROP');
  });

  it('models -m conntrack --ctstate and -m state --state from the segment place (NEW / ESTABLISHED)', () => {
    for (const text of ['-p tcp --syn -m conntrack --ctstate ESTABLISHED -j DROP', '-p tcp --syn -m state --state ESTABLISHED -j DROP']) {
      const compiled = compileRule(text.split(' '));
      if (!compiled.ok) throw new Error(compiled.unsupported.join());
      expect(compiled.unpredictable).toEqual([]);
      const syn = seg({ flags: TcpFlag.SYN });
      expect(compiled.matches(syn, { ctState: 'ESTABLISHED' })).toBe(true);
      expect(compiled.matches(syn, { ctState: 'NEW' })).toBe(false);
      expect(compiled.matches(syn, {})).toBe(false);
    }
  });

  describe('ICMP messages (an ICMP error a rule drops never reaches TCP)', () => {
    const hostUnreachable: IcmpMessage = {
      frame: 9,
      timeUs: 0,
      family: 4,
      src: '10.0.0.3',
      dst: '10.0.0.2',
      type: 3,
      code: 1,
      quoted: { src: '10.0.0.2', dst: '10.0.0.3', srcPort: 8888, dstPort: 40000, seq: 7 },
    };
    const icmp = (over: Partial<IcmpMessage>): IcmpMessage => ({ ...hostUnreachable, ...over });

    it('-p selects by protocol: tcp takes segments only, icmp and its number ICMP only, all and no -p both', () => {
      for (const spec of ['-p icmp -j DROP', '-p 1 -j DROP', '-p ICMP -j DROP', '-p all -j DROP', '-s 10.0.0.3 -j DROP']) {
        expect(matches(spec, hostUnreachable)).toBe(true);
      }
      expect(matches('-p tcp -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p icmp -j DROP', base)).toBe(false);
      expect(matches('! -p tcp -j DROP', hostUnreachable)).toBe(true);
      expect(matches('-p udp -j DROP', hostUnreachable)).toBe(false);
      // ICMPv6 is a protocol of its own: -p icmpv6 takes no IPv4 message, -p icmp no IPv6 one.
      expect(matches('-p icmpv6 -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p ipv6-icmp -j DROP', icmp({ family: 6, src: 'fd00::3', dst: 'fd00::2', type: 1, code: 3 }))).toBe(true);
      expect(matches('-p icmp -j DROP', icmp({ family: 6, src: 'fd00::3', dst: 'fd00::2', type: 1, code: 3 }))).toBe(false);
    });

    it('--icmp-type takes the names iptables 1.8.9 lists, type/code and a bare type for every code', () => {
      expect(matches('-p icmp --icmp-type host-unreachable -j DROP', hostUnreachable)).toBe(true);
      expect(matches('-p icmp --icmp-type Host-Unreachable -j DROP', hostUnreachable)).toBe(true);
      expect(matches('-p icmp --icmp-type port-unreachable -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p icmp -m icmp --icmp-type 3/1 -j DROP', hostUnreachable)).toBe(true);
      expect(matches('-p icmp --icmp-type 3/10 -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p icmp --icmp-type destination-unreachable -j DROP', icmp({ code: 13 }))).toBe(true);
      expect(matches('-p icmp --icmp-type 3 -j DROP', icmp({ code: 13 }))).toBe(true);
      expect(matches('-p icmp --icmp-type host-prohibited -j DROP', icmp({ code: 10 }))).toBe(true);
      expect(matches('-p icmp --icmp-type ttl-exceeded -j DROP', icmp({ type: 11, code: 0 }))).toBe(true);
      expect(matches('-p icmp --icmp-type any -j DROP', icmp({ type: 12, code: 0 }))).toBe(true);
      expect(matches('-p icmp ! --icmp-type 3 -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p icmp ! --icmp-type echo-request -j DROP', hostUnreachable)).toBe(true);
      const v6 = icmp({ family: 6, src: 'fd00::3', dst: 'fd00::2', type: 1, code: 3 });
      expect(matches('-p icmpv6 -m icmp6 --icmpv6-type address-unreachable -j DROP', v6)).toBe(true);
      expect(matches('-p icmpv6 --icmpv6-type port-unreachable -j DROP', v6)).toBe(false);
      expect(matches('-p icmpv6 --icmpv6-type 1 -j DROP', v6)).toBe(true);
    });

    it('TCP header tests never match an ICMP message; addresses and ctstate RELATED do', () => {
      expect(matches('--syn -j DROP', hostUnreachable)).toBe(false);
      expect(matches('--tcp-flags SYN,ACK SYN,ACK -j DROP', hostUnreachable)).toBe(false);
      expect(matches('--dport 8888 -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-s 10.0.0.9 -p icmp -j DROP', hostUnreachable)).toBe(false);
      expect(matches('-p icmp -m conntrack --ctstate RELATED -j DROP', hostUnreachable, { ctState: 'RELATED' })).toBe(true);
      expect(matches('-p icmp -m state --state ESTABLISHED,RELATED -j DROP', hostUnreachable, { ctState: 'RELATED' })).toBe(true);
      expect(matches('-p icmp -m conntrack --ctstate ESTABLISHED -j DROP', hostUnreachable, { ctState: 'RELATED' })).toBe(false);
      expect(matches('-p icmp -m conntrack --ctstate RELATED -j DROP', hostUnreachable, {})).toBe(false);
    });

    it('protocolOf() names what -p selects', () => {
      expect(protocolOf(['-p', 'tcp'])).toBe('tcp');
      expect(protocolOf(['-p', '1'])).toBe('icmp4');
      expect(protocolOf(['-p', '58'])).toBe('icmp6');
      expect(protocolOf(['-p', 'udp'])).toBe('other');
      expect(protocolOf(['!', '-p', 'tcp'])).toBeUndefined();
      expect(protocolOf(['-s', '10.0.0.1'])).toBeUndefined();
    });
  });
});

describe('countOnlySpec(): the count-only copy unrule leaves in a rule’s place', () => {
  const words = (text: string): string[] => text.split(' ');

  it('keeps the deterministic matches and drops the target, its options and the comment', () => {
    expect(countOnlySpec(words('-p tcp --dport 8888 --syn -j REJECT --reject-with tcp-reset -m comment --comment tcplab:x'))).toEqual(
      words('-p tcp --dport 8888 --syn'),
    );
  });

  it('drops hidden-state matches with their options, wherever they stand (a new one would keep its own counter)', () => {
    expect(countOnlySpec(words('-p tcp -m statistic --mode nth --every 3 --packet 0 --dport 8888 -j DROP -m comment --comment tcplab:x'))).toEqual(
      words('-p tcp --dport 8888'),
    );
    expect(countOnlySpec(words('-s 10.0.0.3 -m limit --limit 1/s --limit-burst 1 -p tcp --tcp-flags FIN FIN -j DROP'))).toEqual(
      words('-s 10.0.0.3 -p tcp --tcp-flags FIN FIN'),
    );
  });
});
