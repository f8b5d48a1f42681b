#!/usr/bin/env node
// State fidelity: how well the /proc/net/tcp sampler sees what the kernel's tracepoints record.
// Per lab run it prints: the exact state transitions (inet_sock_set_state, into states other than
// CLOSED), how many of them no sample showed, the sampler's stamp error against the exact event
// (sample stamp − tracepoint time: median and max), and the clock check (capture stamp − tracepoint
// time of the segments tied to a tracepoint: median and max of |Δ|). "outside" counts samples stamped
// outside the exact interval of the state they show (before it began or after it ended): a stamp
// that cannot be the moment the row was read. A sample carries the span of its read (readFromUs …
// timeUs): "outside" needs the whole span to miss the state; "read span max" is the widest span.
//
// Usage: node bench/state-fidelity.mjs [-n N] lab ...        runs each lab N times (default 1), one at a time
//        node bench/state-fidelity.mjs --folders DIR ...     reads existing run folders instead
// Needs a built tree (npx tsc -p tsconfig.json); running labs needs Docker and root (tracefs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadRunRecord } = await import(join(root, 'dist/verify/load-run.js'));
const { compareSamplesWithTrace, compareTraceWithCapture } = await import(join(root, 'dist/observe/trace-fidelity.js'));

const args = process.argv.slice(2);
let runs = 1;
const folders = [];
const labs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-n') runs = Number(args[++i]);
  else if (args[i] === '--folders') folders.push(...args.splice(i + 1));
  else labs.push(args[i]);
}
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`-n takes a whole number ≥ 1; received "${runs}"\n`);
  process.exit(2);
}
if (labs.length === 0 && folders.length === 0) {
  process.stderr.write('usage: node bench/state-fidelity.mjs [-n N] lab ... | --folders RUN_DIR ...\n');
  process.exit(2);
}

const runsDir = process.env.RUNS_DIR ?? mkdtempSync(join(tmpdir(), 'tcplab-fidelity-'));
for (const lab of labs) {
  for (let r = 0; r < runs; r++) {
    let out;
    try {
      out = execFileSync(process.execPath, [join(root, 'bin/tcplab.js'), 'run', lab, '--json', '-q', '--runs-dir', runsDir], { encoding: 'utf8' });
    } catch (err) {
      out = err.stdout; // a FAIL verdict exits 1 but still prints its JSON
    }
    const verdict = JSON.parse(out).labs[0];
    folders.push(verdict.runDir);
  }
}

const median = (xs) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]);
const max = (xs) => (xs.length === 0 ? NaN : Math.max(...xs));
const ms = (us) => (Number.isNaN(us) ? '—' : (us / 1000).toFixed(1));
const byLab = new Map();
for (const folder of folders) {
  const record = await loadRunRecord(folder);
  const row = byLab.get(record.lab.name) ?? {
    runs: 0,
    sampledRuns: 0,
    exact: 0,
    missed: 0,
    missedStates: new Map(),
    errors: [],
    outside: 0,
    readSpans: [],
    clock: [],
  };
  row.runs++;
  row.held = record.lab.steps.some((step) => step.kind === 'hold');
  for (const host of record.hosts) {
    if (host.kernelEvents === undefined) {
      row.sampledRuns++;
      continue;
    }
    const observations = { ...host, kernelEvents: host.kernelEvents };
    for (const t of compareSamplesWithTrace(observations)) {
      row.exact++;
      if (t.sampledUs === undefined) {
        row.missed++;
        const key = `${host.name}:${t.to}`;
        row.missedStates.set(key, (row.missedStates.get(key) ?? 0) + 1);
      } else {
        row.errors.push(t.sampledUs - t.exactUs);
        // The row was read somewhere in [readFromUs, sampledUs]: outside when that whole span misses the state.
        const from = t.readFromUs ?? t.sampledUs;
        if (t.sampledUs < t.exactUs || (t.leftUs !== undefined && from > t.leftUs)) row.outside++;
        if (t.readFromUs !== undefined) row.readSpans.push(t.sampledUs - t.readFromUs);
      }
    }
    // A held egress queue (hold/release) keeps segments from the device for seconds: no clock figure there.
    if (!row.held) for (const pair of compareTraceWithCapture(observations)) row.clock.push(Math.abs(pair.deltaUs));
  }
  byLab.set(record.lab.name, row);
}

const header = [
  'lab',
  'runs',
  'exact',
  'missed',
  'stamp err median ms',
  'max ms',
  'outside',
  'read span max ms',
  'clock |Δ| median µs',
  'max µs',
  'missed (host:state ×n)',
];
const lines = [header];
for (const [lab, row] of [...byLab].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push([
    lab,
    String(row.runs) + (row.sampledRuns > 0 ? ` (${row.sampledRuns} host(s) untraced)` : ''),
    String(row.exact),
    String(row.missed),
    ms(median(row.errors)),
    ms(max(row.errors)),
    String(row.outside),
    ms(max(row.readSpans)),
    row.held ? '(held egress)' : String(median(row.clock)),
    row.held ? '' : String(max(row.clock)),
    [...row.missedStates].map(([k, n]) => `${k}×${n}`).join(', '),
  ]);
}
const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
for (const line of lines)
  process.stdout.write(
    `${line
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd()}\n`,
  );
process.stdout.write(`run folders: ${runsDir}\n`);
