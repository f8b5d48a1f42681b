import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import { TcpFlag } from '../../../src/observe/packet.js';
import { predictOrphanFinSchedule } from '../../../src/tcp/timing-model.js';
import { checkConformance } from '../../../src/verify/conformance.js';
import { replayRun } from '../../../src/analysis/run-replay.js';
import type { RunRecord } from '../../../src/analysis/run-record.js';
import { lastSampleBefore } from '../../../src/analysis/sampled-reads.js';
import { predictGiveUpWindow } from '../../../src/analysis/timing-fit.js';
import { checkFinRetransmits, checkSynAckRetransmits } from '../../../src/verify/timing-checks.js';
import { at, loadFixtureRun, withHost, withSettings } from './run-fixtures.js';

type SocketEvent = Extract<AgentEvent, { type: 'socket' }>;
type GoneEvent = Extract<AgentEvent, { type: 'socket-gone' }>;

const isGone = (e: AgentEvent): e is GoneEvent => e.type === 'socket-gone' && !e.remote.endsWith(':0') && !e.local.startsWith('127.');
const goneOf = (run: RunRecord, host: string): GoneEvent => run.hosts.find((h) => h.name === host)!.events.find(isGone)!;
const conformanceOf = (run: RunRecord, host: string) => checkConformance(run).find((c) => c.name.startsWith(`${host} `))!;

/** Moves the host's connection socket-gone event by `deltaUs`. */
function moveGone(run: RunRecord, host: string, deltaUs: number): RunRecord {
  return withHost(run, host, (h) => ({
    events: h.events.map((e) => (isGone(e) ? { ...e, timeUs: e.timeUs + deltaUs } : e)).sort((a, b) => a.timeUs - b.timeUs),
  }));
}

/** Adds a sampler read (a repeat of the row's last socket event, retransmit count + 1) at `timeUs`. */
function addRead(run: RunRecord, host: string, timeUs: number): RunRecord {
  return withHost(run, host, (h) => {
    const last = h.events.findLast((e): e is SocketEvent => e.type === 'socket' && !e.remote.endsWith(':0') && !e.local.startsWith('127.'))!;
    const read: AgentEvent = { ...last, previous: last.state, timer: { ...last.timer, retransmits: last.timer.retransmits + 1 }, timeUs };
    return { events: [...h.events, read].sort((a, b) => a.timeUs - b.timeUs) };
  });
}

const rel = (run: RunRecord, us: number): number => (us - run.startedUs) / 1e6;

