import { assertNever } from '../tcp/state.js';
import { TcpFlag } from '../observe/packet.js';
import type { RunAnalysis } from '../analysis/analyze-run.js';
import type { Verdict } from '../verify/verdict.js';
import { HTML_WORDS, type Words } from '../messages/html-words.js';
import type { Lang } from '../messages/catalog.js';
import { checkLines } from '../messages/text.js';
import {
  buildLadderModel,
  ladderRows,
  type CaptureFindings,
  type LadderSubject,
  type LadderArrow,
  type LadderModel,
  type LadderRow,
  type LifelineMark,
} from './ladder-model.js';
import { buildRunCommentary, firstDeparture, type CommentaryLine } from './run-commentary.js';
import { formatDuration, formatRelativeSeconds } from './time-format.js';
import type { KernelCallPaths } from '../observe/kernel-call-path.js';
import { renderKernelPathSection } from './kernel-path-html.js';
import type { GradedSheet } from '../exercise/grade-answer.js';
import { renderAnswersSection } from './exercise-answers-html.js';

/**
 * `report.html`: one self-contained page (inline CSS and SVG, no scripts, fonts or network) showing a run
 * as a ladder diagram, its narrative and the verdict table, for a student at a projector.
 *
 * Time scale. Runs mix sub-millisecond exchanges (a handshake) with idle gaps of seconds (SYN retries at
 * 1, 2, 4, 8 s), so the vertical axis is piecewise: every arrow and every lifeline mark gets its own row,
 * and the space *between* two rows grows with log2(1 + gap / 20 ms) — doubling a gap adds a constant
 * height, so 1, 2, 4, 8 s retries look evenly stepped, while microsecond gaps add nothing. Gaps of 100 ms
 * or more are drawn as a visible break (`⋯ 4.224 s ⋯`, lifelines dashed). Actual times are always printed
 * on the time axis at every row; nothing is read off the scale.
 * Shapes as well as colours carry meaning: dropped arrows are dashed, end short with ✕ and name the rule;
 * lost ones stop halfway with a hollow circle; retransmissions carry a ↻ badge; arrows a failed check
 * points at get a red halo and ⚠.
 */
export interface HtmlReportOptions {
  readonly lang?: 'en' | 'zh';
  /** The run commentary (run-commentary.ts); without it the "What happened" section is left out. */
  readonly commentary?: readonly CommentaryLine[];
  /** The run's kernel call paths and the zero of its times; without them the "kernel call path" section is left out. */
  readonly kernelPaths?: { readonly paths: KernelCallPaths | undefined; readonly startedUs: number };
  /** An exercise run's graded answers, shown beside the ladder (exercise-answers-html.ts). */
  readonly exercise?: GradedSheet;
}

/** Renders the report page of a run (its analysis + verdict → HTML string; pure), with its commentary. */
export function renderRunReportHtml(analysis: RunAnalysis, verdict: Verdict, options: HtmlReportOptions = {}): string {
  const model = buildLadderModel(analysis, verdict);
  const recorded = analysis.record.kernelCallPaths;
  const kernelPaths = options.kernelPaths ?? (recorded === undefined ? undefined : { paths: recorded, startedUs: analysis.record.startedUs });
  const commentary = options.commentary ?? buildRunCommentary(analysis, verdict, model);
  return renderHtmlReport(model, { ...options, commentary, ...(kernelPaths !== undefined && { kernelPaths }) });
}

/** Escapes text for HTML and SVG element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The arrow label: tcpdump flags, absolute seq, ack (only with the ACK flag, as tcpdump), payload length. */
export function formatArrowLabel(arrow: LadderArrow): string {
  const s = arrow.segment;
  const ack = (s.flags & TcpFlag.ACK) !== 0 ? ` ack=${s.ack}` : '';
  return `[${arrow.flags}] seq=${s.seq}${ack} len=${s.payloadLength}`;
}

// ---- layout ---------------------------------------------------------------------------------------

const WIDTH = 1200;
const AXIS_X = 112;
const PHASE_X = 138;
const FIRST_LIFELINE_X = 380;
const LAST_LIFELINE_MARGIN = 150;
const HEADER_HEIGHT = 96;
const SLOPE = 14;
const BREAK_US = 100_000;
const COLORS = ['#1d4ed8', '#047857', '#7e22ce', '#9a3412', '#0e7490'];

type Row = LadderRow & { y: number };

interface Layout {
  readonly rows: Row[];
  readonly breaks: { y0: number; y1: number; gapUs: number }[];
  readonly height: number;
  readonly xOf: (host: string) => number;
}

function gapSpace(gapUs: number): number {
  return gapUs <= 0 ? 0 : 14 * Math.log2(1 + gapUs / 20_000);
}

function rowHeight(row: Row): number {
  if (row.kind === 'mark') return row.mark.kind === 'state' ? 36 : 46;
  const a = row.arrow;
  const annotations = (a.fate.kind !== 'delivered' ? 1 : 0) + (a.retransmission !== undefined ? 1 : 0) + (a.failedChecks.length > 0 ? 1 : 0);
  return annotations === 0 ? 48 : 56 + 19 * annotations;
}

