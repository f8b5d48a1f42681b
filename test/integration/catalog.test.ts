import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, isMap, isSeq, type Document, type YAMLMap } from 'yaml';
import { loadLabText } from '../../src/lab/load-lab.js';
import { dockerAvailable } from '../helpers/docker-available.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

/*
 * The catalog: every lab in labs/ (and every teacher lab of test/fixtures/labs/teacher/) runs for real through the CLI
 * and must PASS; its run folder, re-verified by `tcplab verify` against a copy of the lab with one expectation turned
 * false, must FAIL with exit code 1 (so no lab passes vacuously: the same captures, only the claim differs; `run`'s
 * own exit code 1 is tested in lifecycle.test.ts); and `--parallel 2` runs two labs at once, each on its own network.
 */

interface JsonCheck {
  name: string;
  status: string;
  expected: string;
  observed: string;
}
interface JsonVerdict {
  lab: string;
  verdict: string;
  runDir: string;
  durationMs: number;
  checks: JsonCheck[];
  hosts?: { name: string; address: string; stateSource: string }[];
}

/** Root beside a local engine: the kernel can be traced, so every host's states must come from tracepoints. */
const TRACEABLE = process.getuid?.() === 0 && (process.env['DOCKER_HOST'] ?? 'unix://').startsWith('unix://');

