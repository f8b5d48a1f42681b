import type { SocketOptions } from '../lab/model.js';
import type { RunRecord } from './run-record.js';
import { DEFAULT_KEEPALIVE, type KeepaliveConfig } from '../tcp/probe-timing.js';

/*
 * The socket options a connection's timers run under, from the lab's steps (the agent sets exactly these
 * with setsockopt(2)): a connect step's `options` for the connection it names; for an accepted connection,
 * the options of the listen step on its port, which the child inherits (tcp_minisocks.c
 * tcp_create_openreq_child() copies the keepalive setting; icsk_user_timeout is copied with the socket,
 * sk_clone_lock()); then every setsockopt step that acted on the connection (the run record says which),
 * in order. Keepalive `true` (or a keepalive without some value) means the host's sysctls (keepaliveDefaultsOf()).
 */

/** The keepalive and user-timeout a connection had, and which steps set them. */
export interface ConnTimerOptions {
  /** undefined: SO_KEEPALIVE never set (or set false). */
  readonly keepalive: KeepaliveConfig | undefined;
  readonly userTimeoutMs: number | undefined;
  /** Where each came from, in the order applied, for evidence ("connect step 2: keepalive idle 2 s …"). */
  readonly sources: readonly TimerOptionSource[];
}

/** One option a step set: keepalive (its values after the step, undefined when turned off) or TCP_USER_TIMEOUT (0: off). */
export type TimerOptionSource = { readonly step: number; readonly kind: string } & (
  { readonly option: 'keepalive'; readonly keepalive: KeepaliveConfig | undefined } | { readonly option: 'user-timeout'; readonly userTimeoutMs: number }
);

/** The part of a step's `options` the timers read (src/lab/socket-options.ts makes them). */
type TimerOptionsInput = Pick<SocketOptions, 'keepalive' | 'userTimeoutMs'>;

/** The timer options of connection `conn` of `host` (`localPort`: its own port, which names the listener of an accepted one). */
export function connTimerOptions(run: RunRecord, host: string, conn: string, localPort: number | undefined): ConnTimerOptions {
  const defaults = keepaliveDefaultsOf(run.hosts.find((h) => h.name === host)?.kernelSettings ?? {});
  let keepalive: KeepaliveConfig | undefined;
  let userTimeoutMs: number | undefined;
  const sources: TimerOptionSource[] = [];
  const apply = (options: TimerOptionsInput | undefined, where: { step: number; kind: string }): void => {
    if (options === undefined) return;
    if (options.keepalive !== undefined) {
      const k = options.keepalive;
      if (k === false) keepalive = undefined;
      else if (k === true) keepalive = keepalive ?? defaults;
      else {
        const base = keepalive ?? defaults;
        keepalive = { idleMs: k.idleMs ?? base.idleMs, intervalMs: k.intervalMs ?? base.intervalMs, count: k.count ?? base.count };
      }
      sources.push({ ...where, option: 'keepalive', keepalive });
    }
    if (options.userTimeoutMs !== undefined) {
      userTimeoutMs = options.userTimeoutMs === 0 ? undefined : options.userTimeoutMs;
      sources.push({ ...where, option: 'user-timeout', userTimeoutMs: options.userTimeoutMs });
    }
  };
  const accepted = conn.startsWith('accepted-');
  run.lab.steps.forEach((step, index) => {
    if (!('host' in step) || step.host !== host) return;
    const where = { step: index + 1, kind: step.kind };
    if (step.kind === 'connect' && step.conn === conn) apply(step.options, where);
    else if (step.kind === 'listen' && accepted && (localPort === undefined || step.port === localPort)) apply(step.options, where);
    else if (step.kind === 'setsockopt') {
      const acted = run.steps.find((s) => s.index === index)?.conn ?? step.conn;
      if (acted === conn) apply(step.options, where);
    }
  });
  return { keepalive, userTimeoutMs, sources };
}

/**
 * A socket's keepalive values where no TCP_KEEP* option is set: the host's net.ipv4.tcp_keepalive_time (s),
 * tcp_keepalive_intvl (s) and tcp_keepalive_probes (keepalive_time_when(), keepalive_intvl_when(),
 * keepalive_probes() in include/net/tcp.h), else Linux's defaults.
 */
export function keepaliveDefaultsOf(kernelSettings: Readonly<Record<string, string>>): KeepaliveConfig {
  const read = (key: string, scale: number, fallback: number): number => {
    const value = Number(kernelSettings[`net.ipv4.${key}`]);
    return Number.isInteger(value) && value > 0 ? value * scale : fallback;
  };
  return {
    idleMs: read('tcp_keepalive_time', 1000, DEFAULT_KEEPALIVE.idleMs),
    intervalMs: read('tcp_keepalive_intvl', 1000, DEFAULT_KEEPALIVE.intervalMs),
    count: read('tcp_keepalive_probes', 1, DEFAULT_KEEPALIVE.count),
  };
}
