import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '../agent/protocol.js';
import { REMOVED_RULE_COUNTERS_FILE, stateSourceOf, type RemovedRuleCounters, type RunHost, type RunRecord, type StepRecord } from '../analysis/run-record.js';
import type { Lab } from '../lab/model.js';
import { CaptureFormatError, decodeCaptureBuffer } from '../observe/capture-decoder.js';
import { CAPTURE_COUNTERS_FILE, type CaptureCounters } from '../observe/capture-counters.js';
import type { KernelCallPaths } from '../observe/kernel-call-path.js';
import { withoutEarlierSockets, type KernelEvent } from '../observe/kernel-trace.js';
import { RunFolderError } from './run-folder-error.js';

export { RunFolderError };

const HOST_NAME = /^[a-z][a-z0-9-]*$/;

/** Reads a run folder written by `tcplab run` into a RunRecord (the verifier's only input); throws RunFolderError. */
// Async by contract (every caller awaits it), though each read here is synchronous today.
// eslint-disable-next-line @typescript-eslint/require-await
export async function loadRunRecord(runDir: string): Promise<RunRecord> {
  const runFile = join(runDir, 'run.json');
  const run = readRunJson(runFile) as { runId?: unknown; startedUs?: unknown; hosts?: unknown };
  const hostList = Array.isArray(run.hosts) ? (run.hosts as unknown[]) : undefined;
  if (typeof run.runId !== 'string' || typeof run.startedUs !== 'number' || hostList === undefined) {
    throw new RunFolderError(runFile, '', 'expected an object with runId, startedUs and hosts as tcplab run writes it');
  }
  const runHosts = hostList.map((host, index) => {
    const { name, address, address6 } = (host ?? {}) as { name?: unknown; address?: unknown; address6?: unknown };
    if (typeof name !== 'string' || !HOST_NAME.test(name) || typeof address !== 'string' || (address6 !== undefined && typeof address6 !== 'string')) {
      throw new RunFolderError(
        runFile,
        '',
        `hosts[${index}] is not a host (a name of lower-case letters, digits and -, an address, and optionally an address6)`,
      );
    }
    return { name, address, ...(typeof address6 === 'string' && { address6 }) };
  });
  const labFile = join(runDir, 'lab.json');
  const lab = readRunJson(labFile) as Lab;
  if (!Array.isArray(lab.hosts) || !Array.isArray(lab.steps) || !Array.isArray(lab.expectations) || typeof lab.name !== 'string') {
    throw new RunFolderError(labFile, '', 'expected the lab as tcplab run writes it (name, hosts, steps, expectations)');
  }
  const hosts: RunHost[] = runHosts.map(({ name, address, address6 }) => {
    const dir = join(runDir, name);
    const pcap = join(dir, 'capture.pcap');
    return {
      name,
      address,
      ...(address6 !== undefined && { address6 }),
      events: readJsonLines<AgentEvent>(join(dir, 'events.jsonl')),
      ...(existsSync(pcap) ? readCapture(pcap) : { segments: [], icmp: [] }),
      kernelSettings: existsSync(join(dir, 'kernel-settings.json')) ? (readRunJson(join(dir, 'kernel-settings.json')) as Record<string, string>) : {},
      ruleCounters: existsSync(join(dir, 'iptables-counters.txt')) ? readFileSync(join(dir, 'iptables-counters.txt'), 'utf8') : '',
      ...(existsSync(join(dir, REMOVED_RULE_COUNTERS_FILE)) && {
        removedRuleCounters: readJsonLines<RemovedRuleCounters>(join(dir, REMOVED_RULE_COUNTERS_FILE)),
      }),
      ...(existsSync(join(dir, 'ip6tables-counters.txt')) && { ruleCounters6: readFileSync(join(dir, 'ip6tables-counters.txt'), 'utf8') }),
      ...(existsSync(join(dir, CAPTURE_COUNTERS_FILE)) && { captureCounters: readCaptureCounters(join(dir, CAPTURE_COUNTERS_FILE)) }),
      ...(existsSync(join(dir, 'kernel-events.jsonl')) && {
        kernelEvents: withoutEarlierSockets(readJsonLines<KernelEvent>(join(dir, 'kernel-events.jsonl'))),
      }),
    };
  });
  const record: RunRecord = { lab, runId: run.runId, startedUs: run.startedUs, hosts, steps: readJsonLines<StepRecord>(join(runDir, 'steps.jsonl')) };
  const pathsFile = join(runDir, 'kernel-paths.json');
  const callPaths = readOptionalRunJson<KernelCallPaths>(pathsFile);
  if (callPaths !== undefined) {
    if (!Array.isArray(callPaths.calls)) throw new RunFolderError(pathsFile, '', 'expected an object with a calls array as tcplab run writes it');
    record.kernelCallPaths = callPaths;
  }
  if (hosts.some((h) => stateSourceOf(h) === 'sampled')) {
    const traceFile = join(runDir, 'kernel-trace.json');
    const trace = (existsSync(traceFile) ? readRunJson(traceFile) : {}) as { unavailable?: string };
    if (trace.unavailable !== undefined) record.kernelTraceUnavailable = trace.unavailable;
  }
  return record;
}

