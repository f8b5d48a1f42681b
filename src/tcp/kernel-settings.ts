import { TCP_SYSCTL_RANGES, type IntegerRange } from './sysctl-ranges.js';
/**
 * The kernel inputs of tcplab's Linux TCP model. Nothing in the model hard-codes these: the defaults
 * below are what a fresh Linux 6.18 network namespace has, each with the place it comes from, and a run
 * passes the values it read from each host (`/proc/sys/net/ipv4/*`) instead.
 */
export interface KernelSettings {
  /** net.ipv4.tcp_syn_retries (or the socket's TCP_SYNCNT): SYN retransmissions of an active open. */
  readonly tcp_syn_retries: number;
  /** net.ipv4.tcp_syn_linear_timeouts (v6.5+; 0 before): SYN RTOs that stay at the initial RTO. */
  readonly tcp_syn_linear_timeouts: number;
  /** net.ipv4.tcp_synack_retries (or the listener's TCP_SYNCNT): SYN-ACK retransmissions of a request. */
  readonly tcp_synack_retries: number;
  /** net.ipv4.tcp_orphan_retries: 0 means 8 while the RTO is below rto_max (tcp_timer.c tcp_orphan_retries()). */
  readonly tcp_orphan_retries: number;
  /** net.ipv4.tcp_retries2: give-up boundary of established data (a time, via tcp_model_timeout()). */
  readonly tcp_retries2: number;
  /** net.ipv4.tcp_fin_timeout, seconds: life of an orphaned FIN_WAIT_2 (tcp_fin_time()). */
  readonly tcp_fin_timeout: number;
  /** net.ipv4.tcp_rto_max_ms (v6.15+; 120000 before): the RTO ceiling, also used by tcp_model_timeout(). */
  readonly tcp_rto_max_ms: number;
  /** net.ipv4.tcp_rfc1337: 1 makes TIME_WAIT ignore RSTs (tcp_minisocks.c tcp_timewait_state_process()). */
  readonly tcp_rfc1337: 0 | 1;
  /** CONFIG_HZ: jiffies per second; sets timer granularity (kernel/time/timer.c). */
  readonly hz: number;
  /** TCP_USER_TIMEOUT of the socket in ms; undefined when not set (0 means not set in the kernel too). */
  readonly userTimeoutMs: number | undefined;
  /** Initial RTO of a SYN / SYN-ACK in ms: tcp_timeout_init() = TCP_TIMEOUT_INIT unless BPF changes it. */
  readonly initialRtoMs: number;
  /** RTO of an established connection in ms (measured, e.g. ss -i `rto:`); undefined when unknown. */
  readonly establishedRtoMs: number | undefined;
}

/** Kernel constants the model uses (include/net/tcp.h, Linux 6.18), in milliseconds. */
export const LINUX_TCP_CONSTANTS = {
  /** TCP_TIMEOUT_INIT (1*HZ): initial RTO of SYN and SYN-ACK. */
  TCP_TIMEOUT_INIT_MS: 1000,
  /** TCP_RTO_MIN (HZ/5): also the base of tcp_model_timeout() outside SYN states. */
  TCP_RTO_MIN_MS: 200,
  /** TCP_RTO_MAX (120*HZ): still the cap of request-socket SYN-ACK timers in 6.18 (reqsk_timeout()). */
  TCP_RTO_MAX_MS: 120_000,
  /** TCP_TIMEWAIT_LEN (60*HZ): TIME_WAIT length; no sysctl changes it. */
  TCP_TIMEWAIT_LEN_MS: 60_000,
  /** RFC 9293 §3.4.2: MSL is 2 minutes, so 2MSL is 4 minutes (what the RFC machine means by start-2msl). */
  RFC_2MSL_MS: 240_000,
} as const;

/** Defaults of a fresh 6.18 network namespace (net/ipv4/tcp_ipv4.c tcp_sk_init()), HZ=250. */
export const DEFAULT_KERNEL_SETTINGS: KernelSettings = {
  tcp_syn_retries: 6, // TCP_SYN_RETRIES, include/net/tcp.h
  tcp_syn_linear_timeouts: 4, // tcp_sk_init(), commit ccce324dabfe (v6.5)
  tcp_synack_retries: 5, // TCP_SYNACK_RETRIES
  tcp_orphan_retries: 0, // tcp_sk_init(): 0, read as 8 by tcp_orphan_retries()
  tcp_retries2: 15, // TCP_RETR2
  tcp_fin_timeout: 60, // TCP_FIN_TIMEOUT = TCP_TIMEWAIT_LEN
  tcp_rto_max_ms: 120_000, // TCP_RTO_MAX_SEC * MSEC_PER_SEC, tcp_sk_init() (v6.15+)
  tcp_rfc1337: 0,
  hz: 250, // CONFIG_HZ_250, the measured machine's value
  userTimeoutMs: undefined,
  initialRtoMs: LINUX_TCP_CONSTANTS.TCP_TIMEOUT_INIT_MS,
  establishedRtoMs: undefined,
};

/** The settings that are integer sysctls (net.ipv4.<name>): the model takes every value the kernel takes (sysctl-ranges.ts). */
export const SYSCTL_SETTINGS = [
  'tcp_syn_retries',
  'tcp_syn_linear_timeouts',
  'tcp_synack_retries',
  'tcp_orphan_retries',
  'tcp_retries2',
  'tcp_fin_timeout',
  'tcp_rto_max_ms',
] as const satisfies readonly (keyof KernelSettings)[];

/** Defaults overlaid with the given values; checks ranges and names the setting that is wrong. */
export function resolveKernelSettings(overrides: Partial<KernelSettings> = {}): KernelSettings {
  const settings: KernelSettings = { ...DEFAULT_KERNEL_SETTINGS, ...overrides };
  const checks: Array<[keyof KernelSettings, boolean, string]> = [
    ...SYSCTL_SETTINGS.map((name): [keyof KernelSettings, boolean, string] => {
      const range = TCP_SYSCTL_RANGES[name] as IntegerRange;
      const value = settings[name];
      return [
        name,
        Number.isInteger(value) && BigInt(value) >= range.min && BigInt(value) <= range.max,
        `an integer ${range.min}..${range.max} (net.ipv4.${name})`,
      ];
    }),
    ['hz', [100, 250, 300, 1000].includes(settings.hz), 'one of 100, 250, 300, 1000 (CONFIG_HZ)'],
    ['initialRtoMs', settings.initialRtoMs > 0, 'a positive number of ms'],
    ['userTimeoutMs', settings.userTimeoutMs === undefined || settings.userTimeoutMs > 0, 'undefined or a positive number of ms'],
    ['establishedRtoMs', settings.establishedRtoMs === undefined || settings.establishedRtoMs > 0, 'undefined or a positive number of ms'],
  ];
  for (const [name, ok, expected] of checks) {
    if (!ok) {
      throw new RangeError(
        `kernel setting ${name}: expected ${expected}, received ${JSON.stringify(settings[name])}; ` + 'fix the value read from the host or given in the lab',
      );
    }
  }
  return settings;
}
