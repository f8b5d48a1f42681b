import { findConnTuple, segmentEndpoints } from '../../analysis/run-sockets.js';
import { assertNever } from '../../assert-never.js';
import { TcpFlag } from '../../observe/packet.js';
import { formatRelativeSeconds } from '../time-format.js';
import { line, timeOfArrow, type CommentaryLine, type Context, type Text } from './commentary-text.js';

/* Application events: what each host's agent reported, told with the segments that explain them. */

/** How long before an application error its RST may have arrived (agent timestamps come after the kernel's). */
const RST_BEFORE_ERROR_US = 5_000;

/** What the applications saw: connects, accepts, end of stream, errors (with the RST that caused one). */
export function describeApplication(context: Context, handledErrors: Set<unknown>): CommentaryLine[] {
  const { record, model, rel } = context;
  const lines: CommentaryLine[] = [];
  for (const host of record.hosts) {
    for (const event of host.events) {
      const t = formatRelativeSeconds(rel(event.timeUs));
      switch (event.type) {
        case 'connected':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `connect() of ${host.name}/${event.conn} succeeds at ${t} (${event.local} → ${event.remote})`,
              zh: `${host.name}/${event.conn} 的 connect() 在 ${t} 成功返回（${event.local} → ${event.remote}）`,
            }),
          );
          break;
        case 'connect-returned': {
          // Told only for a lab whose application uses a nonblocking socket: a blocking connect() returns with its outcome.
          const nonblocking = record.lab.steps.some((s) => s.kind === 'connect' && s.host === host.name && s.conn === event.conn && s.nonblocking);
          if (!nonblocking) break;
          const returned = event.errno === 'ok' ? '0' : `-1 with errno ${event.errno}`;
          const why =
            event.errno === 'EINPROGRESS'
              ? { en: ': the SYN is on its way, the handshake goes on in the kernel', zh: '：SYN 已发出，握手在内核中继续' }
              : { en: '', zh: '' };
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `the nonblocking connect() of ${host.name}/${event.conn} returns ${returned} at ${t}${why.en}`,
              zh: `${host.name}/${event.conn} 的非阻塞 connect() 在 ${t} 立即返回 ${returned}${why.zh}`,
            }),
          );
          break;
        }
        case 'options-set': {
          const set = event.options.map((o) => `${o.name}=${formatOptionValue(o.readBack)}`).join(', ');
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name} sets ${set} on ${event.conn} at ${t} (values read back with getsockopt)`,
              zh: `${host.name} 在 ${t} 对 ${event.conn} 设置 ${set}（getsockopt 读回的值）`,
            }),
          );
          break;
        }
        case 'accepted':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name} accepts connection ${event.conn} from ${event.remote} at ${t}`,
              zh: `${host.name} 在 ${t} 通过 accept() 得到连接 ${event.conn}（来自 ${event.remote}）`,
            }),
          );
          break;
        case 'end':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name}/${event.conn} reads end of stream at ${t}: the peer's FIN has arrived`,
              zh: `${host.name}/${event.conn} 在 ${t} 读到流结束：对端的 FIN 已经到达`,
            }),
          );
          break;
        case 'error': {
          if (handledErrors.has(event)) break;
          const who = `${host.name}/${event.conn}`;
          const call = event.syscall === undefined ? 'the socket' : `${event.syscall}()`;
          const callZh = event.syscall === undefined ? '套接字' : `${event.syscall}()`;
          const tuple = findConnTuple(host.events, event.conn);
          const rst = [...model.arrows]
            .reverse()
            .find(
              (a) =>
                a.to === host.name &&
                (a.segment.flags & TcpFlag.RST) !== 0 &&
                (a.arriveUs ?? timeOfArrow(a)) <= rel(event.timeUs) + RST_BEFORE_ERROR_US &&
                (tuple === undefined || (segmentEndpoints(a.segment).dst === tuple.local && segmentEndpoints(a.segment).src === tuple.remote)),
            );
          const rstText: Text =
            rst === undefined
              ? { en: '', zh: '' }
              : {
                  en: ` (the RST arrived at ${formatRelativeSeconds(rst.arriveUs ?? timeOfArrow(rst))})`,
                  zh: `（RST 于 ${formatRelativeSeconds(rst.arriveUs ?? timeOfArrow(rst))} 到达）`,
                };
          let text: Text;
          switch (event.code) {
            case 'ETIMEDOUT':
              text = { en: `${call} of ${who} failed with ETIMEDOUT at ${t} (timed out)`, zh: `${who} 的 ${callZh} 在 ${t} 以 ETIMEDOUT 失败（超时）` };
              break;
            case 'ECONNREFUSED':
              text = {
                en: `${call} of ${who} failed with ECONNREFUSED at ${t}: the SYN was answered with a RST${rstText.en}`,
                zh: `${who} 的 ${callZh} 在 ${t} 以 ECONNREFUSED 失败（连接被拒绝）：SYN 得到的回应是 RST${rstText.zh}`,
              };
              break;
            case 'ECONNRESET':
              text = {
                en: `${call} of ${who} failed with ECONNRESET at ${t}: the connection was reset by a RST${rstText.en}`,
                zh: `${who} 的 ${callZh} 在 ${t} 以 ECONNRESET 失败（连接被重置）：收到了 RST${rstText.zh}`,
              };
              break;
            default:
              text = {
                en: `${call} of ${who} failed with ${event.code} at ${t}: ${event.message}`,
                zh: `${who} 的 ${callZh} 在 ${t} 以 ${event.code} 失败：${event.message}`,
              };
          }
          lines.push(line(rel(event.timeUs), 'application', text, { arrowId: rst?.id }));
          break;
        }
        case 'fatal':
          lines.push(
            line(rel(event.timeUs), 'application', {
              en: `${host.name}'s agent reported a problem at ${t}: ${event.message}`,
              zh: `${host.name} 的代理程序在 ${t} 报告问题：${event.message}`,
            }),
          );
          break;
        case 'listening':
        case 'sent':
        case 'closed':
        case 'data':
        case 'socket':
        case 'socket-gone':
        case 'ready':
        case 'reply':
        case 'netstat':
          break;
        default:
          assertNever(event);
      }
    }
  }
  return lines;
}

function formatOptionValue(value: number | { onoff: number; seconds: number }): string {
  return typeof value === 'number' ? String(value) : `{${value.onoff}, ${value.seconds}}`;
}
