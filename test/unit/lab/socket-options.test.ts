import { describe, expect, it } from 'vitest';
import { LabError, formatProblems } from '../../../src/lab/lab-error.js';
import { loadLabText } from '../../../src/lab/load-lab.js';
import type { Step } from '../../../src/lab/model.js';
import { describeStepIn } from '../../../src/messages/lab-words.js';
import { toSocketOptionCalls } from '../../../src/run/socket-option-calls.js';

/** A lab with these step lines (YAML, 2-space indented items) and these expectation lines. */
function labText(steps: string[], expect: string[] = []): string {
  return [
    'title: t',
    'description: d',
    'hosts:',
    '  server: {}',
    '  client: {}',
    'steps:',
    ...steps.map((s) => `  - ${s}`),
    ...(expect.length > 0 ? ['expect:', ...expect.map((e) => `  - ${e}`)] : []),
    '',
  ].join('\n');
}

function problems(steps: string[], expect: string[] = []): string[] {
  try {
    loadLabText(labText(steps, expect), 'lab.yaml');
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return formatProblems(error.problems).split('\n');
  }
  throw new Error('expected the lab to fail');
}

function steps(lines: string[], expect: string[] = []): readonly Step[] {
  return loadLabText(labText(lines, expect), 'lab.yaml').steps;
}