function layOut(model: LadderModel): Layout {
  const hosts = model.lifelines.map((l) => l.host);
  const span = WIDTH - LAST_LIFELINE_MARGIN - FIRST_LIFELINE_X;
  const xOf = (host: string): number => {
    const i = hosts.indexOf(host);
    return hosts.length <= 1 ? FIRST_LIFELINE_X + span / 2 : FIRST_LIFELINE_X + (span * Math.max(0, i)) / (hosts.length - 1);
  };
  const rows: Row[] = ladderRows(model).map((row) => ({ ...row, y: 0 }));
  const breaks: Layout['breaks'] = [];
  let y = HEADER_HEIGHT + 16;
  let previous: Row | undefined;
  for (const row of rows) {
    if (previous !== undefined) {
      const gap = row.timeUs - previous.timeUs;
      const space = gapSpace(gap);
      if (gap >= BREAK_US) {
        const height = Math.max(space, 40);
        breaks.push({ y0: y, y1: y + height, gapUs: gap });
        y += height;
      } else {
        y += space;
      }
    }
    row.y = y;
    y += rowHeight(row);
    previous = row;
  }
  return { rows, breaks, height: y + 30, xOf };
}

// ---- rendering -----------------------------------------------------------------------------------

/** Renders the ladder model of a run as a complete HTML document (pure). */
export function renderHtmlReport(model: LadderModel, options: HtmlReportOptions = {}): string {
  const lang = options.lang ?? 'en';
  const w = HTML_WORDS[lang];
  const subject = model.subject;
  if (subject.kind !== 'run') throw new Error('renderHtmlReport: a capture is drawn by renderCaptureReportHtml');
  const verdictWord = subject.verdict === 'pass' ? w.pass : w.fail;
  const narrative = lang === 'zh' && model.lab.descriptionZh !== undefined ? model.lab.descriptionZh : model.lab.description;
  const narrativeNote = lang === 'zh' && model.lab.descriptionZh === undefined ? `<p class="note">${escapeHtml(w.noNarrativeZh)}</p>` : '';
  const header = `<h1>${escapeHtml(model.lab.title)}</h1>
<p class="meta"><span class="badge ${subject.verdict}">${subject.verdict === 'pass' ? '✓' : '✗'} ${escapeHtml(verdictWord)}</span>
<span>${escapeHtml(w.run)}: <code>${escapeHtml(subject.runId)}</code></span>
<span>${escapeHtml(w.duration)}: ${escapeHtml((subject.durationMs / 1000).toFixed(1))} s</span>
${model.lab.source !== undefined ? `<span>${escapeHtml(w.source)}: ${escapeHtml(model.lab.source)}</span>` : ''}${renderDepartureLink(options.commentary, w)}</p>`;
  const main = `<section id="narrative"><h2>${escapeHtml(w.narrative)}</h2>${narrativeNote}${renderNarrative(narrative)}</section>
<section id="ladder"><h2>${escapeHtml(w.ladder)}</h2>
${model.arrows.length === 0 ? `<p class="note">${escapeHtml(w.noSegments)}</p>` : ''}
${renderSvg(model, w)}
${renderLegend(w, 'run')}
</section>
${options.exercise === undefined ? '' : renderAnswersSection(options.exercise, lang)}
${options.kernelPaths === undefined ? '' : renderKernelPathSection(options.kernelPaths.paths, options.kernelPaths.startedUs, lang)}
${renderWarnings(model, w)}
${renderCommentary(model, options.commentary, lang, w)}
<section id="checks"><h2>${escapeHtml(w.checks)}</h2>
${renderChecks(model, lang, w)}
</section>
<footer>${escapeHtml(w.generated)}</footer>`;
  return page(lang, `${model.lab.title} — ${verdictWord}`, header, main);
}

/** One connection of a capture: its ladder model and its commentary. */
export interface CaptureLadder {
  readonly model: LadderModel;
  readonly commentary: readonly CommentaryLine[];
}

/**
 * Renders the report page of a capture file (pure): per connection its findings (state paths,
 * anomalies), its ladder and its commentary; of the capture's `totalConnections`, those not given are counted only.
 */
