import { hostAnalysisOf } from '../../analysis/analyze-run.js';
import type { EndpointReplay, ReplayCause } from '../../analysis/endpoint-replay.js';
import type { RunHost } from '../../analysis/run-record.js';
import { segmentEndpoints } from '../../analysis/run-sockets.js';
import { SAMPLE_ALLOWANCE_US } from '../../analysis/sampled-reads.js';
import type { StateSample } from '../../analysis/socket-timeline.js';
import { assertNever } from '../../assert-never.js';
import { TcpFlag } from '../../observe/packet.js';
import { describeIcmp } from '../../messages/icmp-words.js';
import { formatRelativeSeconds } from '../time-format.js';
import { line, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

/* States: each host's sampled states matched to the analysis' replay of that endpoint, with causes. */

/** Each sampled state change, with the cause the replay found (or the states too brief to sample). */
export function describeStates(context: Context): CommentaryLine[] {
  const { record, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const host of record.hosts) {
    const bySocket = new Map<string, StateSample[]>();
    for (const sample of hostAnalysisOf(context.analysis, host.name).samples) {
      const list = bySocket.get(sample.socket) ?? [];
      list.push(sample);
      bySocket.set(sample.socket, list);
    }
    for (const samples of bySocket.values()) {
      const first = samples[0] as StateSample;
      if (first.remote.endsWith(':0')) {
        lines.push(...describeListener(context, host, samples));
        continue;
      }
      const replay = context.replays.find((r) => r.host === host.name && r.tuple.local === first.local && r.tuple.remote === first.remote);
      const who = replay?.conn === undefined ? host.name : `${host.name}/${replay.conn}`;
      if (replay === undefined) {
        for (const sample of samples) {
          lines.push(
            line(rel(sample.timeUs), 'state', {
              en: `${who} enters ${sample.state} at ${formatRelativeSeconds(rel(sample.timeUs))}`,
              zh: `${who} 在 ${formatRelativeSeconds(rel(sample.timeUs))} 进入 ${sample.state} 状态`,
            }),
          );
        }
        continue;
      }
      const timeline = replay.timeline;
      const passive = replay.role === 'passive';
      let position = 0;
      for (const sample of samples) {
        let found: number | undefined;
        for (let j = position + 1; j < timeline.length; j += 1) {
          const entry = timeline[j];
          if (entry === undefined || entry.timeUs > sample.timeUs + SAMPLE_ALLOWANCE_US) break;
          if (entry.state === sample.state || (passive && sample.state === 'CLOSED' && entry.state === 'LISTEN')) {
            found = j;
            break;
          }
        }
        // The first sample may show the state the socket started from (or one it had entered before the replay began).
        if (found === undefined && position === 0 && timeline[0]?.state === sample.state) found = 0;
        const t = formatRelativeSeconds(rel(sample.timeUs));
        if (found === undefined) {
          lines.push(line(rel(sample.timeUs), 'state', { en: `${who} enters ${sample.state} at ${t}`, zh: `${who} 在 ${t} 进入 ${sample.state} 状态` }));
          continue;
        }
        for (let k = position + 1; k < found; k += 1) {
          const skipped = timeline[k];
          if (skipped === undefined) continue;
          const cause = describeCauseText(context, host, replay, skipped.cause, skipped.timeUs);
          const at = formatRelativeSeconds(rel(skipped.timeUs));
          lines.push(
            line(
              rel(skipped.timeUs),
              'state',
              {
                en: `${who} passes through ${skipped.state} at ${at} (${cause.text.en}); too brief for the 5 ms state sampling, known from the capture and calls`,
                zh: `${who} 在 ${at} 经过 ${skipped.state} 状态（${cause.text.zh}）；持续时间短于 5 ms 的状态采样间隔，由抓包和调用得知`,
              },
              { arrowId: cause.arrowId },
            ),
          );
        }
        const entry = timeline[found];
        position = Math.max(position, found);
        if (entry === undefined || found === 0) {
          lines.push(line(rel(sample.timeUs), 'state', { en: `${who} is in ${sample.state} at ${t}`, zh: `${who} 在 ${t} 处于 ${sample.state} 状态` }));
          continue;
        }
        const cause = describeCauseText(context, host, replay, entry.cause, entry.timeUs);
        const shown: string = sample.state === 'CLOSED' && entry.state === 'LISTEN' ? 'CLOSED' : sample.state;
        lines.push(
          line(
            rel(sample.timeUs),
            'state',
            { en: `${who} enters ${shown} at ${t} (${cause.text.en})`, zh: `${who} 在 ${t} 进入 ${shown} 状态（${cause.text.zh}）` },
            { arrowId: cause.arrowId },
          ),
        );
      }
    }
  }
  return lines;
}

function describeListener(context: Context, host: RunHost, samples: readonly StateSample[]): CommentaryLine[] {
  const { record, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const sample of samples) {
    const t = formatRelativeSeconds(rel(sample.timeUs));
    const port = Number(sample.local.slice(sample.local.lastIndexOf(':') + 1));
    const stepIndex = record.lab.steps.findIndex((s) => s.kind === 'listen' && s.host === host.name && s.port === port);
    const step = record.steps.find((s) => s.index === stepIndex);
    const call: Text =
      step === undefined
        ? { en: '', zh: '' }
        : { en: ` (listen() at ${formatRelativeSeconds(rel(step.startUs))})`, zh: `（listen() 调用于 ${formatRelativeSeconds(rel(step.startUs))}）` };
    lines.push(
      line(rel(sample.timeUs), 'state', {
        en: `${host.name} listens on port ${port}: ${sample.state} at ${t}${call.en}`,
        zh: `${host.name} 在端口 ${port} 监听：${t} 进入 ${sample.state} 状态${call.zh}`,
      }),
    );
  }
  return lines;
}

const TIMER_NAMES_ZH: Readonly<Record<string, string>> = {
  'SYN retransmissions exhausted': 'SYN 重传次数用尽',
  'SYN-ACK retransmissions exhausted (request dropped)': 'SYN-ACK 重传次数用尽（半连接被丢弃）',
  'orphan FIN retransmissions exhausted': '孤儿套接字的 FIN 重传用尽',
  'FIN_WAIT_2 timeout (tcp_fin_timeout)': 'FIN_WAIT_2 超时（tcp_fin_timeout）',
  'TIME_WAIT expiry (TCP_TIMEWAIT_LEN)': 'TIME_WAIT 到期（TCP_TIMEWAIT_LEN）',
};

function describeCauseText(context: Context, host: RunHost, replay: EndpointReplay, cause: ReplayCause, timeUs: number): { text: Text; arrowId?: string } {
  const at = formatRelativeSeconds(context.rel(timeUs));
  switch (cause.kind) {
    case 'segment': {
      const arrow = context.model.arrows.find((a) =>
        cause.direction === 'sent' ? a.from === host.name && a.senderFrame === cause.frame : a.to === host.name && a.receiverFrame === cause.frame,
      );
      const text: Text =
        cause.direction === 'sent'
          ? { en: `sent [${cause.flags}] at ${at}`, zh: `${at} 发出 [${cause.flags}]` }
          : { en: `received [${cause.flags}] at ${at}`, zh: `${at} 收到 [${cause.flags}]` };
      return { text, ...(arrow !== undefined && { arrowId: arrow.id }) };
    }
    case 'call': {
      if (cause.op === 'connect') {
        const syn = context.model.arrows.find((a) => {
          const ends = segmentEndpoints(a.segment);
          return (
            a.from === host.name &&
            ends.src === replay.tuple.local &&
            ends.dst === replay.tuple.remote &&
            (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN
          );
        });
        if (syn !== undefined) {
          const synAt = formatRelativeSeconds(timeOfArrow(syn));
          const label =
            syn.retransmission === undefined &&
            !context.model.arrows.some((a) => a !== syn && a.retransmission !== undefined && a.from === syn.from && a.segment.seq === syn.segment.seq)
              ? 'SYN'
              : 'SYN #1';
          return { text: { en: `connect() at ${at}, ${label} at ${synAt}`, zh: `connect() 调用于 ${at}，${label} 于 ${synAt} 发出` }, arrowId: syn.id };
        }
      }
      return { text: { en: `${cause.op}() at ${at}`, zh: `${cause.op}() 调用于 ${at}` } };
    }
    case 'timer': {
      if (cause.name.startsWith('connect()')) return { text: { en: `${cause.name} at ${at}`, zh: `${cause.name}，${at}` } };
      // The replay's expiry is a nominal prediction; the observed moment is the line's own time.
      return { text: { en: `timer: ${cause.name}`, zh: `定时器：${TIMER_NAMES_ZH[cause.name] ?? cause.name}` } };
    }
    case 'icmp': {
      const [en, zh] = [describeIcmp(cause.type, cause.code, cause.family, 'en'), describeIcmp(cause.type, cause.code, cause.family, 'zh')];
      return { text: { en: `received ${en} at ${at} (frame #${cause.frame})`, zh: `${at} 收到 ${zh}（第 ${cause.frame} 帧）` } };
    }
    default:
      return assertNever(cause);
  }
}
