import { TCP_STATES, assertNever, type TcpState } from '../tcp/state.js';
import { formatActions, formatGuard, type TcpEvent, type TcpMachine, type TransitionRow } from '../tcp/tcp-machine.js';

/**
 * Renders a TCP machine (RFC 9293 or the Linux profile) the way the classic state-transition diagram
 * does (figure 1 of the seed articles): the client's path (active open, active close) drawn bold, the
 * server's path (passive open, passive close) dashed, everything else thin. Formats: a text table
 * grouped by state, Graphviz DOT, and Mermaid `stateDiagram-v2`. A highlighted state path (e.g. what a
 * run observed) is emphasised: DOT edges red and thick, Mermaid states by classDef and edge labels
 * marked, text rows marked with `*`.
 */

export type FsmFormat = 'text' | 'dot' | 'mermaid';

export interface FsmHighlight {
  readonly path: readonly TcpState[];
}

interface PathEdge {
  readonly from: TcpState;
  readonly event: TcpEvent;
  readonly to: TcpState;
}

/** The client's normal path: active open, active close, TIME_WAIT. */
export const CLIENT_PATH: readonly PathEdge[] = [
  { from: 'CLOSED', event: 'open-active', to: 'SYN_SENT' },
  { from: 'SYN_SENT', event: 'rcv-syn-ack', to: 'ESTABLISHED' },
  { from: 'ESTABLISHED', event: 'close', to: 'FIN_WAIT_1' },
  { from: 'FIN_WAIT_1', event: 'rcv-ack-of-fin', to: 'FIN_WAIT_2' },
  { from: 'FIN_WAIT_2', event: 'rcv-fin', to: 'TIME_WAIT' },
  { from: 'TIME_WAIT', event: 'time-wait-expiry', to: 'CLOSED' },
];

/** The server's normal path: passive open, passive close. */
export const SERVER_PATH: readonly PathEdge[] = [
  { from: 'CLOSED', event: 'open-passive', to: 'LISTEN' },
  { from: 'LISTEN', event: 'rcv-syn', to: 'SYN_RECEIVED' },
  { from: 'SYN_RECEIVED', event: 'rcv-ack-of-syn', to: 'ESTABLISHED' },
  { from: 'ESTABLISHED', event: 'rcv-fin', to: 'CLOSE_WAIT' },
  { from: 'CLOSE_WAIT', event: 'close', to: 'LAST_ACK' },
  { from: 'LAST_ACK', event: 'rcv-ack-of-fin', to: 'CLOSED' },
];

