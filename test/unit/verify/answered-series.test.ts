import { afterAll, describe, expect, it } from 'vitest';
import { TcpFlag } from '../../../src/observe/packet.js';
import type { Verdict } from '../../../src/verify/verdict.js';
import { capturedSegments, copyFixtureRun, editCapture, forgeSegment, removeCopies, reverify } from './tamper-run-folder.js';

// A retransmission series ends when the peer's answer reaches TCP: the SYN-ACK that completes a connect,
// the ACK that completes a request (tcp_check_req()). Two recorded runs of labs written outside the catalog:
// lost-final-ack (the server's firewall drops the client's pure ACKs for 2.5 s, then the client's data
// completes the request) and syn-answered-after-drop (SYNs dropped for 2 s, the fourth SYN is answered).
afterAll(removeCopies);

const SYNACK = 'SYN-ACK retransmissions of server port 8888 follow the Linux timing model';
const SYN = 'SYN retransmissions of client/c follow the Linux timing model';

function check(verdict: Verdict, name: string) {
  return verdict.checks.find((c) => c.name === name) ?? expect.unreachable(`no check "${name}"`);
}

describe('a retransmission series stopped by its answer is judged up to the answer', () => {
  it('lost-final-ack: two SYN-ACKs, then the completing ACK: the later SYN-ACKs and the drop were not due', async () => {
    const synAck = check(await reverify(copyFixtureRun('lost-final-ack')), SYNACK);
    expect(synAck.status).toBe('pass');
    expect(synAck.expected).toMatch(/^2 SYN-ACKs at 0, 1 s, until the answer at 2\.\d{3} s stopped the timer$/);
    expect(synAck.observed).toMatch(/^2 SYN-ACKs at 0, 1\.\d{3} s; answered at 2\.\d{3} s$/);
    expect(synAck.evidence.join('\n')).toMatch(/SYN-ACK 3: expected 3\.000 s.*— not-due/);
    expect(synAck.evidence.join('\n')).toMatch(/answered at 2\.\d{3} s \(server capture #\d+\)/);
  });

  it('lost-final-ack with its second SYN-ACK removed FAILs: that one was due before the answer', async () => {
    const dir = copyFixtureRun('lost-final-ack');
    const synAcks = capturedSegments(dir, 'server').filter((s) => (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK));
    const second = synAcks[1] ?? expect.unreachable('fixture without a retransmitted SYN-ACK');
    for (const host of ['server', 'client'])
      editCapture(dir, host, (records, segmentOf) => records.filter((r) => segmentOf(r)?.timeUs !== second.timeUs || segmentOf(r)?.seq !== second.seq));
    const synAck = check(await reverify(dir), SYNACK);
    expect(synAck.status).toBe('fail');
    expect(synAck.observed).toMatch(/1 of 2 transmissions missing/);
  });

  it('lost-final-ack with a SYN-ACK forged after the answer FAILs: the answer stopped the timer', async () => {
    const dir = copyFixtureRun('lost-final-ack');
    const first = capturedSegments(dir, 'server').find((s) => (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) ?? expect.unreachable();
    forgeSegment(dir, 'server', first.timeUs + 3_500_000, { ...first, ipId: 0 });
    const synAck = check(await reverify(dir), SYNACK);
    expect(synAck.status).toBe('fail');
    expect(synAck.observed).toMatch(/1 transmission\(s\) after the answer at 2\.\d{3} s stopped the timer/);
  });

  it('syn-answered-after-drop: four SYNs (linear 1 s timeouts), the fourth answered: no ETIMEDOUT was due', async () => {
    const syn = check(await reverify(copyFixtureRun('syn-answered-after-drop')), SYN);
    expect(syn.status).toBe('pass');
    expect(syn.expected).toMatch(/^4 SYNs at 0, 1, 2, 3 s, until the answer at 3\.\d{3} s stopped the timer$/);
    expect(syn.evidence.join('\n')).toMatch(/connect\(\) fails \(ETIMEDOUT\): expected .* — not-due/);
  });

  it('an [R.] that does not acknowledge the SYN answers nothing: the series still runs to its give-up', async () => {
    const dir = copyFixtureRun('syn-answered-after-drop');
    const segments = capturedSegments(dir, 'client');
    const syn = segments.find((s) => s.flags === TcpFlag.SYN) ?? expect.unreachable();
    // Remove the real answer (the SYN-ACK and everything after it) and put a reset with a wrong ack in its place.
    const answer = segments.find((s) => (s.flags & TcpFlag.SYN) !== 0 && (s.flags & TcpFlag.ACK) !== 0) ?? expect.unreachable();
    editCapture(dir, 'client', (records, segmentOf) => records.filter((r) => (segmentOf(r)?.timeUs ?? 0) < answer.timeUs));
    const reset = {
      src: syn.dst,
      dst: syn.src,
      srcPort: syn.dstPort,
      dstPort: syn.srcPort,
      seq: 0,
      ack: (syn.seq + 7) >>> 0,
      flags: TcpFlag.RST | TcpFlag.ACK,
      window: 0,
    };
    forgeSegment(dir, 'client', answer.timeUs, reset);
    const check4 = check(await reverify(dir), SYN);
    expect(check4.status).toBe('fail');
    expect(check4.expected).toMatch(/connect\(\) fails with ETIMEDOUT/);
  });
});
