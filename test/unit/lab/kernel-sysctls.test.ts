import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TCP_SYSCTL_RANGES, checkLabSysctls, checkSysctl, type SysctlFacts } from '../../../src/lab/kernel-sysctls.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import { parseSysctlProbe } from '../../../src/runtime/sysctl-facts.js';

// Read from the lab image on this project's machine (Linux 6.18) by readSysctlFacts; see test/fixtures/sysctl-facts.
const FACTS = JSON.parse(readFileSync('test/fixtures/sysctl-facts/lab-image-linux-6.18.json', 'utf8')) as SysctlFacts;

describe('sysctl values against what the kernel accepts', () => {
  it('tcp_syn_retries: abc, 1000 and 0 are refused; 1, 3 and 127 accepted (1..MAX_TCP_SYNCNT)', () => {
    expect(checkSysctl('net.ipv4.tcp_syn_retries', 'abc', FACTS)).toMatch(/takes a whole number, received "abc"; its default here is "6"/);
    expect(checkSysctl('net.ipv4.tcp_syn_retries', '1000', FACTS)).toMatch(/takes 1\.\.127 \(net\/ipv4\/sysctl_net_ipv4\.c\), received "1000"/);
    expect(checkSysctl('net.ipv4.tcp_syn_retries', '0', FACTS)).toMatch(/takes 1\.\.127/);
    for (const ok of ['1', '3', '127', ' 3 ']) expect(checkSysctl('net.ipv4.tcp_syn_retries', ok, FACTS)).toBeUndefined();
  });

  it('u8 sysctls without bounds take 0..255; bounded ones their range', () => {
    expect(checkSysctl('net.ipv4.tcp_synack_retries', '255', FACTS)).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_synack_retries', '256', FACTS)).toMatch(/takes 0\.\.255/);
    expect(checkSysctl('net.ipv4.tcp_synack_retries', '-1', FACTS)).toMatch(/takes 0\.\.255/);
    expect(checkSysctl('net.ipv4.tcp_tw_reuse', '3', FACTS)).toMatch(/takes 0\.\.2/);
    expect(checkSysctl('net.ipv4.tcp_syn_linear_timeouts', '128', FACTS)).toMatch(/takes 0\.\.127/);
    expect(checkSysctl('net.ipv4.tcp_adv_win_scale', '-31', FACTS)).toBeUndefined();
  });

  it('seconds converted to jiffies are bound by INT_MAX/HZ (HZ=1000)', () => {
    expect(checkSysctl('net.ipv4.tcp_fin_timeout', '2147483', FACTS)).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_fin_timeout', '2147484', FACTS)).toMatch(/takes -2147483\.\.2147483/);
  });

  it('vectors take up to their count of numbers, each in range', () => {
    expect(checkSysctl('net.ipv4.tcp_rmem', '4096 131072 6291456', FACTS)).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_rmem', '1 2 3 4', FACTS)).toMatch(/takes up to 3 whole numbers separated by spaces, received "1 2 3 4"/);
    expect(checkSysctl('net.ipv4.tcp_rmem', '0 2 3', FACTS)).toMatch(/takes 1\.\.2147483647/);
  });

  it('keys outside the table: numbers where the kernel has a number, text where it has text', () => {
    expect(checkSysctl('net.core.somaxconn', 'lots', FACTS)).toMatch(/takes a whole number/);
    expect(checkSysctl('net.core.somaxconn', '1024', FACTS)).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_congestion_control', 'cubic', FACTS)).toBeUndefined();
  });

  it('an unknown key is refused with the closest name; a read-only key is refused', () => {
    expect(checkSysctl('net.ipv4.tcp_syn_retry', '3', FACTS)).toMatch(
      /the kernel has no sysctl "net\.ipv4\.tcp_syn_retry" .*\(did you mean "net\.ipv4\.tcp_syn_retries"\?\)/,
    );
    expect(checkSysctl('net.ipv4.tcp_available_congestion_control', 'reno', FACTS)).toMatch(/is read-only; remove it/);
  });

  it('interface keys of eth0 are checked against conf.default (the probe has no eth0)', () => {
    expect(checkSysctl('net.ipv4.conf.eth0.rp_filter', '2', FACTS)).toBeUndefined();
    expect(checkSysctl('net.ipv4.conf.eth0.rp_filter', 'strict', FACTS)).toMatch(/takes a whole number/);
  });

  it('checkLabSysctls points each problem at hosts.HOST.sysctls.KEY', () => {
    const lab = loadLabText(
      'title: t\ndescription: d\nhosts:\n  client: { sysctls: { net.ipv4.tcp_syn_retries: 1000, net.ipv4.tcp_synack_retries: 2 } }\nsteps: []\n',
      'lab.yaml',
    );
    expect(checkLabSysctls(lab, FACTS)).toStrictEqual([
      { path: ['hosts', 'client', 'sysctls', 'net.ipv4.tcp_syn_retries'], target: 'value', message: expect.stringMatching(/takes 1\.\.127/) },
    ]);
  });
});

describe('the range table agrees with the real kernel', () => {
  it("every table entry's default on this kernel lies inside its range", () => {
    for (const [name, range] of Object.entries(TCP_SYSCTL_RANGES)) {
      const value = FACTS.values[`net.ipv4.${name}`];
      if (value === undefined) continue;
      for (const word of value.trim().split(/\s+/)) {
        expect(BigInt(word) >= range.min && BigInt(word) <= range.max, `${name}=${value}`).toBe(true);
      }
    }
  });

  it('every writable integer net.ipv4.tcp_* sysctl of this kernel has an entry', () => {
    const writable = new Set(FACTS.writable);
    const missing = Object.entries(FACTS.values)
      .filter(
        ([key, value]) =>
          key.startsWith('net.ipv4.tcp_') &&
          writable.has(key) &&
          value
            .trim()
            .split(/\s+/)
            .every((w) => /^-?\d+$/.test(w)),
      )
      .map(([key]) => key.slice('net.ipv4.'.length))
      .filter((name) => TCP_SYSCTL_RANGES[name] === undefined);
    expect(missing).toStrictEqual([]);
  });
});

describe('parseSysctlProbe', () => {
  it('reads `key = value` lines and the writable paths', () => {
    const facts = parseSysctlProbe(
      'net.ipv4.tcp_syn_retries = 6\nnet.ipv4.tcp_rmem = 4096\t131072\t6291456\nnet.x = \n#writable\n/proc/sys/net/ipv4/tcp_syn_retries\n',
      'img',
      'k',
    );
    expect(facts).toStrictEqual({
      image: 'img',
      kernel: 'k',
      values: { 'net.ipv4.tcp_syn_retries': '6', 'net.ipv4.tcp_rmem': '4096\t131072\t6291456', 'net.x': '' },
      writable: ['net.ipv4.tcp_syn_retries'],
    });
  });
});
