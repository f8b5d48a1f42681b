import { assertNever } from '../../assert-never.js';
import { TcpFlag } from '../../observe/packet.js';
import type { LadderArrow, LadderPhase } from '../ladder-model.js';
import { formatRelativeSeconds } from '../time-format.js';
import { fateOf, line, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

/* Phases: the exchanges the analysis recognised (analysis/segment-trace.ts), told in the seeds' words. */

/** The phases the analysis recognised (handshake, closes, simultaneous open/close), one line each. */
export function describePhases(context: Context): CommentaryLine[] {
  const { model } = context;
  const lines: CommentaryLine[] = [];
  const byId = new Map(model.arrows.map((a) => [a.id, a]));
  for (const phase of model.phases) {
    const first = byId.get(phase.first);
    const last = byId.get(phase.last);
    if (first === undefined || last === undefined) continue;
    const text = describePhase(phase, first, last, model.arrows);
    // The ladder recognises an exchange from the segments sent; say so when its last one never arrived.
    const missed = phase.kind === 'half-open' || phase.kind === 'simultaneous-open' ? undefined : fateOf(last)[0];
    const told =
      missed === undefined
        ? text
        : {
            en: `${text.en}; but its last segment, [${last.flags}] from ${last.from}, was ${missed.en}`,
            zh: `${text.zh}；但最后一个报文段（${last.from} 的 [${last.flags}]）${missed.zh}`,
          };
    lines.push(line(timeOfArrow(last), 'phase', told, { arrowId: last.id }));
  }
  return lines;
}

function describePhase(phase: LadderPhase, first: LadderArrow, last: LadderArrow, arrows: readonly LadderArrow[]): Text {
  const t = formatRelativeSeconds(timeOfArrow(last));
  const done = last.fate.kind === 'delivered' || last.fate.kind === 'unconfirmed';
  const complete = done ? `complete at ${t}` : `not completed (last segment at ${t})`;
  const completeZh = done ? '完成' : '未完成';
  switch (phase.kind) {
    case 'handshake': {
      const synAck = arrows.find(
        (a) =>
          a.from === first.to &&
          (a.segment.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK) &&
          a.segment.ack === (first.segment.seq + 1) >>> 0,
      );
      const numbers =
        synAck === undefined
          ? { en: '', zh: '' }
          : {
              en: ` (${first.from} ISN ${first.segment.seq}, SYN-ACK ack ${synAck.segment.ack}; ${synAck.from} ISN ${synAck.segment.seq}, ACK ack ${last.segment.ack})`,
              zh: `（${first.from} 的 ISN ${first.segment.seq}，SYN-ACK 的 ack 为 ${synAck.segment.ack}；${synAck.from} 的 ISN ${synAck.segment.seq}，ACK 的 ack 为 ${last.segment.ack}）`,
            };
      return {
        en: `three-way handshake ${complete}: ack = ISN + 1 on both sides${numbers.en}`,
        zh: `${t} 三次握手${completeZh}：双方的 ack 都等于对方的 ISN + 1${numbers.zh}`,
      };
    }
    case 'simultaneous-open':
      return {
        en: `simultaneous open: both ${first.from} and ${first.to} sent a SYN before receiving the other's (${formatRelativeSeconds(timeOfArrow(first))} … ${t})`,
        zh: `同时打开：${first.from} 与 ${first.to} 都在收到对方的 SYN 之前发出了自己的 SYN（${formatRelativeSeconds(timeOfArrow(first))} … ${t}）`,
      };
    case 'half-open':
      return {
        en: `half-open connection: ${first.to} answered the SYN of ${first.from} with a SYN-ACK, but no final ACK of the handshake was captured (by ${t})`,
        zh: `半连接：${first.to} 用 SYN-ACK 回应了 ${first.from} 的 SYN，但没有抓到三次握手的最后一个 ACK（截至 ${t}）`,
      };
    case 'four-way-close':
      return {
        en: `four-way close ${complete}: ${first.from} sent the first FIN; ${first.to}'s ACK and FIN were separate segments`,
        zh: `${t} 四次挥手${completeZh}：${first.from} 先发出 FIN；${first.to} 的 ACK 和 FIN 分成两个报文段发送`,
      };
    case 'close':
      return {
        en: `connection close ${complete}, in three segments: ${first.from} sent the first FIN; ${first.to}'s ACK rode on its FIN`,
        zh: `${t} 连接关闭${completeZh}，共三个报文段：${first.from} 先发出 FIN；${first.to} 的 ACK 与 FIN 合并在同一个报文段中`,
      };
    case 'simultaneous-close':
      return {
        en: `simultaneous close ${complete}: ${first.from} and ${first.to} each sent a FIN before receiving the other's`,
        zh: `${t} 同时关闭${completeZh}：${first.from} 与 ${first.to} 都在收到对方的 FIN 之前发出了自己的 FIN`,
      };
    default:
      return assertNever(phase.kind);
  }
}
