import { describe, expect, it } from 'vitest';
import { CLIENT_PATH, SERVER_PATH, edgeLabel, edgeRole, renderFsm } from '../../../src/report/fsm-render.js';
import { linuxMachine } from '../../../src/tcp/linux-profile.js';
import { RFC9293_MACHINE } from '../../../src/tcp/rfc9293-machine.js';
import { TCP_STATES } from '../../../src/tcp/state.js';

const machine = RFC9293_MACHINE;

/** Removes double-quoted DOT strings so structure checks do not see label text. */
function withoutStrings(dot: string): string {
  return dot.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

describe('DOT', () => {
  const dot = renderFsm(machine, 'dot');

  it('is one balanced digraph', () => {
    const structure = withoutStrings(dot);
    expect(dot.startsWith('digraph "tcp_rfc9293" {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    expect(structure.split('{').length - 1).toBe(1);
    expect(structure.split('}').length - 1).toBe(1);
    expect(structure.split('[').length).toBe(structure.split(']').length);
  });

  it('has every state as a node and every transition as an edge labelled "event / action"', () => {
    for (const state of TCP_STATES) expect(dot).toMatch(new RegExp(`^  "${state}"( \\[.*\\])?;$`, 'm'));
    const edges = dot.split('\n').filter((line) => line.includes(' -> '));
    expect(edges).toHaveLength(machine.transitions.length);
    expect(dot).toContain('"CLOSED" -> "LISTEN" [label="open-passive / create-tcb"');
    expect(dot).toContain('"SYN_RECEIVED" -> "LISTEN" [label="rcv-rst [opened-by=passive] / none"');
    for (const row of machine.transitions) {
      expect(edges.some((line) => line.startsWith(`  "${row.from}" -> "${row.to}" [label="${edgeLabel(row)}"`))).toBe(true);
    }
  });

  it('draws the client path bold and the server path dashed', () => {
    expect(dot).toMatch(/"SYN_SENT" -> "ESTABLISHED" \[label="rcv-syn-ack \/ send-ack", style=bold/);
    expect(dot).toMatch(/"CLOSE_WAIT" -> "LAST_ACK" \[label="close \/ send-fin", style=dashed/);
    expect(dot).toMatch(/"ESTABLISHED" -> "CLOSED" \[label="abort \/ send-rst \+ delete-tcb", color="#777777"/);
  });

  it('emphasises a highlighted path and shows a pair the machine cannot explain', () => {
    const highlighted = renderFsm(machine, 'dot', { path: ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'LISTEN'] });
    const edge = (from: string, to: string) => highlighted.split('\n').filter((line) => line.startsWith(`  "${from}" -> "${to}"`));
    expect(edge('ESTABLISHED', 'FIN_WAIT_1').every((line) => line.includes('penwidth=3'))).toBe(true);
    expect(edge('FIN_WAIT_1', 'FIN_WAIT_2').every((line) => line.includes('penwidth=3'))).toBe(true);
    expect(edge('FIN_WAIT_1', 'CLOSING').some((line) => line.includes('penwidth=3'))).toBe(false);
    expect(edge('FIN_WAIT_2', 'LISTEN')).toEqual(['  "FIN_WAIT_2" -> "LISTEN" [label="(no transition)", style=dotted, penwidth=3, color="#d00000"];']);
    expect(dot).not.toContain('penwidth=3');
  });
});

describe('Mermaid', () => {
  const mermaid = renderFsm(machine, 'mermaid', { path: ['CLOSED', 'SYN_SENT', 'ESTABLISHED'] });
  const lines = mermaid.trimEnd().split('\n');

  it('is a stateDiagram-v2 whose transitions use dash-free state names and colon-free labels', () => {
    expect(lines[0]).toBe('stateDiagram-v2');
    const transitions = lines.filter((line) => line.includes(' --> ') && !line.includes('[*]'));
    expect(transitions).toHaveLength(machine.transitions.length);
    for (const line of transitions) {
      const match = /^ {2}([A-Z_0-9]+) --> ([A-Z_0-9]+) : ([^:;{}]+)$/.exec(line);
      expect(match, line).not.toBeNull();
    }
    expect(mermaid).toContain('  [*] --> CLOSED');
    expect(mermaid).toContain('  SYN_RECEIVED --> LISTEN : rcv-rst (opened-by passive) / none');
  });

  it('highlights path states with a classDef and marks path edges', () => {
    expect(mermaid).toMatch(/^ {2}classDef highlighted /m);
    expect(mermaid).toContain('  class CLOSED,SYN_SENT,ESTABLISHED highlighted');
    expect(mermaid).toContain('  CLOSED --> SYN_SENT : » open-active / send-syn + create-tcb');
    expect(mermaid).toContain('  CLOSED --> LISTEN : open-passive / create-tcb');
    expect(mermaid).toContain('  class FIN_WAIT_1,FIN_WAIT_2,CLOSING,TIME_WAIT client');
    expect(renderFsm(machine, 'mermaid')).not.toContain('highlighted\n  class');
  });
});

describe('text', () => {
  const text = renderFsm(linuxMachine(), 'text', { path: ['ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN'] });

  it('groups rows by state in the state order, with a header per state', () => {
    const headers = text.split('\n').filter((line) => /^[A-Z_0-9]+$/.test(line));
    expect(headers).toEqual([...TCP_STATES]);
  });

  it('marks client/server path rows and the highlighted path, and names missing pairs', () => {
    expect(text).toMatch(/^ {3}C open-active +\/ send-syn \+ create-tcb +→ SYN_SENT/m);
    expect(text).toMatch(/^ {2}\*S rcv-fin +\/ send-ack +→ CLOSE_WAIT/m);
    expect(text).toMatch(/^ {2}\*S close \[graceful-close\] +\/ send-fin +→ LAST_ACK/m);
    expect(text).toMatch(/^ {5}rcv-syn \[new-syn\] +\/ delete-tcb +→ CLOSED .*tcp_timewait_state_process/m);
    expect(text).toContain('! no transition LAST_ACK → LISTEN in linux');
  });
});

describe('path roles', () => {
  it('client and server paths are closed loops through ESTABLISHED', () => {
    for (const path of [CLIENT_PATH, SERVER_PATH]) {
      expect(path[0]?.from).toBe('CLOSED');
      expect(path.at(-1)?.to).toBe('CLOSED');
      expect(path.some((edge) => edge.to === 'ESTABLISHED')).toBe(true);
      for (const edge of path) expect(machine.step(edge.from, edge.event, { openedBy: 'passive' })).toMatchObject({ to: edge.to });
    }
  });
  it('classifies rows', () => {
    const find = (from: string, event: string) => machine.transitions.find((row) => row.from === from && row.event === event);
    const closeInWait = find('CLOSE_WAIT', 'close');
    const rstInEstablished = find('ESTABLISHED', 'rcv-rst');
    if (closeInWait === undefined || rstInEstablished === undefined) throw new Error('rows missing');
    expect(edgeRole(closeInWait)).toBe('server');
    expect(edgeRole(rstInEstablished)).toBe('other');
  });
});
