import { execFile } from 'node:child_process';
import { familyOf, type Lab } from '../lab/model.js';
import type { Runtime } from '../runtime/runtime.js';
import { parseRule, placeholderAddresses, RuleError, type ParsedRule, type RuleTool } from './iptables-rule.js';

/**
 * Checks a lab's iptables rules with iptables itself, at load time, so a rule that only iptables
 * rejects (an unknown target such as `DROP;touch`, a bad port, a missing match module) is a positioned
 * exit-2 problem instead of a failed step mid-run. Each host's rules are replayed in step order (an
 * `unrule` deletes its rule, so `-I INPUT 3` sees the chain as it will be) as one `iptables-restore`
 * input (`--noflush`), with host names replaced by placeholder addresses, in a throw-away network namespace
 * (`unshare --net`, destroyed when iptables-restore exits), or in a throw-away lab container when the
 * machine has no iptables or no right to unshare. Not `--test`: with the nf_tables backend
 * (iptables 1.8.9) `iptables-restore --test` accepts `-j NOSUCH`; a real commit in a namespace does not.
 */
export interface RestoreRunner {
  /** Feeds `input` to iptables-restore (ip6tables-restore for `tool` ip6tables) in an isolated network namespace; resolves with its exit code and stderr. */
  restore(input: string, tool: RuleTool): Promise<{ exitCode: number; stderr: string }>;
}

/** A rule step iptables refused: its index in `lab.steps` and iptables' one-line reason. */
export interface RefusedRule {
  readonly stepIndex: number;
  readonly reason: string;
}

type RestoreLine = { readonly stepIndex: number; readonly table: string; readonly text: string; readonly tool: RuleTool };

/** Every rule step of `lab` that iptables refuses (at most one per step), found by replaying each host's rules. */
export async function checkLabRules(lab: Lab, runner: RestoreRunner): Promise<RefusedRule[]> {
  const hostNames = lab.hosts.map((host) => host.name);
  const placeholders = { 4: placeholderAddresses(hostNames, 4), 6: placeholderAddresses(hostNames, 6) } as const;
  // iptables and ip6tables keep separate tables: each host's rules of each family are one replay.
  const linesByHost = new Map<string, RestoreLine[]>();
  const added = new Map<string, { rule: ParsedRule; stepIndex: number }>();
  lab.steps.forEach((step, stepIndex) => {
    if (step.kind === 'rule') {
      let rule: ParsedRule;
      try {
        rule = parseRule(step.text, placeholders[familyOf(step)], { comment: `tcplab:${step.name}`, family: familyOf(step) });
      } catch (error) {
        if (error instanceof RuleError) return; // reported by the loader
        throw error;
      }
      added.set(`${step.host}/${step.name}`, { rule, stepIndex });
      pushLine(linesByHost, `${step.host}/${rule.tool}`, { stepIndex, table: rule.table, text: restoreLine(rule.argv), tool: rule.tool });
    } else if (step.kind === 'unrule') {
      const rule = added.get(`${step.host}/${step.name}`);
      if (rule !== undefined) {
        const line = { stepIndex: rule.stepIndex, table: rule.rule.table, text: restoreLine(rule.rule.deleteArgv), tool: rule.rule.tool };
        pushLine(linesByHost, `${step.host}/${rule.rule.tool}`, line);
      }
    }
  });
  const refused: RefusedRule[] = [];
  for (const lines of linesByHost.values()) refused.push(...(await findRefused(lines, runner)));
  return refused.sort((a, b) => a.stepIndex - b.stepIndex);
}

/** Runs one host's lines; on a refusal, records it, drops that rule's lines and runs the rest again. */
async function findRefused(lines: readonly RestoreLine[], runner: RestoreRunner): Promise<RefusedRule[]> {
  const refused: RefusedRule[] = [];
  let remaining = [...lines];
  while (remaining.length > 0) {
    const { input, stepOfLine } = restoreInput(remaining);
    const result = await runner.restore(input, (remaining[0] as RestoreLine).tool);
    if (result.exitCode === 0) break;
    const lineNumber = Number(
      /Error occurred at line: (\d+)|line (\d+) failed/
        .exec(result.stderr)
        ?.slice(1)
        .find((n) => n !== undefined),
    );
    const stepIndex = stepOfLine.get(lineNumber) ?? (remaining[0] as RestoreLine).stepIndex;
    refused.push({ stepIndex, reason: iptablesReason(result.stderr) });
    remaining = remaining.filter((line) => line.stepIndex !== stepIndex);
  }
  return refused;
}

/**
 * The iptables-restore text for `lines` (run with --noflush): one `*table / line / COMMIT` section per
 * line, in step order, because the nf_tables backend reports a refused target at the COMMIT line, and
 * which step each line number belongs to.
 */
export function restoreInput(lines: readonly RestoreLine[]): { input: string; stepOfLine: Map<number, number> } {
  const out: string[] = [];
  const stepOfLine = new Map<number, number>();
  for (const line of lines) {
    out.push(`*${line.table}`, line.text, 'COMMIT');
    stepOfLine.set(out.length - 1, line.stepIndex);
    stepOfLine.set(out.length, line.stepIndex);
  }
  return { input: `${out.join('\n')}\n`, stepOfLine };
}

/** One iptables-restore line for iptables argv without its `-t TABLE` (the section names the table). */
function restoreLine(argv: readonly string[]): string {
  const words = argv[0] === '-t' ? argv.slice(2) : argv;
  return words.map((word) => (/^[^\s"'\\]+$/.test(word) ? word : `"${word.replace(/["\\]/g, (ch) => `\\${ch}`)}"`)).join(' ');
}

/** iptables' own reason in one line, without the program/version prefix and the "Try --help" hint. */
export function iptablesReason(stderr: string): string {
  const first = stderr
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !/^Error occurred at line/.test(line) && !/^Try `/.test(line));
  const reason = (first ?? 'iptables-restore failed without a message')
    .replace(/^(ip6?tables-restore|ip6?tables)(\s+v[\d.]+)?(\s+\([^)]*\))?:\s*/, '')
    .replace(/^line \d+ failed:\s*/, '');
  return reason.length > 160 ? `${reason.slice(0, 160)}…` : reason;
}

function pushLine(map: Map<string, RestoreLine[]>, host: string, line: RestoreLine): void {
  const lines = map.get(host) ?? [];
  lines.push(line);
  map.set(host, lines);
}

/** Runs iptables-restore in a fresh network namespace of this machine (`unshare --net`, needs root). */
export const namespaceRestoreRunner: RestoreRunner = {
  restore: (input, tool) =>
    new Promise((resolve) => {
      const child = execFile('unshare', ['--net', '--', `${tool}-restore`, '--noflush'], { timeout: 10_000 }, (error, _stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
        resolve({ exitCode: code, stderr: error !== null && typeof error.code !== 'number' ? `${error.message}\n${stderr}` : stderr });
      });
      child.stdin?.end(input);
    }),
};

/** Runs iptables-restore in a throw-away container of the lab image (NET_ADMIN, no network); 0.35 s a call here. */
export function throwawayRestoreRunner(runtime: Runtime, image: string): RestoreRunner {
  return {
    restore: async (input, tool) => {
      const result = await runtime.runThrowaway({
        image,
        argv: [`${tool}-restore`, '--noflush'],
        capAdd: ['NET_ADMIN'],
        stdin: input,
        labels: { 'tcplab.probe': 'iptables' },
      });
      return { exitCode: result.exitCode, stderr: result.stderr };
    },
  };
}
