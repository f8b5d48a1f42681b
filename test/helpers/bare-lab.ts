import type { Lab } from '../../src/lab/model.js';

/** A lab with a server and a client and nothing else: for deploying hosts without running steps. */
export function bareLab(name: string, timeoutMs = 60_000): Lab {
  return {
    name,
    title: name,
    description: '',
    file: '/dev/null',
    hosts: [
      { name: 'server', sysctls: {} },
      { name: 'client', sysctls: {} },
    ],
    steps: [],
    expectations: [],
    timeoutMs,
    positions: { steps: [], expectations: [] },
  };
}
