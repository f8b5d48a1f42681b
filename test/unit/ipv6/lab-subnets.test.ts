import { describe, expect, it } from 'vitest';
import { freeLabSubnets, hostAddress, hostAddress6, labSubnetsOf, SUBNET_POOL_SIZE } from '../../../src/run/lab-subnets.js';

describe('lab subnets: one IPv4 /24 and one ULA /64 per slot', () => {
  it('slot n is 198.18.0.0/15 /24 number n and the /64 with subnet ID n in fd00:7463:706c::/48', () => {
    expect(labSubnetsOf(0)).toStrictEqual({ subnet: '198.18.0.0/24', subnet6: 'fd00:7463:706c:0::/64' });
    expect(labSubnetsOf(257)).toStrictEqual({ subnet: '198.19.1.0/24', subnet6: 'fd00:7463:706c:101::/64' });
    expect(labSubnetsOf(511)).toStrictEqual({ subnet: '198.19.255.0/24', subnet6: 'fd00:7463:706c:1ff::/64' });
    expect(() => labSubnetsOf(512)).toThrow(RangeError);
    expect(() => labSubnetsOf(-1)).toThrow(RangeError);
  });

  it('every slot is distinct in both families and the IPv6 ones are ULA (fd00::/8)', () => {
    const slots = Array.from({ length: SUBNET_POOL_SIZE }, (_, n) => labSubnetsOf(n));
    expect(new Set(slots.map((s) => s.subnet)).size).toBe(SUBNET_POOL_SIZE);
    expect(new Set(slots.map((s) => s.subnet6)).size).toBe(SUBNET_POOL_SIZE);
    expect(slots.every((s) => /^fd[0-9a-f]{2}:/.test(s.subnet6) && s.subnet6.endsWith('/64'))).toBe(true);
  });

  it('skips a slot when either half is already used, in any spelling of the IPv6 prefix', () => {
    const used = ['198.18.5.0/24', 'FD00:7463:706C:0006:0000:0000:0000:0000/64', '172.17.0.0/16'];
    const free = freeLabSubnets(used, 4);
    expect(free.slice(0, 2).map((s) => s.subnet)).toStrictEqual(['198.18.4.0/24', '198.18.7.0/24']);
    expect(free).toHaveLength(SUBNET_POOL_SIZE - 2);
    expect(free.some((s) => s.subnet6 === 'fd00:7463:706c:6::/64' || s.subnet === '198.18.5.0/24')).toBe(false);
  });

  it('two runs that hold different slots can never share an IPv6 prefix (both halves come from n)', () => {
    const first = freeLabSubnets([], 42)[0]!;
    const second = freeLabSubnets([first.subnet], 42)[0]!;
    expect(second.subnet).not.toBe(first.subnet);
    expect(second.subnet6).not.toBe(first.subnet6);
  });

  it('wraps around the pool from the start slot', () => {
    expect(
      freeLabSubnets([], SUBNET_POOL_SIZE - 1)
        .slice(0, 2)
        .map((s) => s.subnet),
    ).toStrictEqual(['198.19.255.0/24', '198.18.0.0/24']);
  });

  it('host addresses: .2, .3 … and ::2, ::3 … (the bridge has .1 and ::1), IPv6 in RFC 5952 form', () => {
    expect(hostAddress('198.18.7.0/24', 0)).toBe('198.18.7.2');
    expect(hostAddress6('fd00:7463:706c:7::/64', 0)).toBe('fd00:7463:706c:7::2');
    expect(hostAddress6('fd00:7463:706c:1ff::/64', 9)).toBe('fd00:7463:706c:1ff::b');
    expect(() => hostAddress6('198.18.7.0/24', 0)).toThrow(/not an IPv6 subnet/);
  });
});
