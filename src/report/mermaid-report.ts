import { assertNever } from '../tcp/state.js';
import type { RunAnalysis } from '../analysis/analyze-run.js';
import type { Verdict } from '../verify/verdict.js';
import { formatArrowLabel } from './html-report.js';
import { formatDuration, formatRelativeSeconds } from './time-format.js';
import { buildLadderModel, ladderRows, type LadderArrow, type LadderModel, type LifelineMark } from './ladder-model.js';

/**
 * The ladder model as a Mermaid `sequenceDiagram`, for Markdown files and course pages: one participant
 * per host, `A->>B: [S] seq=… · +0.390 s` per segment, `A-xB: … (dropped by rule R on B)` for segments
 * dropped by a rule, `A--xB: … (lost in the network)` for lost ones, `Note over A: SYN_SENT` for state
 * changes, and rule events as notes. Mermaid's message text ends at `;`, `#` starts an entity code and
 * `<`/`>` are read as HTML, so those are written as entity codes (`#59;`, `#35;`, `#60;`, `#62;`).
 */

/** Renders a run as Mermaid (its analysis + verdict → text; pure). */
export function renderRunMermaid(analysis: RunAnalysis, verdict: Verdict): string {
  return renderMermaid(buildLadderModel(analysis, verdict));
}

/** Escapes free text for a Mermaid message, note or participant label (one line, entity codes). */
export function escapeMermaidText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[#;<>]/g, (ch) => `#${ch.charCodeAt(0)};`);
}

const RESERVED = new Set(
  'participant actor as note over left right of end loop alt else opt par and rect critical break box activate deactivate autonumber title create destroy links link properties details'.split(
    ' ',
  ),
);

/** Renders a ladder model as a Mermaid sequence diagram (pure). */
export function renderMermaid(model: LadderModel): string {
  const ids = new Map<string, string>();
  model.lifelines.forEach((lifeline, i) => {
    const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(lifeline.host) && !RESERVED.has(lifeline.host.toLowerCase());
    ids.set(lifeline.host, plain ? lifeline.host : `h${i + 1}`);
  });
  const idOf = (host: string): string => ids.get(host) ?? 'unknown';
  const lines = ['sequenceDiagram'];
  const subject = model.subject;
  lines.push(`  title ${escapeMermaidText(subject.kind === 'run' ? `${model.lab.title} (${subject.verdict.toUpperCase()})` : model.lab.title)}`);
  for (const lifeline of model.lifelines) {
    lines.push(`  participant ${idOf(lifeline.host)} as ${escapeMermaidText(`${lifeline.host} ${lifeline.address}`)}`);
  }
  for (const lifeline of model.lifelines) {
    for (const note of lifeline.notes) lines.push(`  Note over ${idOf(lifeline.host)}: ${escapeMermaidText(note)}`);
  }
  for (const row of ladderRows(model)) lines.push(`  ${row.kind === 'arrow' ? renderArrowLine(row.arrow, idOf) : renderMarkLine(row.mark, idOf)}`);
  return `${lines.join('\n')}\n`;
}

function renderArrowLine(arrow: LadderArrow, idOf: (host: string) => string): string {
  const time = formatRelativeSeconds(arrow.departUs ?? arrow.arriveUs ?? 0);
  const extras: string[] = [];
  if (arrow.retransmission)
    extras.push(`retransmission ${arrow.retransmission.copy - 1}, ${formatDuration(arrow.retransmission.sinceUs)} after the previous copy`);
  let operator = '->>';
  const fate = arrow.fate;
  switch (fate.kind) {
    case 'delivered':
      break;
    case 'dropped':
      operator = '-x';
      extras.push(`dropped by rule ${fate.rule} on ${fate.host}`);
      break;
    case 'lost':
      operator = '--x';
      extras.push('lost in the network');
      break;
    case 'unconfirmed':
      operator = '--)';
      extras.push('arrival unknown: no capture on the receiver');
      break;
    default:
      assertNever(fate);
  }
  if (arrow.failedChecks.length > 0) extras.push(`check failed: ${arrow.failedChecks.join(' | ')}`);
  const text = `${formatArrowLabel(arrow)} · ${time}${extras.length > 0 ? ` (${extras.join(' · ')})` : ''}`;
  return `${idOf(arrow.from)}${operator}${idOf(arrow.to)}: ${escapeMermaidText(text)}`;
}

function renderMarkLine(mark: LifelineMark, idOf: (host: string) => string): string {
  switch (mark.kind) {
    case 'state':
      return `Note over ${idOf(mark.host)}: ${escapeMermaidText(`${mark.state}${mark.inferred === true ? ' (inferred)' : ''} · ${formatRelativeSeconds(mark.timeUs)}`)}`;
    case 'rule-added':
      return `Note over ${idOf(mark.host)}: ${escapeMermaidText(`rule ${mark.rule} added: iptables ${mark.text}`)}`;
    case 'rule-removed':
      return `Note over ${idOf(mark.host)}: ${escapeMermaidText(`rule ${mark.rule} removed`)}`;
    default:
      return assertNever(mark);
  }
}
