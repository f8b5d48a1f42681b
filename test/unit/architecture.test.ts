import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.js';

/** Every .ts file under src/, relative to the repository root. */
function sourceFiles(dir = join(REPO_ROOT, 'src')): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [relative(REPO_ROOT, path)] : [];
  });
}

/** The import statements of a file: their specifier and whether only types are imported. */
function importsOf(file: string): { from: string; typeOnly: boolean; text: string }[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/^(import|export)\s+(type\s+)?([^'";]*?)\s+from\s+'([^']+)';/gms)].map((m) => {
    const clause = m[3] ?? '';
    const names =
      /\{([^}]*)\}/
        .exec(clause)?.[1]
        ?.split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '') ?? [];
    const bare = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,/g, '')
      .trim();
    const typeOnly = m[2] !== undefined || (bare === '' && names.length > 0 && names.every((n) => n.startsWith('type ')));
    return { from: m[4] as string, typeOnly, text: m[0] };
  });
}

const files = sourceFiles();

describe('the shape of the tree (issue 8)', () => {
  it('files in src/report import only types from src/verify', () => {
    const offending = files
      .filter((f) => f.startsWith('src/report/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.from.includes('/verify/') && !i.typeOnly)
          .map((i) => `${f}: ${i.text}`),
      );
    expect(offending).toEqual([]);
  });

  it('files in src/report compute nothing the analysis holds: no fitter, predictor, replay, sampler, rule parser', () => {
    const computing =
      /\b(fitRetransmissions|predict\w*Schedule|predictGiveUpWindow|estimateFinRto|replayRun|replayEndpoint|analyzeRun|analyseSeries|traceSegments|buildRuleTimeline|sampleStates|readHostKernelSettings|compileRule|parseRule|parseRuleCounters|matchCounterToRule|findSynAckReplies)\b/;
    const offending = files
      .filter((f) => f.startsWith('src/report/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => !i.typeOnly && computing.test(i.text))
          .map((i) => `${f}: ${i.text}`),
      );
    expect(offending).toEqual([]);
    expect(importsOf('src/cli/report-command.ts').some((i) => computing.test(i.text))).toBe(true);
  });

  it('the import checker itself sees a value import from verify (a test that can fail)', () => {
    expect(importsOf('src/cli/report-command.ts').some((i) => i.from.includes('/verify/') && !i.typeOnly)).toBe(true);
  });

  it('src/run takes its observer port from src/run, not from a renderer', () => {
    const offending = files
      .filter((f) => f.startsWith('src/run/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.from.endsWith('report/live-view.js'))
          .map((i) => `${f}: ${i.text}`),
      );
    expect(offending).toEqual([]);
  });

  it('no source file is over 700 lines', () => {
    const long = files.filter((f) => readFileSync(join(REPO_ROOT, f), 'utf8').split('\n').length > 700);
    expect(long).toEqual([]);
  });

  it('each shared rule has one definition: assertNever, the SYN-ACK reply window, the REJECT reply window, the sample allowance', () => {
    const definitions = (pattern: RegExp): string[] => files.filter((f) => pattern.test(readFileSync(join(REPO_ROOT, f), 'utf8')));
    expect(definitions(/function assertNever\(/)).toEqual(['src/assert-never.ts']);
    expect(definitions(/SYN_REPLY_WINDOW_US\s*=/)).toEqual(['src/analysis/syn-ack-replies.ts']);
    expect(definitions(/REJECT_REPLY_WINDOW_US\s*=/)).toEqual(['src/analysis/rule-timeline.ts']);
    expect(definitions(/SAMPLE_ALLOWANCE_US\s*=/)).toEqual(['src/analysis/sampled-reads.ts']);
    // The matcher is compiled where drops are attributed (rule-timeline) and where counters are checked against
    // the captures, for every target and both directions (verify/rule-counter-checks.ts); nowhere else.
    expect(definitions(/compileRule\(/).sort()).toEqual(['src/analysis/rule-timeline.ts', 'src/faults/rule-matcher.ts', 'src/verify/rule-counter-checks.ts']);
  });

  it('the replay handles every step kind and every call: its switches end in assertNever, never in a silent default', () => {
    const replay = ['endpoint-replay.ts', 'run-replay.ts'].map((f) => readFileSync(join(REPO_ROOT, 'src/analysis', f), 'utf8')).join('\n');
    expect(replay).not.toMatch(/default:\s*break;/);
    expect(replay.match(/default:\s*assertNever\((step|op)\);/g)).toHaveLength(2);
  });

  it('the pure core (analysis, verify, report, tcp, exercise) does no I/O (src/verify/connections.ts streams capture files for `verify <capture>`; another part of the tree owns it)', () => {
    const pure = files.filter((f) => /^src\/(analysis|report|tcp|exercise)\//.test(f) || (f.startsWith('src/verify/') && f !== 'src/verify/connections.ts'));
    const io = pure.flatMap((f) =>
      importsOf(f)
        .filter((i) => /^node:(fs|child_process|net|http)/.test(i.from) && !i.typeOnly)
        .map((i) => `${f}: ${i.text}`),
    );
    expect(io).toEqual([]);
  });
});
