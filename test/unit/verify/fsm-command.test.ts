import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../src/cli/exit-codes.js';
import { registerFsm, renderFsmCommand } from '../../../src/cli/fsm-command.js';
import { FIXTURE_RUNS } from './run-fixtures.js';

describe('tcplab fsm', () => {
  it('prints the RFC machine, or the Linux profile with --linux', async () => {
    const rfc = await renderFsmCommand({ format: 'text' });
    const linux = await renderFsmCommand({ format: 'text', linux: true });
    expect(rfc).toContain('SYN_SENT');
    expect(linux).not.toBe(rfc);
    expect(await renderFsmCommand({ format: 'dot' })).toMatch(/^digraph/m);
    expect(await renderFsmCommand({ format: 'mermaid' })).toContain('stateDiagram-v2');
  });

  it('--lab highlights each socket path of the run (replayed, with the sampled path in a comment)', async () => {
    const out = await renderFsmCommand({ format: 'mermaid', lab: join(FIXTURE_RUNS, 'handshake'), host: 'client' });
    expect(out).toMatch(
      /^%% client \S+ ↔ \S+:8888: replayed CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT; sampled ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT$/m,
    );
    expect(out).toContain('class CLOSED,SYN_SENT,ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,TIME_WAIT highlighted');
    const both = await renderFsmCommand({ format: 'text', lab: join(FIXTURE_RUNS, 'handshake') });
    expect(both.match(/^# (client|server) /gm)).toHaveLength(2);
  });

  it('bad arguments are usage errors (exit 2) that say what to give', async () => {
    await expect(renderFsmCommand({ format: 'text', lab: '/nonexistent' })).rejects.toThrow(
      /--lab \/nonexistent: expected a run folder .* received a path that does not exist/,
    );
    await expect(renderFsmCommand({ format: 'text', host: 'client' })).rejects.toThrow(CliError);
    const error = await renderFsmCommand({ format: 'text', lab: join(FIXTURE_RUNS, 'handshake'), host: 'nobody' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message).toBe('--host nobody: the run has no such host; its hosts are server, client');
    const program = new Command('tcplab').exitOverride().configureOutput({ writeErr: () => {} });
    registerFsm(program);
    program.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {} }));
    await expect(program.parseAsync(['node', 'tcplab', 'fsm', '--format', 'svg'])).rejects.toBeInstanceOf(CommanderError);
  });
});
