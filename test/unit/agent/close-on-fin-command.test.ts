import { describe, expect, it } from 'vitest';
import { parseAgentCommand } from '../../../src/agent/command.js';

describe('close with onFin', () => {
  it('parses onFin true/false and leaves it out when absent', () => {
    expect(parseAgentCommand('{"id":1,"op":"close","conn":"accepted-1","onFin":true}')).toEqual({
      ok: true,
      command: { id: 1, op: 'close', conn: 'accepted-1', onFin: true },
    });
    expect(parseAgentCommand('{"id":2,"op":"close","conn":"c","onFin":false}')).toEqual({ ok: true, command: { id: 2, op: 'close', conn: 'c', onFin: false } });
    expect(parseAgentCommand('{"id":3,"op":"close","conn":"c"}')).toEqual({ ok: true, command: { id: 3, op: 'close', conn: 'c' } });
  });

  it('rejects a non-boolean onFin, naming the field and what it received', () => {
    const parsed = parseAgentCommand('{"id":4,"op":"close","conn":"c","onFin":"yes"}');
    expect(parsed).toMatchObject({ ok: false, id: 4 });
    if (!parsed.ok) expect(parsed.message).toContain('field "onFin" must be true or false, received "yes"');
  });
});
