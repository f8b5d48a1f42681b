import { z } from 'zod';
import { parseDuration } from './duration.js';
import type { SocketOptions } from './model.js';

/**
 * The `options:` of listen, connect and setsockopt steps: socket options set with setsockopt(2) by the
 * agent's socket worker. Ranges are the kernel's own (6.18):
 * - TCP_KEEPIDLE / TCP_KEEPINTVL take whole seconds 1..32767 (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL) and
 *   TCP_KEEPCNT 1..127 (MAX_TCP_KEEPCNT): net/ipv4/tcp.c do_tcp_setsockopt(), tcp_sock_set_keepidle_locked();
 * - TCP_USER_TIMEOUT takes milliseconds 0..INT_MAX (do_tcp_setsockopt(), negative is EINVAL);
 * - SO_LINGER takes {l_onoff, l_linger} in seconds (net/core/sock.c sk_setsockopt());
 * - TCP_DEFER_ACCEPT takes seconds, turned into a SYN-ACK retransmission count (secs_to_retrans());
 * - SO_RCVBUF / SO_SNDBUF are doubled by the kernel and clamped to [SOCK_MIN_RCVBUF, net.core.rmem_max]
 *   (sk_setsockopt() → __sock_set_rcvbuf()), so the value read back is not the value written;
 * - TCP_MAXSEG accepts 0 or TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (65535), else EINVAL (do_tcp_setsockopt()).
 */

export const MAX_KEEPALIVE_SECONDS = 32_767;
export const MAX_KEEPALIVE_COUNT = 127;
export const MIN_MAXSEG = 88;
export const MAX_MAXSEG = 65_535;
/** INT_MAX / 2: the kernel doubles SO_RCVBUF / SO_SNDBUF in an int. */
export const MAX_SOCKET_BUFFER = 1_073_741_823;
const INT_MAX = 2_147_483_647;

