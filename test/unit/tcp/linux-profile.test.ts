import { describe, expect, it } from 'vitest';
import { resolveKernelSettings } from '../../../src/tcp/kernel-settings.js';
import { LINUX_DIFFERENCES, linuxMachine } from '../../../src/tcp/linux-profile.js';
import { RFC9293_MACHINE, TRANSITIONS } from '../../../src/tcp/rfc9293-machine.js';
import type { TcpState } from '../../../src/tcp/state.js';
import type { StepResult, TcpContext, TcpEvent } from '../../../src/tcp/tcp-machine.js';

const linux = linuxMachine();

function transition(result: StepResult): { to: TcpState; actions: readonly string[] } {
  if ('illegal' in result) throw new Error(`expected a transition, got illegal: ${result.illegal}`);
  return { to: result.to, actions: result.actions };
}

/** Hand-written Linux expectations: (state, event, context) → (to, actions). */
const EXPECTED_LINUX: Array<[TcpState, TcpEvent, TcpContext, TcpState, string[]]> = [
  ['SYN_RECEIVED', 'rcv-rst', { openedBy: 'passive' }, 'LISTEN', ['drop-request']],
  ['SYN_RECEIVED', 'rcv-rst', { openedBy: 'active' }, 'CLOSED', ['delete-tcb']],
  ['SYN_RECEIVED', 'rcv-syn', { openedBy: 'passive' }, 'LISTEN', ['send-rst', 'drop-request']],
  ['SYN_RECEIVED', 'rcv-syn', { openedBy: 'active' }, 'SYN_RECEIVED', ['send-ack']],
  ['SYN_RECEIVED', 'retransmit-give-up', { openedBy: 'passive' }, 'LISTEN', ['drop-request']],
  ['SYN_RECEIVED', 'retransmit-give-up', { openedBy: 'active' }, 'CLOSED', ['delete-tcb']],
  ['SYN_RECEIVED', 'user-timeout', { openedBy: 'active' }, 'CLOSED', ['delete-tcb']],
  ['SYN_RECEIVED', 'close', { openedBy: 'passive' }, 'CLOSED', ['drop-request']],
  ['SYN_RECEIVED', 'close', { openedBy: 'active' }, 'FIN_WAIT_1', ['send-fin']],
  ['SYN_RECEIVED', 'close', { openedBy: 'active', lingerZero: true }, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['SYN_RECEIVED', 'abort', { openedBy: 'active' }, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['SYN_SENT', 'close', {}, 'CLOSED', ['delete-tcb']],
  ['SYN_SENT', 'close', { lingerZero: true }, 'CLOSED', ['delete-tcb']],
  ['ESTABLISHED', 'close', {}, 'FIN_WAIT_1', ['send-fin']],
  ['ESTABLISHED', 'close', { lingerZero: true }, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['ESTABLISHED', 'close', { unreadData: true }, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['CLOSE_WAIT', 'close', {}, 'LAST_ACK', ['send-fin']],
  ['CLOSE_WAIT', 'close', { unreadData: true }, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['FIN_WAIT_1', 'rcv-ack-of-fin', {}, 'FIN_WAIT_2', ['start-fin-wait-2-timer']],
  ['FIN_WAIT_2', 'fin-wait-2-timeout', {}, 'CLOSED', ['delete-tcb']],
  ['FIN_WAIT_1', 'rcv-data', {}, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['FIN_WAIT_2', 'rcv-data', {}, 'CLOSED', ['send-rst', 'delete-tcb']],
  ['FIN_WAIT_1', 'rcv-fin-ack-of-fin', {}, 'TIME_WAIT', ['send-ack', 'start-timewait-len']],
  ['FIN_WAIT_2', 'rcv-fin', {}, 'TIME_WAIT', ['send-ack', 'start-timewait-len']],
  ['CLOSING', 'rcv-ack-of-fin', {}, 'TIME_WAIT', ['start-timewait-len']],
  ['TIME_WAIT', 'rcv-fin', {}, 'TIME_WAIT', ['send-ack', 'restart-timewait-len']],
  ['TIME_WAIT', 'rcv-syn', { synIsNew: true }, 'CLOSED', ['delete-tcb']],
  ['TIME_WAIT', 'rcv-syn', {}, 'TIME_WAIT', ['send-ack']],
  ['TIME_WAIT', 'rcv-rst', {}, 'CLOSED', ['delete-tcb']],
  ['LISTEN', 'rcv-syn', {}, 'SYN_RECEIVED', ['send-syn-ack']],
  ['ESTABLISHED', 'rcv-fin', {}, 'CLOSE_WAIT', ['send-ack']],
];

describe('Linux profile rows', () => {
  it.each(EXPECTED_LINUX.map((row) => [`${row[0]} + ${row[1]} ${JSON.stringify(row[2])}`, row] as const))(
    '%s',
    (_name, [from, event, context, to, actions]) => {
      expect(transition(linux.step(from, event, context))).toEqual({ to, actions });
    },
  );

  it('every row cites a kernel function where it differs from the RFC, and shares the RFC rows it keeps', () => {
    const rfcRows = new Set(TRANSITIONS);
    for (const row of linux.transitions) {
      if (!rfcRows.has(row)) expect(row.kernel, `${row.from} ${row.event}`).toMatch(/\.(c|h)\b/);
    }
    const kept = linux.transitions.filter((row) => rfcRows.has(row));
    expect(kept.length).toBeGreaterThan(TRANSITIONS.length - 25);
    expect(kept.find((row) => row.from === 'LISTEN' && row.event === 'rcv-syn')).toBeDefined();
  });

  it('leaves the RFC table itself untouched', () => {
    expect(RFC9293_MACHINE.step('FIN_WAIT_1', 'rcv-ack-of-fin')).toMatchObject({ to: 'FIN_WAIT_2', action: 'none' });
    expect(RFC9293_MACHINE.step('ESTABLISHED', 'close', { lingerZero: true })).toMatchObject({ to: 'FIN_WAIT_1' });
  });
});

describe('Linux rejections and settings', () => {
  it('a listener never turns active', () => {
    const send = linux.step('LISTEN', 'send');
    expect('illegal' in send && send.illegal).toMatch(/EPIPE/);
    const connect = linux.step('LISTEN', 'open-active');
    expect('illegal' in connect && connect.illegal).toMatch(/EISCONN/);
    expect(RFC9293_MACHINE.step('LISTEN', 'send')).toMatchObject({ to: 'SYN_SENT' });
  });

  it('a request socket has no user timeout', () => {
    const observed = linux.step('SYN_RECEIVED', 'user-timeout', { openedBy: 'passive' });
    expect(observed).toHaveProperty('illegal');
  });

  it('tcp_rfc1337 = 1 makes TIME_WAIT ignore RST', () => {
    const strict = linuxMachine({ tcp_rfc1337: 1 });
    expect(transition(strict.step('TIME_WAIT', 'rcv-rst'))).toEqual({ to: 'TIME_WAIT', actions: ['none'] });
    expect(strict.title).toMatch(/tcp_rfc1337=1/);
    expect(transition(linux.step('TIME_WAIT', 'rcv-rst')).to).toBe('CLOSED');
  });

  it('rejects impossible settings with the setting name and the remedy', () => {
    expect(() => linuxMachine({ tcp_syn_retries: 0 })).toThrow(/tcp_syn_retries: expected an integer 1\.\.127.*received 0/);
    expect(() => resolveKernelSettings({ hz: 123 })).toThrow(/hz: expected one of/);
  });
});

describe('Linux walk-throughs', () => {
  it('orphaned active close ends by the FIN_WAIT_2 timer when the peer never sends its FIN', () => {
    let state: TcpState = 'ESTABLISHED';
    const states: TcpState[] = [state];
    for (const event of ['close', 'rcv-ack-of-fin', 'fin-wait-2-timeout'] as const) {
      state = transition(linux.step(state, event)).to;
      states.push(state);
    }
    expect(states).toEqual(['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSED']);
  });

  it('half-open passive connection: SYN, then RST, listener stays', () => {
    const first = linux.step('LISTEN', 'rcv-syn');
    if ('illegal' in first) throw new Error(first.illegal);
    expect(first.context.openedBy).toBe('passive');
    const second = linux.step(first.to, 'rcv-rst', first.context);
    expect(second).toMatchObject({ to: 'LISTEN', action: 'drop-request' });
  });

  it('legalPaths of the Linux machine include the orphan FIN_WAIT_2 expiry', () => {
    expect(linux.legalPaths('FIN_WAIT_1', 'CLOSED', 2)).toContainEqual(['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSED']);
    expect(RFC9293_MACHINE.eventsBetween('FIN_WAIT_2', 'CLOSED')).not.toContain('fin-wait-2-timeout');
    expect(linux.eventsBetween('FIN_WAIT_2', 'CLOSED').sort()).toEqual(['abort', 'fin-wait-2-timeout', 'rcv-data', 'rcv-rst']);
  });
});

describe('LINUX_DIFFERENCES', () => {
  it('has unique ids, a kernel citation each, and covers the brief’s facts', () => {
    const ids = LINUX_DIFFERENCES.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const difference of LINUX_DIFFERENCES) expect(difference.kernel, difference.id).toMatch(/\.(c|h)\b/);
    for (const id of [
      'request-socket',
      'request-rst',
      'close-in-syn-sent',
      'abortive-close',
      'orphan-fin-wait-2-timeout',
      'time-wait-60s',
      'give-up-without-rst',
      'time-wait-rst-rfc1337',
    ]) {
      expect(ids).toContain(id);
    }
  });

  it('row-changing entries change rows; documentation entries change none', () => {
    for (const difference of LINUX_DIFFERENCES) {
      const changesRows = difference.removes.length > 0 || difference.adds.length > 0;
      const documentary = ['same-as-rfc', 'observability', 'timing'].includes(difference.kind);
      expect(changesRows, difference.id).toBe(!documentary);
    }
  });
});
