import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRunRecord } from '../../../src/run/load-run.js';
import type { RunHost, RunRecord } from '../../../src/analysis/run-record.js';
import type { Verdict } from '../../../src/verify/verdict.js';

/** Folder of a committed fixture run (test/fixtures/runs/<name>). */
export type FixtureRunName = 'handshake' | 'syn-sent' | 'four-way-close' | 'handshake-traced' | 'refused-traced';

export function fixtureRunDir(name: FixtureRunName): string {
  return fileURLToPath(new URL(`../../fixtures/runs/${name}`, import.meta.url));
}

/** A committed fixture run with its stored verdict. */
export async function loadFixtureRun(name: FixtureRunName): Promise<{ record: RunRecord; verdict: Verdict }> {
  const dir = fixtureRunDir(name);
  return { record: await loadRunRecord(dir), verdict: JSON.parse(readFileSync(`${dir}/verdict.json`, 'utf8')) as Verdict };
}

/** A copy of `record` with one host replaced by `change(host)`. */
export function withHost(record: RunRecord, name: string, change: (host: RunHost) => RunHost): RunRecord {
  return { ...record, hosts: record.hosts.map((h) => (h.name === name ? change(h) : h)) };
}

export function hostOf(record: RunRecord, name: string): RunHost {
  const host = record.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`fixture has no host ${name}`);
  return host;
}
