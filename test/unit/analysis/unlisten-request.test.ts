import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { verifyRun } from '../../../src/verify/verify-run.js';
import { loadFixtureRun } from '../verify/run-fixtures.js';

/*
 * A request outlives its closed listener until its next segment or timer fire (tcp_v4_rcv(), reqsk_timer_handler()).
 * Recorded: teacher lab unlisten-half-open — the listener's row was gone 6 ms after the unlisten, the request's
 * SYN_RECV row 74 ms after that, just after the client's data arrived (answered by a bare RST).
 */
describe('recorded unlisten-half-open run: the request dies with its listener, at its next segment', () => {
  it('the replay ends the request between the unlisten and the data segment, never ESTABLISHED', async () => {
    const run = await loadFixtureRun('unlisten-half-open');
    const server = replayRun(run).find((r) => r.host === 'server')!;
    expect(server.timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED', 'CLOSED']);
    const end = server.timeline.at(-1)!;
    expect(end.cause).toEqual({ kind: 'timer', name: 'its listener closed (the request dropped)' });
    const unlisten = run.steps.find((s) => s.kind === 'unlisten')!;
    const data = run.hosts.find((h) => h.name === 'server')!.segments.find((s) => s.payloadLength > 0)!;
    expect(end.timeUs).toBe(unlisten.startUs);
    expect(end.latestUs).toBe(data.timeUs);
    expect(verifyRun(run, 'x', 0).verdict).toBe('pass');
  });

  it('fails when the listener is not the request’s: the replay then has the data complete the handshake, which the trace never saw', async () => {
    const base = await loadFixtureRun('unlisten-half-open');
    const steps = base.lab.steps.map((s) => (s.kind === 'unlisten' ? { ...s, port: 9999 } : s));
    const run = { ...base, lab: { ...base.lab, steps } };
    const analysis = analyzeRun(run);
    expect(analysis.replays.find((r) => r.host === 'server')!.timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSED']);
    const check = checkConformance(run, analysis.replays, analysis).find((c) => c.name.startsWith('server'))!;
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/the replay's ESTABLISHED at \+0\.\d{3} s \(.*\) never happened: the kernel traced no transition of this socket/);
  });
});
