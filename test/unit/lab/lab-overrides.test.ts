import { describe, expect, it } from 'vitest';
import { LabError } from '../../../src/lab/lab-error.js';
import { loadLabFile } from '../../../src/lab/load-lab.js';
import { parseOverrides } from '../../../src/lab/lab-overrides.js';

const SYN_SENT = 'test/fixtures/labs/good/syn-sent.yaml';

async function problemLines(overrides: string[]): Promise<string[]> {
  try {
    await loadLabFile(SYN_SENT, overrides);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return error.formatProblems().split('\n');
  }
  throw new Error('expected the overrides to be rejected');
}

describe('--set overrides', () => {
  it('sets a sysctl (new and existing) and the timeout; the last --set of a key wins', async () => {
    const lab = await loadLabFile(SYN_SENT, [
      'client.sysctl.net.ipv4.tcp_syn_retries=6',
      'server.sysctls.net.ipv4.tcp_syncookies=0',
      'timeout=3m',
      'client.sysctl.net.ipv4.tcp_syn_retries=4',
    ]);
    expect(lab.hosts).toStrictEqual([
      { name: 'server', sysctls: { 'net.ipv4.tcp_synack_retries': '3', 'net.ipv4.tcp_syncookies': '0' } },
      { name: 'client', sysctls: { 'net.ipv4.tcp_syn_retries': '4' } },
    ]);
    expect(lab.timeoutMs).toBe(180_000);
  });

  it('works on a host declared with an empty value', async () => {
    const lab = await loadLabFile('test/fixtures/labs/good/handshake.yaml', ['client.sysctl.net.ipv4.tcp_fin_timeout=5']);
    expect(lab.hosts[1]).toStrictEqual({ name: 'client', sysctls: { 'net.ipv4.tcp_fin_timeout': '5' } });
  });

  it('points bad overrides at the --set argument (line = which --set, col = column in it)', async () => {
    expect(
      await problemLines([
        'timeout=-5s',
        'clinet.sysctl.net.ipv4.tcp_syn_retries=6',
        'client.sysctl.kernel.pid_max=5',
        'retries=3',
        'client.sysctl.net.ipv4.tcp_syn_retries=',
        'timeout',
      ]),
    ).toStrictEqual([
      '--set:4:1: retries: unknown override "retries"; expected HOST.sysctl.KEY=VALUE (e.g. client.sysctl.net.ipv4.tcp_syn_retries=6) or timeout=DURATION (e.g. timeout=90s)',
      '--set:6:1: timeout: expected HOST.sysctl.KEY=VALUE (e.g. client.sysctl.net.ipv4.tcp_syn_retries=6) or timeout=DURATION (e.g. timeout=90s), received "timeout" (no "="); add =VALUE',
      '--set:2:1: clinet.sysctl.net.ipv4.tcp_syn_retries: unknown host "clinet"; declared hosts: server, client (did you mean "client"?)',
      '--set:1:9: timeout: expected a positive duration, received "-5s"; durations cannot be negative, write e.g. 1s',
      '--set:3:15: hosts.client.sysctls["kernel.pid_max"]: invalid sysctl "kernel.pid_max"; only per-network-namespace sysctls starting with "net." can be set (e.g. net.ipv4.tcp_syn_retries)',
      '--set:5:40: hosts.client.sysctls["net.ipv4.tcp_syn_retries"]: expected at least 1 character(s), received "" (a string); e.g. sysctls: { net.ipv4.tcp_syn_retries: 2 }',
    ]);
  });

  it('parses the columns of key and value', () => {
    const { overrides, problems } = parseOverrides(['server.sysctl.net.core.somaxconn=16']);
    expect(problems).toStrictEqual([]);
    expect(overrides).toStrictEqual([
      {
        arg: 'server.sysctl.net.core.somaxconn=16',
        ordinal: 1,
        path: ['hosts', 'server', 'sysctls', 'net.core.somaxconn'],
        value: '16',
        keyCol: 15,
        valueCol: 34,
      },
    ]);
  });
});
