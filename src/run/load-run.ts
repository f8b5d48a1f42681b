import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../agent/protocol.js';
import type { RunHost, RunRecord, StepRecord } from '../analysis/run-record.js';
import type { Lab } from '../lab/model.js';
import { CaptureFormatError, decodeCaptureBuffer } from '../observe/capture-decoder.js';

/**
 * A run folder that cannot be read: which file, where in it (`line 3`, `byte 1024`), and what is wrong.
 * Its message is one line for people; the CLI prints it and exits 2 (bad input), never with a stack.
 */
export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
  constructor(
    readonly file: string,
    readonly where: string | undefined,
    readonly problem: string,
  ) {
    super(`${file}${where === undefined ? '' : `:${where}`}: ${problem}; the run folder is damaged (re-run the lab, or restore the file)`);
  }
}

/** Reads a run folder written by `tcplab run` into a RunRecord (the verifier's only input); a damaged file is a RunFolderError. */
export async function loadRunRecord(runDir: string): Promise<RunRecord> {
  const run = readJson<{ runId: string; startedUs: number; hosts: { name: string; address: string }[] }>(join(runDir, 'run.json'));
  if (run === undefined) throw new RunFolderError(join(runDir, 'run.json'), undefined, 'missing');
  if (!Array.isArray(run.hosts)) throw new RunFolderError(join(runDir, 'run.json'), undefined, 'expected a "hosts" list');
  const lab = readJson<Lab>(join(runDir, 'lab.json'));
  if (lab === undefined) throw new RunFolderError(join(runDir, 'lab.json'), undefined, 'missing');
  const hosts: RunHost[] = run.hosts.map(({ name, address }) => {
    const dir = join(runDir, name);
    const pcap = join(dir, 'capture.pcap');
    return {
      name,
      address,
      events: readJsonLines<AgentEvent>(join(dir, 'events.jsonl')),
      segments: existsSync(pcap) ? readCapture(pcap) : [],
      kernelSettings: readJson(join(dir, 'kernel-settings.json')) ?? {},
      ruleCounters: existsSync(join(dir, 'iptables-counters.txt')) ? readFileSync(join(dir, 'iptables-counters.txt'), 'utf8') : '',
    };
  });
  return { lab, runId: run.runId, startedUs: run.startedUs, hosts, steps: readJsonLines<StepRecord>(join(runDir, 'steps.jsonl')) };
}

function readCapture(path: string): RunHost['segments'] {
  try {
    return decodeCaptureBuffer(readFileSync(path)).segments;
  } catch (err) {
    if (err instanceof CaptureFormatError) throw new RunFolderError(path, `byte ${err.offset}`, `not a readable pcap/pcapng capture (${err.problem}, after ${err.framesRead} packets)`);
    throw err;
  }
}

function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.parse(line) as T);
      } catch (err) {
        throw new RunFolderError(path, `line ${index + 1}`, `not a JSON line (${(err as Error).message})`);
      }
    });
  return out;
}

/** The parsed JSON file, undefined when it does not exist; invalid or truncated JSON is a RunFolderError. */
export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message);
    const where = position !== null ? lineAndColumn(text, Number(position[1])) : `${lineAndColumn(text, text.length)} (end of file)`;
    throw new RunFolderError(path, where, `invalid JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`);
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}
