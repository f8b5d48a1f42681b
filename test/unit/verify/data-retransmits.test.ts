import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import type { Step } from '../../../src/lab/model.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { checkDataRetransmits } from '../../../src/verify/timing-checks.js';
import { loadFixtureRun, withHost, withSettings } from './run-fixtures.js';

const EXPECTATION = { kind: 'data-retransmits', host: 'client', conn: 'c' } as const;

/** The client's conformance check of the record. */
function clientConformance(run: RunRecord) {
  const analysis = analyzeRun(run);
  return checkConformance(run, analysis.replays, analysis).find((c) => c.name.startsWith('client')) ?? expect.unreachable();
}

describe('data retransmission and its give-up (recorded data-retransmit run: the peer drops everything, tcp_retries2=4)', () => {
  it('the copies (a tail-loss probe, then doubling RTOs) and the exact give-up fit the model; ETIMEDOUT, no RST', async () => {
    const check = checkDataRetransmits(EXPECTATION, await loadFixtureRun('data-retransmit'));
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/^6 copies at 0, 0\.205, 0\.413, 0\.845, 1\.677, 3\.341 s; gave up at 6\.66\d s \(ETIMEDOUT\)$/);
    expect(check.evidence?.join('\n')).toContain('kernel ESTABLISHED → CLOSED (inet_sock_set_state');
    expect(check.evidence?.join('\n')).toContain('tail-loss probe at 0.205 s');
  });

  it('the replay gives up too: ESTABLISHED → CLOSED by the data retransmission timer, matched by the exact trace', async () => {
    const run = await loadFixtureRun('data-retransmit');
    const replay = analyzeRun(run).replays.find((r) => r.host === 'client') ?? expect.unreachable();
    const last = replay.timeline.at(-1) ?? expect.unreachable();
    expect(last.state).toBe('CLOSED');
    expect(last.cause.kind === 'timer' && last.cause.name).toContain('data retransmissions exhausted in ESTABLISHED (tcp_retries2=4');
    expect(clientConformance(run).status).toBe('pass');
  });

  it('FAILs against other settings: with tcp_retries2=5 the kernel gave up a whole RTO too early', async () => {
    const run = withSettings(await loadFixtureRun('data-retransmit'), 'client', { 'net.ipv4.tcp_retries2': '5' });
    const check = checkDataRetransmits(EXPECTATION, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the give-up early');
    expect(clientConformance(run).status).toBe('fail');
  });

  it('FAILs when the application saw another error, or the copies are not there', async () => {
    const run = await loadFixtureRun('data-retransmit');
    const reset = withHost(run, 'client', (h) => ({ events: h.events.map((e) => (e.type === 'error' ? { ...e, code: 'ECONNRESET' } : e)) }));
    expect(checkDataRetransmits(EXPECTATION, reset).observed).toContain('the application saw ECONNRESET, expected ETIMEDOUT');
    const noCopies = withHost(run, 'client', (h) => ({ segments: h.segments.filter((s) => s.payloadLength === 0) }));
    expect(checkDataRetransmits(EXPECTATION, noCopies).status).toBe('fail');
  });
});

