import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/run-cli.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { FIXTURE_RUNS } from '../verify/run-fixtures.js';

/*
 * The interactive mode driven through a real pseudo-terminal: tmux runs `tcplab exercise syn-sent` in a
 * detached session, the test reads the screen, types each answer as a student would (text, arrow keys
 * for the lists), and checks the graded output. --run grades against a real recorded run (no Docker).
 */
const TMUX = '/usr/bin/tmux';
const socket = `tcplab-exercise-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync(TMUX, ['-L', socket, ...args], { encoding: 'utf8' });

async function waitForScreen(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < until) {
    screen = tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', 'ex');
    if (pattern.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the screen never showed ${String(pattern)}; it shows:\n${screen}`);
}

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

describe.skipIf(!existsSync(TMUX))('tcplab exercise syn-sent on a terminal (tmux)', () => {
  it('shows the setup with the fault hidden, asks each question, grades the answers against the run', async () => {
    const run = join(tempDir('tcplab-interactive-'), 'run');
    cpSync(join(FIXTURE_RUNS, 'syn-sent-traced'), run, { recursive: true });
    const out = join(tempDir('tcplab-interactive-'), 'exit-code');
    const command = `cd ${REPO_ROOT} && DOCKER_HOST=unix:///nonexistent/docker.sock node bin/tcplab.js exercise syn-sent --run ${run}; echo $? > ${out}; sleep 120`;
    tmux('new-session', '-d', '-s', 'ex', '-x', '180', '-y', '60', command);
    const setup = await waitForScreen(/1\/6 How many SYN segments/);
    expect(setup).toContain('(a network fault is set here; its details are hidden)');
    expect(setup).not.toContain('-j DROP');
    // waits would give the answers away (wait for "error" on c); the actions are shown
    expect(setup).toContain('client: connect c to server:8888');
    expect(setup).not.toContain('wait for');
    const type = async (keys: string[], next: RegExp): Promise<void> => {
      tmux('send-keys', '-t', 'ex', ...keys);
      await waitForScreen(next);
    };
    await type(['4', 'Enter'], /2\/6 Which states/);
    await type(['SYN_SENT, CLOSED', 'Enter'], /3\/6 What will connect\(\) return/);
    await type(['Down', 'Enter'], /4\/6 How long after connect/); // connected → ETIMEDOUT
    await type(['20s', 'Enter'], /5\/6 Will the server send a SYN-ACK/); // wrong: about 15 s
    await type(['Down', 'Enter'], /6\/6 Do all the SYNs carry the same sequence number/); // yes → no
    await type(['Enter'], /score: \d+\/6/); // yes
    const screen = await waitForScreen(/score: 5\/6/);
    expect(screen).toMatch(/\[syn-count\][^\n]*\n\s+your answer: 4\s+✓ correct\n\s+observed: 4/);
    expect(screen).toMatch(/\[client-states\][^\n]*\n\s+your answer: SYN_SENT, CLOSED\s+✓ correct/);
    expect(screen).toMatch(/\[outcome\][^\n]*\n\s+your answer: ETIMEDOUT\s+✓ correct/);
    expect(screen).toMatch(/\[give-up\][^\n]*\n\s+your answer: 20s\s+✗ wrong\n\s+observed: 15\.\d\ds/);
    expect(screen).toMatch(/connect failed with ETIMEDOUT at \+15\.\d+ s/);
    expect(screen).toMatch(/\[synack\][^\n]*\n\s+your answer: no\s+✓ correct/);
    expect(screen).toMatch(/Timeouts of 1, 2, 4 and 8 s/);
    await waitForScreen(/score: 5\/6/);
    const until = Date.now() + 5_000;
    while (!existsSync(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(out, 'utf8').trim()).toBe('0');
  }, 60_000);
});

describe.skipIf(!existsSync(TMUX))('Ctrl-C at a prompt', () => {
  it('ends with exit 130 before anything runs, saying nothing was started', async () => {
    const run = join(tempDir('tcplab-interactive-'), 'run');
    cpSync(join(FIXTURE_RUNS, 'syn-sent-traced'), run, { recursive: true });
    const out = join(tempDir('tcplab-interactive-'), 'exit-code');
    const command = `cd ${REPO_ROOT} && DOCKER_HOST=unix:///nonexistent/docker.sock node bin/tcplab.js exercise syn-sent --run ${run}; echo $? > ${out}; sleep 120`;
    tmux('new-session', '-d', '-s', 'ex2', '-x', '180', '-y', '60', command);
    const until = Date.now() + 15_000;
    while (!/1\/6 How many SYN/.test(tmux('capture-pane', '-p', '-t', 'ex2')) && Date.now() < until) await new Promise((r) => setTimeout(r, 150));
    tmux('send-keys', '-t', 'ex2', 'C-c');
    const done = Date.now() + 10_000;
    while (!existsSync(out) && Date.now() < done) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(out, 'utf8').trim()).toBe('130');
    expect(tmux('capture-pane', '-p', '-J', '-t', 'ex2')).toContain('interrupted before the run; nothing was started');
  }, 40_000);
});
