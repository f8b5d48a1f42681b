import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFolders } from '../helpers/run-folders.js';
import { listTracingInstanceRuns, TRACEFS } from '../../src/run/kernel-tracer.js';
import { ISOLATION_CHAIN } from '../../src/runtime/docker/host-isolation.js';
import { LAB_EHASH_BUCKETS } from '../../src/runtime/docker/private-ehash.js';
import { dockerAvailable } from '../helpers/docker-available.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

const docker = new Docker();
const CHILD_EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const scratch = mkdtempSync(join(tmpdir(), 'tcplab-lifecycle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Containers and networks labelled with this run id, and host isolation rules naming it. */
async function leftovers(runId: string): Promise<{ containers: number; networks: number; hostRules: number; tracing: number }> {
  const filters = JSON.stringify({ label: [`tcplab.run=${runId}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const rules = await execa('iptables', ['-w', '-S', ISOLATION_CHAIN], { reject: false });
  const hostRules = rules.stdout.split('\n').filter((line) => line.includes(`tcplab:tcplab-${runId}`)).length;
  const tracing = listTracingInstanceRuns().filter((id) => id === runId).length;
  return { containers: containers.length, networks: networks.length, hostRules, tracing };
}

const readIfExists = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
/** A trigger file's triggers (an empty one lists only `# Available triggers: …`). */
const activeLines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** Starts `tcplab run <lab>` and resolves once its network, containers and host rule exist. */
async function startDeployedRun(labName: string): Promise<{ child: ReturnType<typeof execa>; runId: string }> {
  const runs = mkdtempSync(join(scratch, 'runs-'));
  const child = execa('node', [join(REPO_ROOT, 'bin/tcplab.js'), 'run', labName, '-q', '--runs-dir', runs], { reject: false, all: true });
  let runId = '';
  for (let i = 0; i < 600; i++) {
    runId = basename(runFolders(runs)[0] ?? '');
    if (runId) {
      const left = await leftovers(runId);
      if (left.containers === 2 && left.networks === 1 && left.hostRules === 1 && left.tracing === 1) return { child, runId };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the ${labName} run did not deploy within 60 s`);
}

describe.skipIf(!(await dockerAvailable()))('run lifecycle on a shared engine', () => {
  beforeAll(async () => {
    const built = await runCli(['image', 'build']);
    expect(built.exitCode, built.all).toBe(0);
  }, 600_000);

  it('a run killed with SIGKILL mid-lab leaves resources that the next run sweeps, saying so', async () => {
    const { child, runId } = await startDeployedRun('syn-sent');
    child.kill('SIGKILL');
    await child;
    expect(await leftovers(runId)).toEqual({ containers: 2, networks: 1, hostRules: 1, tracing: 1 });
    const next = await runCli(['run', 'refused', '--runs-dir', mkdtempSync(join(scratch, 'runs-'))]);
    expect(next.exitCode, next.all).toBe(0);
    expect(next.stderr).toMatch(
      /removed what \d+ dead run\(s\) left: [1-9]\d* container\(s\), [1-9]\d* network\(s\), \d+ other host isolation rule\(s\), [1-9]\d* tracing instance\(s\)/,
    );
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0, hostRules: 0, tracing: 0 });
  }, 180_000);

  it('Ctrl-C mid-run after the tracer set its triggers and pid filters: exit 130, no instance and no trigger left', async () => {
    const { child, runId } = await startDeployedRun('syn-sent');
    const instance = join(TRACEFS, 'instances', `tcplab-${runId}`);
    // The agents run: the connect(2) pid filter is the tracer's last setting before the steps.
    for (let i = 0; i < 100 && !readIfExists(join(instance, 'events/syscalls/sys_exit_connect/filter')).includes('common_pid'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(readIfExists(join(instance, 'events/syscalls/sys_exit_connect/filter'))).toMatch(/common_pid == \d+/);
    expect(readIfExists(join(instance, 'events/sock/inet_sock_set_state/trigger'))).toMatch(/^stacktrace:unlimited if saddr == /m);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, String(result.all)).toBe(130);
    expect(existsSync(instance)).toBe(false);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0, hostRules: 0, tracing: 0 });
    // Nothing outside the run's instance was ever set: the top level's triggers of the same events are empty.
    for (const event of ['sock/inet_sock_set_state', 'tcp/tcp_receive_reset', 'fib/fib_table_lookup']) {
      expect(activeLines(readIfExists(join(TRACEFS, 'events', event, 'trigger')))).toEqual([]);
    }
  }, 180_000);

  it('`tcplab clean` never touches a live run: the run goes on to its verdict', async () => {
    const { child, runId } = await startDeployedRun('syn-sent');
    const clean = await runCli(['clean']);
    expect(clean.exitCode, clean.all).toBe(0);
    expect(clean.stdout).toContain(runId);
    expect(await leftovers(runId)).toEqual({ containers: 2, networks: 1, hostRules: 1, tracing: 1 });
    const result = await child;
    expect(result.exitCode, String(result.all)).toBe(0);
    expect(result.all).toMatch(/PASS syn-sent/);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0, hostRules: 0, tracing: 0 });
  }, 180_000);

  it.skipIf(!existsSync(CHILD_EHASH))(
    'each lab host gets a socket table of its own; the machine keeps its own setting',
    async () => {
      const before = readFileSync(CHILD_EHASH, 'utf8');
      const runs = mkdtempSync(join(scratch, 'runs-'));
      const run = await runCli(['run', 'refused', '-q', '--runs-dir', runs]);
      expect(run.exitCode, run.all).toBe(0);
      const settings = JSON.parse(readFileSync(join(runFolders(runs)[0] ?? '', 'client', 'kernel-settings.json'), 'utf8')) as Record<string, string>;
      expect(settings['net.ipv4.tcp_ehash_entries']).toBe(LAB_EHASH_BUCKETS);
      expect(readFileSync(CHILD_EHASH, 'utf8')).toBe(before);
    },
    120_000,
  );

  it("--set timeout=3s ends syn-sent by the lab's time limit, long before its ETIMEDOUT at 15 s", async () => {
    const runs = mkdtempSync(join(scratch, 'runs-'));
    const result = await runCli(['run', 'syn-sent', '-q', '--set', 'timeout=3s', '--runs-dir', runs]);
    expect(result.exitCode, result.all).toBe(1);
    const runDir = runFolders(runs)[0]!;
    const steps = readFileSync(join(runDir, 'steps.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { error?: string });
    expect(steps.at(-1)!.error).toBe("the lab's time limit (3000 ms) ran out");
    expect(readFileSync(join(runDir, 'client/events.jsonl'), 'utf8')).not.toMatch(/ETIMEDOUT/);
    expect(await leftovers(basename(runDir))).toEqual({ containers: 0, networks: 0, hostRules: 0, tracing: 0 });
  }, 120_000);
});
