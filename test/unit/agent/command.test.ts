import { describe, expect, it } from 'vitest';
import { MAX_SEND_BYTES, parseAgentCommand } from '../../../src/agent/command.js';

describe('parseAgentCommand', () => {
  it('accepts every op with its fields', () => {
    expect(parseAgentCommand('{"id":1,"op":"listen","port":8080,"backlog":2,"accept":false}')).toEqual({
      ok: true,
      command: { id: 1, op: 'listen', port: 8080, backlog: 2, accept: false },
    });
    expect(parseAgentCommand('{"id":2,"op":"connect","conn":"c1","host":"server","port":80,"localPort":40000}')).toEqual({
      ok: true,
      command: { id: 2, op: 'connect', conn: 'c1', host: 'server', port: 80, localPort: 40000 },
    });
    expect(parseAgentCommand('{"id":3,"op":"send","conn":"c1","bytes":100}')).toEqual({
      ok: true,
      command: { id: 3, op: 'send', conn: 'c1', bytes: 100 },
    });
    for (const op of ['shutdown', 'close', 'abort']) {
      expect(parseAgentCommand(JSON.stringify({ id: 4, op, conn: 'accepted-1' }))).toEqual({
        ok: true,
        command: { id: 4, op, conn: 'accepted-1' },
      });
    }
    expect(parseAgentCommand('{"id":5,"op":"exit"}')).toEqual({ ok: true, command: { id: 5, op: 'exit' } });
  });

  it('drops unknown extra fields instead of passing them through', () => {
    const parsed = parseAgentCommand('{"id":1,"op":"exit","junk":true}');
    expect(parsed).toEqual({ ok: true, command: { id: 1, op: 'exit' } });
  });

  it('rejects broken JSON, with the id when one can be found', () => {
    const withId = parseAgentCommand('{"id": 7, "op": "listen", port: 80}');
    expect(withId.ok).toBe(false);
    expect(withId).toMatchObject({ id: 7 });
    if (!withId.ok) expect(withId.message).toMatch(/expected one JSON object per line/);
    const withoutId = parseAgentCommand('not json');
    expect(withoutId.ok).toBe(false);
    expect('id' in withoutId).toBe(false);
  });

  it('rejects non-objects and missing or non-integer ids', () => {
    expect(parseAgentCommand('[1,2]')).toMatchObject({ ok: false });
    expect(parseAgentCommand('{"op":"exit"}')).toMatchObject({ ok: false });
    expect(parseAgentCommand('{"id":1.5,"op":"exit"}')).toMatchObject({ ok: false });
    expect(parseAgentCommand('{"id":"1","op":"exit"}')).toMatchObject({ ok: false });
  });

  it('names the bad field, what it expected and what it received', () => {
    const unknownOp = parseAgentCommand('{"id":9,"op":"bind"}');
    expect(unknownOp).toMatchObject({ ok: false, id: 9 });
    if (!unknownOp.ok)
      expect(unknownOp.message).toContain(
        'must be one of listen, connect, send, shutdown, close, abort, setsockopt, pause, resume, accept, unlisten, netstat, exit, received "bind"',
      );
    const cases: Array<[string, string]> = [
      ['{"id":1,"op":"listen","port":70000}', 'field "port"'],
      ['{"id":1,"op":"listen","port":-1}', 'field "port"'],
      ['{"id":1,"op":"listen","port":80,"backlog":-3}', 'field "backlog"'],
      ['{"id":1,"op":"listen","port":80,"accept":"no"}', 'field "accept"'],
      ['{"id":1,"op":"connect","conn":"c","host":"h","port":0}', 'field "port"'],
      ['{"id":1,"op":"connect","conn":"","host":"h","port":80}', 'field "conn"'],
      ['{"id":1,"op":"connect","conn":"c","port":80}', 'field "host"'],
      ['{"id":1,"op":"connect","conn":"c","host":"h","port":80,"localPort":65536}', 'field "localPort"'],
      ['{"id":1,"op":"send","conn":"c","bytes":-1}', 'field "bytes"'],
      [`{"id":1,"op":"send","conn":"c","bytes":${MAX_SEND_BYTES + 1}}`, 'field "bytes"'],
      ['{"id":1,"op":"close"}', 'field "conn"'],
    ];
    for (const [line, field] of cases) {
      const parsed = parseAgentCommand(line);
      expect(parsed.ok, line).toBe(false);
      if (!parsed.ok) {
        expect(parsed.id, line).toBe(1);
        expect(parsed.message, line).toContain(field);
        expect(parsed.message, line).toContain('remedy');
      }
    }
  });

  it('allows port 0 (ephemeral) for listen only', () => {
    expect(parseAgentCommand('{"id":1,"op":"listen","port":0}').ok).toBe(true);
    expect(parseAgentCommand('{"id":1,"op":"connect","conn":"c","host":"h","port":0}').ok).toBe(false);
  });
});
