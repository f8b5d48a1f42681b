import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError, formatProblems } from '../../../src/lab/lab-error.js';
import { loadLabFile, loadLabText } from '../../../src/lab/load-lab.js';
import type { Lab } from '../../../src/lab/model.js';

const GOOD = 'test/fixtures/labs/good';
const BAD = 'test/fixtures/labs/bad';

async function problemLines(file: string, overrides: string[] = []): Promise<string[]> {
  try {
    await loadLabFile(file, overrides);
  } catch (error) {
    if (!(error instanceof LabError)) throw error;
    return formatProblems(error.problems).split('\n');
  }
  throw new Error(`expected ${file} to fail`);
}

describe('good lab files', () => {
  it('loads the syn-sent lab into exactly the expected model', async () => {
    const observed = await loadLabFile(`${GOOD}/syn-sent.yaml`);
    const expected: Lab = {
      name: 'syn-sent',
      title: "SYN_SENT: the server's firewall drops every SYN",
      description:
        'The server drops every SYN from the client, so the client stays in SYN_SENT\nand retransmits its SYN with exponential backoff until connect() fails.\n',
      descriptionZh: '服务器丢弃客户端的所有 SYN,客户端停留在 SYN_SENT 状态并重传 SYN。\n',
      source: 'seed 000 §二(四)',
      file: resolve(`${GOOD}/syn-sent.yaml`),
      hosts: [
        { name: 'server', sysctls: { 'net.ipv4.tcp_synack_retries': '3' } },
        { name: 'client', sysctls: { 'net.ipv4.tcp_syn_retries': '2' } },
      ],
      steps: [
        { kind: 'listen', host: 'server', port: 8888, backlog: 128, accept: true },
        { kind: 'rule', host: 'server', name: 'drop-syn', text: '-I INPUT -s client -p tcp --dport 8888 -j DROP' },
        { kind: 'connect', host: 'client', to: 'server', port: 8888, localPort: 7777, conn: 'c' },
        { kind: 'wait-state', host: 'client', conn: 'c', timeoutMs: 5000, state: 'SYN_SENT' },
        { kind: 'wait-event', host: 'client', conn: 'c', timeoutMs: 30_000, event: 'error' },
        { kind: 'wait-gone', host: 'client', timeoutMs: 1500, port: 8888 },
        { kind: 'unrule', host: 'server', name: 'drop-syn' },
        { kind: 'rule', host: 'server', name: 'rule2', text: '-A INPUT -p tcp --tcp-flags SYN,ACK SYN -j REJECT --reject-with tcp-reset' },
        { kind: 'sleep', durationMs: 2000 },
      ],
      expectations: [
        { kind: 'states', host: 'client', path: ['SYN_SENT', 'CLOSED'], port: 8888 },
        { kind: 'never', host: 'client', states: ['ESTABLISHED'] },
        { kind: 'outcome', host: 'client', conn: 'c', is: 'ETIMEDOUT' },
        { kind: 'packets', from: 'client', to: 'server', flags: 'S', min: 3, max: 3, sameSeq: true },
      ],
      timeoutMs: 90_000,
      positions: {
        steps: [18, 19, 20, 21, 22, 23, 24, 25, 26].map((line) => ({ line, col: 5 })),
        expectations: [28, 29, 30, 31].map((line) => ({ line, col: 5 })),
      },
    };
    expect(observed).toStrictEqual(expected);
  });

  it('loads the handshake lab: name from name:, null host, defaults, accepted-N, state aliases', async () => {
    const observed = await loadLabFile(`${GOOD}/handshake.yaml`);
    expect(observed.name).toBe('three-way-handshake');
    expect(observed.timeoutMs).toBe(120_000);
    expect(observed.hosts).toStrictEqual([
      { name: 'server', sysctls: {} },
      { name: 'client', sysctls: {} },
    ]);
    expect(observed.descriptionZh).toBeUndefined();
    expect(observed.steps).toStrictEqual([
      { kind: 'listen', host: 'server', port: 8888, accept: true },
      { kind: 'wait-event', host: 'server', timeoutMs: 30_000, event: 'listening' },
      { kind: 'connect', host: 'client', to: 'server', port: 8888, conn: 'conn' },
      { kind: 'wait-state', host: 'client', timeoutMs: 30_000, state: 'ESTABLISHED' },
      { kind: 'wait-state', host: 'server', timeoutMs: 500, state: 'SYN_RECEIVED', port: 8888 },
      { kind: 'send', host: 'client', bytes: 100 },
      { kind: 'wait-event', host: 'server', conn: 'accepted-1', timeoutMs: 30_000, event: 'data' },
      { kind: 'shutdown', host: 'client', conn: 'conn' },
      { kind: 'close', host: 'server', conn: 'accepted-1' },
      { kind: 'abort', host: 'client' },
      { kind: 'sleep', durationMs: 500 },
    ]);
    expect(observed.expectations).toStrictEqual([
      { kind: 'handshake', client: 'client', server: 'server' },
      { kind: 'states', host: 'server', path: ['LISTEN', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK'] },
      { kind: 'packets', from: 'client', to: 'server', flags: 'F.', count: 1 },
      { kind: 'outcome', host: 'client', conn: 'conn', is: 'connected' },
    ]);
    expect(observed.positions.expectations[0]).toStrictEqual({ line: 21, col: 5 });
  });

  it('takes the name from the file name when name: is absent, and an empty expect is allowed', () => {
    const lab = loadLabText('title: t\ndescription: d\nhosts: { a: {} }\nsteps: []\n', '/labs/my-lab.yaml');
    expect(lab.name).toBe('my-lab');
    expect(lab.expectations).toStrictEqual([]);
    expect(lab.file).toBe('/labs/my-lab.yaml');
  });
});

describe('bad lab files: one per error class, exact lines', () => {
  const cases: Array<[string, string[]]> = [
    ['yaml-syntax', ['5:3: hosts.server: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }; fix the YAML near here']],
    ['duplicate-key', ['5:3: hosts.server: duplicate key "server"; each key may appear once in a mapping, remove or rename one of them']],
    [
      'unknown-key-top',
      [
        '6:1: tittle: unknown key "tittle"; known keys: name, title, source, description, description_zh, timeout, hosts, steps, expect, exercise (did you mean "title"?)',
      ],
    ],
    [
      'unknown-key-step',
      [
        '7:13: steps[0].listen.port: missing required key "port"; add it, e.g. port: 8888',
        '7:29: steps[0].listen.prot: unknown key "prot"; known keys: host, port, backlog, accept, options (did you mean "port"?)',
      ],
    ],
    ['unknown-key-expect', ['8:50: expect[0].handshake.strict: unknown key "strict"; known keys: client, server']],
    ['wrong-type', ['7:35: steps[0].listen.port: expected a number, received "eighty" (a string); e.g. port: 8888']],
    ['missing-required', ['7:14: steps[0].connect.port: missing required key "port"; add it, e.g. port: 8888']],
    ['unknown-host', ['7:21: steps[0].listen.host: unknown host "sever"; declared hosts: server, client (did you mean "server"?)']],
    [
      'unknown-conn',
      [
        '8:34: steps[1].close.conn: unknown connection "d" on host "client"; connections on client at this step: c; create it first with `connect: { host: client, …, as: d }`',
      ],
    ],
    [
      'unknown-state',
      [
        '7:34: steps[0].wait.state: unknown TCP state "SYN_WAIT"; valid states: CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT (netstat/ss/RFC spellings such as SYN_RECV, SYN-RECEIVED, FIN_WAIT1 are accepted too)',
      ],
    ],
    [
      'bad-duration',
      ['7:12: steps[0].sleep: expected a duration such as 500ms, 2s, 1.5s or 2m, received "2h"; units are ms, s and m (a bare number means seconds)'],
    ],
    ['bad-flags', ['8:49: expect[0].packets.flags: flags ".S" are not in tcpdump order F S R P . U E W; write "S."']],
    [
      'duplicate-rule-name',
      ['8:33: steps[1].rule.name: duplicate rule name "drop" (already used by steps[0]); rule names must be unique in a lab, rename one'],
    ],
    [
      'unrule-before-rule',
      [
        '7:35: steps[0].unrule.name: unknown rule "drop-syn" on host "server"; no rule has been added on server before this step; an unrule must follow the rule step that adds it',
      ],
    ],
    ['empty-hosts', ['3:8: hosts: no hosts declared; declare at least one, e.g. `hosts: { client: {}, server: {} }`']],
    [
      'two-keys-in-step',
      ['7:5: steps[0]: a step item has exactly one key, the step kind, received 2 keys (listen, sleep); put each in its own list item (a new "- ")'],
    ],
    [
      'unknown-step-kind',
      [
        '7:5: steps[0].listne: unknown step kind "listne"; known kinds: listen, connect, setsockopt, pause, resume, accept, unlisten, send, shutdown, close, abort, rule, unrule, wait, sleep, hold, release, flood, inject (did you mean "listen"?)',
      ],
    ],
    [
      'three-problems',
      [
        '7:41: steps[0].listen.prot: unknown key "prot"; known keys: host, port, backlog, accept, options (did you mean "port"?)',
        '8:34: steps[1].connect.to: unknown host "sever"; declared hosts: server, client (did you mean "server"?)',
        '9:12: steps[2].sleep: expected a positive duration, received "-1s"; durations cannot be negative, write e.g. 1s',
      ],
    ],
  ];
  it.each(cases)('%s', async (name, expectedLines) => {
    const file = `${BAD}/${name}.yaml`;
    expect(await problemLines(file)).toStrictEqual(expectedLines.map((line) => `${file}:${line}`));
  });

  it('throws a LabError whose message is the formatted problems and whose problems are structured', () => {
    const text = 'title: t\ndescription: d\nhosts: { a: {} }\nsteps:\n  - send: { host: a, bytes: 0 }\n';
    let caught: unknown;
    try {
      loadLabText(text, 'x.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LabError);
    const error = caught as LabError;
    expect(error.problems).toStrictEqual([
      { file: 'x.yaml', line: 5, col: 29, path: 'steps[0].send.bytes', message: 'expected at least 1, received 0 (a number); e.g. bytes: 100' },
    ]);
    expect(error.message).toBe(error.formatProblems());
  });
});

describe('other validation rules', () => {
  const base = 'title: t\ndescription: d\nhosts:\n  client: {}\n  server: {}\n';
  const messagesOf = (text: string): string[] => {
    try {
      loadLabText(text, 'l.yaml');
    } catch (error) {
      return (error as LabError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    return [];
  };

  it('accepts accepted-N only after a listen on that host', () => {
    expect(messagesOf(`${base}steps:\n  - close: { host: server, conn: accepted-1 }\n`)).toStrictEqual([
      'steps[0].close.conn: unknown connection "accepted-1" on host "server"; no connection exists on server at this step; accepted-1 names a connection a listener accepted, and no listen step runs on server before this',
    ]);
    expect(messagesOf(`${base}steps:\n  - listen: { host: server, port: 1 }\n  - close: { host: server, conn: accepted-2 }\n`)).toStrictEqual([]);
  });

  it('requires some connection for send/close without conn, and rejects a second unrule', () => {
    expect(messagesOf(`${base}steps:\n  - send: { host: client, bytes: 1 }\n`)).toStrictEqual([
      'steps[0].send: host "client" has no connection at this step; add a connect (or listen) step on client before this one',
    ]);
    expect(
      messagesOf(
        `${base}steps:\n  - rule: { host: server, add: "-A INPUT -j DROP" }\n  - unrule: { host: server, name: rule1 }\n  - unrule: { host: server, name: rule1 }\n`,
      ),
    ).toStrictEqual(['steps[2].unrule.name: rule "rule1" was already removed by steps[1]; remove this unrule']);
  });

  it('checks wait forms, packets bounds, outcome conn, reserved and invalid host names, sysctl keys', () => {
    expect(messagesOf(`${base}steps:\n  - wait: { host: client }\n  - wait: { host: client, state: LISTEN, gone: true }\n`)).toStrictEqual([
      'steps[0].wait: a wait needs one of state, event or gone: true; e.g. `wait: { host: client, state: ESTABLISHED }`',
      'steps[1].wait: a wait takes exactly one of state, event or gone, received state and gone; split it into 2 wait steps',
    ]);
    expect(
      messagesOf(
        `${base}steps: []\nexpect:\n  - packets: { from: client, to: server, flags: S }\n  - packets: { from: client, to: server, flags: SX, min: 3, max: 2 }\n`,
      ),
    ).toStrictEqual([
      'expect[0].packets: packets needs count, min or max; e.g. `min: 1` for "at least one such segment"',
      'expect[1].packets.flags: invalid flag letter "X" in "SX"; use tcpdump letters F S R P . U E W (e.g. "S." for SYN-ACK)',
      'expect[1].packets.max: max (2) is below min (3); swap them or fix one',
    ]);
    expect(messagesOf(`${base}steps: []\nexpect:\n  - outcome: { host: client, conn: c, is: TIMEOUT }\n`)).toStrictEqual([
      'expect[0].outcome.is: unknown errno "TIMEOUT"; use connected or an errno name of include/uapi/asm-generic/errno*.h such as ECONNREFUSED, ETIMEDOUT, EADDRNOTAVAIL (did you mean "ETIMEDOUT"?)',
    ]);
    expect(messagesOf(`${base}steps: []\nexpect:\n  - outcome: { host: client, conn: c, is: ETIMEDOUT }\n`)).toStrictEqual([
      'expect[0].outcome.conn: unknown connection "c" on host "client"; no connect step runs on client; an outcome names the `as` of a connect step',
    ]);
    // data-retransmits and fin-retransmits may name a listener's accepted connection; syn-retransmits only a connect's.
    const served = `${base}steps:\n  - listen: { host: server, port: 80 }\n  - connect: { host: client, to: server, port: 80, as: c }\nexpect:\n`;
    expect(
      messagesOf(`${served}  - data-retransmits: { host: server, conn: accepted-1 }\n  - fin-retransmits: { host: server, conn: accepted-2 }\n`),
    ).toStrictEqual([]);
    expect(
      messagesOf(`${served}  - data-retransmits: { host: client, conn: accepted-1 }\n  - syn-retransmits: { host: server, conn: accepted-1 }\n`),
    ).toStrictEqual([
      'expect[0].data-retransmits.conn: unknown connection "accepted-1" on host "client"; connections on client at this step: c; accepted-1 names a connection a listener accepted, and no listen step runs on client before this',
      'expect[1].syn-retransmits.conn: unknown connection "accepted-1" on host "server"; connections made by connect steps there: (none)',
    ]);
    expect(messagesOf('title: t\ndescription: d\nhosts:\n  Client: {}\n  localhost: {}\n  b:\n    sysctls: { kernel.pid_max: 5 }\nsteps: []\n')).toStrictEqual([
      'hosts.Client: invalid host name "Client"; use lower-case letters, digits and -, starting with a letter (e.g. client, server-2)',
      'hosts.localhost: host name "localhost" is reserved; choose another name (e.g. client, server, peer)',
      'hosts.b.sysctls["kernel.pid_max"]: invalid sysctl "kernel.pid_max"; only per-network-namespace sysctls starting with "net." can be set (e.g. net.ipv4.tcp_syn_retries)',
    ]);
  });

  it('reports missing top-level keys at the document start', () => {
    let caught: LabError | undefined;
    try {
      loadLabText('hosts: { a: {} }\nsteps: []\n', 'm.yaml');
    } catch (error) {
      caught = error as LabError;
    }
    expect(caught?.formatProblems().split('\n')).toStrictEqual([
      'm.yaml:1:1: title: missing required key "title"; add it, e.g. title: "SYN_SENT: the server drops every SYN"',
      'm.yaml:1:1: description: missing required key "description"; add it, e.g. description: | followed by the narrative',
    ]);
  });

  it('reports an empty file and a non-mapping document', () => {
    expect(messagesOf('# nothing here\n')).toStrictEqual(['(document): the lab file is empty; a lab needs at least title, description, hosts and steps']);
    expect(messagesOf('- a\n')).toStrictEqual([
      '(document): this is not a lab file: its YAML is a list, a lab is a mapping with title, description, hosts and steps',
    ]);
  });

  it('reports an unreadable file as a LabError', async () => {
    expect(await problemLines(`${BAD}/does-not-exist.yaml`)).toStrictEqual([
      `${BAD}/does-not-exist.yaml:1:1: (document): cannot read lab file: no such file; check the path`,
    ]);
  });
});

describe('rule texts are checked at load time', () => {
  it('reports a bad rule at its add: value', () => {
    const text =
      'title: t\ndescription: d\nhosts: { client: {}, server: {} }\nsteps:\n  - rule: { host: server, add: "-F INPUT" }\n  - rule: { host: server, add: "-I INPUT -s clinet -j DROP" }\n';
    let caught: LabError | undefined;
    try {
      loadLabText(text, 'r.yaml');
    } catch (error) {
      caught = error as LabError;
    }
    expect(caught?.formatProblems().split('\n')).toStrictEqual([
      'r.yaml:5:32: steps[0].rule.add: -F (flush) is not allowed: a rule step only adds a rule with -I or -A; rules are removed with an `unrule` step (and every rule is removed when the run ends)',
      'r.yaml:6:32: steps[1].rule.add: "clinet" is neither a host of this lab nor an IPv4 address/CIDR; hosts: client, server',
    ]);
  });
});
