import { describe, expect, it } from 'vitest';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import type { RunHost } from '../../../src/analysis/run-record.js';
import { estimateFinRto } from '../../../src/analysis/timing-fit.js';
import { checkFinRetransmits, checkSynAckRetransmits, checkSynRetransmits } from '../../../src/verify/timing-checks.js';
import { FIN_ACK, SYN_ACK, T0_US, at, loadFixtureRun, segment, syntheticRun, withHost, withSettings } from './run-fixtures.js';

const syn = { kind: 'syn-retransmits', host: 'client', conn: 'c' } as const;

describe('syn-retransmits on the real syn-sent run (tcp_syn_retries=3, linear 0)', () => {
  it('passes: SYNs at 0, 1, 3, 7 s and ETIMEDOUT at 15 s, each inside its window', async () => {
    const run = await loadFixtureRun('syn-sent');
    const check = checkSynRetransmits(syn, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toBe('4 SYNs at 0, 1, 3, 7 s; connect() fails with ETIMEDOUT at 15.000 s (count limit)');
    expect(check.observed).toMatch(/^4 SYNs at 0, 1\.0\d*, 3\.\d+, 7\.\d+ s; connect\(\) failed with ETIMEDOUT at 15\.\d{3} s$/);
    expect(check.evidence[1]).toMatch(/^SYN 2: expected 1\.000 s, window 0\.976–1\.056 s; observed 1\.0\d\d s \(client capture #\d+\) — ok$/);
    expect(check.evidence.some((line) => line.includes('tcp_syn_retries=3, tcp_syn_linear_timeouts=0'))).toBe(true);
  });

  it('fails when the settings say linear timeouts (the capture shows doubling)', async () => {
    const run = withSettings(await loadFixtureRun('syn-sent'), 'client', { 'net.ipv4.tcp_syn_linear_timeouts': '4' });
    const check = checkSynRetransmits(syn, run);
    expect(check.status).toBe('fail');
    expect(check.expected).toContain('8 SYNs at 0, 1, 2, 3, 4, 5, 7, 11 s');
    expect(check.observed).toMatch(/transmission 3 late/);
  });

  it('fails when one SYN is 100 ms early', async () => {
    const run = withHost(await loadFixtureRun('syn-sent'), 'client', (h) => {
      const syns = h.segments.filter((s) => s.flags === TcpFlag.SYN);
      const third = syns[2]!;
      return { segments: h.segments.map((s) => (s === third ? { ...s, timeUs: s.timeUs - 100_000 } : s)) };
    });
    const check = checkSynRetransmits(syn, run);
    expect(check.status).toBe('fail');
    // The window of SYN 3 starts 2 s (nominal) after the observed SYN 2, less the 20 ms allowance.
    const match = /transmission 3 early \((\d+\.\d+) s, window (\d+\.\d+)–(\d+\.\d+) s\)/.exec(check.observed);
    expect(match, check.observed).not.toBeNull();
    const [, observed, earliest] = match!.map(Number);
    expect(earliest! - observed!).toBeGreaterThan(0.05);
  });

  it('fails when one SYN is missing from the capture', async () => {
    const run = withHost(await loadFixtureRun('syn-sent'), 'client', (h) => {
      const second = h.segments.filter((s) => s.flags === TcpFlag.SYN)[1]!;
      return { segments: h.segments.filter((s) => s !== second) };
    });
    const check = checkSynRetransmits(syn, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/^3 SYNs/);
  });

  it('fails when connect() fails a second late, and when it never fails', async () => {
    const late = withHost(await loadFixtureRun('syn-sent'), 'client', (h) => ({
      events: h.events.map((e) => (e.type === 'error' ? { ...e, timeUs: e.timeUs + 1_000_000 } : e)),
    }));
    expect(checkSynRetransmits(syn, late).observed).toContain('the give-up late');
    const never = withHost(await loadFixtureRun('syn-sent'), 'client', (h) => ({ events: h.events.filter((e) => e.type !== 'error') }));
    const check = checkSynRetransmits(syn, never);
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('connect() never failed');
  });

  it('fails, naming the sysctl, when the run folder did not record the settings', async () => {
    const run = withHost(await loadFixtureRun('syn-sent'), 'client', () => ({ kernelSettings: {} }));
    const check = checkSynRetransmits(syn, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toBe('client/kernel-settings.json has no net.ipv4.tcp_syn_retries, net.ipv4.tcp_syn_linear_timeouts');
  });
});

/** The reference's measured request: tcp_synack_retries=3, SYN-ACKs at 0, 1.01, 3.03, 7.09 s, gone at about 15.2 s. */
function synAckRun(sendsMs: readonly number[], goneMs: number, settings: Record<string, string> = { 'net.ipv4.tcp_synack_retries': '3' }) {
  const segments = [
    segment(1, -0.1, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.SYN, { seq: 5000 }),
    ...sendsMs.map((ms, i) => segment(i + 2, ms, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK, { seq: 9000, ack: 5001 })),
  ];
  const events = [at(goneMs, { type: 'socket-gone', local: '10.0.0.2:8888', remote: '10.0.0.3:40000', state: 'SYN_RECV' })];
  return syntheticRun({ steps: [{ kind: 'listen', host: 'server', port: 8888, accept: true }], server: { segments, events }, settings });
}

describe('synack-retransmits', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server' } as const;

  it('passes on the measured schedule (0, 1.01, 3.03, 7.09 s; gone at 15.2 s)', () => {
    const check = checkSynAckRetransmits(expectation, synAckRun([0, 1010, 3030, 7090], 15_200));
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toBe('4 SYN-ACKs at 0, 1, 3, 7 s; the request is dropped silently at 15.000 s');
  });

  it('fails when the settings say 5 retries (the request vanished too early)', () => {
    const check = checkSynAckRetransmits(expectation, synAckRun([0, 1010, 3030, 7090], 15_200, { 'net.ipv4.tcp_synack_retries': '5' }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('2 of 6 transmissions missing');
  });

  it('fails on a SYN-ACK 100 ms early and on linear spacing', () => {
    expect(checkSynAckRetransmits(expectation, synAckRun([0, 1010, 2930, 7090], 15_200)).observed).toContain('transmission 3 early');
    expect(checkSynAckRetransmits(expectation, synAckRun([0, 1010, 2020, 3030], 15_200)).status).toBe('fail');
  });

  it('leaves out SYN-ACKs that answer a retransmitted SYN (tcp_check_req), and says so; the reply restarts the timer', () => {
    // The reply at 2.0002 s re-arms the pending 2 s timer (mod_timer_pending()): the next fire is at 4.0 s, the drop at 16 s.
    const run = synAckRun([0, 1010, 4030, 8090], 16_200);
    const server = run.hosts[0]!;
    const extra = [
      segment(20, 2000, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.SYN, { seq: 5000 }),
      segment(21, 2000.2, '10.0.0.2:8888', '10.0.0.3:40000', SYN_ACK, { seq: 9000, ack: 5001 }),
    ];
    const segments = [...server.segments, ...extra].sort((a, b) => a.timeUs - b.timeUs);
    const check = checkSynAckRetransmits(
      expectation,
      withHost(run, 'server', () => ({ segments })),
    );
    expect(check.status, check.observed).toBe('pass');
    expect(check.evidence).toContain(
      "server capture #21: SYN-ACK answering a retransmitted SYN (tcp_check_req()), not a timer fire; it restarts the request's timer",
    );
    expect(check.expected).toBe('4 SYN-ACKs at 0, 1, 4, 8 s; the request is dropped silently at 16.000 s');
  });
});

/** The reference's measured orphan (RTO 204 ms): FIN, TLP at 0.205 s, RTOs at 0.42 … 54.2 s, destroyed at 107.5 s. */
const MEASURED_FINS = [0, 205, 420, 830, 1660, 3330, 6620, 13_300, 26_600, 54_200];

function finRun(finsMs: readonly number[], goneMs: number, options: { settings?: Record<string, string>; rstAtMs?: number } = {}) {
  const segments = finsMs.map((ms, i) => segment(i + 1, ms, '10.0.0.3:40000', '10.0.0.2:8888', FIN_ACK, { seq: 7000, ack: 1 }));
  if (options.rstAtMs !== undefined) segments.push(segment(99, options.rstAtMs, '10.0.0.3:40000', '10.0.0.2:8888', TcpFlag.RST, { seq: 7001 }));
  const events = [
    at(-500, { type: 'connected', conn: 'c', local: '10.0.0.3:40000', remote: '10.0.0.2:8888' }),
    at(goneMs, { type: 'socket-gone', conn: 'c', local: '10.0.0.3:40000', remote: '10.0.0.2:8888', state: 'FIN_WAIT1' }),
  ];
  return syntheticRun({
    steps: [{ kind: 'connect', host: 'client', to: 'server', port: 8888, conn: 'c' }],
    client: { segments, events },
    ...(options.settings !== undefined && { settings: options.settings }),
  });
}

describe('fin-retransmits', () => {
  const expectation = { kind: 'fin-retransmits', host: 'client', conn: 'c' } as const;

  it('estimates the RTO and the tail-loss probe from the gaps', () => {
    expect(estimateFinRto(MEASURED_FINS, 200, 250)).toMatchObject({ rtoMs: 204, tlpAtMs: 205 });
    // Gaps 300 and 600 ms allow any RTO from 272 to 312 ms (each gap may be up to its wheel slack late): the smallest.
    expect(estimateFinRto([0, 300, 900], 200, 250)).toMatchObject({ rtoMs: 272, tlpAtMs: undefined });
    expect(estimateFinRto([0, 100, 300], 200, 250).rtoMs).toBe(200);
  });

  // CI, 2026-12-02, last-ack under load: RTO ≈ srtt + 200 ms, and the copy after the probe was captured a ms
  // late, so the first RTO gap (203 ms) floors to 200 ms and 200·2^k misses the 5th copy by 7 ms.
  const LOADED_FINS = [0, 217, 420, 856, 1689, 3352];

  it('an RTO a few ms above tcp_rto_min: the smallest whole-jiffy RTO that fits every gap, not the floor of the shortest', () => {
    expect(estimateFinRto(LOADED_FINS, 200, 250)).toMatchObject({ rtoMs: 204, tlpAtMs: 217 });
    const check = checkFinRetransmits(expectation, finRun(LOADED_FINS, 6_776, { settings: { 'net.ipv4.tcp_orphan_retries': '3' } }));
    expect(check.status, check.observed).toBe('pass');
  });

  it('still fails when one gap breaks the doubling that the others share', () => {
    const stretched = [0, 217, 420, 856, 1689, 3452]; // the last gap 1.763 s: no one RTO fits it and the others
    expect(estimateFinRto(stretched, 200, 250).rtoMs).toBe(200);
    const check = checkFinRetransmits(expectation, finRun(stretched, 6_876, { settings: { 'net.ipv4.tcp_orphan_retries': '3' } }));
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/transmission 6 late/);
  });

  it('passes on the measured schedule, destroyed at 107.5 s without a RST', () => {
    const check = checkFinRetransmits(expectation, finRun(MEASURED_FINS, 107_500));
    expect(check.status, check.observed).toBe('pass');
    // No earlier sampler read in the record: the last FIN (54.2 s) is the latest proof the socket existed.
    expect(check.observed).toMatch(/; socket gone from FIN_WAIT_1 between 54\.200 and 107\.500 s \(sampled\); no RST$/);
    expect(check.expected).toMatch(/; destroyed from FIN_WAIT_1 without a RST at \d+\.\d{3} s$/);
  });

  it('fails when the orphan sends a RST as it gives up', () => {
    const check = checkFinRetransmits(expectation, finRun(MEASURED_FINS, 107_500, { rstAtMs: 107_499 }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('1 RST sent after the FIN');
  });

  it('fails when a FIN is missing, and when tcp_orphan_retries says it should have died far earlier', () => {
    const missing = MEASURED_FINS.filter((ms) => ms !== 6620);
    expect(checkFinRetransmits(expectation, finRun(missing, 107_500)).status).toBe('fail');
    const check = checkFinRetransmits(expectation, finRun(MEASURED_FINS, 107_500, { settings: { 'net.ipv4.tcp_orphan_retries': '3' } }));
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('more than the model allows');
  });

  it('never passes without the disappearance', () => {
    const run = finRun(MEASURED_FINS, 107_500);
    const noGone = withHost(run, 'client', (h) => ({ events: h.events.filter((e) => e.type !== 'socket-gone') }));
    const check = checkFinRetransmits(expectation, noGone);
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the socket never disappeared');
    expect(T0_US).toBeGreaterThan(0);
  });
});

describe('fin-retransmits answered in the end (teacher lab fin-lost-then-delivered: the FIN dropped for 1.5 s, then let through)', () => {
  const expectation = { kind: 'fin-retransmits', host: 'client', conn: 'c' } as const;
  // What the server sent that acknowledges the client's FIN: its ACK and later its own FIN.
  const isFinAck = (h: { address: string }) => (s: TcpSegment) => s.src !== h.address && s.ack === finEnd;
  let finEnd = 0;

  it('passes: the copies due until the ACK of the FIN, none after it, no give-up; FIN_WAIT_1, not CLOSING', async () => {
    const run = await loadFixtureRun('fin-lost-then-delivered');
    const check = checkFinRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/^5 FINs at .* s from FIN_WAIT_1, until the answer at 1\.\d{3} s stopped the timer; no RST$/);
    expect(check.observed).toMatch(/^5 FINs at 0, 0\.2\d+, .* s; answered at 1\.\d{3} s; no RST$/);
  });

  it('FAILs without the ACK (never destroyed, never answered) and with a FIN sent after it', async () => {
    const run = await loadFixtureRun('fin-lost-then-delivered');
    const client = run.hosts.find((h) => h.name === 'client') as RunHost;
    const fin = client.segments.find((s) => s.src === client.address && (s.flags & TcpFlag.FIN) !== 0) as TcpSegment;
    finEnd = (fin.seq + 1) >>> 0;
    const unanswered = withHost(run, 'client', (h) => ({ segments: h.segments.filter((s) => !isFinAck(h)(s)) }));
    const silent = checkFinRetransmits(expectation, unanswered);
    expect(silent.status).toBe('fail');
    expect(silent.observed).toMatch(/the socket never disappeared|the give-up was not observed/);
    const ack = client.segments.find(isFinAck(client)) as TcpSegment;
    const late = withHost(run, 'client', (h) => ({ segments: [...h.segments, { ...fin, frame: 999, timeUs: ack.timeUs + 300_000 }] }));
    const after = checkFinRetransmits(expectation, late);
    expect(after.status).toBe('fail');
    expect(after.observed).toMatch(/1 transmission\(s\) after the answer/);
  });
});

describe('an orphan FIN answered by ICMP host unreachable (teacher lab fin-icmp-host-unreachable, tcp_orphan_retries=2)', () => {
  const expectation = { kind: 'fin-retransmits', host: 'client', conn: 'c' } as const;

  it('each error undoes a doubling (RFC 6069): 8 FINs a base RTO apart, destroyed without a RST at the time limit', async () => {
    const run = await loadFixtureRun('fin-icmp-host-unreachable');
    const check = checkFinRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/^8 FINs at 0, 0\.208, 0\.42, 0\.624, .*; socket gone from FIN_WAIT_1 at 1\.8\d\d s; no RST$/);
    expect(check.evidence.join('\n')).toContain('RFC 6069: net/host unreachable after RTO retransmission(s)');
  });

  it('FAILs on the same copies without the ICMP errors: the model then expects doubling', async () => {
    const run = withHost(await loadFixtureRun('fin-icmp-host-unreachable'), 'client', () => ({ icmp: [] }));
    const check = checkFinRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/transmission 4 early/);
  });
});
