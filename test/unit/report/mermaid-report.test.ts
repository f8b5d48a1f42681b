import { describe, expect, it } from 'vitest';
import { buildLadderModel, type LadderModel } from '../../../src/report/ladder-model.js';
import { escapeMermaidText, renderMermaid, renderRunMermaid } from '../../../src/report/mermaid-report.js';
import { loadFixtureRun } from './fixture-runs.js';
import { analyzeRun } from '../../../src/analysis/analyze-run.js';

/** A structural check of the sequenceDiagram subset we emit (Mermaid's grammar: message text stops at `;`, `#`, newline). */
function expectValidSequenceDiagram(text: string, participants: readonly string[]): void {
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe('sequenceDiagram');
  const ids = new Set<string>();
  for (const line of lines.slice(1)) {
    const participant = /^ {2}participant ([A-Za-z_]\w*) as ([^#;\n]|#\d+;)+$/.exec(line);
    if (participant) {
      ids.add(participant[1] as string);
      continue;
    }
    const body = /^ {2}(?:title |Note over (\w+): |(\w+)(?:->>|-x|--x|--\))(\w+): )(.*)$/.exec(line);
    expect(body, `not a valid statement: ${line}`).not.toBeNull();
    for (const id of [body?.[1], body?.[2], body?.[3]]) if (id !== undefined) expect(ids.has(id), `unknown participant in: ${line}`).toBe(true);
    expect((body?.[4] ?? '').replace(/#\d+;/g, '')).not.toMatch(/[#;<>]/);
  }
  expect([...ids]).toHaveLength(participants.length);
}

describe('renderMermaid', async () => {
  const handshake = await loadFixtureRun('handshake');
  const synSent = await loadFixtureRun('syn-sent');

  it('renders the handshake: participants, one message per segment, state notes', () => {
    const model = buildLadderModel(analyzeRun(handshake.record), handshake.verdict);
    const text = renderMermaid(model);
    expectValidSequenceDiagram(text, ['client', 'server']);
    expect(text).toContain('  participant client as client ');
    const messages = text.split('\n').filter((l) => /^ {2}\w+(->>|-x|--x)\w+: /.test(l));
    expect(messages).toHaveLength(model.arrows.length);
    expect(messages[0]).toMatch(new RegExp(`^ {2}client->>server: \\[S\\] seq=${model.arrows[0]?.segment.seq} len=0 · \\+\\d+\\.\\d{3} s$`));
    expect(messages[1]).toMatch(/^ {2}server->>client: \[S\.\] seq=\d+ ack=\d+ len=0/);
    expect(text).toMatch(/Note over client: TIME_WAIT/);
  });

  it('renders syn-sent SYNs as crossed arrows naming the rule, with retransmissions', () => {
    const text = renderRunMermaid(analyzeRun(synSent.record), synSent.verdict);
    expectValidSequenceDiagram(text, ['server', 'client']);
    expect(text).toMatch(/^ {2}client-xserver: \[S\] seq=\d+ len=0 · \+[\d.]+ s \(dropped by rule drop-syn on server\)$/m);
    expect(text).toMatch(/client-xserver: .*\(retransmission 1, 1\.\d{3} s after the previous copy · dropped by rule drop-syn on server\)/);
    expect(text).toContain('Note over client: SYN_SENT');
    expect(text).toContain('Note over server: rule drop-syn added: iptables -I INPUT');
  });

  it('escapes # ; < > and aliases host names Mermaid cannot take as ids', () => {
    expect(escapeMermaidText('a;b #1 <x>\nnext')).toBe('a#59;b #35;1 #60;x#62; next');
    const model = buildLadderModel(analyzeRun(handshake.record), handshake.verdict);
    const renamed: LadderModel = {
      ...model,
      lifelines: model.lifelines.map((l) => ({ ...l, host: l.host === 'client' ? 'client-1' : 'end' })),
      arrows: model.arrows.map((a) => ({ ...a, from: a.from === 'client' ? 'client-1' : 'end', to: a.to === 'client' ? 'client-1' : 'end' })),
      marks: [],
      lab: { ...model.lab, title: 'title; with #hash' },
    };
    const text = renderMermaid(renamed);
    expectValidSequenceDiagram(text, ['h1', 'h2']);
    expect(text).toMatch(/participant h[12] as client-1 /);
    expect(text).toMatch(/participant h[12] as end /);
    expect(text).not.toMatch(/participant (end|client-1) /);
    expect(text).toContain('title title#59; with #35;hash (PASS)');
  });
});
