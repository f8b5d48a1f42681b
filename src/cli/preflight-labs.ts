import { execFile } from 'node:child_process';
import { checkLabRules, namespaceRestoreRunner, throwawayRestoreRunner, type RestoreRunner } from '../faults/check-rules.js';
import { checkLabSysctls } from '../lab/kernel-sysctls.js';
import { LabError } from '../lab/lab-error.js';
import type { PathProblem } from '../lab/lab-issues.js';
import { locateLabFileProblems } from '../lab/load-lab.js';
import type { Lab } from '../lab/model.js';
import type { Runtime } from '../runtime/runtime.js';
import { readSysctlFacts } from '../runtime/sysctl-facts.js';
import { CliError, ExitCode } from './exit-codes.js';

/** A loaded lab and the path the user named it by (problems are reported against that path). */
export interface LoadedLab {
  readonly lab: Lab;
  readonly path: string;
}

/**
 * The checks of a lab that need this machine, run after the image exists and before anything is created:
 * its sysctls against what the kernel accepts (kernel-sysctls.ts, facts read once per image) and its
 * iptables rules against iptables itself (check-rules.ts). Throws a LabError (exit 2) with the positions.
 */
export async function checkLabsOnMachine(labs: readonly LoadedLab[], overrides: readonly string[], runtime: Runtime, image: string): Promise<void> {
  const facts = await readSysctlFacts(runtime, image).catch((err: Error) => {
    throw new CliError(`cannot read which sysctls the kernel accepts from the lab image: ${err.message}\n  try: tcplab doctor`, ExitCode.environment);
  });
  const runner = await chooseRestoreRunner(runtime, image);
  const errors: LabError[] = [];
  for (const { lab, path } of labs) {
    const problems: PathProblem[] = checkLabSysctls(lab, facts);
    for (const refused of await checkLabRules(lab, runner)) {
      problems.push({
        path: ['steps', refused.stepIndex, 'rule', 'add'],
        target: 'value',
        message: `iptables refuses this rule: ${refused.reason}; fix the rule (iptables(8), iptables-extensions(8))`,
      });
    }
    if (problems.length > 0) errors.push(await locateLabFileProblems(path, overrides, problems));
  }
  const [first, ...rest] = errors;
  if (first !== undefined) throw rest.length === 0 ? first : new LabError([first, ...rest].flatMap((e) => e.problems));
}

/**
 * A throw-away network namespace of this machine when it can make one (root, unshare and iptables-restore
 * present), else a throw-away lab container with NET_ADMIN and no network.
 */
async function chooseRestoreRunner(runtime: Runtime, image: string): Promise<RestoreRunner> {
  const canUnshare = await new Promise<boolean>((resolve) => {
    execFile('unshare', ['--net', '--', 'iptables-restore', '--version'], { timeout: 5_000 }, (error) => resolve(error === null));
  });
  return canUnshare ? namespaceRestoreRunner : throwawayRestoreRunner(runtime, image);
}