const CLIENT_STATES: readonly TcpState[] = ['SYN_SENT', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING', 'TIME_WAIT'];
const SERVER_STATES: readonly TcpState[] = ['LISTEN', 'SYN_RECEIVED', 'CLOSE_WAIT', 'LAST_ACK'];

export type EdgeRole = 'client' | 'server' | 'other';

/** Whether a row is on the client's path, the server's path, or neither. */
export function edgeRole(row: TransitionRow): EdgeRole {
  const matches = (edge: PathEdge): boolean => edge.from === row.from && edge.event === row.event && edge.to === row.to;
  if (CLIENT_PATH.some(matches)) return 'client';
  if (SERVER_PATH.some(matches)) return 'server';
  return 'other';
}

/** Renders the machine as a text table, Graphviz DOT or Mermaid stateDiagram-v2. */
export function renderFsm(machine: TcpMachine, format: FsmFormat, highlight?: FsmHighlight): string {
  const pairs = highlightedPairs(highlight);
  switch (format) {
    case 'text':
      return renderText(machine, pairs, highlight);
    case 'dot':
      return renderDot(machine, pairs, highlight);
    case 'mermaid':
      return renderMermaid(machine, pairs, highlight);
    default:
      return assertNever(format);
  }
}

function pairKey(from: TcpState, to: TcpState): string {
  return `${from}>${to}`;
}

function highlightedPairs(highlight: FsmHighlight | undefined): Set<string> {
  const pairs = new Set<string>();
  const path = highlight?.path ?? [];
  for (let i = 1; i < path.length; i += 1) {
    const from = path[i - 1];
    const to = path[i];
    if (from !== undefined && to !== undefined) pairs.add(pairKey(from, to));
  }
  return pairs;
}

/** Consecutive pairs of the highlighted path that no row of the machine connects. */
function missingPairs(machine: TcpMachine, highlight: FsmHighlight | undefined): Array<[TcpState, TcpState]> {
  const path = highlight?.path ?? [];
  const missing: Array<[TcpState, TcpState]> = [];
  for (let i = 1; i < path.length; i += 1) {
    const from = path[i - 1];
    const to = path[i];
    if (from === undefined || to === undefined || from === to) continue;
    if (!machine.transitions.some((row) => row.from === from && row.to === to)) missing.push([from, to]);
  }
  return missing;
}

function isHighlighted(row: TransitionRow, pairs: Set<string>): boolean {
  return pairs.has(pairKey(row.from, row.to));
}

function eventLabel(row: TransitionRow): string {
  const guards = row.guards.map(formatGuard);
  return guards.length === 0 ? row.event : `${row.event} [${guards.join(', ')}]`;
}

/** `event / action`, the label every format uses for a row. */
export function edgeLabel(row: TransitionRow): string {
  return `${eventLabel(row)} / ${formatActions(row.actions)}`;
}

function rowsByState(machine: TcpMachine): Map<TcpState, TransitionRow[]> {
  const groups = new Map<TcpState, TransitionRow[]>();
  for (const state of TCP_STATES) groups.set(state, []);
  for (const row of machine.transitions) groups.get(row.from)?.push(row);
  return groups;
}

function renderText(machine: TcpMachine, pairs: Set<string>, highlight: FsmHighlight | undefined): string {
  const lines: string[] = [`${machine.title} (${machine.name}): ${machine.transitions.length} transitions`];
  lines.push('Legend: C = client path (active open/close), S = server path (passive open/close), * = highlighted path');
  const roleMark = (role: EdgeRole): string => (role === 'client' ? 'C' : role === 'server' ? 'S' : ' ');
  for (const [state, rows] of rowsByState(machine)) {
    if (rows.length === 0) continue;
    lines.push('', state);
    const eventWidth = Math.max(...rows.map((row) => eventLabel(row).length));
    const actionWidth = Math.max(...rows.map((row) => formatActions(row.actions).length));
    for (const row of rows) {
      const mark = `${isHighlighted(row, pairs) ? '*' : ' '}${roleMark(edgeRole(row))}`;
      const source = row.kernel !== undefined ? `§${row.rfc}; ${row.kernel}` : `§${row.rfc}`;
      lines.push(`  ${mark} ${eventLabel(row).padEnd(eventWidth)} / ${formatActions(row.actions).padEnd(actionWidth)} → ${row.to.padEnd(12)} ${source}`);
    }
  }
  if (highlight !== undefined) {
    lines.push('', `Highlighted path: ${highlight.path.join(' → ')}`);
    for (const [from, to] of missingPairs(machine, highlight)) {
      lines.push(`  ! no transition ${from} → ${to} in ${machine.name}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const CLIENT_COLOR = '#000000';
const SERVER_COLOR = '#1f4e9c';
const OTHER_COLOR = '#777777';
const HIGHLIGHT_COLOR = '#d00000';

function formatDotAttributes(attributes: Map<string, string>): string {
  return [...attributes].map(([key, value]) => `${key}=${value}`).join(', ');
}

function renderDot(machine: TcpMachine, pairs: Set<string>, highlight: FsmHighlight | undefined): string {
  const lines: string[] = [`digraph ${dotString(`tcp_${machine.name}`)} {`];
  lines.push(`  label=${dotString(`${machine.title}: bold = client path, dashed = server path`)};`);
  lines.push('  labelloc=t;', '  rankdir=TB;', '  node [shape=box, style=rounded, fontname="Helvetica"];');
  lines.push('  edge [fontname="Helvetica", fontsize=9];');
  const pathStates = new Set(highlight?.path ?? []);
  for (const state of TCP_STATES) {
    const attributes = new Map<string, string>();
    if (CLIENT_STATES.includes(state)) attributes.set('color', dotString(CLIENT_COLOR));
    if (SERVER_STATES.includes(state)) attributes.set('color', dotString(SERVER_COLOR)).set('style', '"rounded,dashed"');
    if (pathStates.has(state)) attributes.set('penwidth', '3').set('color', dotString(HIGHLIGHT_COLOR));
    lines.push(`  ${dotString(state)}${attributes.size > 0 ? ` [${formatDotAttributes(attributes)}]` : ''};`);
  }
  for (const row of machine.transitions) {
    const attributes = new Map<string, string>([['label', dotString(edgeLabel(row))]]);
    const role = edgeRole(row);
    if (role === 'client') attributes.set('style', 'bold').set('color', dotString(CLIENT_COLOR));
    else if (role === 'server') attributes.set('style', 'dashed').set('color', dotString(SERVER_COLOR));
    else attributes.set('color', dotString(OTHER_COLOR)).set('fontcolor', dotString(OTHER_COLOR));
    if (isHighlighted(row, pairs)) {
      attributes.set('penwidth', '3').set('color', dotString(HIGHLIGHT_COLOR)).set('fontcolor', dotString(HIGHLIGHT_COLOR));
    }
    lines.push(`  ${dotString(row.from)} -> ${dotString(row.to)} [${formatDotAttributes(attributes)}];`);
  }
  for (const [from, to] of missingPairs(machine, highlight)) {
    lines.push(`  ${dotString(from)} -> ${dotString(to)} [label="(no transition)", style=dotted, penwidth=3, color=${dotString(HIGHLIGHT_COLOR)}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Mermaid labels end at the line's end; keep them free of characters its parser treats specially. */
function mermaidLabel(text: string): string {
  return text
    .replace(/[:;{}#]/g, ' ')
    .replace(/[[\]]/g, (bracket) => (bracket === '[' ? '(' : ')'))
    .replace(/=/g, ' ');
}

function renderMermaid(machine: TcpMachine, pairs: Set<string>, highlight: FsmHighlight | undefined): string {
  const lines: string[] = ['stateDiagram-v2', `  %% ${mermaidLabel(machine.title)}`, '  direction TB', '  [*] --> CLOSED'];
  for (const row of machine.transitions) {
    const marker = isHighlighted(row, pairs) ? '» ' : '';
    lines.push(`  ${row.from} --> ${row.to} : ${marker}${mermaidLabel(edgeLabel(row))}`);
  }
  for (const [from, to] of missingPairs(machine, highlight)) {
    lines.push(`  note right of ${from} : no transition to ${to}`);
  }
  const pathStates = new Set(highlight?.path ?? []);
  lines.push('  classDef client stroke:#000000,stroke-width:2px');
  lines.push('  classDef server stroke:#1f4e9c,stroke-dasharray:5 5');
  lines.push('  classDef highlighted fill:#ffd6d6,stroke:#d00000,stroke-width:3px');
  const clientStates = CLIENT_STATES.filter((state) => !pathStates.has(state));
  const serverStates = SERVER_STATES.filter((state) => !pathStates.has(state));
  if (clientStates.length > 0) lines.push(`  class ${clientStates.join(',')} client`);
  if (serverStates.length > 0) lines.push(`  class ${serverStates.join(',')} server`);
  if (pathStates.size > 0) lines.push(`  class ${[...pathStates].join(',')} highlighted`);
  return `${lines.join('\n')}\n`;
}