/** A host's capture counters as tcpdump printed them (run-lab.ts); anything else is a RunFolderError. */
function readCaptureCounters(path: string): CaptureCounters {
  const counters = readRunJson(path) as Partial<Record<keyof CaptureCounters, unknown>>;
  const fields = ['captured', 'receivedByFilter', 'droppedByKernel', 'droppedByInterface'] as const;
  if (typeof counters !== 'object' || counters === null || !fields.every((f) => Number.isInteger(counters[f]))) {
    throw new RunFolderError(path, '', `expected tcpdump's counters as tcplab run writes them (${fields.join(', ')}: whole numbers)`);
  }
  return counters as CaptureCounters;
}

/** A JSON file of a run folder, undefined when it does not exist; a broken one is a RunFolderError. */
export function readOptionalRunJson<T>(path: string): T | undefined {
  return existsSync(path) ? (readRunJson(path) as T) : undefined;
}

/** Parses a JSON file of a run folder; a broken one is a RunFolderError naming the byte offset. */
export function readRunJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RunFolderError(path, offsetOf(error, text), 'not valid JSON');
  }
}

function readCapture(path: string): Pick<RunHost, 'segments' | 'icmp'> {
  try {
    const { segments, icmp } = decodeCaptureBuffer(readFileSync(path));
    return { segments, icmp };
  } catch (error) {
    if (!(error instanceof CaptureFormatError)) throw error;
    throw new RunFolderError(path, ` (byte ${error.offset})`, `not a complete capture: ${error.problem}`);
  }
}

function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const records: T[] = [];
  let offset = 0;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      if (line.trim() !== '') {
        try {
          records.push(JSON.parse(line) as T);
        } catch {
          throw new RunFolderError(path, `:${index + 1} (byte ${offset})`, 'a broken line, not JSON');
        }
      }
      offset += Buffer.byteLength(line) + 1;
    });
  return records;
}

/**
 * ` (byte N)` where JSON.parse failed: from its message (`… at position N`) or, when the message has no
 * position (`Unexpected token 'x', "…" is not valid JSON` quotes the text instead, so it is never shown),
 * the shortest prefix that is already invalid rather than merely incomplete (binary search).
 */
function offsetOf(error: unknown, text: string): string {
  const message = String((error as Error).message);
  const position = /position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return ` (byte ${Buffer.byteLength(text.slice(0, Number(position)))})`;
  if (/end of JSON input/.test(message)) return ' (at its end)';
  const invalid = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (e) {
      // incomplete, not invalid: "Unexpected end of JSON input", or a position at the prefix's end
      const said = String((e as Error).message);
      return !/end of JSON input/.test(said) && /position (\d+)/.exec(said)?.[1] !== String(length);
    }
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (invalid(middle)) high = middle;
    else low = middle + 1;
  }
  return ` (byte ${Buffer.byteLength(text.slice(0, Math.max(0, low - 1)))})`;
}
