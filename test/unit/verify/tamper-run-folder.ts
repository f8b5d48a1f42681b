import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCaptureBuffer } from '../../../src/observe/capture-decoder.js';
import type { TcpSegment } from '../../../src/observe/packet.js';
import { encodeTcpFrame, joinPcap, splitPcap, type FrameSegment, type PcapRecord } from '../../../src/observe/pcap-writer.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { FIXTURE_RUNS } from './run-fixtures.js';

/*
 * Tampering with a copy of a recorded run folder, as someone editing its files would: the capture is
 * edited with the project's own pcap writer and decoder, JSON lines are rewritten, then the copy is
 * verified again from its files (loadRunRecord + verifyRun, what `tcplab verify <run-folder>` does).
 */

const made: string[] = [];

/** A fresh copy of test/fixtures/runs/<name> in a temporary folder. */
export function copyFixtureRun(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tcplab-tamper-')), name);
  made.push(dir);
  cpSync(join(FIXTURE_RUNS, name), dir, { recursive: true });
  return dir;
}

/** Removes every copy made (call in afterAll). */
export function removeCopies(): void {
  for (const dir of made.splice(0)) rmSync(join(dir, '..'), { recursive: true, force: true });
}

/** The decoded segments of a host's capture in the copy. */
export function capturedSegments(dir: string, host: string): TcpSegment[] {
  return decodeCaptureBuffer(readFileSync(join(dir, host, 'capture.pcap'))).segments;
}

/** Rewrites `host`'s capture: `edit` gets the records and, per record, its decoded segment (undefined for non-TCP frames). */
export function editCapture(
  dir: string,
  host: string,
  edit: (records: PcapRecord[], segmentOf: (record: PcapRecord) => TcpSegment | undefined) => PcapRecord[],
): void {
  const path = join(dir, host, 'capture.pcap');
  const bytes = readFileSync(path);
  const file = splitPcap(bytes);
  const byFrame = new Map(decodeCaptureBuffer(bytes).segments.map((s) => [s.frame, s]));
  const index = new Map(file.records.map((r, i) => [r, i + 1]));
  writeFileSync(
    path,
    joinPcap(
      file,
      edit([...file.records], (r) => byFrame.get(index.get(r) ?? 0)),
    ),
  );
}

/** Adds a forged segment to `host`'s capture at `timeUs`, in time order. */
export function forgeSegment(dir: string, host: string, timeUs: number, segment: FrameSegment): void {
  editCapture(dir, host, (records) => {
    const frame = encodeTcpFrame(segment);
    const forged: PcapRecord = { timeUs, originalLength: frame.length, frame };
    const at = records.findIndex((r) => r.timeUs > timeUs);
    records.splice(at < 0 ? records.length : at, 0, forged);
    return records;
  });
}

/** Rewrites a JSON-lines file of the copy, line by line (`change` returns the new object). */
export function rewriteJsonLines(dir: string, file: string, change: (value: Record<string, unknown>) => Record<string, unknown>): void {
  const path = join(dir, file);
  const lines = readFileSync(path, 'utf8').split('\n');
  writeFileSync(path, lines.map((line) => (line.trim() === '' ? line : JSON.stringify(change(JSON.parse(line) as Record<string, unknown>)))).join('\n'));
}

/** Rewrites a text file of the copy. */
export function rewriteText(dir: string, file: string, change: (text: string) => string): void {
  const path = join(dir, file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

/** Verifies the copy again from its files. */
export async function reverify(dir: string): Promise<Verdict> {
  return verifyRun(await loadRunRecord(dir), dir, 0);
}

/** The names of the failed checks. */
export function failedChecks(verdict: Verdict): string[] {
  return verdict.checks.filter((c) => c.status === 'fail').map((c) => c.name);
}
