import { describe, expect, it } from 'vitest';
import { LabError } from '../../../src/lab/lab-error.js';
import { MAX_DURATION_MS, MAX_EXPECTATIONS, MAX_HOSTS, MAX_STEPS } from '../../../src/lab/lab-limits.js';
import { loadLabText } from '../../../src/lab/load-lab.js';

const HEAD = ['title: t', 'description: d'];
const HOSTS = ['hosts:', '  server: {}', '  client: {}'];
const STEPS = ['steps:', '  - listen: { host: server, port: 8888 }'];

function problems(lines: readonly string[], overrides: string[] = []): string[] {
  try {
    loadLabText(`${lines.join('\n')}\n`, 'lab.yaml', overrides);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return error.formatProblems().split('\n');
  }
  return [];
}

describe('durations have a maximum of 1 h (setTimeout overflows above 2^31-1 ms)', () => {
  it('a lab timeout of 99999999999m or 40000m is one positioned problem, not a RangeError or a 1 ms timer', () => {
    for (const timeout of ['99999999999m', '40000m', '3601s', '3600001ms', '3601']) {
      expect(problems([...HEAD, `timeout: ${timeout}`, ...HOSTS, ...STEPS])).toStrictEqual([
        expect.stringMatching(/^lab\.yaml:3:10: timeout: a duration is at most 60m \(3600s\), received /),
      ]);
    }
  });

  it('exactly 1 h is accepted, as a string or a number of seconds', () => {
    expect(problems([...HEAD, 'timeout: 60m', ...HOSTS, ...STEPS])).toStrictEqual([]);
    expect(problems([...HEAD, 'timeout: 3600', ...HOSTS, ...STEPS])).toStrictEqual([]);
    expect(MAX_DURATION_MS).toBe(3_600_000);
  });

  it('--set timeout=99999999999m names the flag', () => {
    expect(problems([...HEAD, ...HOSTS, ...STEPS], ['timeout=99999999999m'])).toStrictEqual([
      expect.stringMatching(/^--set:1:9: timeout: a duration is at most 60m/),
    ]);
  });

  it('wait timeouts and sleeps too', () => {
    expect(problems([...HEAD, ...HOSTS, ...STEPS, '  - wait: { host: server, event: listening, timeout: 2h }'])).toHaveLength(1);
    expect(problems([...HEAD, ...HOSTS, ...STEPS, '  - wait: { host: server, event: listening, timeout: 61m }'])).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:8:\d+: steps\[1\]\.wait\.timeout: a duration is at most 60m/),
    ]);
    expect(problems([...HEAD, ...HOSTS, ...STEPS, '  - sleep: 100000m'])).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:8:\d+: steps\[1\]\.sleep: a duration is at most/),
    ]);
  });
});

describe('counts have maxima', () => {
  it(`at most ${MAX_STEPS} steps (700,000 were accepted before)`, () => {
    const sleeps = (n: number): string[] => Array.from({ length: n }, () => '  - sleep: 1ms');
    expect(problems([...HEAD, ...HOSTS, 'steps:', ...sleeps(MAX_STEPS)])).toStrictEqual([]);
    expect(problems([...HEAD, ...HOSTS, 'steps:', ...sleeps(MAX_STEPS + 1)])).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:7:3: steps: expected at most 500 item\(s\), received 501 item\(s\); that is a limit of the lab format/),
    ]);
  });

  it(`at most ${MAX_EXPECTATIONS} expectations`, () => {
    const nevers = Array.from({ length: MAX_EXPECTATIONS + 1 }, () => '  - never: { host: server, states: [SYN_SENT] }');
    expect(problems([...HEAD, ...HOSTS, ...STEPS, 'expect:', ...nevers])).toHaveLength(1);
  });

  it('send bytes, listen backlog, packet counts, flood counts', () => {
    expect(problems([...HEAD, ...HOSTS, 'steps:', '  - listen: { host: server, port: 8888, backlog: 1000000 }'])).toStrictEqual([
      expect.stringMatching(/steps\[0\]\.listen\.backlog: expected at most 65535/),
    ]);
    // listen(2) takes 0 (one connection still queues: sk_acceptq_is_full() is ack_backlog > max); nothing below it.
    expect(problems([...HEAD, ...HOSTS, 'steps:', '  - listen: { host: server, port: 8888, backlog: 0 }'])).toStrictEqual([]);
    expect(problems([...HEAD, ...HOSTS, 'steps:', '  - listen: { host: server, port: 8888, backlog: -1 }'])).toStrictEqual([
      expect.stringMatching(/steps\[0\]\.listen\.backlog: expected at least 0/),
    ]);
    expect(
      problems([...HEAD, ...HOSTS, ...STEPS, '  - connect: { host: client, to: server, port: 8888 }', '  - send: { host: client, bytes: 1000000000 }']),
    ).toStrictEqual([expect.stringMatching(/steps\[2\]\.send\.bytes: expected at most 16777216/)]);
    expect(problems([...HEAD, ...HOSTS, ...STEPS, 'expect:', '  - packets: { from: client, to: server, flags: S, min: 1000000000 }'])).toStrictEqual([
      expect.stringMatching(/expect\[0\]\.packets\.min: expected at most 1000000/),
    ]);
    expect(problems([...HEAD, ...HOSTS, ...STEPS, '  - flood: { host: client, to: server, port: 8888, sources: 24, count_per_source: 1000 }'])).toStrictEqual([
      expect.stringMatching(/steps\[1\]\.flood\.count_per_source: expected at most 100/),
    ]);
  });
});