export function renderCaptureReportHtml(
  file: string,
  connections: readonly CaptureLadder[],
  options: { readonly lang?: 'en' | 'zh'; readonly totalConnections: number; readonly notes?: readonly string[] },
): string {
  const lang = options.lang ?? 'en';
  const w = HTML_WORDS[lang];
  const header = `<h1>${escapeHtml(file)}</h1>
<p class="meta"><span>${escapeHtml(w.capture)}: <code>${escapeHtml(file)}</code></span>
<span>${escapeHtml(w.connections)}: ${options.totalConnections}</span></p>`;
  const notDrawn = options.totalConnections - connections.length;
  const sections = connections.map(({ model, commentary }) => {
    const subject = model.subject;
    if (subject.kind !== 'capture') throw new Error('renderCaptureReportHtml: a run is drawn by renderHtmlReport');
    const scope = `conn-${subject.connection}-`;
    return `<section class="connection" id="conn-${subject.connection}"><h2>${escapeHtml(model.lab.title)}</h2>
${renderFindings(subject.findings, w)}
${renderSvg(model, w, scope)}
${renderWarnings(model, w, scope)}
${renderCommentary(model, commentary, lang, w, scope)}
</section>`;
  });
  const main = `<section id="narrative"><h2>${escapeHtml(w.legend)}</h2><p>${escapeHtml(w.captureNarrative)}</p>
${(options.notes ?? []).map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('\n')}</section>
${connections.length === 0 ? `<p class="note">${escapeHtml(w.noConnections)}</p>` : renderLegend(w, 'capture')}
${sections.join('\n')}
${notDrawn > 0 ? `<p class="note">${notDrawn} ${escapeHtml(w.moreConnections)}</p>` : ''}
<footer>${escapeHtml(w.captureGenerated)}</footer>`;
  return page(lang, file, header, main);
}

function page(lang: 'en' | 'zh', title: string, header: string, main: string): string {
  return `<!DOCTYPE html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
${header}
</header>
<main>
${main}
</main>
</body>
</html>
`;
}

function renderNarrative(text: string): string {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((paragraph) => {
      // Join hard-wrapped lines: with a space between Latin words, without one after or before CJK text.
      const joined = paragraph.trim().replace(/\s*\n\s*/g, (_m, offset: number, whole: string) => {
        const before = whole[offset - 1] ?? '';
        return /[\u3000-\u9fff\uff00-\uffef]/.test(before) ? '' : ' ';
      });
      const html = escapeHtml(joined).replace(/`([^`]+)`/g, '<code>$1</code>');
      return `<p>${html}</p>`;
    })
    .join('\n');
}

/**
 * `scope` prefixes the ids a ladder (its arrow heads), its warnings and its commentary define: the capture page
 * draws one per connection (arrow ids are unique already: c0-seg-1, …).
 */
function renderSvg(model: LadderModel, w: Words, scope = ''): string {
  const layout = layOut(model);
  const { xOf } = layout;
  const out: string[] = [];
  out.push(
    `<svg class="ladder" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${Math.ceil(layout.height)}" width="${WIDTH}" height="${Math.ceil(layout.height)}" role="img" aria-label="${escapeHtml(w.ladder)}">`,
  );
  out.push('<defs>');
  const markerColors = [...COLORS, '#b91c1c', '#6b7280'];
  markerColors.forEach((color, i) => {
    out.push(
      `<marker id="${scope}head-${i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${color}"/></marker>`,
    );
  });
  out.push('</defs>');

  const top = HEADER_HEIGHT;
  const bottom = layout.height - 10;
  // time axis
  out.push(`<text class="axis-title" x="${AXIS_X}" y="${top - 8}" text-anchor="end">${escapeHtml(w.time)}</text>`);
  out.push(`<line class="axis" x1="${AXIS_X + 8}" y1="${top}" x2="${AXIS_X + 8}" y2="${bottom}"/>`);

  // lifelines, drawn dashed across compressed gaps
  model.lifelines.forEach((lifeline, i) => {
    const x = xOf(lifeline.host);
    const color = COLORS[i % COLORS.length] as string;
    const solid: string[] = [];
    let y = top;
    for (const b of layout.breaks) {
      solid.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${b.y0}" stroke="${color}"/>`);
      solid.push(`<line class="gap" x1="${x}" y1="${b.y0}" x2="${x}" y2="${b.y1}" stroke="${color}"/>`);
      y = b.y1;
    }
    solid.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${bottom}" stroke="${color}"/>`);
    const notes = lifeline.notes
      .map((note, n) => `<text class="lifeline-note" x="${x}" y="${top - 2 + 18 * (n + 1)}" text-anchor="middle">✕ ${escapeHtml(note)}</text>`)
      .join('');
    out.push(
      `<g class="lifeline" data-host="${escapeHtml(lifeline.host)}"><rect class="host-box" x="${x - 95}" y="6" width="190" height="62" rx="8" stroke="${color}"/>` +
        `<text class="host-name" x="${x}" y="34" text-anchor="middle" fill="${color}">${escapeHtml(lifeline.host)}</text>` +
        `<text class="host-address" x="${x}" y="56" text-anchor="middle">${escapeHtml(lifeline.address)}</text>` +
        `<g class="lifeline-line">${solid.join('')}</g>${notes}</g>`,
    );
  });

  // compressed-time breaks
  for (const b of layout.breaks) {
    const mid = (b.y0 + b.y1) / 2;
    out.push(
      `<g class="time-break"><rect x="${AXIS_X + 16}" y="${mid - 12}" width="${WIDTH - AXIS_X - 40}" height="24" rx="4"/>` +
        `<text x="${(AXIS_X + WIDTH) / 2}" y="${mid + 5}" text-anchor="middle">⋯ ${escapeHtml(formatDuration(b.gapUs))} ${escapeHtml(w.later)} ⋯</text></g>`,
    );
  }

  // phases (three-way handshake, four-way close, …) as brackets left of the lifelines
  for (const phase of model.phases) {
    const first = layout.rows.find((r) => r.kind === 'arrow' && r.arrow.id === phase.first);
    const last = layout.rows.find((r) => r.kind === 'arrow' && r.arrow.id === phase.last);
    if (first === undefined || last === undefined) continue;
    const y0 = first.y + 26;
    const y1 = last.y + 30 + SLOPE;
    out.push(
      `<g class="phase" data-kind="${phase.kind}"><path d="M${PHASE_X + 12},${y0} h-10 V${y1} h10"/>` +
        `${wrapText(w.phases[phase.kind], 16)
          .map((line, i, all) => `<text x="${PHASE_X + 18}" y="${(y0 + y1) / 2 + 6 + (i - (all.length - 1) / 2) * 20}">${escapeHtml(line)}</text>`)
          .join('')}</g>`,
    );
  }

  let previousTime: number | undefined;
  for (const row of layout.rows) {
    const lineY = row.kind === 'arrow' ? row.y + 30 : row.y + 18;
    const delta = previousTime === undefined ? undefined : row.timeUs - previousTime;
    const deltaText =
      delta !== undefined && delta < 10_000
        ? `<text class="axis-delta" x="${AXIS_X}" y="${lineY + 17}" text-anchor="end">+${escapeHtml(formatDuration(delta))}</text>`
        : '';
    out.push(
      `<g class="tick"><text class="axis-time" x="${AXIS_X}" y="${lineY + 5}" text-anchor="end">${escapeHtml(formatRelativeSeconds(row.timeUs))}</text>${deltaText}<line x1="${AXIS_X + 4}" y1="${lineY}" x2="${AXIS_X + 12}" y2="${lineY}"/></g>`,
    );
    previousTime = row.timeUs;
    if (row.kind === 'arrow') out.push(renderArrow(model, row.arrow, row.index, row.y, xOf, w, scope));
    else out.push(renderMark(model, row.mark, row.y, xOf, w));
  }
  out.push('</svg>');
  return out.join('\n');
}

