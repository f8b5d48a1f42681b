// State inference as an RFC 9293 replay: every inferred transition is an edge of the reference
// machine (`tcplab fsm --linux`), on the whole corpus and the encapsulation captures; and the cases
// issue 11 lists, each with the segments that show it, including one-sided captures.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CAPTURE_MACHINE,
  PATH_TRUNCATED,
  UNKNOWN_MID_STREAM,
  UNKNOWN_UNANSWERED,
  unknownFinArrival,
  type EndpointHistory,
} from '../../../src/analysis/capture-states.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { parseTcpState } from '../../../src/tcp/state.js';
import { describeAnomalies } from '../../../src/verify/capture-anomalies.js';
import { analyzeCapture, type TcpConnection } from '../../../src/verify/connections.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

const { SYN, ACK, FIN, RST, PSH } = TcpFlag;
let frame = 0;

function seg(from: 'c' | 's', flags: number, seq: number, ack: number, len = 0): TcpSegment {
  const [src, srcPort, dst, dstPort] = from === 'c' ? ['10.0.0.1', 40000, '10.0.0.2', 80] : ['10.0.0.2', 80, '10.0.0.1', 40000];
  frame++;
  return { frame, timeUs: 1e12 + frame * 1000, family: 4, src, srcPort, dst, dstPort, seq, ack, flags, window: 1000, payloadLength: len, ipId: frame };
}
function one(segments: TcpSegment[]): TcpConnection {
  const { connections } = analyzeCapture(segments);
  expect(connections).toHaveLength(1);
  return connections[0]!;
}
const paths = (c: TcpConnection): [string, string] => [c.states.client.path.join(' → '), c.states.server.path.join(' → ')];

/** Fails unless every step of the path and every recorded transition is an edge of the machine. */
function expectEdges(h: EndpointHistory, where: string): void {
  const states = h.path.filter((p) => !p.startsWith('unknown') && p !== PATH_TRUNCATED);
  for (const p of states) expect(parseTcpState(p), `${where}: ${p} is a state`).toBeDefined();
  for (let i = 1; i < states.length; i++) {
    const [from, to] = [parseTcpState(states[i - 1]!)!, parseTcpState(states[i]!)!];
    expect(CAPTURE_MACHINE.eventsBetween(from, to), `${where}: ${states[i - 1]} → ${states[i]}`).not.toEqual([]);
  }
  for (const t of h.transitions) {
    const edge = CAPTURE_MACHINE.nextTransitions(t.from, t.event).some((r) => r.to === t.to);
    expect(edge, `${where}: ${t.from} --${t.event}--> ${t.to} (frame ${t.frame})`).toBe(true);
  }
  expect(h.problems, where).toEqual([]);
}

describe('every inferred path is a path of the reference machine', () => {
  const folders = ['test/fixtures/corpus', 'test/fixtures/encap'].map((f) => join(REPO_ROOT, f));
  for (const dir of folders) {
    for (const name of readdirSync(dir).filter((f) => /\.(pcap|pcapng)$/.test(f))) {
      it(`${name}: each endpoint's path and transitions are edges of tcplab fsm --linux`, async () => {
        const { connections } = await analyzeCapture(join(dir, name));
        for (const c of connections) {
          expectEdges(c.states.client, `${name} #${c.id} client`);
          expectEdges(c.states.server, `${name} #${c.id} server`);
        }
      });
    }
  }

  it('the walk fails on a path that is not an edge (CLOSED → ESTABLISHED)', () => {
    expect(() => expectEdges({ path: ['CLOSED', 'ESTABLISHED'], transitions: [], problems: [] }, 'made up')).toThrow(/CLOSED → ESTABLISHED/);
  });
});

