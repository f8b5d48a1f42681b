import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../agent/protocol.js';
import type { Lab } from '../lab/model.js';
import { decodeCaptureBuffer } from '../observe/capture-decoder.js';
import type { RunHost, RunRecord, StepRecord } from '../analysis/run-record.js';

/** Reads a run folder written by `tcplab run` into a RunRecord (the verifier's only input). */
export async function loadRunRecord(runDir: string): Promise<RunRecord> {
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as {
    runId: string;
    startedUs: number;
    hosts: { name: string; address: string }[];
  };
  const lab = JSON.parse(readFileSync(join(runDir, 'lab.json'), 'utf8')) as Lab;
  const hosts: RunHost[] = run.hosts.map(({ name, address }) => {
    const dir = join(runDir, name);
    const pcap = join(dir, 'capture.pcap');
    return {
      name,
      address,
      events: readJsonLines<AgentEvent>(join(dir, 'events.jsonl')),
      segments: existsSync(pcap) ? decodeCaptureBuffer(readFileSync(pcap)).segments : [],
      kernelSettings: readJson(join(dir, 'kernel-settings.json'), {}),
      ruleCounters: existsSync(join(dir, 'iptables-counters.txt')) ? readFileSync(join(dir, 'iptables-counters.txt'), 'utf8') : '',
    };
  });
  return { lab, runId: run.runId, startedUs: run.startedUs, hosts, steps: readJsonLines<StepRecord>(join(runDir, 'steps.jsonl')) };
}

function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : fallback;
}
