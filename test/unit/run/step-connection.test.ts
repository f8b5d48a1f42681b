import { describe, expect, it } from 'vitest';
import type { DeployedLab } from '../../../src/run/deployed-lab.js';
import { stepConnection, trackConnections, type StepContext } from '../../../src/run/step-runner.js';

/** A step context with no lab behind it: stepConnection() and trackConnections() read only the maps. */
function context(): StepContext {
  return {
    lab: {} as DeployedLab,
    signal: new AbortController().signal,
    actionStart: new Map(),
    connections: new Map(),
    latestConn: new Map(),
    rules: new Map(),
  };
}

describe('the connection a socket-call step acts on, as recorded in steps.jsonl', () => {
  it('a close without conn resolves to the host latest connection (accepted-1 on a server)', () => {
    const ctx = context();
    trackConnections(ctx, 'server', { type: 'accepted', timeUs: 1, conn: 'accepted-1', port: 8888, local: '10.0.0.2:8888', remote: '10.0.0.3:40000' });
    expect(stepConnection(ctx, { kind: 'close', host: 'server' })).toBe('accepted-1');
    expect(stepConnection(ctx, { kind: 'close', host: 'server', conn: 'other' })).toBe('other');
    expect(stepConnection(ctx, { kind: 'connect', host: 'client', to: 'server', port: 8888, conn: 'c' })).toBe('c');
  });

  it('steps that act on no connection record none', () => {
    const ctx = context();
    expect(stepConnection(ctx, { kind: 'sleep', durationMs: 10 })).toBeUndefined();
    expect(stepConnection(ctx, { kind: 'close', host: 'client' })).toBeUndefined();
  });
});