const LABS_DIR = join(REPO_ROOT, 'labs');
const LAB_NAMES = readdirSync(LABS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();
/** Labs written as a teacher would, outside the catalog (each once a false verdict, or a kernel behaviour measured): held to the same two tests. */
const TEACHER_DIR = join(REPO_ROOT, 'test/fixtures/labs/teacher');
const TEACHER_LABS = readdirSync(TEACHER_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(TEACHER_DIR, f));
/** What `tcplab run` is given for each lab: a catalog name, or a teacher lab's path. */
const LAB_ARGS = [...LAB_NAMES, ...TEACHER_LABS];
const labFile = (arg: string): string => (arg.endsWith('.yaml') ? arg : join(LABS_DIR, `${arg}.yaml`));
const runsDir = mkdtempSync(join(tmpdir(), 'tcplab-catalog-'));
/** Generous bound per lab run: the default form of every lab finishes in 30 s, plus deployment. */
const RUN_TIMEOUT_MS = 120_000;

/** How one expectation of a lab file was made false, and how the failing check is recognised. */
export interface FlippedExpectation {
  /** e.g. `never → states` */
  readonly how: string;
  /** Index of the changed item under `expect`. */
  readonly index: number;
  /** A fragment of the name of the check that must now fail. */
  readonly failingCheck: RegExp;
}

/**
 * Turns one expectation of a lab file into its opposite, in place, and says which. Preference:
 * a `returned` names the other result of a nonblocking connect(2) (EINPROGRESS ↔ ok); else a `never`
 * becomes a `states` path through the first forbidden state (a passing lab never sampled it); else an
 * `outcome` names a different result; else a `packets` count is raised by one.
 */
export function flipOneExpectation(doc: Document): FlippedExpectation {
  const expectations = doc.get('expect');
  if (!isSeq(expectations)) throw new Error('flipOneExpectation: the lab has no `expect` list; a lab without expectations cannot be flipped');
  const items = expectations.items.filter((item): item is YAMLMap => isMap(item));
  const find = (key: string): number => items.findIndex((item) => item.has(key));
  const returned = find('returned');
  if (returned >= 0) {
    const value = items[returned]!.get('returned') as YAMLMap;
    const observed = String(value.get('is'));
    value.set('is', observed === 'EINPROGRESS' ? 'ok' : 'EINPROGRESS');
    return { how: `returned ${observed} → ${String(value.get('is'))}`, index: returned, failingCheck: /nonblocking connect\(\)/ };
  }
  const never = find('never');
  if (never >= 0) {
    const value = items[never]!.get('never') as YAMLMap;
    const states = value.get('states');
    const first = isSeq(states) ? String((states.items[0] as { value?: unknown } | undefined)?.value ?? states.items[0]) : undefined;
    if (first === undefined) throw new Error('flipOneExpectation: a `never` without states');
    const flipped = doc.createNode({ states: { host: value.get('host'), ...(value.has('port') ? { port: value.get('port') } : {}), path: [first] } });
    expectations.items[expectations.items.indexOf(items[never]!)] = flipped;
    return { how: `never [${first}] → states [${first}]`, index: never, failingCheck: /passes through/ };
  }
  const outcome = find('outcome');
  if (outcome >= 0) {
    const value = items[outcome]!.get('outcome') as YAMLMap;
    const observed = String(value.get('is'));
    value.set('is', observed === 'connected' ? 'ETIMEDOUT' : 'connected');
    return { how: `outcome ${observed} → ${String(value.get('is'))}`, index: outcome, failingCheck: /^connect\(\)/ };
  }
  const packets = items.findIndex((item) => item.has('packets') && (item.get('packets') as YAMLMap).has('count'));
  if (packets >= 0) {
    const value = items[packets]!.get('packets') as YAMLMap;
    const count = Number(value.get('count'));
    value.set('count', count + 1);
    return { how: `packets count ${count} → ${count + 1}`, index: packets, failingCheck: /segments/ };
  }
  throw new Error('flipOneExpectation: no never, outcome or packets-count expectation to flip; add one to the lab');
}

function parseVerdicts(stdout: string): JsonVerdict[] {
  return (JSON.parse(stdout) as { labs: JsonVerdict[] }).labs;
}

function describeFailures(verdict: JsonVerdict): string {
  return verdict.checks
    .filter((c) => c.status !== 'pass')
    .map((c) => `${c.name}: expected ${c.expected}; observed ${c.observed}`)
    .join('\n');
}

describe('flipOneExpectation (pure)', () => {
  it('turns a never into a states path through the forbidden state', () => {
    const doc = parseDocument('expect:\n  - outcome: { host: c, conn: c, is: connected }\n  - never: { host: c, port: 80, states: [TIME_WAIT, CLOSING] }\n');
    const flip = flipOneExpectation(doc);
    expect(flip.how).toBe('never [TIME_WAIT] → states [TIME_WAIT]');
    expect(doc.toJS()).toEqual({ expect: [{ outcome: { host: 'c', conn: 'c', is: 'connected' } }, { states: { host: 'c', port: 80, path: ['TIME_WAIT'] } }] });
  });
  it('falls back to the outcome, then to a packets count', () => {
    const outcome = parseDocument('expect:\n  - outcome: { host: c, conn: c, is: ECONNREFUSED }\n');
    expect(flipOneExpectation(outcome).how).toBe('outcome ECONNREFUSED → connected');
    const packets = parseDocument('expect:\n  - packets: { from: a, to: b, flags: "S", min: 1 }\n  - packets: { from: a, to: b, flags: "R.", count: 0 }\n');
    expect(flipOneExpectation(packets).how).toBe('packets count 0 → 1');
    expect(packets.toJS()).toEqual({
      expect: [{ packets: { from: 'a', to: 'b', flags: 'S', min: 1 } }, { packets: { from: 'a', to: 'b', flags: 'R.', count: 1 } }],
    });
  });
  it('flips what a nonblocking connect returned before anything else', () => {
    const doc = parseDocument('expect:\n  - never: { host: c, states: [TIME_WAIT] }\n  - returned: { host: c, conn: c, is: EINPROGRESS }\n');
    expect(flipOneExpectation(doc).how).toBe('returned EINPROGRESS → ok');
    expect(doc.toJS()).toEqual({ expect: [{ never: { host: 'c', states: ['TIME_WAIT'] } }, { returned: { host: 'c', conn: 'c', is: 'ok' } }] });
  });
  it('refuses a lab with nothing it can flip', () => {
    expect(() => flipOneExpectation(parseDocument('title: x\n'))).toThrow(/no `expect` list/);
    expect(() => flipOneExpectation(parseDocument('expect:\n  - handshake: { client: a, server: b }\n'))).toThrow(/no never, outcome or packets-count/);
  });
  it('can flip every lab of the catalog and every teacher lab', () => {
    expect(LAB_NAMES.length).toBeGreaterThanOrEqual(2);
    for (const arg of LAB_ARGS) {
      const doc = parseDocument(readFileSync(labFile(arg), 'utf8'));
      expect(() => flipOneExpectation(doc), arg).not.toThrow();
    }
  });
});

describe.skipIf(!(await dockerAvailable()))('the lab catalog in real Docker', () => {
  beforeAll(async () => {
    const built = await runCli(['image', 'build']);
    expect(built.exitCode, built.all).toBe(0);
  }, 600_000);

  /** Lab name → the run folder of its passing run, which the flipped copy re-verifies. */
  const passedRuns = new Map<string, string>();

  describe.each(LAB_ARGS.map((arg) => [basename(arg, '.yaml'), arg]))('%s', (name, arg) => {
    it(
      'passes',
      async () => {
        const result = await runCli(['run', arg, '--json', '--runs-dir', runsDir]);
        const [verdict] = parseVerdicts(result.stdout);
        expect(verdict, result.all).toBeDefined();
        expect(verdict!.verdict, `${name} failed; run folder ${verdict!.runDir}\n${describeFailures(verdict!)}`).toBe('pass');
        expect(result.exitCode).toBe(0);
        expect(verdict!.checks.length).toBeGreaterThan(0);
        passedRuns.set(name, verdict!.runDir);
        if (TRACEABLE) expect(verdict!.hosts?.map((h) => h.stateSource)).toEqual(verdict!.hosts?.map(() => 'tracepoint'));
        const runId = (JSON.parse(readFileSync(join(verdict!.runDir, 'run.json'), 'utf8')) as { runId: string }).runId;
        expect(existsSync(`/sys/kernel/tracing/instances/tcplab-${runId}`), 'the tracing instance outlived its run').toBe(false);
      },
      RUN_TIMEOUT_MS,
    );

    it(
      'its run, re-verified with one expectation turned false, fails with exit code 1',
      async () => {
        const passed = passedRuns.get(name);
        expect(passed, `${name} made no passing run to re-verify`).toBeDefined();
        const doc = parseDocument(readFileSync(labFile(arg), 'utf8'));
        const flip = flipOneExpectation(doc);
        const dir = mkdtempSync(join(tmpdir(), 'tcplab-flipped-'));
        const runDir = join(dir, 'run');
        cpSync(passed!, runDir, { recursive: true });
        // The run folder's lab, as `tcplab run` writes it (run-lab.ts): the file, and the model it loaded.
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, doc.toString());
        writeFileSync(join(runDir, 'lab.yaml'), doc.toString());
        writeFileSync(join(runDir, 'lab.json'), `${JSON.stringify(loadLabText(doc.toString(), file), null, 2)}\n`);
        const result = await runCli(['verify', runDir, '--json']);
        expect(result.exitCode, `${name} with ${flip.how}: ${result.all}`).toBe(1);
        const [verdict] = parseVerdicts(result.stdout);
        expect(verdict!.verdict).toBe('fail');
        const failing = verdict!.checks.filter((c) => c.status === 'fail').map((c) => c.name);
        expect(
          failing.some((n) => flip.failingCheck.test(n)),
          `${flip.how}: failing checks were ${failing.join('; ')}`,
        ).toBe(true);
      },
      RUN_TIMEOUT_MS,
    );
  });

  it(
    '--parallel 2 runs two labs at the same time, each passing on its own network',
    async () => {
      // close-wait's steps last about 5 s (its FIN_WAIT_2 timeout), so abort's steps fall inside them
      // whichever host deploys faster; two short labs' steps (refused: 40 ms) may not overlap at all.
      const pair = ['close-wait', 'abort'].filter((n) => LAB_NAMES.includes(n));
      expect(pair).toHaveLength(2);
      const result = await runCli(['run', ...pair, '--parallel', '2', '--json', '--runs-dir', runsDir]);
      expect(result.exitCode, result.all).toBe(0);
      const verdicts = parseVerdicts(result.stdout);
      expect(verdicts.map((v) => v.lab).sort()).toEqual([...pair].sort());
      expect(verdicts.every((v) => v.verdict === 'pass')).toBe(true);
      // The two runs' lifetimes (deployment to teardown, from their steps and timings.json) overlap:
      // they really ran at once. Their step windows alone need not: one lab's steps can end before the
      // other's deployment does.
      const spans = verdicts.map((v) => {
        const steps = readFileSync(join(v.runDir, 'steps.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { startUs: number; endUs: number });
        const t = JSON.parse(readFileSync(join(v.runDir, 'timings.json'), 'utf8')) as Record<string, number>;
        const before = ((t.deployMs ?? 0) + (t.settingsMs ?? 0)) * 1000;
        const after = ((t.collectMs ?? 0) + (t.teardownMs ?? 0)) * 1000;
        return { start: steps[0]!.startUs - before, end: steps.at(-1)!.endUs + after };
      });
      expect(spans[0]!.start < spans[1]!.end && spans[1]!.start < spans[0]!.end, JSON.stringify(spans)).toBe(true);
      // Separate networks: the hosts' addresses come from different /24s.
      const subnets = verdicts.map((v) => {
        const run = JSON.parse(readFileSync(join(v.runDir, 'run.json'), 'utf8')) as { hosts: { address: string }[] };
        return run.hosts[0]!.address.split('.').slice(0, 3).join('.');
      });
      expect(subnets[0]).not.toBe(subnets[1]);
      // Each run's kernel trace holds its own sockets only, although the other run's traffic happened at the same time.
      if (TRACEABLE) {
        verdicts.forEach((v, i) => {
          // fib_table_lookup's gw fields are left unset for a route without a gateway (include/trace/events/fib.h sets
          // gw4/gw6 only for nhc_gw_family AF_INET or AF_INET6), so they print stale ring-buffer bytes — seen in CI as
          // `gw 0.0.0.0/::ffff:<the other run's address>`. They name no socket; leave them out.
          const trace = readFileSync(join(v.runDir, 'kernel-trace.txt'), 'utf8').replace(/ gw \S+/g, ' gw -');
          expect(trace).toContain(`${subnets[i]}.`);
          expect(trace, `${v.runDir}/kernel-trace.txt`).not.toContain(`${subnets[1 - i]}.`);
        });
      }
    },
    2 * RUN_TIMEOUT_MS,
  );
});