describe('orphan give-up in the replay and in conformance (real fin-wait-1 run)', () => {
  it('replays FIN_WAIT_1 → CLOSED on the orphan timer, with a window around the sampled disappearance, and conforms', async () => {
    const run = await loadFixtureRun('fin-wait-1-orphan');
    const client = replayRun(run).find((r) => r.host === 'client')!;
    expect(client.timeline.map((e) => e.state)).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'CLOSED']);
    const giveUp = client.timeline[4]!;
    expect(giveUp.cause).toEqual({
      kind: 'timer',
      name: 'orphan FIN retransmissions exhausted in FIN_WAIT_1 (tcp_orphan_retries=4, RTO 204–208 ms; destroyed without a RST)',
    });
    expect(giveUp.row).toMatchObject({ from: 'FIN_WAIT_1', event: 'retransmit-give-up', to: 'CLOSED' });
    // Anchored at the last FIN (+4.930 s) plus 16 RTOs (3.264 s with 204 ms), from 32 ms early (timerEarlyMs()) to as late as the wheel allows with 208 ms (16 × 4 ms more).
    const lastFin = run.hosts
      .find((h) => h.name === 'client')!
      .segments.filter((s) => (s.flags & TcpFlag.FIN) !== 0)
      .at(-1)!;
    expect(giveUp.timeUs - lastFin.timeUs).toBe(3_232_000);
    expect(giveUp.latestUs - giveUp.timeUs).toBe(356_000);
    const gone = goneOf(run, 'client');
    expect(gone.timeUs).toBeGreaterThan(giveUp.timeUs);
    expect(gone.timeUs).toBeLessThan(giveUp.latestUs);

    const check = conformanceOf(run, 'client');
    expect(check.status, check.observed).toBe('pass');
    expect(check.evidence).toContain(
      `CLOSED sampled at +${rel(run, gone.timeUs).toFixed(3)} s ← timer: ${(giveUp.cause as { name: string }).name} at +${rel(run, giveUp.timeUs).toFixed(3)} s`,
    );
    expect(
      check.evidence.some((l) =>
        /^CLOSED is a sampled change: it came after the last earlier read at \+4\.9\d\d s \(which still showed FIN_WAIT_1\) and by \+8\.427 s/.test(l),
      ),
    ).toBe(true);
  });

  it('fails a CLOSED sampled before the timing model lets the orphan give up', async () => {
    const run = moveGone(await loadFixtureRun('fin-wait-1-orphan'), 'client', -1_000_000);
    const check = conformanceOf(run, 'client');
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(
      /CLOSED sampled at \+7\.427 s has no cause yet: the only one in the evidence, timer: orphan FIN retransmissions exhausted in FIN_WAIT_1 .*, is due between \+8\.162 s and \+8\.518 s \(timing model, client's kernel settings\)/,
    );
    expect(check.expected).toContain('FIN_WAIT_1 at +7.427 s; CLOSED between +8.162 s and +8.518 s');
    // The timing check agrees: the row was gone before the window opened.
    const fin = checkFinRetransmits({ kind: 'fin-retransmits', host: 'client', conn: 'c' }, run);
    expect(fin.status).toBe('fail');
    expect(fin.observed).toContain('the give-up early');
  });

  it('fails when a read after the window still showed FIN_WAIT_1 (the give-up came late)', async () => {
    const base = await loadFixtureRun('fin-wait-1-orphan');
    const gone = goneOf(base, 'client');
    const run = addRead(moveGone(base, 'client', 500_000), 'client', gone.timeUs + 450_000);
    const check = conformanceOf(run, 'client');
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(
      /FIN_WAIT_1 was still read at \+8\.877 s \(the last sample before CLOSED at \+8\.927 s\), but timer: orphan FIN retransmissions exhausted in FIN_WAIT_1 .* had to end it by \+8\.518 s \(window \+8\.162 s–\+8\.518 s\)/,
    );
    const fin = checkFinRetransmits({ kind: 'fin-retransmits', host: 'client', conn: 'c' }, run);
    expect(fin.status).toBe('fail');
    expect(fin.observed).toMatch(/the give-up late \(between 7\.278 and 7\.328 s, window/);
  });

  it('still rejects a CLOSED nothing explains: no FIN in the capture, or shutdown() (not an orphan)', async () => {
    const base = await loadFixtureRun('fin-wait-1-orphan');
    const noFins = withHost(base, 'client', (h) => ({ segments: h.segments.filter((s) => (s.flags & TcpFlag.FIN) === 0) }));
    const first = conformanceOf(noFins, 'client');
    expect(first.status).toBe('fail');
    expect(first.observed).toMatch(
      /CLOSED sampled at \+8\.427 s has no cause: the machine allows FIN_WAIT_1 → CLOSED, but no segment in the client capture, call or timer up to then leads there; the replay is in FIN_WAIT_1/,
    );

    const shutdown: RunRecord = {
      ...base,
      lab: { ...base.lab, steps: base.lab.steps.map((s) => (s.kind === 'close' ? { kind: 'shutdown', host: s.host, conn: 'c' } : s)) },
    };
    expect(
      replayRun(shutdown)
        .find((r) => r.host === 'client')!
        .timeline.map((e) => e.state),
    ).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1']);
    const second = conformanceOf(shutdown, 'client');
    expect(second.status).toBe('fail');
    expect(second.observed).toContain('CLOSED sampled at +8.427 s has no cause');
  });

  it('fails when tcp_orphan_retries says the orphan should have lived longer', async () => {
    const run = withSettings(await loadFixtureRun('fin-wait-1-orphan'), 'client', { 'net.ipv4.tcp_orphan_retries': '6' });
    expect(conformanceOf(run, 'client').status).toBe('fail');
    expect(checkFinRetransmits({ kind: 'fin-retransmits', host: 'client', conn: 'c' }, run).status).toBe('fail');
  });
});