function renderArrow(model: LadderModel, arrow: LadderArrow, index: number, y: number, xOf: (h: string) => number, w: Words, scope: string): string {
  const x0 = xOf(arrow.from);
  const x1 = xOf(arrow.to);
  const y0 = y + 30;
  const y1 = y0 + SLOPE;
  const senderIndex = model.lifelines.findIndex((l) => l.host === arrow.from);
  let color = COLORS[Math.max(0, senderIndex) % COLORS.length] as string;
  const marker = `${scope}head-${Math.max(0, senderIndex) % COLORS.length}`;
  const classes = ['arrow', arrow.fate.kind];
  let endFraction = 1;
  let dash = '';
  let annotation = '';
  const fate = arrow.fate;
  switch (fate.kind) {
    case 'delivered':
      break;
    case 'dropped':
      endFraction = 0.86;
      color = '#b91c1c';
      dash = ' stroke-dasharray="10 6"';
      annotation = w.dropped(fate.rule, fate.host);
      break;
    case 'lost':
      endFraction = 0.5;
      color = '#6b7280';
      dash = ' stroke-dasharray="4 5"';
      annotation = w.lost;
      break;
    case 'unconfirmed':
      endFraction = 0.5;
      color = '#6b7280';
      dash = ' stroke-dasharray="4 5"';
      annotation = w.unconfirmed;
      break;
    default:
      assertNever(fate);
  }
  if (arrow.retransmission) classes.push('retransmission');
  if (arrow.failedChecks.length > 0) classes.push('failed');
  const ex = x0 + (x1 - x0) * endFraction;
  const ey = y0 + (y1 - y0) * endFraction;
  const parts: string[] = [];
  if (arrow.failedChecks.length > 0) {
    parts.push(`<line class="halo" x1="${x0}" y1="${y0}" x2="${ex}" y2="${ey}"/>`);
  }
  const useMarker = fate.kind === 'delivered';
  parts.push(`<line class="shaft" x1="${x0}" y1="${y0}" x2="${ex}" y2="${ey}" stroke="${color}"${dash}${useMarker ? ` marker-end="url(#${marker})"` : ''}/>`);
  if (fate.kind === 'dropped') {
    parts.push(`<text class="cross" x="${ex}" y="${ey + 9}" text-anchor="middle">✕</text>`);
  } else if (fate.kind === 'lost' || fate.kind === 'unconfirmed') {
    parts.push(`<circle class="lost-end" cx="${ex}" cy="${ey}" r="7"/>`);
  }
  const labelX = (x0 + x1) / 2;
  const warn = arrow.failedChecks.length > 0 ? '⚠ ' : '';
  parts.push(
    `<text class="label" x="${labelX}" y="${y + 20}" text-anchor="middle"><tspan class="num">${index + 1}</tspan> ${escapeHtml(warn)}<tspan class="flags" fill="${color}">[${escapeHtml(arrow.flags)}]</tspan> ${escapeHtml(formatArrowLabel(arrow).replace(/^\[[^\]]*\] /, ''))}</text>`,
  );
  const below: string[] = [];
  if (arrow.retransmission) below.push(`↻ ${w.retransmission} #${arrow.retransmission.copy}, ${formatDuration(arrow.retransmission.sinceUs)} ${w.after}`);
  if (annotation !== '') below.push(annotation);
  if (arrow.failedChecks.length > 0) below.push(`⚠ ${w.failedCheck}: ${arrow.failedChecks.join('; ')}`);
  below.forEach((text, n) => {
    const bad = !text.startsWith('↻') && (fate.kind === 'dropped' || arrow.failedChecks.length > 0);
    parts.push(`<text class="annotation${bad ? ' bad' : ''}" x="${labelX}" y="${y1 + 20 + 19 * n}" text-anchor="middle">${escapeHtml(text)}</text>`);
  });
  if (arrow.retransmission) {
    const bx = x0 + (x1 > x0 ? 12 : -12);
    parts.push(
      `<g class="retrans-badge"><rect x="${bx - (x1 > x0 ? 0 : 46)}" y="${y0 - 30}" width="46" height="22" rx="11"/><text x="${bx + (x1 > x0 ? 23 : -23)}" y="${y0 - 14}" text-anchor="middle">↻#${arrow.retransmission.copy}</text></g>`,
    );
  }
  const title = (
    model.subject.kind === 'capture'
      ? [`frame #${arrow.senderFrame ?? '?'} at ${formatRelativeSeconds(arrow.departUs ?? 0)}`]
      : [
          arrow.senderFrame !== undefined && arrow.departUs !== undefined
            ? `${arrow.from} capture #${arrow.senderFrame} at ${formatRelativeSeconds(arrow.departUs)}`
            : `not in ${arrow.from}'s capture`,
          arrow.receiverFrame !== undefined && arrow.arriveUs !== undefined
            ? `${arrow.to} capture #${arrow.receiverFrame} at ${formatRelativeSeconds(arrow.arriveUs)}`
            : `not in ${arrow.to}'s capture`,
          arrow.departUs !== undefined && arrow.arriveUs !== undefined ? `transit ${formatDuration(arrow.arriveUs - arrow.departUs)}` : '',
        ]
  )
    .concat([`${arrow.segment.src}:${arrow.segment.srcPort} > ${arrow.segment.dst}:${arrow.segment.dstPort} win ${arrow.segment.window}`])
    .filter((t) => t !== '')
    .join('\n');
  return `<g id="${arrow.id}" class="${classes.join(' ')}" data-from="${escapeHtml(arrow.from)}" data-to="${escapeHtml(arrow.to)}"><title>${escapeHtml(title)}</title>${parts.join('')}</g>`;
}