/** A duration (as the lab file writes it) in whole seconds within 1..max, with the option's name in the message. */
function wholeSeconds(option: string, max: number) {
  return z
    .union([z.string(), z.number()])
    .describe(`${option}: a duration in whole seconds, 1s..${max}s (e.g. 2s)`)
    .superRefine((value, ctx) => {
      const parsed = parseDuration(value);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.message });
        return;
      }
      if (parsed.ms % 1000 !== 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${option} is set in whole seconds, received ${parsed.ms} ms; write e.g. ${Math.max(1, Math.round(parsed.ms / 1000))}s`,
        });
      } else if (parsed.ms / 1000 > max) {
        ctx.addIssue({ code: 'custom', message: `${option} is at most ${max}s, received ${parsed.ms / 1000}s; choose a shorter duration` });
      }
    });
}

const millisecondsOption = (option: string) =>
  z
    .union([z.string(), z.number()])
    .describe(`${option}: a duration (e.g. 3s, 500ms), at most ${INT_MAX} ms`)
    .superRefine((value, ctx) => {
      const parsed = parseDuration(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
      else if (!Number.isInteger(parsed.ms)) ctx.addIssue({ code: 'custom', message: `${option} is set in whole milliseconds, received ${parsed.ms} ms` });
    });

const keepaliveSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      idle: wholeSeconds('keepalive idle (TCP_KEEPIDLE)', MAX_KEEPALIVE_SECONDS).optional(),
      interval: wholeSeconds('keepalive interval (TCP_KEEPINTVL)', MAX_KEEPALIVE_SECONDS).optional(),
      count: z.number().int().min(1).max(MAX_KEEPALIVE_COUNT).optional().describe('TCP_KEEPCNT: probes before the connection is dropped, 1..127'),
    }),
  ])
  .describe('SO_KEEPALIVE: true (kernel defaults), false, or { idle, interval, count } for TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT');

const lingerSchema = z
  .union([z.literal('off'), z.string(), z.number()])
  .describe('SO_LINGER: a duration in whole seconds ({1, seconds}: close() waits that long for unsent data), or off ({0, 0}); linger 0 is the abort step')
  .superRefine((value, ctx) => {
    if (value === 'off') return;
    const parsed = parseDuration(value);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: `${parsed.message}; or write off ({0, 0}); for linger 0 (close with RST) use the abort step` });
    } else if (parsed.ms % 1000 !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: `linger (SO_LINGER l_linger) is whole seconds, received ${parsed.ms} ms; write e.g. ${Math.max(1, Math.round(parsed.ms / 1000))}s`,
      });
    }
  });

const bufferSize = (option: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(MAX_SOCKET_BUFFER)
    .describe(`${option} in bytes; the kernel doubles it and clamps it to [SOCK_MIN_RCVBUF, net.core.${option === 'SO_RCVBUF' ? 'rmem' : 'wmem'}_max]`);

const connectionOptionShape = {
  keepalive: keepaliveSchema.optional(),
  user_timeout: millisecondsOption('user_timeout (TCP_USER_TIMEOUT)').optional(),
  linger: lingerSchema.optional(),
  nodelay: z.boolean().optional().describe('TCP_NODELAY: send small segments at once (no Nagle)'),
  rcvbuf: bufferSize('SO_RCVBUF').optional(),
  sndbuf: bufferSize('SO_SNDBUF').optional(),
  maxseg: z.number().int().min(MIN_MAXSEG).max(MAX_MAXSEG).optional().describe('TCP_MAXSEG: MSS clamp in bytes, 88..65535'),
  reuseaddr: z.boolean().optional().describe('SO_REUSEADDR (set before bind; not set at all when absent: the kernel default is off)'),
  reuseport: z.boolean().optional().describe('SO_REUSEPORT (set before bind)'),
};

/** `options` of connect and setsockopt steps. */
export const connectionOptionsSchema = z.strictObject(connectionOptionShape).describe('socket options, each set with setsockopt(2)');

/** `options` of listen steps: those of a connection, plus TCP_DEFER_ACCEPT. */
export const listenOptionsSchema = z
  .strictObject({
    ...connectionOptionShape,
    defer_accept: wholeSeconds('defer_accept (TCP_DEFER_ACCEPT)', MAX_KEEPALIVE_SECONDS).optional(),
  })
  .describe('socket options of the listening socket, set before listen(2); accepted connections inherit most of them');

type OptionsValue = z.output<typeof listenOptionsSchema>;

function ms(value: string | number): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(`socket option: unvalidated duration ${String(value)}`);
  return parsed.ms;
}

/** Maps validated `options` to the model (durations in milliseconds). */
export function toSocketOptions(value: OptionsValue | z.output<typeof connectionOptionsSchema>): SocketOptions {
  const v = value as OptionsValue;
  const keepalive =
    v.keepalive === undefined || typeof v.keepalive === 'boolean'
      ? v.keepalive
      : {
          ...(v.keepalive.idle !== undefined && { idleMs: ms(v.keepalive.idle) }),
          ...(v.keepalive.interval !== undefined && { intervalMs: ms(v.keepalive.interval) }),
          ...(v.keepalive.count !== undefined && { count: v.keepalive.count }),
        };
  return {
    ...(keepalive !== undefined && { keepalive }),
    ...(v.user_timeout !== undefined && { userTimeoutMs: ms(v.user_timeout) }),
    ...(v.linger !== undefined && { linger: v.linger === 'off' ? ('off' as const) : { seconds: ms(v.linger) / 1000 } }),
    ...(v.nodelay !== undefined && { nodelay: v.nodelay }),
    ...(v.defer_accept !== undefined && { deferAcceptMs: ms(v.defer_accept) }),
    ...(v.rcvbuf !== undefined && { rcvbuf: v.rcvbuf }),
    ...(v.sndbuf !== undefined && { sndbuf: v.sndbuf }),
    ...(v.maxseg !== undefined && { maxseg: v.maxseg }),
    ...(v.reuseaddr !== undefined && { reuseaddr: v.reuseaddr }),
    ...(v.reuseport !== undefined && { reuseport: v.reuseport }),
  };
}

/** The options as a short text for `tcplab show` and step descriptions, e.g. `keepalive idle 2s interval 1s count 3, nodelay`. */
export function describeSocketOptions(options: SocketOptions): string {
  const parts: string[] = [];
  const s = (msValue: number): string => `${msValue / 1000}s`;
  if (options.reuseaddr !== undefined) parts.push(`reuseaddr ${options.reuseaddr ? 'on' : 'off'}`);
  if (options.reuseport !== undefined) parts.push(`reuseport ${options.reuseport ? 'on' : 'off'}`);
  if (options.keepalive !== undefined) {
    const k = options.keepalive;
    if (typeof k === 'boolean') parts.push(`keepalive ${k ? 'on' : 'off'}`);
    else
      parts.push(
        [
          'keepalive',
          k.idleMs !== undefined && `idle ${s(k.idleMs)}`,
          k.intervalMs !== undefined && `interval ${s(k.intervalMs)}`,
          k.count !== undefined && `count ${k.count}`,
        ]
          .filter((p) => p !== false)
          .join(' '),
      );
  }
  if (options.userTimeoutMs !== undefined) parts.push(`user_timeout ${options.userTimeoutMs} ms`);
  if (options.linger !== undefined) parts.push(options.linger === 'off' ? 'linger off' : `linger ${options.linger.seconds}s`);
  if (options.nodelay !== undefined) parts.push(`nodelay ${options.nodelay ? 'on' : 'off'}`);
  if (options.deferAcceptMs !== undefined) parts.push(`defer_accept ${s(options.deferAcceptMs)}`);
  if (options.rcvbuf !== undefined) parts.push(`rcvbuf ${options.rcvbuf}`);
  if (options.sndbuf !== undefined) parts.push(`sndbuf ${options.sndbuf}`);
  if (options.maxseg !== undefined) parts.push(`maxseg ${options.maxseg}`);
  return parts.join(', ');
}
