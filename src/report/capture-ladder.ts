import { findPhases, retransmissionCounter } from '../analysis/segment-trace.js';
import type { StateTransition } from '../analysis/capture-states.js';
import { formatFlags, type TcpSegment } from '../observe/packet.js';
import { TCP_STATES, type TcpState } from '../tcp/state.js';
import type { TcpConnection } from '../verify/connections.js';
import { HTML_WORDS } from '../messages/html-words.js';
import { formatDuration } from './time-format.js';
import { inTimeOrder } from './run-commentary.js';
import type { CommentaryLine } from './commentary/commentary-text.js';
import type { CaptureLadder } from './html-report.js';
import type { LadderArrow, LifelineMark } from './ladder-model.js';

/*
 * The ladder of one connection of a capture file (`tcplab report x.pcap`), as data for the same
 * renderers as a run's. A capture has one vantage point, so each arrow is one frame at its capture
 * time (depart = arrive); the lifelines are the connection's client and server; the states on them are
 * the capture replay's (src/analysis/capture-states.ts, the reference machine of `tcplab fsm --linux`),
 * each stamped with the frame that caused it or, when inferred, that proves it. Pure.
 */

/** One connection as the capture tracker gave it, with its segments in capture order. */
export interface CaptureConnectionInput {
  readonly file: string;
  readonly connection: TcpConnection;
  /** The connection's segments, in capture order: all of them, or the first ones when `omitted` > 0. */
  readonly segments: readonly TcpSegment[];
  readonly omitted: number;
  /** `tcplab verify`'s anomalies of the connection (verify/capture-anomalies.ts). */
  readonly anomalies: readonly string[];
  /** The zero of the times: the capture's first TCP segment (µs since the epoch). */
  readonly zeroUs: number;
}

type Side = 'client' | 'server';

