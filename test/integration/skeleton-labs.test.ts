import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Docker from 'dockerode';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFolders } from '../helpers/run-folders.js';
import { dockerAvailable } from '../helpers/docker-available.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

interface JsonVerdicts {
  labs: { lab: string; verdict: string; runDir: string; durationMs: number; checks: { name: string; status: string; expected: string; observed: string }[] }[];
}

const docker = new Docker();
const runsDir = mkdtempSync(join(tmpdir(), 'tcplab-runs-'));

/** Containers and networks still labelled with this run's id (the run id is the run folder's name). */
async function leftovers(runDir: string): Promise<number> {
  const filters = JSON.stringify({ label: [`tcplab.run=${basename(runDir)}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return containers.length + networks.length;
}

describe.skipIf(!(await dockerAvailable()))('skeleton labs in real Docker', () => {
  beforeAll(async () => {
    // Build (or find) the image once, outside the timed runs.
    const built = await runCli(['image', 'build']);
    expect(built.exitCode, built.all).toBe(0);
  }, 600_000);

  it('handshake passes: SYN/SYN-ACK/ACK with ack = ISN + 1, orderly close, nothing left behind', async () => {
    const result = await runCli(['run', 'handshake', '--json', '--runs-dir', runsDir]);
    expect(result.exitCode, result.all).toBe(0);
    const verdicts = JSON.parse(result.stdout) as JsonVerdicts;
    const lab = verdicts.labs[0]!;
    expect(lab.verdict).toBe('pass');
    const handshake = lab.checks.find((c) => c.name.startsWith('three-way handshake'))!;
    const [x, y, ack1, seq3, ack3] = /SYN seq=(\d+); SYN-ACK seq=(\d+) ack=(\d+); ACK seq=(\d+) ack=(\d+)/.exec(handshake.observed)!.slice(1).map(Number);
    expect(ack1).toBe((x! + 1) % 2 ** 32);
    expect(seq3).toBe((x! + 1) % 2 ** 32);
    expect(ack3).toBe((y! + 1) % 2 ** 32);
    for (const file of [
      'lab.yaml',
      'verdict.json',
      'steps.jsonl',
      'client/capture.pcap',
      'client/capture.txt',
      'client/netstat.txt',
      'client/events.jsonl',
      'server/iptables-counters.txt',
      'server/kernel-settings.json',
    ]) {
      expect(existsSync(join(lab.runDir, file)), file).toBe(true);
    }
    expect(readFileSync(join(lab.runDir, 'client/capture.txt'), 'utf8')).toMatch(/Flags \[S\], seq \d+, win/);
    expect(await leftovers(lab.runDir)).toBe(0);
  }, 120_000);

  it('syn-sent passes: SYN_SENT, retransmitted SYNs with one sequence number, ETIMEDOUT; the rule fired', async () => {
    const result = await runCli(['run', 'syn-sent', '--json', '--runs-dir', runsDir]);
    expect(result.exitCode, result.all).toBe(0);
    const lab = (JSON.parse(result.stdout) as JsonVerdicts).labs[0]!;
    expect(lab.verdict).toBe('pass');
    expect(lab.checks.find((c) => c.name.startsWith('connect()'))!.observed).toBe('ETIMEDOUT');
    // tcp_syn_retries=3 with no linear phase: the first SYN and 3 retransmissions.
    expect(lab.checks.find((c) => c.name === '[S] segments client → server')!.observed).toMatch(/^4, all seq \d+$/);
    const counters = readFileSync(join(lab.runDir, 'server/iptables-counters.txt'), 'utf8');
    expect(counters).toMatch(/\[4:\d+\] -A INPUT -s [\d.]+\/32 -p tcp -m tcp --dport 8888 -m comment --comment "tcplab:drop-syn" -j DROP/);
    expect(await leftovers(lab.runDir)).toBe(0);
  }, 120_000);

  it('a lab whose expectation is false FAILS with exit code 1 and says expected vs observed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-lab-'));
    const file = join(dir, 'handshake-wrong.yaml');
    const text = readFileSync(join(REPO_ROOT, 'labs/handshake.yaml'), 'utf8').replace('is: connected', 'is: ECONNREFUSED');
    writeFileSync(file, text);
    const ownRuns = mkdtempSync(join(tmpdir(), 'tcplab-runs-'));
    const junit = join(dir, 'junit.xml');
    const result = await runCli(['run', file, '--runs-dir', ownRuns, '--junit', junit]);
    expect(result.exitCode, result.all).toBe(1);
    // The JUnit file parses and carries the failed check with expected vs observed.
    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8')) as {
      testsuites: { testsuite: { '@_tests': string; '@_failures': string; testcase: { '@_name': string; failure: { '@_message': string; '#text': string } } } };
    };
    expect(xml.testsuites.testsuite['@_tests']).toBe('1');
    expect(xml.testsuites.testsuite['@_failures']).toBe('1');
    expect(xml.testsuites.testsuite.testcase['@_name']).toBe('handshake-wrong');
    expect(xml.testsuites.testsuite.testcase.failure['#text']).toMatch(/expected: ECONNREFUSED\s+observed: connected/);
    expect(existsSync(join(runFolders(ownRuns)[0]!, 'report.html'))).toBe(true);
    expect(result.stdout).toMatch(/FAIL handshake-wrong/);
    expect(result.stdout).toMatch(/✗ connect\(\) of client\/c ends in ECONNREFUSED: expected ECONNREFUSED; observed connected/);
    expect(await leftovers(runFolders(ownRuns)[0]!)).toBe(0);
  }, 120_000);

  it('a --set override reaches the kernel: the run folder records the host setting', async () => {
    const result = await runCli(['run', 'syn-sent', '--json', '--runs-dir', runsDir, '--set', 'client.sysctl.net.ipv4.tcp_syn_retries=1']);
    const lab = (JSON.parse(result.stdout) as JsonVerdicts).labs[0]!;
    const settings = JSON.parse(readFileSync(join(lab.runDir, 'client/kernel-settings.json'), 'utf8')) as Record<string, string>;
    expect(settings['net.ipv4.tcp_syn_retries']).toBe('1');
    expect(lab.checks.find((c) => c.name === '[S] segments client → server')!.observed).toMatch(/^2, all seq/);
    expect(await leftovers(lab.runDir)).toBe(0);
  }, 120_000);

  for (const signal of ['SIGINT', 'SIGHUP'] as const) {
    it(`${signal === 'SIGINT' ? 'Ctrl-C' : 'Closing the terminal (SIGHUP)'} during a run removes every container and network and exits 130`, async () => {
      const { execa } = await import('execa');
      const ownRuns = mkdtempSync(join(tmpdir(), 'tcplab-runs-'));
      const child = execa('node', [join(REPO_ROOT, 'bin/tcplab.js'), 'run', 'syn-sent', '--runs-dir', ownRuns], { reject: false, all: true });
      // The run folder appears first; then wait until the lab's network and both containers exist.
      let runDir = '';
      for (let i = 0; i < 600 && (!runDir || (await leftovers(runDir)) < 3); i++) {
        await new Promise((r) => setTimeout(r, 100));
        runDir = runFolders(ownRuns)[0] ?? '';
      }
      expect(await leftovers(runDir)).toBe(3);
      child.kill(signal);
      const result = await child;
      expect(result.exitCode, result.all).toBe(130);
      expect(result.all).toMatch(/removed/);
      expect(await leftovers(runDir)).toBe(0);
    }, 120_000);
  }

  it('`tcplab verify <run-folder>` recomputes the stored verdict offline', async () => {
    const result = await runCli(['run', 'handshake', '--json', '--runs-dir', runsDir]);
    const lab = (JSON.parse(result.stdout) as JsonVerdicts).labs[0]!;
    const verified = await runCli(['verify', lab.runDir, '--json'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(verified.exitCode, verified.all).toBe(0);
    const output = JSON.parse(verified.stdout) as { labs: JsonVerdicts['labs']; matchesStored: boolean };
    expect(output.matchesStored).toBe(true);
    // Tamper with the evidence: drop the client's "connected" event → the outcome check must fail.
    const copy = mkdtempSync(join(tmpdir(), 'tcplab-tamper-'));
    cpSync(lab.runDir, copy, { recursive: true });
    const events = readFileSync(join(copy, 'client/events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => !l.includes('"connected"'))
      .join('\n');
    writeFileSync(join(copy, 'client/events.jsonl'), events);
    const tampered = await runCli(['verify', copy, '--json']);
    expect(tampered.exitCode).toBe(1);
    const out = JSON.parse(tampered.stdout) as { labs: JsonVerdicts['labs']; matchesStored: boolean };
    expect(out.matchesStored).toBe(false);
    expect(out.labs[0]!.checks.find((c) => c.name.startsWith('connect()'))!.status).toBe('fail');
  }, 120_000);
});