describe('options on listen and connect (syntax13.md)', () => {
  it('maps every option to the model, durations in ms', () => {
    const [listen, connect] = steps([
      'listen: { host: server, port: 8080, options: { keepalive: { idle: 2s, interval: 1s, count: 3 }, defer_accept: 3s, reuseaddr: true } }',
      'connect: { host: client, to: server, port: 8080, as: c, nonblocking: true, options: { user_timeout: 3s, nodelay: true, linger: 2s, ' +
        'rcvbuf: 4096, sndbuf: 4096, maxseg: 536, reuseaddr: true, reuseport: true, keepalive: true } }',
    ]);
    expect(listen).toStrictEqual({
      kind: 'listen',
      host: 'server',
      port: 8080,
      accept: true,
      options: { keepalive: { idleMs: 2000, intervalMs: 1000, count: 3 }, deferAcceptMs: 3000, reuseaddr: true },
    });
    expect(connect).toStrictEqual({
      kind: 'connect',
      host: 'client',
      to: 'server',
      port: 8080,
      conn: 'c',
      nonblocking: true,
      options: {
        keepalive: true,
        userTimeoutMs: 3000,
        linger: { seconds: 2 },
        nodelay: true,
        rcvbuf: 4096,
        sndbuf: 4096,
        maxseg: 536,
        reuseaddr: true,
        reuseport: true,
      },
    });
  });

  it('turns options into setsockopt calls in the kernel units, reuse* first, SO_KEEPALIVE before TCP_KEEP*', () => {
    const [, connect] = steps([
      'listen: { host: server, port: 8080 }',
      'connect: { host: client, to: server, port: 8080, options: { keepalive: { idle: 2s, interval: 1s, count: 3 }, user_timeout: 1500ms, linger: off, reuseport: true } }',
    ]);
    expect(toSocketOptionCalls((connect as Extract<Step, { kind: 'connect' }>).options)).toStrictEqual([
      { name: 'SO_REUSEPORT', value: 1 },
      { name: 'SO_KEEPALIVE', value: 1 },
      { name: 'TCP_KEEPIDLE', value: 2 },
      { name: 'TCP_KEEPINTVL', value: 1 },
      { name: 'TCP_KEEPCNT', value: 3 },
      { name: 'TCP_USER_TIMEOUT', value: 1500 },
      { name: 'SO_LINGER', value: { onoff: 0, seconds: 0 } },
    ]);
    expect(toSocketOptionCalls({ keepalive: false, linger: { seconds: 4 }, deferAcceptMs: 3000, maxseg: 1000 })).toStrictEqual([
      { name: 'SO_KEEPALIVE', value: 0 },
      { name: 'SO_LINGER', value: { onoff: 1, seconds: 4 } },
      { name: 'TCP_DEFER_ACCEPT', value: 3 },
      { name: 'TCP_MAXSEG', value: 1000 },
    ]);
    // No option, no call: SO_REUSEADDR is not set behind the lab's back any more.
    expect(toSocketOptionCalls(undefined)).toStrictEqual([]);
    expect(toSocketOptionCalls({})).toStrictEqual([]);
  });

  it('lists the known option keys for an unknown one, with the position and a suggestion', () => {
    const lines = problems(['listen: { host: server, port: 8080, options: { keepalvie: true } }']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lab\.yaml:7:\d+: steps\[0\]\.listen\.options\.keepalvie: unknown key "keepalvie"; known keys: keepalive, user_timeout, linger/);
    expect(lines[0]).toContain('defer_accept');
    expect(lines[0]).toContain('(did you mean "keepalive"?)');
  });

  it('refuses defer_accept on connect (a listener option)', () => {
    const lines = problems(['listen: { host: server, port: 8080 }', 'connect: { host: client, to: server, port: 8080, options: { defer_accept: 3s } }']);
    expect(lines.join('\n')).toMatch(/lab\.yaml:8:\d+: steps\[1\]\.connect\.options\.defer_accept: unknown key "defer_accept"/);
  });

  it.each([
    ['keepalive: { idle: 1500ms }', 'keepalive idle (TCP_KEEPIDLE) is set in whole seconds, received 1500 ms; write e.g. 2s'],
    ['keepalive: { interval: 40000s }', 'keepalive.interval: a duration is at most 60m'],
    ['keepalive: { count: 0 }', 'count'],
    ['keepalive: { count: 128 }', 'count'],
    ['maxseg: 87', 'maxseg'],
    ['maxseg: 65536', 'maxseg'],
    ['rcvbuf: 0', 'rcvbuf'],
    ['sndbuf: 1.5', 'sndbuf'],
    ['linger: 1500ms', 'linger (SO_LINGER l_linger) is whole seconds'],
    ['linger: 0', 'for linger 0 (close with RST) use the abort step'],
    ['user_timeout: -1s', 'user_timeout'],
    ['nodelay: yes', 'nodelay'],
  ])('refuses %s with a message naming the option', (option, message) => {
    const lines = problems([`listen: { host: server, port: 8080, options: { ${option} } }`]);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/^lab\.yaml:7:\d+: steps\[0\]\.listen\.options\./);
    expect(lines.join('\n')).toContain(message);
  });

  it.each([
    ['linger: { on: true, seconds: 0 }', 'e.g. linger: 5s (or off; close with RST is the abort step)'],
    ['user_timeout: { ms: 3000 }', 'e.g. user_timeout: 3s'],
    ['nodelay: [true]', 'e.g. nodelay: true'],
  ])('a value of the wrong type (%s) gets its own option as the example, never an unrelated one', (option, example) => {
    const text = problems([`connect: { host: client, to: server, port: 8080, options: { ${option} } }`]).join('\n');
    expect(text).toContain(example);
    expect(text).not.toContain('e.g. steps:');
  });

  it('describes the options in tcplab show (en and zh)', () => {
    const [listen] = steps(['listen: { host: server, port: 8080, options: { keepalive: { idle: 2s, interval: 1s, count: 3 }, nodelay: true } }']);
    expect(describeStepIn('en', listen!)).toBe('server: listen on port 8080 [options: keepalive idle 2s interval 1s count 3, nodelay on]');
    expect(describeStepIn('zh', listen!)).toBe('server：在端口 8080 监听［选项：keepalive idle 2s interval 1s count 3, nodelay on］');
  });
});