const STATE_FILL: Readonly<Record<string, string>> = {
  LISTEN: '#ede9fe',
  SYN_SENT: '#fef3c7',
  SYN_RECEIVED: '#fef3c7',
  ESTABLISHED: '#d1fae5',
  CLOSED: '#e5e7eb',
};

function renderMark(model: LadderModel, mark: LifelineMark, y: number, xOf: (h: string) => number, w: Words): string {
  const x = xOf(mark.host);
  switch (mark.kind) {
    case 'state': {
      const width = Math.max(110, mark.state.length * 11 + 24);
      const fill = STATE_FILL[mark.state] ?? '#dbeafe';
      const seen =
        model.subject.kind === 'run'
          ? `first sampled at ${formatRelativeSeconds(mark.timeUs)}`
          : `${mark.inferred === true ? `${w.inferred} ` : ''}at ${formatRelativeSeconds(mark.timeUs)}`;
      return (
        `<g class="state-label${mark.inferred === true ? ' inferred' : ''}" data-host="${escapeHtml(mark.host)}" data-state="${mark.state}"><title>${escapeHtml(`${mark.host} ${mark.socket}: ${mark.state} ${seen}`)}</title>` +
        `<rect x="${x - width / 2}" y="${y + 4}" width="${width}" height="28" rx="14" fill="${fill}"/>` +
        `<text x="${x}" y="${y + 24}" text-anchor="middle">${escapeHtml(mark.state)}</text></g>`
      );
    }
    case 'rule-added':
    case 'rule-removed': {
      const word = mark.kind === 'rule-added' ? w.ruleAdded : w.ruleRemoved;
      const left = model.lifelines.findIndex((l) => l.host === mark.host) === 0 && model.lifelines.length > 1;
      const anchor = left ? 'start' : 'end';
      const tx = left ? x + 14 : x - 14;
      return (
        `<g class="rule-mark" data-host="${escapeHtml(mark.host)}" data-rule="${escapeHtml(mark.rule)}"><rect x="${x - 9}" y="${y + 6}" width="18" height="18" transform="rotate(45 ${x} ${y + 15})"/>` +
        `<text class="rule-title" x="${tx}" y="${y + 16}" text-anchor="${anchor}">${escapeHtml(`${word}: ${mark.rule}`)}</text>` +
        (mark.text !== '' ? `<text class="rule-text" x="${tx}" y="${y + 36}" text-anchor="${anchor}">${escapeHtml(`iptables ${mark.text}`)}</text>` : '') +
        '</g>'
      );
    }
    default:
      return assertNever(mark);
  }
}