describe('the cases of issue 11', () => {
  it('a RST answering a challenge ACK leaves the client in SYN_SENT (§3.10.7.3); the connection goes on and closes', () => {
    frame = 0;
    const c = one([
      seg('c', SYN, 1000, 0),
      seg('s', ACK, 9000, 777_000), // challenge ACK from a stale connection
      seg('c', RST, 777_000, 0),
      seg('c', SYN, 1000, 0),
      seg('s', SYN | ACK, 5000, 1001),
      seg('c', ACK, 1001, 5001),
      seg('c', FIN | ACK, 1001, 5001),
      seg('s', ACK, 5001, 1002),
      seg('s', FIN | ACK, 5001, 1002),
      seg('c', ACK, 1002, 5002),
    ]);
    expect(paths(c)[0]).toBe('CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT');
    expect(c.states.client.transitions).toContainEqual({ from: 'SYN_SENT', event: 'rcv-bad-ack', to: 'SYN_SENT', frame: 2, inferred: false });
    const server = paths(c)[1];
    expect(server).toMatch(/^unknown: an earlier connection .* → ESTABLISHED → CLOSED → LISTEN → SYN_RECEIVED → /);
    expect(server).toMatch(/ → SYN_RECEIVED → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED$/);
  });

  it('crossing FINs where only one is ACKed: the side whose FIN is never acknowledged stays CLOSING; the other is not said to have received it', () => {
    frame = 0;
    const c = one([
      seg('c', SYN, 1000, 0),
      seg('s', SYN | ACK, 5000, 1001),
      seg('c', ACK, 1001, 5001),
      seg('c', FIN | ACK, 1001, 5001),
      seg('s', FIN | ACK, 5001, 1001), // crosses the client's FIN: does not acknowledge it
      seg('c', ACK, 1002, 5002), // the client acknowledges the server's FIN; the server never acknowledges the client's
    ]);
    expect(paths(c)).toEqual([
      'CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → CLOSING',
      // The server never acknowledges the client's FIN: whether it arrived (CLOSING → TIME_WAIT) or not (FIN_WAIT_2) is unknown.
      `LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → ${unknownFinArrival(4)}`,
    ]);
  });

  it('a side that answers the peer FIN with a bare RST is CLOSED, not TIME_WAIT', () => {
    frame = 0;
    const afterData = one([
      seg('c', SYN, 1000, 0),
      seg('s', SYN | ACK, 5000, 1001),
      seg('c', ACK, 1001, 5001),
      seg('s', FIN | ACK, 5001, 1001),
      seg('c', ACK, 1001, 5002),
      seg('c', PSH | ACK, 1001, 5002, 50), // data after the server's close()
      seg('c', FIN | ACK, 1051, 5002),
      seg('s', RST, 5002, 0),
    ]);
    expect(paths(afterData)[1]).toBe('LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → CLOSED');
    expect(paths(afterData)[0]).toBe('CLOSED → SYN_SENT → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED');
    frame = 0;
    const fromEstablished = one([
      seg('c', SYN, 1000, 0),
      seg('s', SYN | ACK, 5000, 1001),
      seg('c', ACK, 1001, 5001),
      seg('c', FIN | ACK, 1001, 5001),
      seg('s', RST, 5001, 0),
    ]);
    expect(paths(fromEstablished)).toEqual([
      'CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → CLOSED',
      'LISTEN → SYN_RECEIVED → ESTABLISHED → CLOSE_WAIT → CLOSED',
    ]);
  });

  it('SYN, SYN-ACK, then a client RST: the server goes SYN_RECEIVED → LISTEN, never ESTABLISHED', () => {
    frame = 0;
    const c = one([seg('c', SYN, 1000, 0), seg('s', SYN | ACK, 5000, 1001), seg('c', RST, 1001, 0)]);
    expect(paths(c)[1]).toBe('LISTEN → SYN_RECEIVED → LISTEN');
  });

  it('SYN-ACKs with two different ISNs are named, with their frames', () => {
    frame = 0;
    const c = one([seg('c', SYN, 1000, 0), seg('s', SYN | ACK, 5000, 1001), seg('s', SYN | ACK, 8000, 1001), seg('c', ACK, 1001, 5001)]);
    expect(c.synAckIsns).toEqual([
      { isn: 5000, frame: 2 },
      { isn: 8000, frame: 3 },
    ]);
    expect(describeAnomalies(c)).toContain('SYN-ACKs with 2 different ISNs (frames 2, 3): a second SYN-ACK is not a retransmission');
  });

  it('a SYN that nothing answers leaves the server unknown, not LISTEN', () => {
    frame = 0;
    const c = one([seg('c', SYN, 1000, 0), seg('c', SYN, 1000, 0)]);
    expect(paths(c)).toEqual(['CLOSED → SYN_SENT', UNKNOWN_UNANSWERED]);
  });

  it('a capture that starts mid-stream says so instead of guessing how it began', () => {
    frame = 0;
    const c = one([
      seg('c', ACK | PSH, 1001, 5001, 10),
      seg('s', ACK, 5001, 1011),
      seg('c', FIN | ACK, 1011, 5001),
      seg('s', FIN | ACK, 5001, 1012),
      seg('c', ACK, 1012, 5002),
    ]);
    expect(paths(c)).toEqual([
      `${UNKNOWN_MID_STREAM} → ESTABLISHED → FIN_WAIT_1 → TIME_WAIT`,
      `${UNKNOWN_MID_STREAM} → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED`,
    ]);
  });
});

