import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/model.js';
import type { Runtime } from '../runtime/runtime.js';
import { loadRunRecord } from './load-run.js';
import { verifyRun } from '../verify/verify-run.js';
import type { Verdict } from '../verify/verdict.js';
import { analyzeRun } from '../analysis/analyze-run.js';
import type { StepRecord } from '../analysis/run-record.js';
import type { RunObserver } from './run-observer.js';
import { renderRunReportHtml } from '../report/html-report.js';
import { DeployedLab } from './deployed-lab.js';
import { LiveFeed } from './live-feed.js';
import { describeStep, runStep, stepConnection, trackConnections, type StepContext } from './step-runner.js';

export interface RunOptions {
  runtime: Runtime;
  image: string;
  /** Folder under which the run folder is made. */
  runsDir: string;
  signal?: AbortSignal;
  /** Sees the steps, segments and state changes live (the CLI's live view). */
  observer?: RunObserver;
}

/** The run was interrupted (Ctrl-C / SIGTERM); everything it created has been removed. */
export class RunInterruptedError extends Error {
  override readonly name = 'RunInterruptedError';
}

/**
 * Runs one lab for real: deploys it, executes its steps in order, records every observation
 * into a new run folder, tears everything down (on every path), and verifies the record.
 * A failing step ends the step sequence but still yields a verdict; only infrastructure
 * failures and interruptions throw.
 */
export async function runLab(lab: Lab, options: RunOptions): Promise<Verdict> {
  const observer = options.observer;
  const log = (line: string): void => observer?.note(line);
  const runId = makeRunId(lab.name);
  const runDir = join(options.runsDir, runId);
  mkdirSync(runDir, { recursive: true });
  copyFileSync(lab.file, join(runDir, 'lab.yaml'));
  writeFileSync(join(runDir, 'lab.json'), `${JSON.stringify(lab, null, 2)}\n`);
  const started = Date.now();
  const signal = AbortSignal.any([AbortSignal.timeout(lab.timeoutMs), ...(options.signal ? [options.signal] : [])]);

  const steps: StepRecord[] = [];
  let startedUs = 0;
  const live = observer && new LiveFeed(observer, lab.hosts.map((h) => h.name));
  {
    await using deployed = await DeployedLab.deploy(options.runtime, lab, {
      runId,
      image: options.image,
      runDir,
      log,
      onAgentEvent: (host, event) => {
        appendFileSync(join(runDir, host, 'events.jsonl'), `${JSON.stringify(event)}\n`);
        live?.agentEvent(host, event);
      },
      onPcapChunk: live && ((host, chunk) => live.pcapChunk(host, chunk)),
    });
    const ctx: StepContext = { lab: deployed, signal, actionStart: new Map(), connections: new Map(), latestConn: new Map(), rules: new Map() };
    for (const host of deployed.hosts.values()) host.agent.subscribe((event) => trackConnections(ctx, host.name, event));
    await Promise.all([...deployed.hosts.values()].map((h) => recordKernelSettings(deployed, h.name)));

    startedUs = nowUs();
    live?.start(ctx, startedUs);
    for (const [index, step] of lab.steps.entries()) {
      if (options.signal?.aborted) break;
      const conn = stepConnection(ctx, step);
      const record: StepRecord = { index, kind: step.kind, description: describeStep(step), ...(conn !== undefined && { conn }), startUs: nowUs(), endUs: 0 };
      observer?.stepStarted(index, record.description);
      try {
        await runStep(ctx, step);
      } catch (err) {
        record.error = signal.aborted && !options.signal?.aborted
          ? `the lab's time limit (${lab.timeoutMs} ms) ran out`
          : (err as Error).message;
      }
      record.endUs = nowUs();
      steps.push(record);
      appendFileSync(join(runDir, 'steps.jsonl'), `${JSON.stringify(record)}\n`);
      await snapshotNetstat(deployed, index, record.description);
      observer?.stepFinished(index, record.error);
      if (record.error) break;
    }
    if (options.signal?.aborted) throw new RunInterruptedError('interrupted; the lab was torn down');
    live?.flush();
    log('collecting captures, counters and snapshots; removing the lab');
    await Promise.all([...deployed.hosts.values()].map((h) => recordRuleCounters(deployed, h.name)));
    for (const host of deployed.hosts.values()) await host.capture.stop();
    await Promise.all([...deployed.hosts.values()].map((h) => renderCaptureText(deployed, h.name)));
    writeFileSync(
      join(runDir, 'run.json'),
      `${JSON.stringify({ runId, lab: lab.name, image: options.image, startedUs, hosts: [...deployed.hosts.values()].map((h) => ({ name: h.name, address: h.address })) }, null, 2)}\n`,
    );
  }
  const record = await loadRunRecord(runDir);
  const analysis = analyzeRun(record);
  const verdict = verifyRun(record, runDir, Date.now() - started, analysis);
  writeFileSync(join(runDir, 'verdict.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  writeFileSync(join(runDir, 'report.html'), renderRunReportHtml(analysis, verdict));
  return verdict;
}

function makeRunId(lab: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${lab}-${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

async function snapshotNetstat(deployed: DeployedLab, index: number, description: string): Promise<void> {
  await Promise.all(
    [...deployed.hosts.values()].map(async (host) => {
      const text = await host.agent.netstat();
      const header = `# after step ${index + 1} (${description}) at ${new Date().toISOString()}\n`;
      appendFileSync(join(host.dir, 'netstat.txt'), `${header}${text}\n`);
    }),
  );
}

async function recordKernelSettings(deployed: DeployedLab, name: string): Promise<void> {
  const host = deployed.host(name);
  const result = await deployed.runtime.exec(host.handle, ['sysctl', '-a', '--pattern', '^net\\.ipv4\\.tcp_']);
  const settings: Record<string, string> = {};
  for (const line of result.stdout.toString('utf8').split('\n')) {
    const m = /^(\S+)\s*=\s*(.*)$/.exec(line);
    if (m) settings[m[1] as string] = (m[2] as string).trim();
  }
  writeFileSync(join(host.dir, 'kernel-settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

async function recordRuleCounters(deployed: DeployedLab, name: string): Promise<void> {
  const host = deployed.host(name);
  const result = await deployed.runtime.exec(host.handle, ['iptables-save', '-c']);
  writeFileSync(join(host.dir, 'iptables-counters.txt'), result.stdout);
}

/** The seed's view of the capture: tcpdump's own text with absolute sequence numbers. */
async function renderCaptureText(deployed: DeployedLab, name: string): Promise<void> {
  const host = deployed.host(name);
  const proc = await deployed.runtime.spawn(host.handle, ['tcpdump', '-r', '-', '-n', '-S', '-tt']);
  const chunks: Buffer[] = [];
  proc.stdout.on('data', (b: Buffer) => chunks.push(b));
  proc.stderr.resume();
  proc.stdin.end(readFileSync(join(host.dir, 'capture.pcap')));
  await proc.exited;
  writeFileSync(join(host.dir, 'capture.txt'), Buffer.concat(chunks));
}
