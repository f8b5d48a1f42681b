import { describe, expect, it } from 'vitest';
import {
  RFC9293_MACHINE,
  TRANSITIONS,
  eventsBetween,
  isReachable,
  legalPaths,
  nextTransitions,
  step,
  type TcpContext,
  type TcpEvent,
} from '../../../src/tcp/rfc9293-machine.js';
import { parseTcpState, type TcpState } from '../../../src/tcp/state.js';
import { isTcpEvent } from '../../../src/tcp/tcp-machine.js';

/**
 * Expected rows, written by hand from RFC 9293 (§3.3.2 Figure 5, §3.10) independently of the table:
 * `FROM event {passive|active} → TO : action + action`.
 */
const EXPECTED_ROWS = `
CLOSED open-passive → LISTEN : create-tcb
CLOSED open-active → SYN_SENT : send-syn + create-tcb
CLOSED rcv-syn → CLOSED : send-rst
CLOSED rcv-ack → CLOSED : send-rst
CLOSED rcv-rst → CLOSED : none
LISTEN rcv-syn → SYN_RECEIVED : send-syn-ack
LISTEN rcv-ack → LISTEN : send-rst
LISTEN rcv-rst → LISTEN : none
LISTEN open-active → SYN_SENT : send-syn
LISTEN send → SYN_SENT : send-syn
LISTEN close → CLOSED : delete-tcb
LISTEN abort → CLOSED : delete-tcb
SYN_SENT rcv-syn-ack → ESTABLISHED : send-ack
SYN_SENT rcv-syn → SYN_RECEIVED : send-syn-ack
SYN_SENT rcv-rst → CLOSED : delete-tcb
SYN_SENT rcv-bad-ack → SYN_SENT : send-rst
SYN_SENT send → SYN_SENT : queue-data
SYN_SENT close → CLOSED : delete-tcb
SYN_SENT abort → CLOSED : delete-tcb
SYN_SENT user-timeout → CLOSED : delete-tcb
SYN_SENT retransmit-give-up → CLOSED : delete-tcb
SYN_SENT rcv-icmp-error → CLOSED : delete-tcb
SYN_RECEIVED rcv-ack-of-syn → ESTABLISHED : none
SYN_RECEIVED rcv-rst {passive} → LISTEN : none
SYN_RECEIVED rcv-rst {active} → CLOSED : delete-tcb
SYN_RECEIVED rcv-syn {passive} → LISTEN : none
SYN_RECEIVED rcv-syn {active} → SYN_RECEIVED : send-ack
SYN_RECEIVED rcv-bad-ack → SYN_RECEIVED : send-rst
SYN_RECEIVED rcv-fin → CLOSE_WAIT : send-ack
SYN_RECEIVED send → SYN_RECEIVED : queue-data
SYN_RECEIVED close → FIN_WAIT_1 : send-fin
SYN_RECEIVED abort → CLOSED : send-rst + delete-tcb
SYN_RECEIVED user-timeout → CLOSED : delete-tcb
SYN_RECEIVED rcv-icmp-error → CLOSED : delete-tcb
SYN_RECEIVED retransmit-give-up → CLOSED : delete-tcb
ESTABLISHED send → ESTABLISHED : send-data
ESTABLISHED rcv-data → ESTABLISHED : send-ack
ESTABLISHED close → FIN_WAIT_1 : send-fin
ESTABLISHED rcv-fin → CLOSE_WAIT : send-ack
ESTABLISHED abort → CLOSED : send-rst + delete-tcb
ESTABLISHED rcv-rst → CLOSED : delete-tcb
ESTABLISHED rcv-syn → ESTABLISHED : send-ack
ESTABLISHED rcv-bad-ack → ESTABLISHED : send-ack
ESTABLISHED user-timeout → CLOSED : delete-tcb
ESTABLISHED retransmit-give-up → CLOSED : delete-tcb
FIN_WAIT_1 rcv-ack-of-fin → FIN_WAIT_2 : none
FIN_WAIT_1 rcv-fin → CLOSING : send-ack
FIN_WAIT_1 rcv-fin-ack-of-fin → TIME_WAIT : send-ack + start-2msl
FIN_WAIT_1 rcv-data → FIN_WAIT_1 : send-ack
FIN_WAIT_1 abort → CLOSED : send-rst + delete-tcb
FIN_WAIT_1 rcv-rst → CLOSED : delete-tcb
FIN_WAIT_1 rcv-syn → FIN_WAIT_1 : send-ack
FIN_WAIT_1 rcv-bad-ack → FIN_WAIT_1 : send-ack
FIN_WAIT_1 user-timeout → CLOSED : delete-tcb
FIN_WAIT_1 retransmit-give-up → CLOSED : delete-tcb
FIN_WAIT_2 rcv-fin → TIME_WAIT : send-ack + start-2msl
FIN_WAIT_2 rcv-data → FIN_WAIT_2 : send-ack
FIN_WAIT_2 abort → CLOSED : send-rst + delete-tcb
FIN_WAIT_2 rcv-rst → CLOSED : delete-tcb
FIN_WAIT_2 rcv-syn → FIN_WAIT_2 : send-ack
FIN_WAIT_2 rcv-bad-ack → FIN_WAIT_2 : send-ack
CLOSE_WAIT send → CLOSE_WAIT : send-data
CLOSE_WAIT close → LAST_ACK : send-fin
CLOSE_WAIT abort → CLOSED : send-rst + delete-tcb
CLOSE_WAIT rcv-rst → CLOSED : delete-tcb
CLOSE_WAIT rcv-syn → CLOSE_WAIT : send-ack
CLOSE_WAIT rcv-bad-ack → CLOSE_WAIT : send-ack
CLOSE_WAIT user-timeout → CLOSED : delete-tcb
CLOSE_WAIT retransmit-give-up → CLOSED : delete-tcb
CLOSING rcv-ack-of-fin → TIME_WAIT : start-2msl
CLOSING abort → CLOSED : delete-tcb
CLOSING rcv-rst → CLOSED : delete-tcb
CLOSING rcv-syn → CLOSING : send-ack
CLOSING rcv-bad-ack → CLOSING : send-ack
CLOSING user-timeout → CLOSED : delete-tcb
CLOSING retransmit-give-up → CLOSED : delete-tcb
LAST_ACK rcv-ack-of-fin → CLOSED : delete-tcb
LAST_ACK abort → CLOSED : delete-tcb
LAST_ACK rcv-rst → CLOSED : delete-tcb
LAST_ACK rcv-syn → LAST_ACK : send-ack
LAST_ACK user-timeout → CLOSED : delete-tcb
LAST_ACK retransmit-give-up → CLOSED : delete-tcb
TIME_WAIT rcv-fin → TIME_WAIT : send-ack + restart-2msl
TIME_WAIT time-wait-expiry → CLOSED : delete-tcb
TIME_WAIT abort → CLOSED : delete-tcb
TIME_WAIT rcv-rst → CLOSED : delete-tcb
TIME_WAIT rcv-syn → TIME_WAIT : send-ack
`;