describe('one-sided captures: what the ACK numbers prove', () => {
  it('only the client side: its ACK of the server ISN proves the SYN-ACK; the FIN nothing acknowledges is not said to have arrived', () => {
    frame = 0;
    const c = one([seg('c', SYN, 1000, 0), seg('c', ACK, 1001, 5001), seg('c', PSH | ACK, 1001, 5001, 20), seg('c', FIN | ACK, 1021, 5101)]);
    expect(paths(c)).toEqual(['CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1', `LISTEN → SYN_RECEIVED → ESTABLISHED → ${unknownFinArrival(4)}`]);
    expect(c.states.server.transitions.map((t) => t.to)).not.toContain('CLOSE_WAIT');
    expect(c.states.client.transitions).toContainEqual({ from: 'SYN_SENT', event: 'rcv-syn-ack', to: 'ESTABLISHED', frame: 2, inferred: true });
    expect(describeAnomalies(c).join('\n')).not.toMatch(/never answered/);
  });

  it('only the server side: its SYN-ACK proves the SYN, its ACK of client data proves the handshake completed', () => {
    frame = 0;
    const c = one([seg('s', SYN | ACK, 5000, 1001), seg('s', ACK, 5001, 1021), seg('s', PSH | ACK, 5001, 1021, 100), seg('s', FIN | ACK, 5101, 1022)]);
    expect(paths(c)).toEqual([`CLOSED → SYN_SENT → ESTABLISHED → ${unknownFinArrival(4)}`, 'LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1']);
    expect(c.states.server.transitions).toContainEqual({ from: 'SYN_RECEIVED', event: 'rcv-ack-of-syn', to: 'ESTABLISHED', frame: 2, inferred: true });
  });
});

describe('a RST: an answer to a segment, or the sender’s own abort (RFC 9293 §3.10.7.1, §3.10.4)', () => {
  const opened = (): TcpSegment[] => [
    seg('c', SYN, 1000, 0),
    seg('s', SYN | ACK, 5000, 1001),
    seg('c', ACK, 1001, 5001),
    seg('c', PSH | ACK, 1001, 5001, 500),
    seg('s', ACK, 5001, 1501),
  ];

  it('[R.] after the peer’s ACK-bearing data: the server’s abort (close() with unread data), not an answer to it', () => {
    frame = 0;
    const c = one([...opened(), seg('s', RST | ACK, 5001, 1501)]);
    expect(c.rsts[0]?.ownAbort).toBe(true);
    expect(describeAnomalies(c).join('\n')).toMatch(/RST from the server \(frame 6, ACK set\): its own abort, not an answer to the last data \(frame 4\)/);
  });

  it('[R] with its seq from the peer’s ACK: an answer to that segment', () => {
    frame = 0;
    const c = one([...opened(), seg('c', PSH | ACK, 1501, 5001, 10), seg('s', RST, 5001, 0)]);
    expect(c.rsts[0]?.ownAbort).toBeUndefined();
    expect(describeAnomalies(c).join('\n')).toMatch(/RST from the server \(frame 7\) in reply to data \(frame 6\)/);
  });
});

