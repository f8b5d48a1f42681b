import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  checkLabRules,
  iptablesReason,
  namespaceRestoreRunner,
  restoreInput,
  throwawayRestoreRunner,
  type RestoreRunner,
} from '../../../src/faults/check-rules.js';
import type { Runtime, ThrowawaySpec } from '../../../src/runtime/runtime.js';
import { LabError } from '../../../src/lab/lab-error.js';
import { loadLabText } from '../../../src/lab/load-lab.js';

const head = 'title: t\ndescription: d\nhosts:\n  server: {}\n  client: {}\nsteps:\n';
const labWith = (...steps: string[]) => loadLabText(`${head}${steps.map((s) => `  - ${s}\n`).join('')}`, 'lab.yaml');

function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['--net', '--', 'iptables-restore', '--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('the iptables-restore input replays each host in step order', () => {
  it('one section per rule, unrule as -D, placeholders for host names, comments as at run time', async () => {
    const inputs: string[] = [];
    const recorder: RestoreRunner = { restore: async (input) => (inputs.push(input), { exitCode: 0, stderr: '' }) };
    const lab = labWith(
      'rule: { host: server, name: drop-syn, add: "-I INPUT -s client -p tcp --dport 8888 -j DROP" }',
      'rule: { host: client, add: "-t raw -A OUTPUT -p tcp -j ACCEPT" }',
      'unrule: { host: server, name: drop-syn }',
    );
    expect(await checkLabRules(lab, recorder)).toStrictEqual([]);
    expect(inputs).toStrictEqual([
      '*filter\n-I INPUT -s 192.0.2.2 -p tcp --dport 8888 -j DROP -m comment --comment tcplab:drop-syn\nCOMMIT\n' +
        '*filter\n-D INPUT -s 192.0.2.2 -p tcp --dport 8888 -j DROP -m comment --comment tcplab:drop-syn\nCOMMIT\n',
      '*raw\n-A OUTPUT -p tcp -j ACCEPT -m comment --comment tcplab:rule2\nCOMMIT\n',
    ]);
  });

  it('maps the rule line and its COMMIT line to the step', () => {
    const { stepOfLine } = restoreInput([
      { stepIndex: 0, table: 'filter', text: '-A INPUT -j DROP', tool: 'iptables' },
      { stepIndex: 3, table: 'filter', text: '-A INPUT -j ACCEPT', tool: 'iptables' },
    ]);
    expect([...stepOfLine]).toStrictEqual([
      [2, 0],
      [3, 0],
      [5, 3],
      [6, 3],
    ]);
  });

  it("reduces iptables' message to its reason", () => {
    expect(
      iptablesReason(
        "iptables-restore v1.8.9 (nf_tables): Chain 'DORP' does not exist\nError occurred at line: 3\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
      ),
    ).toBe("Chain 'DORP' does not exist");
    expect(iptablesReason('iptables-restore: line 5 failed: Index of insertion too big.\n')).toBe('Index of insertion too big.');
  });
});

describe('a rule with a line break is refused at load (before iptables sees it)', () => {
  it('one positioned problem', () => {
    try {
      loadLabText(`${head}  - rule: { host: server, add: "-I INPUT -p tcp -j 'DROP\\nx'" }\n`, 'lab.yaml');
      expect.fail('loaded');
    } catch (error) {
      expect(error).toBeInstanceOf(LabError);
      expect((error as LabError).formatProblems()).toMatch(
        /^lab\.yaml:7:\d+: steps\[0\]\.rule\.add: a rule is one line of iptables arguments, but it holds a line break at column 25/,
      );
    }
  });
});

describe.skipIf(!canUnshare())('iptables itself, in a throw-away network namespace (unshare --net)', () => {
  it("refuses the target 'DROP;touch', a port of 99999 and -I at a position the chain does not have, each at its own step", async () => {
    const lab = labWith(
      'listen: { host: server, port: 8888 }',
      `rule: { host: server, add: "-I INPUT -p tcp -j 'DROP;touch'" }`,
      'rule: { host: server, add: "-I INPUT -p tcp --dport 99999 -j DROP" }',
      'rule: { host: client, add: "-I OUTPUT 3 -p tcp -j DROP" }',
      'rule: { host: client, add: "-A OUTPUT -p tcp --tcp-flags SYN,ACK SYN -m statistic --mode random --probability 0.5 -j REJECT --reject-with tcp-reset" }',
    );
    expect(await checkLabRules(lab, namespaceRestoreRunner)).toStrictEqual([
      { stepIndex: 1, reason: "Chain 'DROP;touch' does not exist" },
      { stepIndex: 2, reason: "invalid port/service `99999' specified" },
      { stepIndex: 3, reason: 'Index of insertion too big.' },
    ]);
  });

  it('accepts every rule of the catalog', async () => {
    const { readdirSync } = await import('node:fs');
    const { loadLabFile } = await import('../../../src/lab/load-lab.js');
    for (const file of readdirSync('labs').filter((f) => f.endsWith('.yaml'))) {
      expect(await checkLabRules(await loadLabFile(`labs/${file}`), namespaceRestoreRunner), file).toStrictEqual([]);
    }
  });

  it('-I n after earlier rules, and a rule removed by unrule, are replayed as at run time', async () => {
    const lab = labWith(
      'rule: { host: server, name: a, add: "-A INPUT -p tcp -j ACCEPT" }',
      'rule: { host: server, name: b, add: "-I INPUT 2 -p udp -j ACCEPT" }',
      'unrule: { host: server, name: a }',
      'unrule: { host: server, name: b }',
      'rule: { host: server, name: c, add: "-I INPUT 2 -p icmp -j ACCEPT" }',
    );
    expect(await checkLabRules(lab, namespaceRestoreRunner)).toStrictEqual([{ stepIndex: 4, reason: 'Index of insertion too big.' }]);
  });
});

describe('without unshare: a throw-away lab container', () => {
  it('runs iptables-restore --noflush with NET_ADMIN, the input on stdin, and reads its verdict', async () => {
    const specs: ThrowawaySpec[] = [];
    const runtime = {
      runThrowaway: async (spec: ThrowawaySpec) => {
        specs.push(spec);
        return { exitCode: 2, stdout: Buffer.alloc(0), stderr: "iptables-restore v1.8.9 (nf_tables): Chain 'X' does not exist\nError occurred at line: 3\n" };
      },
    } as unknown as Runtime;
    const refused = await checkLabRules(labWith('rule: { host: server, add: "-A INPUT -j X" }'), throwawayRestoreRunner(runtime, 'tcplab/lab:t'));
    expect(refused).toStrictEqual([{ stepIndex: 0, reason: "Chain 'X' does not exist" }]);
    expect(specs).toStrictEqual([
      {
        image: 'tcplab/lab:t',
        argv: ['iptables-restore', '--noflush'],
        capAdd: ['NET_ADMIN'],
        stdin: '*filter\n-A INPUT -j X -m comment --comment tcplab:rule1\nCOMMIT\n',
        labels: { 'tcplab.probe': 'iptables' },
      },
    ]);
  });
});
