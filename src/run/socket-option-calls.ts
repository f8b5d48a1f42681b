import type { SocketOptionCall } from '../agent/protocol.js';
import type { SocketOptions } from '../lab/model.js';

/**
 * The setsockopt(2) calls that make a lab's `options`, in the order the worker makes them: SO_REUSEADDR and
 * SO_REUSEPORT first (they must precede bind(2)), SO_KEEPALIVE before its TCP_KEEP* parameters, then the rest.
 * Values are in the kernel's units: TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_DEFER_ACCEPT / SO_LINGER in seconds,
 * TCP_USER_TIMEOUT in milliseconds, buffers and TCP_MAXSEG in bytes, booleans as 0/1. Absent options make
 * no call at all (the kernel default stays). Pure.
 */
export function toSocketOptionCalls(options: SocketOptions | undefined): SocketOptionCall[] {
  if (options === undefined) return [];
  const calls: SocketOptionCall[] = [];
  const flag = (value: boolean): number => (value ? 1 : 0);
  if (options.reuseaddr !== undefined) calls.push({ name: 'SO_REUSEADDR', value: flag(options.reuseaddr) });
  if (options.reuseport !== undefined) calls.push({ name: 'SO_REUSEPORT', value: flag(options.reuseport) });
  const keepalive = options.keepalive;
  if (keepalive !== undefined) {
    calls.push({ name: 'SO_KEEPALIVE', value: flag(keepalive !== false) });
    if (typeof keepalive === 'object') {
      if (keepalive.idleMs !== undefined) calls.push({ name: 'TCP_KEEPIDLE', value: keepalive.idleMs / 1000 });
      if (keepalive.intervalMs !== undefined) calls.push({ name: 'TCP_KEEPINTVL', value: keepalive.intervalMs / 1000 });
      if (keepalive.count !== undefined) calls.push({ name: 'TCP_KEEPCNT', value: keepalive.count });
    }
  }
  if (options.userTimeoutMs !== undefined) calls.push({ name: 'TCP_USER_TIMEOUT', value: options.userTimeoutMs });
  if (options.linger !== undefined) {
    calls.push({ name: 'SO_LINGER', value: options.linger === 'off' ? { onoff: 0, seconds: 0 } : { onoff: 1, seconds: options.linger.seconds } });
  }
  if (options.nodelay !== undefined) calls.push({ name: 'TCP_NODELAY', value: flag(options.nodelay) });
  if (options.deferAcceptMs !== undefined) calls.push({ name: 'TCP_DEFER_ACCEPT', value: options.deferAcceptMs / 1000 });
  if (options.rcvbuf !== undefined) calls.push({ name: 'SO_RCVBUF', value: options.rcvbuf });
  if (options.sndbuf !== undefined) calls.push({ name: 'SO_SNDBUF', value: options.sndbuf });
  if (options.maxseg !== undefined) calls.push({ name: 'TCP_MAXSEG', value: options.maxseg });
  return calls;
}