describe('setsockopt, pause, resume, accept, unlisten', () => {
  it('maps the steps to the model', () => {
    expect(
      steps([
        'listen: { host: server, port: 8080, accept: false }',
        'connect: { host: client, to: server, port: 8080, as: c }',
        'accept: { host: server, port: 8080 }',
        'setsockopt: { host: server, conn: accepted-1, options: { keepalive: { idle: 1s, interval: 1s, count: 2 } } }',
        'pause: { host: server, conn: accepted-1 }',
        'resume: { host: server }',
        'unlisten: { host: server, port: 8080 }',
      ]).slice(2),
    ).toStrictEqual([
      { kind: 'accept', host: 'server', port: 8080 },
      { kind: 'setsockopt', host: 'server', conn: 'accepted-1', options: { keepalive: { idleMs: 1000, intervalMs: 1000, count: 2 } } },
      { kind: 'pause', host: 'server', conn: 'accepted-1' },
      { kind: 'resume', host: 'server' },
      { kind: 'unlisten', host: 'server', port: 8080 },
    ]);
  });

  it('refuses accept on a listener that accepts by itself, and on a port nobody listens on', () => {
    const lines = problems([
      'listen: { host: server, port: 8080 }',
      'accept: { host: server, port: 8080 }',
      'accept: { host: server, port: 9090 }',
      'accept: { host: client, port: 8080 }',
    ]);
    expect(lines).toStrictEqual([
      'lab.yaml:8:35: steps[1].accept.port: the listener on server port 8080 accepts every connection by itself; make it `accept: false` to leave connections queued for accept steps',
      'lab.yaml:9:35: steps[2].accept.port: no listener on port 9090 of host "server"; listeners on server at this step: port 8080; add `listen: { host: server, port: 9090 }` first',
      'lab.yaml:10:35: steps[3].accept.port: no listener on port 8080 of host "client"; no listen step on client comes before; add `listen: { host: client, port: 8080 }` first',
    ]);
  });

  it('refuses a second unlisten and an accept after unlisten', () => {
    const lines = problems([
      'listen: { host: server, port: 8080, accept: false }',
      'unlisten: { host: server, port: 8080 }',
      'accept: { host: server, port: 8080 }',
      'unlisten: { host: server, port: 8080 }',
    ]);
    expect(lines).toStrictEqual([
      'lab.yaml:9:35: steps[2].accept.port: the listener on server port 8080 was already closed by steps[1]; accept it before that step',
      'lab.yaml:10:37: steps[3].unlisten.port: the listener on server port 8080 was already closed by steps[1]; unlisten it before that step',
    ]);
  });

  it('refuses setsockopt/pause on a host without connections, and setsockopt without options', () => {
    const lines = problems(['pause: { host: client }', 'setsockopt: { host: client, conn: c }']);
    expect(lines.join('\n')).toContain('steps[0].pause: host "client" has no connection at this step');
    expect(lines.join('\n')).toContain('steps[1].setsockopt.options: missing required key "options"');
  });
});

describe('returned: what the nonblocking connect(2) returned', () => {
  it('maps to a connect-returned expectation', () => {
    const lab = loadLabText(
      labText(
        ['listen: { host: server, port: 8080 }', 'connect: { host: client, to: server, port: 8080, as: c, nonblocking: true }'],
        ['returned: { host: client, conn: c, is: EINPROGRESS }'],
      ),
      'lab.yaml',
    );
    expect(lab.expectations).toStrictEqual([{ kind: 'connect-returned', host: 'client', conn: 'c', is: 'EINPROGRESS' }]);
  });

  it('refuses it on a blocking connect, and an errno connect(2) cannot return at once', () => {
    const lines = problems(
      ['listen: { host: server, port: 8080 }', 'connect: { host: client, to: server, port: 8080, as: c }'],
      ['returned: { host: client, conn: c, is: EINPROGRESS }', 'returned: { host: client, conn: c, is: EPIPE }'],
    );
    expect(lines[0]).toContain('expect[0].returned.conn: returned: "c" on "client" is not a nonblocking connect (there are none on that host)');
    expect(lines[0]).toContain('add `nonblocking: true` to its connect step');
    expect(lines.join('\n')).toMatch(/expect\[1\]\.returned\.is: .*EINPROGRESS.*received "EPIPE"|expect\[1\]\.returned\.is: .*"EPIPE"/);
  });
});
