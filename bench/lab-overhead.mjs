#!/usr/bin/env node
// What a lab costs beyond the containers it needs. Prints, side by side from one run:
//   - the floor: docker CLI creating one internal network and two lab-image containers (the two
//     started in parallel), then removing them;
//   - the handshake lab run as a user runs it (`tcplab run handshake`), its wall time and its phases
//     (deploy, steps, collect, teardown, verify: the run folder's timings.json);
//   - the ratio of the two;
//   - each socket step's round trip (steps.jsonl: start to end of a listen, connect, send, close … step, i.e.
//     command sent, agent → socket worker → syscall → reply back on the host), median per kind over the rounds.
// Usage: bench/lab-overhead.mjs [-n N] [--lab NAME]   (medians of N rounds, default 5; needs
// `npx tsc -p tsconfig.json`, an engine and the lab image: `npx tcplab setup`)
import { $, argv, fs, os, path } from 'zx';

$.verbose = false;
const rounds = Number(argv.n ?? 5);
const labName = argv.lab ?? 'handshake';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const image = (await $`node ${root}/bin/tcplab.js image build`).stdout.trim().split('\n').pop();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

const floor = [];
const lab = [];
const phases = [];
const stepMs = new Map();
const SOCKET_STEPS = new Set([
  'listen',
  'connect',
  'send',
  'shutdown',
  'close',
  'close-on-fin',
  'abort',
  'setsockopt',
  'pause',
  'resume',
  'accept',
  'unlisten',
]);
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcplab-overhead-'));
try {
  for (let i = 0; i < rounds; i++) {
    const name = `tcplab-bench-floor-${process.pid}-${i}`;
    floor.push(
      await timed(async () => {
        await $`docker network create --internal ${name}`;
        await Promise.all(['a', 'b'].map((h) => $`docker run -d --name ${name}-${h} --network ${name} --cap-add NET_ADMIN ${image} sleep infinity`));
        await $`docker rm -f ${name}-a ${name}-b`;
        await $`docker network rm ${name}`;
      }),
    );
    const dir = fs.mkdtempSync(path.join(runsDir, 'r'));
    lab.push(await timed(() => $`node ${root}/bin/tcplab.js run ${labName} -q --runs-dir ${dir}`));
    const [runFolder] = fs.readdirSync(dir).filter((name) => !name.startsWith('.'));
    phases.push(JSON.parse(fs.readFileSync(path.join(dir, runFolder, 'timings.json'), 'utf8')));
    for (const line of fs
      .readFileSync(path.join(dir, runFolder, 'steps.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)) {
      const step = JSON.parse(line);
      if (SOCKET_STEPS.has(step.kind)) stepMs.set(step.kind, [...(stepMs.get(step.kind) ?? []), (step.endUs - step.startUs) / 1000]);
    }
  }
} finally {
  fs.rmSync(runsDir, { recursive: true, force: true });
}

const ms = (x) => `${(x / 1000).toFixed(2)} s`;
console.log(`${rounds} rounds, medians; ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} at the end`);
console.log(`floor (docker: network + 2 containers, create/start/remove)  ${ms(median(floor))}`);
console.log(`tcplab run ${labName} (wall time of the command)               ${ms(median(lab))}`);
for (const phase of ['deployMs', 'settingsMs', 'stepsMs', 'collectMs', 'teardownMs', 'verifyMs']) {
  console.log(`  ${phase.replace('Ms', '').padEnd(10)} ${ms(median(phases.map((p) => p[phase])))}`);
}
const inRun = median(phases.map((p) => Object.values(p).reduce((a, b) => a + b, 0)));
console.log(`  start-up and exit of the CLI (wall − phases)  ${ms(median(lab) - inRun)}`);
console.log(`ratio ${labName} / floor: ${(median(lab) / median(floor)).toFixed(2)}`);
for (const [kind, values] of stepMs) {
  console.log(`step round trip ${kind.padEnd(8)} median ${median(values).toFixed(2)} ms, max ${Math.max(...values).toFixed(2)} ms (${values.length} steps)`);
}
