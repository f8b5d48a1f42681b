import { describe, expect, it } from 'vitest';
import type { KernelEvent } from '../../../src/observe/kernel-trace.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { checkSynRetransmits } from '../../../src/verify/timing-checks.js';
import { USERSPACE_ERROR_LATENCY_MS } from '../../../src/tcp/timing-model.js';
import { loadFixtureRun, withHost } from './run-fixtures.js';

const EXPECTATION = { kind: 'syn-retransmits', host: 'client', conn: 'c' } as const;

/** The recorded syn-sent run (samples only) with the ETIMEDOUT event moved, and optionally an exact kernel give-up. */
function variant(run: RunRecord, options: { errorShiftMs?: number; kernelGiveUpAtMs?: number }): RunRecord {
  return withHost(run, 'client', (h) => {
    const syn = h.segments.find((s) => s.src === h.address && (s.flags & 0x12) === 0x02) ?? expect.unreachable();
    const local = `${syn.src}:${syn.srcPort}`;
    const remote = `${syn.dst}:${syn.dstPort}`;
    const events = h.events.map((e) => (e.type === 'error' ? { ...e, timeUs: e.timeUs + (options.errorShiftMs ?? 0) * 1000 } : e));
    const kernelEvents: KernelEvent[] | undefined =
      options.kernelGiveUpAtMs === undefined
        ? undefined
        : [
            {
              kind: 'state',
              tracepoint: 'inet_sock_set_state',
              local,
              remote,
              from: 'CLOSED',
              to: 'SYN_SENT',
              timeUs: syn.timeUs,
              traceUs: syn.timeUs,
              line: 14,
            },
            {
              kind: 'state',
              tracepoint: 'inet_sock_set_state',
              local,
              remote,
              from: 'SYN_SENT',
              to: 'CLOSED',
              timeUs: syn.timeUs + options.kernelGiveUpAtMs * 1000,
              traceUs: 0,
              line: 15,
            },
          ];
    return { events, ...(kernelEvents !== undefined && { kernelEvents }) };
  });
}

describe('give-up timing of connect(): the kernel exact transition first, user-space ETIMEDOUT with a documented bound', () => {
  it('samples only: ETIMEDOUT 487 ms after the on-time give-up still passes, judged over [error − bound, error]', async () => {
    const check = checkSynRetransmits(EXPECTATION, await loadFixtureRun('syn-sent'));
    expect(check.status).toBe('pass');
    expect(check.evidence?.join('\n')).toContain(`${USERSPACE_ERROR_LATENCY_MS} ms before it (user-space delivery latency bound`);
  });

  it('samples only: an ETIMEDOUT later than the bound after the window FAILs', async () => {
    const check = checkSynRetransmits(EXPECTATION, variant(await loadFixtureRun('syn-sent'), { errorShiftMs: 700 }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the give-up late');
  });

  it('exact: the kernel SYN_SENT → CLOSED inside the window passes though ETIMEDOUT came 600 ms later', async () => {
    const check = checkSynRetransmits(EXPECTATION, variant(await loadFixtureRun('syn-sent'), { errorShiftMs: 600, kernelGiveUpAtMs: 15_300 }));
    expect(check.status).toBe('pass');
    expect(check.evidence?.join('\n')).toContain('kernel SYN_SENT → CLOSED (inet_sock_set_state, kernel-trace.txt line 15)');
  });

  it('exact: a kernel give-up outside the window FAILs even when ETIMEDOUT is in it', async () => {
    const check = checkSynRetransmits(EXPECTATION, variant(await loadFixtureRun('syn-sent'), { kernelGiveUpAtMs: 14_000 }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the give-up early');
  });
});
