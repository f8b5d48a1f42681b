import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { renderFsm, type FsmFormat } from '../report/fsm-render.js';
import { linuxMachine } from '../tcp/linux-profile.js';
import { RFC9293_MACHINE } from '../tcp/rfc9293-machine.js';
import type { TcpState } from '../tcp/state.js';
import type { TcpMachine } from '../tcp/tcp-machine.js';
import { readHostKernelSettings } from '../analysis/host-kernel-settings.js';
import { replayRun } from '../analysis/run-replay.js';
import type { RunRecord } from '../analysis/run-record.js';
import { sampleStates } from '../analysis/socket-timeline.js';
import { CliError, ExitCode } from './exit-codes.js';
import { readRunRecord } from './run-folder.js';

interface FsmFlags {
  format: FsmFormat;
  linux?: boolean;
  lab?: string;
  host?: string;
}

/** `tcplab fsm`: prints the reference machine (RFC 9293, or the Linux profile), optionally with a run's paths highlighted. */
export function registerFsm(program: Command): void {
  program
    .command('fsm')
    .description('print the TCP state machine (RFC 9293 or the Linux profile) as text, Graphviz DOT or Mermaid')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'dot', 'mermaid']).default('text'))
    .option('--linux', "the Linux 6.18 profile instead of RFC 9293 (with --lab: for each host's own settings)")
    .option('--lab <run-folder>', 'highlight the state path each socket of this run took (replayed from its capture and calls)')
    .option('--host <name>', "with --lab: only this host's sockets")
    .action(async (flags: FsmFlags) => {
      process.stdout.write(await renderFsmCommand(flags));
    });
}

/** The text `tcplab fsm` prints for these flags; throws CliError (exit 2) on bad arguments. */
export async function renderFsmCommand(flags: FsmFlags): Promise<string> {
  if (flags.host !== undefined && flags.lab === undefined)
    throw new CliError('--host needs --lab <run-folder>; add the run folder whose host to show', ExitCode.usage);
  if (flags.lab === undefined) {
    return ensureNewline(renderFsm(flags.linux === true ? linuxMachine() : RFC9293_MACHINE, flags.format));
  }
  const dir = flags.lab;
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(join(dir, 'run.json'))) {
    throw new CliError(
      `--lab ${dir}: expected a run folder written by \`tcplab run\` (with run.json), received ${existsSync(dir) ? 'a path without run.json' : 'a path that does not exist'}`,
      ExitCode.usage,
    );
  }
  const run = await readRunRecord(dir);
  if (flags.host !== undefined && !run.hosts.some((h) => h.name === flags.host)) {
    throw new CliError(`--host ${flags.host}: the run has no such host; its hosts are ${run.hosts.map((h) => h.name).join(', ')}`, ExitCode.usage);
  }
  return renderRunPaths(run, flags);
}

function renderRunPaths(run: RunRecord, flags: FsmFlags): string {
  const comment = flags.format === 'dot' ? '//' : flags.format === 'mermaid' ? '%%' : '#';
  const replays = replayRun(run).filter((r) => flags.host === undefined || r.host === flags.host);
  if (replays.length === 0) {
    return `${comment} ${run.runId}: no connection socket to highlight${flags.host === undefined ? '' : ` on ${flags.host}`}\n${ensureNewline(renderFsm(RFC9293_MACHINE, flags.format))}`;
  }
  const parts: string[] = [];
  for (const replay of replays) {
    const host = run.hosts.find((h) => h.name === replay.host);
    const machine: TcpMachine = flags.linux === true && host !== undefined ? linuxMachine(readHostKernelSettings(host).settings) : RFC9293_MACHINE;
    const path = collapse(replay.timeline.map((e) => e.state));
    const observed = collapse(
      sampleStates(host?.events ?? [])
        .filter((s) => s.local === replay.tuple.local && s.remote === replay.tuple.remote)
        .map((s) => s.state),
    );
    parts.push(
      `${comment} ${replay.host} ${replay.tuple.local} ↔ ${replay.tuple.remote}: replayed ${path.join(' → ')}; sampled ${observed.join(' → ') || '(none)'}`,
    );
    parts.push(ensureNewline(renderFsm(machine, flags.format, { path })));
  }
  return ensureNewline(parts.join('\n'));
}

function collapse(states: readonly TcpState[]): TcpState[] {
  const out: TcpState[] = [];
  for (const s of states) if (out.at(-1) !== s) out.push(s);
  return out;
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
