#!/usr/bin/env node
// Runs each lab N times in a row and prints pass/fail counts per lab: the repeatability figures of
// the README. With --load, two busy loops (one per core of this machine's two) run the whole time,
// to show the verdicts hold on a busy machine. Failing run folders are kept so a verdict can be read.
// Usage: bench/repeat-labs.mjs [-n N] [--load] [lab ...]   (default: every lab in labs/, N = 20)
// Needs a built tree (npx tsc -p tsconfig.json), an engine and the image (npx tcplab setup).
import { Worker } from 'node:worker_threads';
import { $, fs, minimist, os, path } from 'zx';

$.verbose = false;
// --load is a flag: `--load syn-sent` must not take the lab's name as its value.
const argv = minimist(process.argv.slice(2), { boolean: ['load'] });
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const n = Number(argv.n ?? 20);
if (!Number.isInteger(n) || n < 1) {
  console.error(`-n takes a whole number ≥ 1, received "${argv.n}"`);
  process.exit(2);
}
const labs =
  argv._.length > 0
    ? argv._.map(String)
    : fs
        .readdirSync(path.join(root, 'labs'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5))
        .sort();
const runsDir = process.env.RUNS_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tcplab-repeat-'));

// Busy loops in worker threads: they stop with this process, whatever way it ends.
const burners = argv.load ? os.cpus().map(() => new Worker('for (;;) {}', { eval: true })) : [];
if (argv.load) console.log(`load: ${burners.length} busy loops, one per core`);

console.log(`${'lab'.padEnd(22)} ${'runs'.padStart(5)} ${'pass'.padStart(5)} ${'fail'.padStart(5)} ${'mean s'.padStart(8)}  failed run folders`);
let totalFail = 0;
for (const lab of labs) {
  let pass = 0;
  let totalMs = 0;
  const failed = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const result = await $`node ${root}/bin/tcplab.js run ${lab} --json -q --runs-dir ${runsDir}`.nothrow().quiet();
    totalMs += performance.now() - start;
    if (result.exitCode === 0) pass++;
    else {
      let dir = `(exit ${result.exitCode}, no verdict)`;
      try {
        dir = JSON.parse(result.stdout).labs[0].runDir;
      } catch {
        // no JSON verdict on stdout: keep the exit code as the reason
      }
      failed.push(dir);
    }
  }
  totalFail += n - pass;
  console.log(
    `${lab.padEnd(22)} ${String(n).padStart(5)} ${String(pass).padStart(5)} ${String(n - pass).padStart(5)} ${(totalMs / n / 1000).toFixed(1).padStart(8)}  ${failed.join(' ')}`,
  );
}
console.log(`run folders: ${runsDir}`);
await Promise.all(burners.map((w) => w.terminate()));
process.exit(totalFail === 0 ? 0 : 1);