describe('a student’s loopback capture (test/fixtures/observe/loopback-student.py made it)', () => {
  it('gives each of the four connections its true paths, and tells the two aborts from the refusal', async () => {
    const { connections } = await analyzeCapture(join(REPO_ROOT, 'test/fixtures/observe/loopback-student.pcap'));
    expect(connections.map(paths)).toEqual([
      ['CLOSED → SYN_SENT → CLOSED', 'CLOSED'],
      ['CLOSED → SYN_SENT → ESTABLISHED → CLOSED', 'LISTEN → SYN_RECEIVED → ESTABLISHED → CLOSED'],
      ['CLOSED → SYN_SENT → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED', 'LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT'],
      ['CLOSED → SYN_SENT → ESTABLISHED → CLOSED', 'LISTEN → SYN_RECEIVED → ESTABLISHED → CLOSED'],
    ]);
    expect(connections.map((c) => c.rsts.map((r) => (r.ownAbort ? 'abort' : `reply to ${r.inReplyTo}`)))).toEqual([['reply to SYN'], ['abort'], [], ['abort']]);
  });
});

describe('a FIN captured at its receiver that never reached its TCP (a firewall after the capture tap)', () => {
  /** A segment at `ms` after the start (the handshake's round trip here is 0.06 ms). */
  function at(ms: number, from: 'c' | 's', flags: number, seq: number, ack: number): TcpSegment {
    return { ...seg(from, flags, seq, ack), timeUs: 1e12 + ms * 1000 };
  }
  const handshake = (): TcpSegment[] => [at(0, 'c', SYN, 1000, 0), at(0.05, 's', SYN | ACK, 9000, 1001), at(0.06, 'c', ACK, 1001, 9001)];

  it('is not taken as received when the receiver later acknowledges below it, or lets the next copy come unanswered', () => {
    frame = 0;
    const c = one([
      ...handshake(),
      at(100, 'c', FIN | ACK, 1001, 9001),
      at(110, 's', FIN | ACK, 9001, 1001), // 10 ms later, its ACK still below the FIN: the FIN never reached it
      at(300, 'c', FIN | ACK, 1001, 9001),
      at(310, 's', FIN | ACK, 9001, 1001),
      at(500, 'c', FIN | ACK, 1001, 9001), // nothing from s after this copy: the next copy comes …
      at(500.1, 'c', ACK, 1002, 9002), // (c acknowledges s's FIN: s goes to FIN_WAIT_2)
      at(900, 'c', FIN | ACK, 1001, 9002), // … unanswered: this one reaches s's TCP
      at(900.05, 's', ACK, 9002, 1002),
    ]);
    expect(paths(c)[1]).toBe('LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT');
  });

  it('is taken as received when the receiver acknowledges it: the same FIN, acknowledged by the FIN of s, is a passive close', () => {
    frame = 0;
    const c = one([...handshake(), at(100, 'c', FIN | ACK, 1001, 9001), at(110, 's', FIN | ACK, 9001, 1002), at(110.05, 'c', ACK, 1002, 9002)]);
    expect(paths(c)[1]).toBe('LISTEN → SYN_RECEIVED → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED');
  });

  it('keeps FINs that crossed within the round trip as received: both sides CLOSING', () => {
    frame = 0;
    const c = one([
      ...handshake(),
      at(100, 'c', FIN | ACK, 1001, 9001),
      at(100.02, 's', FIN | ACK, 9001, 1001), // sent before c's FIN arrived
      at(100.05, 'c', ACK, 1002, 9002),
      at(100.06, 's', ACK, 9002, 1002),
    ]);
    expect(paths(c)).toEqual([
      'CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT',
      'LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → CLOSING → TIME_WAIT',
    ]);
  });

  it('reads the recorded both-fins-lost capture of b as b lived it (its trace: FIN_WAIT_1 → FIN_WAIT_2, never CLOSING)', async () => {
    const { connections } = await analyzeCapture(join(REPO_ROOT, 'test/fixtures/runs/both-fins-lost/b/capture.pcap'));
    expect(connections[0]!.states.server.path.join(' → ')).toBe('LISTEN → SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT');
  });
});
