import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { AgentProcess } from './agent-process.js';
import { buildAgent, type BuiltAgent } from './build-agent.js';

/** The agent's socket worker is Python (sockets.py): without python3 on this machine the agent suites are skipped, saying why. */
const python3 = spawnSync('python3', ['--version'], { encoding: 'utf8' });
export const hasPython = python3.status === 0;
/** `Python 3.x.y`, or why the suites are skipped. */
export const pythonVersion = hasPython ? python3.stdout.trim() : 'python3 missing: skipped';

/** The two agents, and the compiled agent's path for tests that spawn more. */
export interface AgentPair {
  readonly server: AgentProcess;
  readonly client: AgentProcess;
  readonly agentPath: string;
}

/**
 * A "server" and a "client" agent, as in a lab, compiled once for the calling test file and spawned
 * before its tests (`use` receives them), killed and removed after them. Nothing is started without python3.
 */
export function useAgentPair(use: (pair: AgentPair) => void): void {
  let built: BuiltAgent | undefined;
  let pair: AgentPair | undefined;
  beforeAll(() => {
    if (!hasPython) return;
    built = buildAgent();
    pair = { server: new AgentProcess(built.agentPath), client: new AgentProcess(built.agentPath), agentPath: built.agentPath };
    use(pair);
  }, 120_000);
  afterAll(async () => {
    pair?.server.kill();
    pair?.client.kill();
    await Promise.all([pair?.server.exited, pair?.client.exited]);
    built?.remove();
  });
}
