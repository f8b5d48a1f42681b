import type { AgentEvent } from '../../../../src/agent/protocol.js';
import type { DeployedLab } from '../../../../src/run/deployed-lab.js';

/**
 * A deployment with no container: each host's agent records the commands it gets and succeeds at once
 * (listen answers `listening`, as the worker does); waits look only at the events already there.
 */
export function fakeLab(hosts: string[]): { lab: DeployedLab; events: Map<string, AgentEvent[]>; commands: Map<string, Record<string, unknown>[]> } {
  const events = new Map(hosts.map((h) => [h, [] as AgentEvent[]]));
  const commands = new Map(hosts.map((h) => [h, [] as Record<string, unknown>[]]));
  const host = (name: string) => {
    const list = events.get(name)!;
    return {
      name,
      address: `198.18.0.${hosts.indexOf(name) + 2}`,
      agent: {
        events: list,
        command: async (command: Record<string, unknown>) => {
          commands.get(name)!.push(command);
          if (command['op'] === 'listen') list.push({ type: 'listening', timeUs: 1, port: command['port'] as number });
        },
        waitFor: async (match: (e: AgentEvent) => boolean, _ms: number, what: string, from: number) => {
          const seen = list.slice(from).find(match);
          if (!seen) throw new Error(`${name}: no ${what}`);
          return seen;
        },
      },
    };
  };
  const all = new Map(hosts.map((h) => [h, host(h)]));
  const lab = {
    lab: { steps: [] },
    hosts: all,
    host: (name: string) => all.get(name)!,
    addressOf: (name: string) => all.get(name)!.address,
  } as unknown as DeployedLab;
  return { lab, events, commands };
}
