import { describe, expect, it } from 'vitest';
import { LabError, formatProblems } from '../../../src/lab/lab-error.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import { injectArgv, isInLabSubnet } from '../../../src/run/inject-segment.js';

const head = 'title: t\ndescription: d\nhosts: { client: {}, server: {} }\nsteps:\n  - listen: { host: server, port: 8080 }\n';

function problemsOf(text: string): string {
  try {
    loadLabText(text, '/labs/x.yaml');
  } catch (error) {
    if (error instanceof LabError) return formatProblems(error.problems);
    throw error;
  }
  throw new Error('expected the lab to be refused');
}

describe('inject step', () => {
  it('maps to the model with the defaults (ack 0, window 64240, no payload)', () => {
    const lab = loadLabText(`${head}  - inject: { host: client, to: server, port: 8080, from_port: 40000, flags: "S", seq: 1000 }\n`, '/labs/x.yaml');
    expect(lab.steps[1]).toEqual({
      kind: 'inject',
      host: 'client',
      to: 'server',
      port: 8080,
      fromPort: 40000,
      flags: 'S',
      seq: 1000,
      ack: 0,
      window: 64240,
      bytes: 0,
    });
  });

  it('refuses an IP literal outside the lab as destination, with file:line:col', () => {
    const problems = problemsOf(`${head}  - inject: { host: client, to: 8.8.8.8, port: 53, from_port: 40000, flags: "S" }\n`);
    expect(problems).toMatch(/^\/labs\/x\.yaml:6:\d+: steps\[1\]\.inject\.to: inject sends only to lab hosts, by name; "8\.8\.8\.8" is an address/m);
  });

  it('refuses an IP literal even inside the lab range, and an IPv6 literal', () => {
    expect(problemsOf(`${head}  - inject: { host: client, to: 198.18.0.2, port: 80, from_port: 1, flags: "S" }\n`)).toMatch(/is an address/);
    expect(problemsOf(`${head}  - inject: { host: client, to: "2001:db8::1", port: 80, from_port: 1, flags: "S" }\n`)).toMatch(/is an address/);
  });

  it('refuses a host name the lab does not declare, suggesting the closest', () => {
    const problems = problemsOf(`${head}  - inject: { host: client, to: sever, port: 8080, from_port: 40000, flags: "S" }\n`);
    expect(problems).toMatch(/steps\[1\]\.inject\.to: inject sends only to lab hosts; "sever" is not a host of this lab/);
    expect(problems).toMatch(/did you mean "server"/);
    expect(problemsOf(`${head}  - inject: { host: client, to: example.com, port: 80, from_port: 1, flags: "S" }\n`)).toMatch(/not a host of this lab/);
  });

  it('refuses a segment to its own host, flags with *, and out-of-range numbers', () => {
    expect(problemsOf(`${head}  - inject: { host: client, to: client, port: 80, from_port: 1, flags: "S" }\n`)).toMatch(/to itself/);
    expect(problemsOf(`${head}  - inject: { host: client, to: server, port: 80, from_port: 1, flags: "R*" }\n`)).toMatch(/exact flags/);
    expect(problemsOf(`${head}  - inject: { host: client, to: server, port: 80, from_port: 1, flags: "S", seq: 4294967296 }\n`)).toMatch(/seq/);
    expect(problemsOf(`${head}  - inject: { host: client, to: server, port: 80, from_port: 1, flags: "S", bytes: 1461 }\n`)).toMatch(/bytes/);
  });
});

describe('inject argv (hping3)', () => {
  const step = { kind: 'inject', host: 'client', to: 'server', port: 8080, fromPort: 40000, flags: 'S.', seq: 7, ack: 9, window: 512, bytes: 3 } as const;
  it('sends from the fixed source port with the flags, numbers and payload asked, from the host own address', () => {
    const argv = injectArgv(step, '198.18.4.2');
    expect(argv.slice(0, 5)).toEqual(['timeout', '-s', 'INT', '--preserve-status', '0.3']);
    const hping = argv.slice(5).join(' ');
    expect(hping).toBe('hping3 -c 1 -n -I eth0 -s 40000 -k -p 8080 -M 7 -L 9 -w 512 -d 3 -S -A 198.18.4.2');
    expect(argv).not.toContain('-a');
    expect(argv).not.toContain('--rand-source');
    expect(injectArgv({ ...step, flags: 'none' }, '198.18.4.2').join(' ')).toMatch(/-d 3 198\.18\.4\.2$/);
  });

  it('accepts only addresses of the lab /24 (not its network or broadcast address)', () => {
    expect(isInLabSubnet('198.18.4.3', '198.18.4.0/24')).toBe(true);
    expect(isInLabSubnet('198.18.5.3', '198.18.4.0/24')).toBe(false);
    expect(isInLabSubnet('8.8.8.8', '198.18.4.0/24')).toBe(false);
    expect(isInLabSubnet('198.18.4.255', '198.18.4.0/24')).toBe(false);
    expect(isInLabSubnet('198.18.4.0', '198.18.4.0/24')).toBe(false);
  });
});