describe('LAST_ACK orphan (real last-ack run: the passive closer retransmits its FIN)', () => {
  const expectation = { kind: 'fin-retransmits', host: 'server' } as const;

  it('fin-retransmits passes and names LAST_ACK in expected and observed', async () => {
    const run = await loadFixtureRun('last-ack-orphan');
    const check = checkFinRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.expected).toMatch(/^\d+ FINs at .* s; destroyed from LAST_ACK without a RST at \d+\.\d{3} s$/);
    expect(check.observed).toMatch(/; socket gone from LAST_ACK between \d+\.\d{3} and \d+\.\d{3} s \(sampled\); no RST$/);
    expect(check.evidence.some((l) => /^LAST_ACK: passive close: the FIN \(server capture #\d+\) acknowledges the peer's FIN \(#\d+\)$/.test(l))).toBe(true);
  });

  it('replays LAST_ACK → CLOSED on the orphan timer and conforms', async () => {
    const run = await loadFixtureRun('last-ack-orphan');
    const server = replayRun(run).find((r) => r.host === 'server')!;
    expect(server.timeline.map((e) => e.state)).toEqual(['LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(server.timeline.at(-1)!.cause).toMatchObject({
      kind: 'timer',
      name: expect.stringMatching(/^orphan FIN retransmissions exhausted in LAST_ACK \(tcp_orphan_retries=3, /),
    });
    const check = conformanceOf(run, 'server');
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toBe('ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED');
  });

  it('fails when the socket is gone from another state, or earlier than the model allows', async () => {
    const run = await loadFixtureRun('last-ack-orphan');
    const wrongState = withHost(run, 'server', (h) => ({ events: h.events.map((e) => (isGone(e) ? { ...e, state: 'FIN_WAIT1' } : e)) }));
    const check = checkFinRetransmits(expectation, wrongState);
    expect(check.status).toBe('fail');
    expect(check.observed).toContain('the socket left FIN_WAIT_1, expected LAST_ACK (passive close: the FIN (server capture #');
    const early = moveGone(run, 'server', -2_000_000);
    expect(checkFinRetransmits(expectation, early).observed).toContain('the give-up early');
    const conformance = conformanceOf(early, 'server');
    expect(conformance.status).toBe('fail');
    expect(conformance.observed).toMatch(
      /CLOSED sampled at .* has no cause yet: the only one in the evidence, timer: orphan FIN retransmissions exhausted in LAST_ACK/,
    );
  });
});

describe('sampled disappearance of a request socket (real syn-rcvd run, row gone 11 ms after the point window)', () => {
  const expectation = { kind: 'synack-retransmits', host: 'server', port: 8888 } as const;

  it('passes: the row was last read at 7.2 s and gone by 15.496 s, which overlaps the model window; the evidence says so', async () => {
    const run = await loadFixtureRun('syn-rcvd-late-drop');
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status, check.observed).toBe('pass');
    expect(check.observed).toMatch(/; SYN_RECV socket gone between 7\.2\d\d and 15\.496 s \(sampled\)$/);
    const line = check.evidence.find((l) => l.startsWith('request dropped (SYN_RECV row gone)'))!;
    const match =
      /window (\d+\.\d+)–(\d+\.\d+) s; observed between (\d+\.\d+) s \(the agent's last earlier read of \/proc\/net\/tcp, which still had the row\) and (\d+\.\d+) s \(the socket-gone sample\)/.exec(
        line,
      );
    expect(match, line).not.toBeNull();
    const [, earliest, latest, after, by] = match!.map(Number);
    // The first read without the row is past the window (what a point comparison failed on) …
    expect(by!).toBeGreaterThan(latest!);
    // … but the disappearance itself lies between the reads, and that interval overlaps the window.
    expect(after!).toBeLessThan(latest!);
    expect(by!).toBeGreaterThan(earliest!);
    expect(line).toMatch(/judged by overlap — ok$/);
    const conformance = conformanceOf(run, 'server');
    expect(conformance.status, conformance.observed).toBe('pass');
    expect(conformance.evidence).toContain(
      'CLOSED is a sampled change: it came after the last earlier read at +7.513 s (which still showed SYN_RECEIVED) and by +15.787 s; ' +
        "the timer's window +15.464 s–+15.756 s (±20 ms) overlaps that interval",
    );
  });

  it('fails when a read 5 ms before the gone sample still had the row (the drop came after the window)', async () => {
    const base = await loadFixtureRun('syn-rcvd-late-drop');
    const run = addRead(base, 'server', goneOf(base, 'server').timeUs - 5_000);
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/the give-up late \(between 15\.491 and 15\.496 s, window 15\.153–15\.485 s\)/);
    const conformance = conformanceOf(run, 'server');
    expect(conformance.status).toBe('fail');
    expect(conformance.observed).toMatch(
      /SYN_RECEIVED was still read at \+15\.782 s \(the last sample before CLOSED at \+15\.787 s\), but timer: SYN-ACK retransmissions exhausted/,
    );
  });

  it('fails when the row is gone before the window opens', async () => {
    const run = moveGone(await loadFixtureRun('syn-rcvd-late-drop'), 'server', -600_000);
    const check = checkSynAckRetransmits(expectation, run);
    expect(check.status).toBe('fail');
    expect(check.observed).toMatch(/the give-up early \(between 7\.2\d\d and 14\.896 s, window 15\.153–15\.485 s\)/);
    expect(conformanceOf(run, 'server').status).toBe('fail');
  });
});

describe('helpers', () => {
  it('lastSampleBefore: the latest sampler event of an earlier read, any row; not the same read, not other events', () => {
    const events = [
      at(0, {
        type: 'socket',
        local: '10.0.0.2:8888',
        remote: '0.0.0.0:0',
        state: 'LISTEN',
        inode: 1,
        timer: { kind: 0, expiresMs: 0, retransmits: 0 },
        txQueue: 0,
        rxQueue: 0,
      }),
      at(100, {
        type: 'socket',
        local: '127.0.0.11:5353',
        remote: '0.0.0.0:0',
        state: 'LISTEN',
        inode: 2,
        timer: { kind: 0, expiresMs: 0, retransmits: 0 },
        txQueue: 0,
        rxQueue: 0,
      }),
      at(150, { type: 'end', conn: 'c' }),
      at(199.9, { type: 'socket-gone', local: '10.0.0.2:8888', remote: '10.0.0.3:1', state: 'FIN_WAIT1' }),
      at(200, { type: 'socket-gone', local: '10.0.0.2:8888', remote: '10.0.0.3:2', state: 'LAST_ACK' }),
    ];
    expect(lastSampleBefore(events, events[4]!.timeUs)).toBe(events[1]!.timeUs);
    expect(lastSampleBefore(events, events[0]!.timeUs)).toBeUndefined();
  });

  it('predictGiveUpWindow keeps the prediction whose sends fit (here the late-timer one: six FINs, not seven)', () => {
    // The real fin-wait-1 run: RTO 204 ms, tail-loss probe at 0.207 s, tcp_orphan_retries=4.
    const offsets = [0, 207, 415, 835, 1667, 3331];
    const settings = { tcp_orphan_retries: 4 };
    const predict = (o: { timerLateness: 'none' | 'max' }) => predictOrphanFinSchedule(settings, 204, { ...o, tlpAtMs: 207 });
    expect(predict({ timerLateness: 'none' }).sends).toHaveLength(7);
    expect(predict({ timerLateness: 'max' }).sends).toHaveLength(6);
    // Anchored at the last observed FIN: 16 RTOs later, from 8 jiffies early (timerEarlyMs()) up to the wheel slack of a 3.264 s timer (65 jiffies).
    expect(predictGiveUpWindow(predict, offsets, 250)).toEqual({ earliestMs: 3331 + 3264 - 32, latestMs: 3331 + 3264 + 260, fits: true });
    expect(predictGiveUpWindow(predict, [0, 207, 415], 250).fits).toBe(false);
  });
});