interface ExpectedRow {
  line: string;
  from: TcpState;
  event: TcpEvent;
  context: TcpContext;
  to: TcpState;
  actions: string[];
}

function parseExpectedRows(text: string): ExpectedRow[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const match = /^(\S+) (\S+)(?: \{(passive|active)\})? → (\S+) : (.+)$/.exec(line);
      if (match === null) throw new Error(`bad expected row: ${line}`);
      const [, fromName = '', eventName = '', openedBy, toName = '', actionText = ''] = match;
      const from = parseTcpState(fromName);
      const to = parseTcpState(toName);
      if (from === undefined || to === undefined || !isTcpEvent(eventName)) throw new Error(`bad expected row: ${line}`);
      const context: TcpContext = openedBy === 'passive' || openedBy === 'active' ? { openedBy } : {};
      return { line, from, event: eventName, context, to, actions: actionText.split(' + ') };
    });
}

const EXPECTED = parseExpectedRows(EXPECTED_ROWS);

describe('RFC 9293 transition table', () => {
  it('has exactly the hand-written rows, no more, no fewer', () => {
    expect(TRANSITIONS).toHaveLength(EXPECTED.length);
    const observed = TRANSITIONS.map((row) => `${row.from} ${row.event} ${row.guards.map((g) => JSON.stringify(g)).join('')}`);
    expect(new Set(observed).size).toBe(TRANSITIONS.length);
    const rowsHit = new Set(
      EXPECTED.map((expected) => {
        const result = step(expected.from, expected.event, expected.context);
        return 'row' in result ? result.row : undefined;
      }),
    );
    expect(rowsHit.has(undefined)).toBe(false);
    expect(rowsHit.size).toBe(TRANSITIONS.length);
  });

  it.each(EXPECTED.map((row) => [row.line, row] as const))('%s', (_line, expected) => {
    const observed = step(expected.from, expected.event, expected.context);
    if ('illegal' in observed) throw new Error(`expected a transition, got illegal: ${observed.illegal}`);
    expect(observed.to).toBe(expected.to);
    expect(observed.actions).toEqual(expected.actions);
    expect(observed.action).toBe(expected.actions[0]);
    expect(observed.row.rfc).toMatch(/^3\.(8\.3|9\.2\.2|10\.\d(\.\d)?)$/);
  });

  it('every row cites a section of RFC 9293 §3.8, §3.9.2.2 (ICMP errors) or §3.10', () => {
    for (const row of TRANSITIONS) expect(row.rfc, `${row.from} ${row.event}`).toMatch(/^3\.(8\.|9\.2\.2$|10\.)/);
  });
});