/** The legend: every shape a run's ladder may draw; a capture's has no rules, drops, losses or checks. */
function renderLegend(w: Words, kind: LadderSubject['kind']): string {
  const item = (svg: string, text: string): string =>
    `<li><svg width="64" height="24" viewBox="0 0 64 24" aria-hidden="true">${svg}</svg>${escapeHtml(text)}</li>`;
  const normal = item(
    `<line x1="4" y1="12" x2="54" y2="12" stroke="${COLORS[0]}" stroke-width="2.5"/><path d="M50,7 L60,12 L50,17 z" fill="${COLORS[0]}"/>`,
    w.legendNormal,
  );
  const retransmission = item(
    '<rect x="6" y="1" width="50" height="22" rx="11" fill="#fff7ed" stroke="#c2410c" stroke-width="1.5"/><text x="31" y="17" font-size="14" fill="#c2410c" text-anchor="middle" font-weight="700">↻#2</text>',
    w.legendRetrans,
  );
  const state = (text: string): string => item('<rect x="4" y="2" width="56" height="20" rx="10" fill="#fef3c7" stroke="#374151"/>', text);
  const items =
    kind === 'capture'
      ? [
          normal,
          retransmission,
          state(w.legendCaptureState),
          item('<rect x="4" y="2" width="56" height="20" rx="10" fill="#fef3c7" stroke="#374151" stroke-dasharray="5 4"/>', w.legendInferred),
        ]
      : [
          normal,
          item(
            '<line x1="4" y1="12" x2="46" y2="12" stroke="#b91c1c" stroke-width="2.5" stroke-dasharray="8 5"/><text x="52" y="18" font-size="18" fill="#b91c1c" text-anchor="middle" font-weight="700">✕</text>',
            w.legendDropped,
          ),
          item(
            '<line x1="4" y1="12" x2="34" y2="12" stroke="#6b7280" stroke-width="2.5" stroke-dasharray="4 5"/><circle cx="41" cy="12" r="6" fill="#fff" stroke="#6b7280" stroke-width="2"/>',
            w.legendLost,
          ),
          retransmission,
          item(
            '<line x1="4" y1="12" x2="58" y2="12" stroke="#ef4444" stroke-opacity="0.3" stroke-width="12"/><line x1="4" y1="12" x2="58" y2="12" stroke="#b91c1c" stroke-width="2.5"/>',
            w.legendFailed,
          ),
          state(w.legendState),
          item('<rect x="25" y="5" width="14" height="14" transform="rotate(45 32 12)" fill="#fee2e2" stroke="#b91c1c" stroke-width="1.5"/>', w.legendRule),
        ];
  return `<ul class="legend" aria-label="${escapeHtml(w.legend)}">\n${items.join('\n')}\n</ul>`;
}

function renderDepartureLink(commentary: readonly CommentaryLine[] | undefined, w: Words): string {
  const first = commentary === undefined ? undefined : firstDeparture(commentary);
  if (first === undefined) return '';
  return `\n<a class="departure-link" href="#first-departure">⚠ ${escapeHtml(`${w.departureSummary} ${formatRelativeSeconds(first.timeUs)}`)}</a>`;
}

/** "What happened / 过程解说": the commentary in time order, each line linked to its arrow, the first departure marked. */
function renderCommentary(model: LadderModel, commentary: readonly CommentaryLine[] | undefined, lang: 'en' | 'zh', w: Words, scope = ''): string {
  if (commentary === undefined) return '';
  const first = firstDeparture(commentary);
  const items = commentary.map((entry) => {
    const classes = ['commentary-line', entry.kind, ...(entry.departs ? ['departs'] : []), ...(entry === first ? ['first-departure'] : [])];
    const index = entry.arrowId === undefined ? -1 : model.arrows.findIndex((a) => a.id === entry.arrowId);
    const arrow = index < 0 ? '' : ` <a class="arrow-ref" href="#${escapeHtml(entry.arrowId ?? '')}">(→ ${index + 1})</a>`;
    const flag =
      entry === first
        ? `<strong class="departure-flag">⚠ ${escapeHtml(w.firstDeparture)}</strong> `
        : entry.departs
          ? '<span class="departure-mark">✗</span> '
          : '';
    return `<li class="${classes.join(' ')}"${entry === first ? ` id="${scope}first-departure"` : ''}><span class="time">${escapeHtml(formatRelativeSeconds(entry.timeUs))}</span><span class="text">${flag}${escapeHtml(entry[lang])}${arrow}</span></li>`;
  });
  const body = items.length === 0 ? `<p class="note">${escapeHtml(w.noCommentary)}</p>` : `<ol class="commentary">\n${items.join('\n')}\n</ol>`;
  return `<section id="${scope}commentary"><h2>${escapeHtml(w.commentary)}</h2>\n${body}\n</section>`;
}