describe('data retransmission answered in the end (the rule lifted after the 4th copy: the ACK stops the timer)', () => {
  /** The recorded run with the server's ACK of the data reaching the client 30 ms after the 4th copy, and nothing after it. */
  async function answeredRun(options: { keepError?: boolean; copyAfter?: boolean } = {}): Promise<RunRecord> {
    const run = await loadFixtureRun('data-retransmit');
    return withHost(run, 'client', (h) => {
      const copies = h.segments.filter((s) => s.src === h.address && s.payloadLength > 0);
      const fourth = copies[3] ?? expect.unreachable();
      const ack: TcpSegment = {
        ...fourth,
        frame: 900,
        timeUs: fourth.timeUs + 30_000,
        src: fourth.dst,
        dst: fourth.src,
        srcPort: fourth.dstPort,
        dstPort: fourth.srcPort,
        seq: fourth.ack,
        ack: (fourth.seq + fourth.payloadLength) >>> 0,
        flags: TcpFlag.ACK,
        payloadLength: 0,
      };
      const later = options.copyAfter ? [{ ...fourth, frame: 901, timeUs: ack.timeUs + 400_000 }] : [];
      return {
        segments: [...h.segments.filter((s) => s.timeUs <= fourth.timeUs), ack, ...later],
        events: options.keepError ? h.events : h.events.filter((e) => e.type !== 'error' && e.timeUs <= ack.timeUs),
      };
    });
  }

  it('passes: the copies due until the ACK, no give-up expected', async () => {
    const check = checkDataRetransmits(EXPECTATION, await answeredRun());
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/^4 copies at .* s, until the answer at 0\.8\d\d s stopped the timer; no RST$/);
    expect(check.observed).toMatch(/^4 copies at .* s; acknowledged at 0\.8\d\d s$/);
  });

  it('FAILs on a copy after the ACK, and on ETIMEDOUT although the data was acknowledged', async () => {
    expect((await checkDataRetransmitsOf({ copyAfter: true })).observed).toMatch(/1 transmission\(s\) after the answer/);
    const timedOut = await checkDataRetransmitsOf({ keepError: true });
    expect(timedOut.status).toBe('fail');
    expect(timedOut.observed).toContain('the application saw ETIMEDOUT although the data was acknowledged');
  });

  async function checkDataRetransmitsOf(options: { keepError?: boolean; copyAfter?: boolean }) {
    const check = checkDataRetransmits(EXPECTATION, await answeredRun(options));
    expect(check.status).toBe('fail');
    return check;
  }
});

describe('ICMP errors on established data (teacher labs: REJECT with an ICMP error after the handshake, tcp_retries2=4)', () => {
  it('port unreachable is a soft error: the usual backoff, and the give-up reports ECONNREFUSED, not ETIMEDOUT', async () => {
    const run = await loadFixtureRun('data-icmp-port-unreachable');
    const check = checkDataRetransmits(EXPECTATION, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/^6 copies at .*; gives up with ECONNREFUSED at 6\.\d{3} s \(time limit\), no RST$/);
    expect(check.evidence.join('\n')).toMatch(/6 ICMP error\(s\) from the peer .* type 3 code 3\): a soft error .* ECONNREFUSED/);
    // Without the ICMP messages the same give-up must be ETIMEDOUT: the ECONNREFUSED the application saw is then wrong.
    const silent = withHost(run, 'client', () => ({ icmp: [] }));
    const without = checkDataRetransmits(EXPECTATION, silent);
    expect(without.status).toBe('fail');
    expect(without.observed).toContain('the application saw ECONNREFUSED, expected ETIMEDOUT');
  });

  it('host unreachable also undoes a doubling per copy it answers (RFC 6069): 14 copies at the base RTO, then doubling where the peer rate-limited its ICMP', async () => {
    const run = await loadFixtureRun('data-icmp-host-unreachable');
    const check = checkDataRetransmits(EXPECTATION, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/^14 copies at 0, 0\.205, 0\.413, 0\.617, 0\.821, .*; gave up at 6\.\d{3} s \(EHOSTUNREACH\)$/);
    expect(check.evidence.join('\n')).toContain('RFC 6069: net/host unreachable after RTO retransmission(s) 1, 2, 3, 4, 5, 8, 9, 10, 11, 12');
    // The same copies without the ICMP messages break the doubling the model then expects.
    const without = checkDataRetransmits(
      EXPECTATION,
      withHost(run, 'client', () => ({ icmp: [] })),
    );
    expect(without.status).toBe('fail');
    expect(without.observed).toMatch(/transmission 4 early/);
    // The same, when a rule of the client's own INPUT chain would have dropped those messages before TCP saw them.
    const filtered: RunRecord = {
      ...run,
      lab: { ...run.lab, steps: [...run.lab.steps, { kind: 'rule', host: 'client', name: 'drop-icmp', text: '-I INPUT -p icmp -j DROP' } satisfies Step] },
    };
    const dropped = checkDataRetransmits(EXPECTATION, filtered);
    expect(dropped.status).toBe('fail');
    expect(dropped.observed).toMatch(/transmission 4 early/);
  });
});