describe('walk-throughs', () => {
  function walk(start: TcpState, events: Array<TcpEvent | [TcpEvent, TcpContext]>, context: TcpContext = {}) {
    let state = start;
    let ctx = context;
    const states: TcpState[] = [start];
    const actions: string[] = [];
    for (const item of events) {
      const [event, extra] = typeof item === 'string' ? [item, {}] : item;
      const result = step(state, event, { ...ctx, ...extra });
      if ('illegal' in result) throw new Error(result.illegal);
      state = result.to;
      ctx = result.context;
      states.push(state);
      actions.push(result.action);
    }
    return { states, actions, context: ctx };
  }

  it('active open and four-segment close (client)', () => {
    const observed = walk('CLOSED', ['open-active', 'rcv-syn-ack', 'close', 'rcv-ack-of-fin', 'rcv-fin', 'time-wait-expiry']);
    expect(observed.states).toEqual(['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT', 'CLOSED']);
    expect(observed.actions).toEqual(['send-syn', 'send-ack', 'send-fin', 'none', 'send-ack', 'delete-tcb']);
  });

  it('three-segment close: FIN that acknowledges our FIN in FIN_WAIT_1', () => {
    const observed = walk('ESTABLISHED', ['close', 'rcv-fin-ack-of-fin']);
    expect(observed.states).toEqual(['ESTABLISHED', 'FIN_WAIT_1', 'TIME_WAIT']);
  });

  it('passive open and passive close (server)', () => {
    const observed = walk('CLOSED', ['open-passive', 'rcv-syn', 'rcv-ack-of-syn', 'rcv-fin', 'close', 'rcv-ack-of-fin']);
    expect(observed.states).toEqual(['CLOSED', 'LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(observed.actions).toEqual(['create-tcb', 'send-syn-ack', 'none', 'send-ack', 'send-fin', 'delete-tcb']);
  });

  it('simultaneous open', () => {
    const observed = walk('CLOSED', ['open-active', 'rcv-syn', 'rcv-ack-of-syn']);
    expect(observed.states).toEqual(['CLOSED', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED']);
    expect(observed.context.openedBy).toBe('active');
  });

  it('simultaneous close', () => {
    const observed = walk('ESTABLISHED', ['close', 'rcv-fin', 'rcv-ack-of-fin', 'time-wait-expiry']);
    expect(observed.states).toEqual(['ESTABLISHED', 'FIN_WAIT_1', 'CLOSING', 'TIME_WAIT', 'CLOSED']);
    expect(observed.actions).toEqual(['send-fin', 'send-ack', 'start-2msl', 'delete-tcb']);
  });

  it('RST in SYN_RECEIVED: back to LISTEN after a passive open, CLOSED after an active one', () => {
    const passive = walk('CLOSED', ['open-passive', 'rcv-syn', 'rcv-rst']);
    expect(passive.states).toEqual(['CLOSED', 'LISTEN', 'SYN_RECEIVED', 'LISTEN']);
    const active = walk('CLOSED', ['open-active', 'rcv-syn', 'rcv-rst']);
    expect(active.states).toEqual(['CLOSED', 'SYN_SENT', 'SYN_RECEIVED', 'CLOSED']);
  });

  it('a listener that sees SYN then RST can accept again', () => {
    const observed = walk('LISTEN', ['rcv-syn', 'rcv-rst', 'rcv-syn', 'rcv-ack-of-syn']);
    expect(observed.states).toEqual(['LISTEN', 'SYN_RECEIVED', 'LISTEN', 'SYN_RECEIVED', 'ESTABLISHED']);
  });
});

describe('illegal steps', () => {
  it('SEND in CLOSED: connection does not exist', () => {
    const observed = step('CLOSED', 'send');
    expect(observed).toHaveProperty('illegal');
    expect('illegal' in observed && observed.illegal).toMatch(/does not exist.*§3\.10\.2/);
  });

  it('CLOSE in TIME_WAIT and SEND in FIN_WAIT_2: connection closing', () => {
    for (const [state, event] of [
      ['TIME_WAIT', 'close'],
      ['FIN_WAIT_2', 'send'],
    ] as const) {
      const observed = step(state, event);
      expect('illegal' in observed && observed.illegal).toMatch(/connection closing/);
    }
  });

  it('OPEN on an open connection: already exists', () => {
    const observed = step('ESTABLISHED', 'open-active');
    expect('illegal' in observed && observed.illegal).toMatch(/already exists/);
  });

  it('a segment the table does not cover names the events it expected', () => {
    const observed = step('ESTABLISHED', 'rcv-syn-ack');
    expect('illegal' in observed && observed.illegal).toMatch(/no transition.*expected one of .*rcv-fin/);
  });

  it('the Linux-only FIN_WAIT_2 timer does not exist in the RFC', () => {
    expect(step('FIN_WAIT_2', 'fin-wait-2-timeout')).toHaveProperty('illegal');
  });

  it('SYN_RECEIVED + RST without knowing how it was opened is ambiguous, with the remedy', () => {
    const observed = step('SYN_RECEIVED', 'rcv-rst');
    expect('illegal' in observed && observed.illegal).toMatch(/ambiguous.*openedBy/);
  });
});

describe('nextTransitions', () => {
  it('lists every row leaving a state, filtered by event and context', () => {
    expect(
      nextTransitions('SYN_RECEIVED', 'rcv-rst')
        .map((row) => row.to)
        .sort(),
    ).toEqual(['CLOSED', 'LISTEN']);
    expect(nextTransitions('SYN_RECEIVED', 'rcv-rst', { openedBy: 'passive' }).map((row) => row.to)).toEqual(['LISTEN']);
    expect(
      nextTransitions('LISTEN')
        .map((row) => row.event)
        .sort(),
    ).toEqual(['abort', 'close', 'open-active', 'rcv-ack', 'rcv-rst', 'rcv-syn', 'send'].sort());
    expect(nextTransitions('ESTABLISHED', 'rcv-syn-ack')).toEqual([]);
  });
});

describe('paths', () => {
  it('finds FIN_WAIT_1 → FIN_WAIT_2 between ESTABLISHED and TIME_WAIT, and the other closes', () => {
    const observed = legalPaths('ESTABLISHED', 'TIME_WAIT', 3);
    expect(observed).toContainEqual(['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT']);
    expect(observed).toContainEqual(['ESTABLISHED', 'FIN_WAIT_1', 'CLOSING', 'TIME_WAIT']);
    expect(observed[0]).toEqual(['ESTABLISHED', 'FIN_WAIT_1', 'TIME_WAIT']);
    expect(observed).toHaveLength(3);
  });

  it('no path from LISTEN to FIN_WAIT_2 in one step, and none with two', () => {
    expect(legalPaths('LISTEN', 'FIN_WAIT_2', 1)).toEqual([]);
    expect(legalPaths('LISTEN', 'FIN_WAIT_2', 2)).toEqual([]);
    expect(legalPaths('LISTEN', 'FIN_WAIT_2', 4)).toContainEqual(['LISTEN', 'SYN_RECEIVED', 'FIN_WAIT_1', 'FIN_WAIT_2']);
  });

  it('does not pass through CLOSED unless asked', () => {
    const direct = legalPaths('TIME_WAIT', 'LISTEN', 4);
    expect(direct).toEqual([]);
    expect(legalPaths('TIME_WAIT', 'LISTEN', 4, { viaClosed: true })).toContainEqual(['TIME_WAIT', 'CLOSED', 'LISTEN']);
  });

  it('rejects a negative length', () => {
    expect(() => legalPaths('CLOSED', 'LISTEN', -1)).toThrow(/maxLen must be a non-negative integer/);
  });

  it('isReachable', () => {
    expect(isReachable('CLOSED', 'TIME_WAIT')).toBe(true);
    expect(isReachable('LISTEN', 'CLOSE_WAIT')).toBe(true);
    expect(isReachable('ESTABLISHED', 'ESTABLISHED')).toBe(true);
  });

  it('eventsBetween', () => {
    expect(eventsBetween('FIN_WAIT_1', 'TIME_WAIT')).toEqual(['rcv-fin-ack-of-fin']);
    expect(eventsBetween('ESTABLISHED', 'CLOSED').sort()).toEqual(['abort', 'rcv-rst', 'retransmit-give-up', 'user-timeout']);
    expect(eventsBetween('LISTEN', 'FIN_WAIT_2')).toEqual([]);
  });

  it('the machine object answers the same as the module functions', () => {
    expect(RFC9293_MACHINE.transitions).toBe(TRANSITIONS);
    expect(RFC9293_MACHINE.step('LISTEN', 'rcv-syn')).toEqual(step('LISTEN', 'rcv-syn'));
  });
});
