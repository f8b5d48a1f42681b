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
import { message, type Lang } from '../messages/catalog.js';
import { describeStepIn } from '../messages/lab-words.js';
import { Deadline } from './deadline.js';
import { anchorRealtimeClock } from '../agent/realtime-clock.js';
import { DeployedLab } from './deployed-lab.js';
import { PacketCapture } from './packet-capture.js';
import { CAPTURE_COUNTERS_FILE, parseCaptureCounters } from '../observe/capture-counters.js';
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
  /** The language of what the observer is told and of report.html (the run folder's records are English). */
  lang?: Lang;
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
  const lang = options.lang ?? 'en';
  const log = (line: string): void => observer?.note(line);
  const runId = makeRunId(lab.name);
  const runDir = join(options.runsDir, runId);
  mkdirSync(runDir, { recursive: true });
  copyFileSync(lab.file, join(runDir, 'lab.yaml'));
  writeFileSync(join(runDir, 'lab.json'), `${JSON.stringify(lab, null, 2)}\n`);
  const started = Date.now();
  using deadline = new Deadline(lab.timeoutMs, `the lab's time limit (${lab.timeoutMs} ms) ran out`, options.signal);
  const signal = deadline.signal;

  const steps: StepRecord[] = [];
  let startedUs = 0;
  /** Wall time of each phase of the run, in ms (timings.json; bench/lab-overhead reads it). */
  const timings = { deployMs: 0, settingsMs: 0, stepsMs: 0, collectMs: 0, teardownMs: 0, verifyMs: 0 };
  let mark = Date.now();
  const live =
    observer &&
    new LiveFeed(
      observer,
      lab.hosts.map((h) => h.name),
      lang,
    );
  {
    await using deployed = await DeployedLab.deploy(options.runtime, lab, {
      runId,
      image: options.image,
      runDir,
      log,
      lang,
      signal: options.signal,
      onAgentEvent: (host, event) => {
        appendFileSync(join(runDir, host, 'events.jsonl'), `${JSON.stringify(event)}\n`);
        live?.agentEvent(host, event);
      },
      onPcapChunk: live && ((host, chunk) => live.pcapChunk(host, chunk)),
    });
    timings.deployMs = Date.now() - mark;
    mark = Date.now();
    const ctx: StepContext = { lab: deployed, signal, actionStart: new Map(), connections: new Map(), latestConn: new Map(), rules: new Map() };
    for (const host of deployed.hosts.values()) host.agent.subscribe((event) => trackConnections(ctx, host.name, event));
    for (const host of deployed.hosts.values()) recordKernelSettings(deployed, host.name);

    timings.settingsMs = Date.now() - mark;
    startedUs = nowUs();
    live?.start(ctx, startedUs);
    const snapshots: Promise<void>[] = [];
    for (const [index, step] of lab.steps.entries()) {
      if (options.signal?.aborted) break;
      const conn = stepConnection(ctx, step);
      const record: StepRecord = { index, kind: step.kind, description: describeStep(step), ...(conn !== undefined && { conn }), startUs: nowUs(), endUs: 0 };
      observer?.stepStarted(index, describeStepIn(lang, step));
      try {
        if (signal.aborted) throw signal.reason;
        await runStep(ctx, step);
      } catch (err) {
        record.error = (deadline.expired ? (signal.reason as Error) : (err as Error)).message;
      }
      record.endUs = nowUs();
      steps.push(record);
      appendFileSync(join(runDir, 'steps.jsonl'), `${JSON.stringify(record)}\n`);
      // Not awaited: each agent reads its table when it takes the command, before the next step's.
      snapshots.push(snapshotNetstat(deployed, index, record.description));
      observer?.stepFinished(index, record.error);
      if (record.error) break;
    }
    for (const failed of (await Promise.allSettled(snapshots)).filter((r) => r.status === 'rejected')) {
      log(message(lang, 'run.snapshotFailed', { reason: (failed.reason as Error).message }));
    }
    if (options.signal?.aborted) throw new RunInterruptedError('interrupted; the lab was torn down');
    // The experiment ends here: read every rule's counters and, in the same command, stop all lab
    // traffic, so the FINs and RSTs that agents leaving (teardown) would send never reach a peer.
    const endUs = nowUs();
    timings.stepsMs = Math.round((endUs - startedUs) / 1000);
    mark = Date.now();
    live?.flush();
    log(message(lang, 'run.collecting'));
    await Promise.all(
      [...deployed.hosts.values()].map(async (h) => {
        await recordRuleCountersFreezeAndStopCapture(deployed, h.name);
        const counters = parseCaptureCounters(await h.capture.stop(true));
        if (counters !== undefined) writeFileSync(join(h.dir, CAPTURE_COUNTERS_FILE), `${JSON.stringify(counters)}\n`);
      }),
    );
    // The capture text is made in the containers while this process reads the kernel trace.
    const captureTexts = Promise.all([...deployed.hosts.values()].map((h) => renderCaptureText(deployed, h.name)));
    deployed.kernelTracer.collect(runDir, [...deployed.hosts.values()]);
    await captureTexts;
    writeFileSync(
      join(runDir, 'run.json'),
      `${JSON.stringify({ runId, lab: lab.name, image: options.image, startedUs, endUs, hosts: [...deployed.hosts.values()].map((h) => ({ name: h.name, address: h.address, ...(h.address6 !== undefined && { address6: h.address6 }) })) }, null, 2)}\n`,
    );
    timings.collectMs = Date.now() - mark;
    mark = Date.now();
  }
  timings.teardownMs = Date.now() - mark;
  mark = Date.now();
  const record = await loadRunRecord(runDir);
  const analysis = analyzeRun(record);
  const verdict = verifyRun(record, runDir, Date.now() - started, analysis);
  writeFileSync(join(runDir, 'verdict.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  writeFileSync(join(runDir, 'report.html'), renderRunReportHtml(analysis, verdict, { lang }));
  timings.verifyMs = Date.now() - mark;
  writeFileSync(join(runDir, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  return verdict;
}

function makeRunId(lab: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${lab}-${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}

const realtimeClock = anchorRealtimeClock();

/** CLOCK_REALTIME µs, the capture's clock (step times are compared with segment times). */
function nowUs(): number {
  return realtimeClock.nowUs();
}

/** Every host's `netstat -tano` view after a step, appended to its netstat.txt (in step order: agents reply in order). */
async function snapshotNetstat(deployed: DeployedLab, index: number, description: string): Promise<void> {
  await Promise.all(
    [...deployed.hosts.values()].map(async (host) => {
      const { text, timeUs } = await host.agent.netstat();
      const header = `# after step ${index + 1} (${description}) at ${new Date(timeUs / 1000).toISOString()}\n`;
      appendFileSync(join(host.dir, 'netstat.txt'), `${header}${text}\n`);
    }),
  );
}

/** The host's net.ipv4.tcp_* settings, as its agent read them at start. */
function recordKernelSettings(deployed: DeployedLab, name: string): void {
  const host = deployed.host(name);
  const ready = host.agent.events.find((e) => e.type === 'ready');
  const settings = ready?.type === 'ready' ? (ready.tcpSettings ?? {}) : {};
  writeFileSync(join(host.dir, 'kernel-settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * In one command: `iptables-save -c` and `ip6tables-save -c` (proof that a rule fired; the two are
 * separated by a marker line), then DROP everything in and out of the host (IPv4 and IPv6; after the
 * counters were read, so the freeze never appears in them), then stop tcpdump.
 */
async function recordRuleCountersFreezeAndStopCapture(deployed: DeployedLab, name: string): Promise<void> {
  const host = deployed.host(name);
  const freeze = ['iptables', 'ip6tables'].flatMap((tool) => ['INPUT', 'OUTPUT'].map((chain) => `${tool} -w -I ${chain} 1 -j DROP 2>/dev/null`));
  const script = `iptables-save -c; echo '${COUNTERS6_MARKER}'; ip6tables-save -c 2>/dev/null; ${freeze.join('; ')}; ${PacketCapture.STOP_ARGV.join(' ')} >/dev/null; true`;
  const result = await deployed.runtime.exec(host.handle, ['sh', '-c', script]);
  const text = result.stdout.toString('utf8');
  const marker = text.indexOf(`${COUNTERS6_MARKER}\n`);
  writeFileSync(join(host.dir, 'iptables-counters.txt'), marker < 0 ? text : text.slice(0, marker));
  writeFileSync(join(host.dir, 'ip6tables-counters.txt'), marker < 0 ? '' : text.slice(marker + COUNTERS6_MARKER.length + 1));
}

/** Separates iptables-save's output from ip6tables-save's in the one command above. */
const COUNTERS6_MARKER = '# tcplab: ip6tables-save -c follows';

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