function renderWarnings(model: LadderModel, w: Words, scope = ''): string {
  if (model.warnings.length === 0) return '';
  return `<section id="${scope}warnings" class="warnings"><h2>${escapeHtml(w.warnings)}</h2><ul>${model.warnings.map((text) => `<li>${escapeHtml(text)}</li>`).join('')}</ul></section>`;
}

function renderFindings(findings: CaptureFindings, w: Words): string {
  const path = (side: string, states: readonly string[]): string =>
    `<li><strong>${escapeHtml(side)}</strong> ${escapeHtml(w.statePath)}: ${escapeHtml(states.join(' → '))}</li>`;
  const anomalies =
    findings.anomalies.length === 0 ? escapeHtml(w.noAnomalies) : `<ul>${findings.anomalies.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`;
  return `<ul class="findings">${path('client', findings.paths.client)}${path('server', findings.paths.server)}<li><strong>${escapeHtml(w.anomalies)}</strong>: ${anomalies}</li></ul>`;
}

function renderChecks(model: LadderModel, lang: Lang, w: Words): string {
  const rows = model.checks.map((check) => {
    const { name, expected, observed, evidence: items } = checkLines(check, lang);
    const status =
      check.status === 'pass' ? `<span class="status pass">✓ ${escapeHtml(w.pass)}</span>` : `<span class="status fail">✗ ${escapeHtml(w.fail)}</span>`;
    const evidence = items.map((item) => `<li>${linkCaptureReferences(model, item)}</li>`).join('');
    const reference = check.reference !== undefined ? `<div class="reference">${escapeHtml(check.reference)}</div>` : '';
    const source = check.source !== undefined ? `<div class="check-source">${escapeHtml(check.source)}</div>` : '';
    return `<tr class="check ${check.status}"><td>${status}</td><td>${escapeHtml(name)}${source}${reference}</td><td>${escapeHtml(expected)}</td><td>${escapeHtml(observed)}</td><td><ul class="evidence">${evidence}</ul></td></tr>`;
  });
  return `<table class="checks"><thead><tr><th>${escapeHtml(w.status)}</th><th>${escapeHtml(w.check)}</th><th>${escapeHtml(w.expected)}</th><th>${escapeHtml(w.observed)}</th><th>${escapeHtml(w.evidence)}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

/** Escapes an evidence line, turning each `<host> capture #<frame>` that names an arrow into a link to it. */
function linkCaptureReferences(model: LadderModel, text: string): string {
  let html = '';
  let last = 0;
  for (const match of text.matchAll(/([\w.-]+) (?:capture|抓包) #(\d+)/g)) {
    const host = match[1];
    const frame = Number(match[2]);
    const arrow = model.arrows.find((a) => (a.from === host && a.senderFrame === frame) || (a.to === host && a.receiverFrame === frame));
    const start = match.index;
    html += escapeHtml(text.slice(last, start));
    const index = arrow === undefined ? -1 : model.arrows.indexOf(arrow);
    html += arrow === undefined ? escapeHtml(match[0]) : `<a href="#${arrow.id}">${escapeHtml(match[0])}</a> <span class="arrow-ref">(→ ${index + 1})</span>`;
    last = start + match[0].length;
  }
  return html + escapeHtml(text.slice(last));
}

function wrapText(text: string, width: number): string[] {
  if (/[\u3000-\u9fff]/.test(text)) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

const STYLE = `
:root { color-scheme: light; }
body { margin: 0; font-family: "DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", Arial, sans-serif; font-size: 18px; line-height: 1.5; color: #111827; background: #fff; }
header { padding: 18px 28px 8px; border-bottom: 3px solid #e5e7eb; }
h1 { margin: 0 0 6px; font-size: 30px; }
h2 { font-size: 23px; margin: 26px 0 10px; }
main { padding: 0 28px 28px; max-width: 1240px; }
.meta { display: flex; flex-wrap: wrap; gap: 8px 22px; align-items: center; margin: 0; color: #374151; }
.badge { font-weight: 700; padding: 2px 14px; border-radius: 999px; border: 2px solid; }
.badge.pass { color: #065f46; background: #d1fae5; border-color: #047857; }
.badge.fail { color: #7f1d1d; background: #fee2e2; border-color: #b91c1c; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f3f4f6; padding: 0 4px; border-radius: 4px; }
#narrative p { max-width: 70em; margin: 8px 0; }
.note { color: #6b7280; font-style: italic; }
svg.ladder { display: block; width: 100%; height: auto; max-width: ${WIDTH}px; font-family: "DejaVu Sans", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
svg.ladder .host-box { fill: #fff; stroke-width: 2.5; }
svg.ladder .host-name { font-size: 22px; font-weight: 700; }
svg.ladder .host-address { font-size: 15px; fill: #4b5563; font-family: "DejaVu Sans Mono", monospace; }
svg.ladder .lifeline-line line { stroke-width: 3; }
svg.ladder .lifeline-line line.gap { stroke-dasharray: 3 7; stroke-opacity: 0.6; }
svg.ladder .lifeline-note { font-size: 14px; fill: #b91c1c; font-weight: 700; }
svg.ladder .axis { stroke: #9ca3af; stroke-width: 1.5; }
svg.ladder .axis-title { font-size: 14px; fill: #6b7280; font-style: italic; }
svg.ladder .tick line { stroke: #9ca3af; stroke-width: 1.5; }
svg.ladder .axis-time { font-size: 15px; fill: #111827; font-family: "DejaVu Sans Mono", monospace; }
svg.ladder .axis-delta { font-size: 12px; fill: #6b7280; font-family: "DejaVu Sans Mono", monospace; }
svg.ladder .time-break rect { fill: #f9fafb; stroke: #d1d5db; stroke-dasharray: 4 4; }
svg.ladder .time-break text { font-size: 15px; fill: #4b5563; font-style: italic; }
svg.ladder .arrow .shaft { stroke-width: 2.8; }
svg.ladder .arrow .halo { stroke: #ef4444; stroke-opacity: 0.3; stroke-width: 14; stroke-linecap: round; }
svg.ladder .arrow .label { font-size: 16px; font-family: "DejaVu Sans Mono", monospace; fill: #111827; }
svg.ladder .arrow .label .num { fill: #6b7280; font-size: 13px; }
svg.ladder .arrow .label .flags { font-weight: 700; }
svg.ladder .arrow .annotation { font-size: 14.5px; fill: #92400e; }
svg.ladder .arrow .annotation.bad { fill: #b91c1c; font-weight: 700; }
svg.ladder .arrow .cross { font-size: 26px; font-weight: 700; fill: #b91c1c; }
svg.ladder .arrow .lost-end { fill: #fff; stroke: #6b7280; stroke-width: 2.5; }
svg.ladder .retrans-badge rect { fill: #fff7ed; stroke: #c2410c; stroke-width: 1.5; }
svg.ladder .retrans-badge text { font-size: 13px; font-weight: 700; fill: #c2410c; }
svg.ladder .state-label rect { stroke: #374151; stroke-width: 1.5; }
svg.ladder .state-label.inferred rect { stroke-dasharray: 5 4; }
svg.ladder .state-label text { font-size: 15px; font-weight: 700; font-family: "DejaVu Sans Mono", monospace; fill: #111827; }
svg.ladder .rule-mark rect { fill: #fee2e2; stroke: #b91c1c; stroke-width: 1.5; }
svg.ladder .rule-title { font-size: 15px; font-weight: 700; fill: #991b1b; }
svg.ladder .rule-text { font-size: 13px; fill: #7f1d1d; font-family: "DejaVu Sans Mono", monospace; }
svg.ladder .phase path { fill: none; stroke: #6b7280; stroke-width: 2; }
svg.ladder .phase text { font-size: 15px; fill: #374151; font-weight: 700; }
.legend { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 4px 18px; font-size: 15px; color: #374151; }
.legend li { display: flex; align-items: center; gap: 8px; }
section.warnings ul { background: #fffbeb; border: 2px solid #f59e0b; border-radius: 8px; padding: 10px 10px 10px 34px; }
table.checks { border-collapse: collapse; width: 100%; font-size: 16px; }
table.checks th { text-align: left; background: #f3f4f6; padding: 8px; border-bottom: 2px solid #d1d5db; }
table.checks td { vertical-align: top; padding: 8px; border-bottom: 1px solid #e5e7eb; }
table.checks tr.fail td { background: #fef2f2; }
table.checks tr.fail td:first-child { border-left: 6px solid #b91c1c; }
table.checks tr.pass td:first-child { border-left: 6px solid #047857; }
.status { font-weight: 700; white-space: nowrap; }
.status.pass { color: #047857; }
.status.fail { color: #b91c1c; }
.evidence { margin: 0; padding-left: 18px; font-size: 14px; color: #374151; }
.arrow-ref { color: #6b7280; }
.reference { font-size: 13px; color: #6b7280; }
.check-source { font-size: 13px; color: #374151; font-family: "DejaVu Sans Mono", monospace; }
ul.findings { padding-left: 22px; }
section.connection { border-top: 3px solid #e5e7eb; margin-top: 28px; }
footer { margin-top: 24px; font-size: 14px; color: #6b7280; }
.departure-link { color: #b91c1c; font-weight: 700; }
ol.commentary { list-style: none; padding: 0; margin: 0; font-size: 16px; }
ol.commentary li { display: grid; grid-template-columns: 7.5em 1fr; gap: 12px; padding: 4px 8px; border-bottom: 1px solid #f3f4f6; }
ol.commentary .time { font-family: "DejaVu Sans Mono", monospace; color: #374151; text-align: right; white-space: nowrap; }
ol.commentary li.phase .text { font-weight: 700; }
ol.commentary li.departs { background: #fef2f2; }
ol.commentary li.first-departure { background: #fee2e2; border: 3px solid #b91c1c; border-radius: 6px; }
.departure-flag { color: #b91c1c; }
.departure-mark { color: #b91c1c; font-weight: 700; }
`;