describe('hosts are at most what the /24 holds', () => {
  const manyHosts = (n: number): string[] => ['hosts:', ...Array.from({ length: n }, (_, i) => `  h${i}: {}`)];

  it('300 hosts: one problem at hosts (accepted before)', () => {
    expect(problems([...HEAD, ...manyHosts(300), 'steps: []'])).toStrictEqual([
      expect.stringMatching(/^lab\.yaml:4:3: hosts: a lab has at most 253 hosts \(its \/24 gives them \.2-\.254\), received 300; remove 47/),
    ]);
  });

  it('253 hosts are accepted; 254 are not', () => {
    expect(problems([...HEAD, ...manyHosts(MAX_HOSTS), 'steps: []'])).toStrictEqual([]);
    expect(problems([...HEAD, ...manyHosts(MAX_HOSTS + 1), 'steps: []'])).toHaveLength(1);
  });

  it("a flood's forged sources must fit in the addresses no host uses", () => {
    const flood = '  - flood: { host: h0, to: h1, port: 8888, sources: 200 }';
    expect(problems([...HEAD, ...manyHosts(53), 'steps:', flood])).toStrictEqual([]);
    expect(problems([...HEAD, ...manyHosts(54), 'steps:', flood])).toStrictEqual([
      expect.stringMatching(
        /steps\[0\]\.flood\.sources: the lab's \/24 has 199 addresses no host uses \(253 minus 54 hosts\), received sources: 200; lower sources to 199/,
      ),
    ]);
  });
});

describe('sysctl keys and values: syntax checked at load', () => {
  it('a key with empty words (net...ipv4..tcp_syn_retries) is refused, in the file and in --set', () => {
    expect(problems([...HEAD, 'hosts:', '  client: { sysctls: { net...ipv4..tcp_syn_retries: 3 } }', ...STEPS.slice(0, 1), '  - sleep: 1ms'])).toStrictEqual([
      expect.stringMatching(
        /^lab\.yaml:4:24: hosts\.client\.sysctls\["net\.\.\.ipv4\.\.tcp_syn_retries"\]: invalid sysctl "net\.\.\.ipv4\.\.tcp_syn_retries"; a key is net\. and dot-separated words/,
      ),
    ]);
    expect(problems([...HEAD, ...HOSTS, ...STEPS], ['client.sysctl.net...ipv4..tcp_syn_retries=3'])).toStrictEqual([
      expect.stringMatching(/^--set:1:15: .*invalid sysctl "net\.\.\.ipv4\.\.tcp_syn_retries"/),
    ]);
  });

  it('a multi-line value ("3\\nkernel.panic=1") is refused, in the file and in --set', () => {
    expect(
      problems([...HEAD, 'hosts:', '  client: { sysctls: { net.ipv4.tcp_syn_retries: "3\\nkernel.panic=1" } }', ...STEPS.slice(0, 1), '  - sleep: 1ms']),
    ).toStrictEqual([
      expect.stringMatching(
        /^lab\.yaml:4:\d+: hosts\.client\.sysctls\["net\.ipv4\.tcp_syn_retries"\]: a sysctl value is one line, received "3\\nkernel\.panic=1" with a line break/,
      ),
    ]);
    expect(problems([...HEAD, ...HOSTS, ...STEPS], ['client.sysctl.net.ipv4.tcp_syn_retries=3\nkernel.panic=1'])).toStrictEqual([
      expect.stringMatching(/^--set:1:40: .*a sysctl value is one line/),
    ]);
  });

  it('a fractional number is refused; whole numbers and one-line text pass', () => {
    expect(problems([...HEAD, 'hosts:', '  client: { sysctls: { net.ipv4.tcp_syn_retries: 1.5 } }', 'steps: []'])).toHaveLength(1);
    expect(
      problems([...HEAD, 'hosts:', '  client: { sysctls: { net.ipv4.tcp_syn_retries: 3, net.ipv4.tcp_rmem: "4096 131072 6291456" } }', 'steps: []']),
    ).toStrictEqual([]);
  });
});