/** Builds the ladder model and the commentary of one captured connection. */
export function buildCaptureLadder(input: CaptureConnectionInput): CaptureLadder {
  const { connection: c, segments } = input;
  const rel = (us: number): number => us - input.zeroUs;
  const numberCopy = retransmissionCounter();
  const arrows: LadderArrow[] = segments.map((segment, i) => {
    const from: Side = segment.src === c.aAddress && segment.srcPort === c.aPort ? 'client' : 'server';
    const timeUs = rel(segment.timeUs);
    const retransmission = numberCopy(segment, timeUs);
    return {
      id: `c${c.id}-seg-${i + 1}`,
      from,
      to: from === 'client' ? 'server' : 'client',
      departUs: timeUs,
      arriveUs: timeUs,
      senderFrame: segment.frame,
      segment,
      flags: formatFlags(segment.flags),
      fate: { kind: 'delivered' },
      ...(retransmission && { retransmission }),
      checks: [],
      failedChecks: [],
    };
  });
  const byFrame = new Map(arrows.map((a) => [a.senderFrame as number, a]));
  const marks: LifelineMark[] = [];
  const commentary: CommentaryLine[] = [];
  const notes: Record<Side, string[]> = { client: [], server: [] };
  const firstUs = arrows[0]?.departUs ?? rel(c.firstTimeUs);
  for (const side of ['client', 'server'] as const) {
    const history = c.states[side];
    const socket = side === 'client' ? c.a : c.b;
    notes[side].push(...history.path.filter((entry) => !isTcpState(entry)));
    const initial = history.path.find(isTcpState);
    if (initial !== undefined) marks.push({ kind: 'state', host: side, timeUs: firstUs, state: initial, socket, initial: true });
    for (const t of history.transitions) {
      const arrow = byFrame.get(t.frame);
      if (t.from === t.to || arrow === undefined) continue;
      marks.push({ kind: 'state', host: side, timeUs: arrow.departUs as number, state: t.to, socket, ...(t.inferred && { inferred: true }) });
      commentary.push({ timeUs: arrow.departUs as number, kind: 'state', ...describeTransition(side, t), arrowId: arrow.id, departs: false });
    }
    for (const p of history.problems) {
      const arrow = byFrame.get(p.frame);
      if (arrow === undefined) continue;
      commentary.push({
        timeUs: arrow.departUs as number,
        kind: 'model',
        en: `${side}: the reference machine cannot place frame #${p.frame} (${p.problem})`,
        zh: `${SIDE_ZH[side]}：参考状态机无法解释第 ${p.frame} 帧（${p.problem}）`,
        arrowId: arrow.id,
        departs: true,
      });
    }
  }
  const dataKinds = new Map(c.dataRetransmissions.segments.map((s) => [s.frame, s.kind]));
  for (const arrow of arrows) {
    const kind = dataKinds.get(arrow.senderFrame as number);
    if (arrow.retransmission === undefined && kind === undefined) continue;
    const what = `[${arrow.flags}] seq=${arrow.segment.seq} len=${arrow.segment.payloadLength}`;
    const copy =
      arrow.retransmission === undefined ? '' : `, copy ${arrow.retransmission.copy}, ${formatDuration(arrow.retransmission.sinceUs)} after the previous`;
    const copyZh =
      arrow.retransmission === undefined ? '' : `，第 ${arrow.retransmission.copy} 次发送，距上一次 ${formatDuration(arrow.retransmission.sinceUs)}`;
    commentary.push({
      timeUs: arrow.departUs as number,
      kind: 'transmission',
      en: `${arrow.from} resends ${what} (${kind ?? 'retransmission'}${copy})`,
      zh: `${SIDE_ZH[arrow.from as Side]}重发 ${what}（${kind ?? 'retransmission'}${copyZh}）`,
      arrowId: arrow.id,
      departs: false,
    });
  }
  const phases = findPhases(arrows);
  for (const phase of phases) {
    const first = arrows.find((a) => a.id === phase.first);
    if (first === undefined) continue;
    commentary.push({
      timeUs: first.departUs as number,
      kind: 'phase',
      en: HTML_WORDS.en.phases[phase.kind],
      zh: HTML_WORDS.zh.phases[phase.kind],
      arrowId: first.id,
      departs: false,
    });
  }
  const total = segments.length + input.omitted;
  const via = c.via === undefined ? '' : ` via ${c.via}`;
  return {
    model: {
      lab: { name: input.file, title: `#${c.id} ${c.a} → ${c.b}${via}`, description: '' },
      subject: {
        kind: 'capture',
        file: input.file,
        connection: c.id,
        ...(c.via !== undefined && { via: c.via }),
        findings: { paths: { client: c.states.client.path, server: c.states.server.path }, anomalies: input.anomalies },
      },
      lifelines: [
        { host: 'client', address: c.a, notes: notes.client },
        { host: 'server', address: c.b, notes: notes.server },
      ],
      arrows,
      marks: marks.sort((x, y) => x.timeUs - y.timeUs),
      phases,
      checks: [],
      warnings: input.omitted > 0 ? [`only the first ${segments.length} of the connection's ${total} segments are drawn`] : [],
    },
    commentary: inTimeOrder(commentary),
  };
}

const SIDE_ZH: Readonly<Record<Side, string>> = { client: '客户端', server: '服务器' };

function describeTransition(side: Side, t: StateTransition): { en: string; zh: string } {
  const how = t.inferred ? `, inferred from frame #${t.frame}` : `, frame #${t.frame}`;
  const howZh = t.inferred ? `，由第 ${t.frame} 帧推断` : `，第 ${t.frame} 帧`;
  return {
    en: `${side}: ${t.from} → ${t.to} (${t.event}${how})`,
    zh: `${SIDE_ZH[side]}：${t.from} → ${t.to}（${t.event}${howZh}）`,
  };
}

function isTcpState(entry: string): entry is TcpState {
  return (TCP_STATES as readonly string[]).includes(entry);
}
