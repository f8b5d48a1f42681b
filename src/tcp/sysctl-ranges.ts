/*
 * The bounds of the integer net.ipv4.tcp_* sysctls, from the kernel source net/ipv4/sysctl_net_ipv4.c
 * (ipv4_net_table[], Linux 6.18): what a lab may set (src/lab/kernel-sysctls.ts) and what the timing model
 * accepts (src/tcp/kernel-settings.ts), so that nothing the kernel takes is refused by the model later.
 * proc_dou8vec_minmax takes 0-255 unless extra1/extra2 narrow it; proc_dointvec a C int; proc_douintvec
 * 0-UINT_MAX; proc_dointvec_jiffies seconds up to INT_MAX/HZ (kernel/sysctl.c), bound here with HZ=1000,
 * the largest: at most 2147483 s.
 */

export type IntegerRange = { readonly min: bigint; readonly max: bigint; readonly count?: number };

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const UINT_MAX = 2n ** 32n - 1n;
const ULONG_MAX = 2n ** 64n - 1n;
const HZ_MAX = 1000n;
/** MAX_TCP_SYNCNT (include/net/tcp.h). */
const MAX_TCP_SYNCNT = 127n;

const u8 = (min = 0n, max = 255n): IntegerRange => ({ min, max });
const int = (min = INT_MIN, max = INT_MAX): IntegerRange => ({ min, max });
const jiffies = (): IntegerRange => ({ min: INT_MIN / HZ_MAX, max: INT_MAX / HZ_MAX });
const uint = (min = 0n, max = UINT_MAX): IntegerRange => ({ min, max });

/**
 * Bounds of the per-namespace integer net.ipv4.tcp_* sysctls (net/ipv4/sysctl_net_ipv4.c, ipv4_net_table[]);
 * key without `net.ipv4.`. A few (tcp_comp_sack_rtt_percent, tcp_rcvbuf_low_rtt) are newer than 6.18: a
 * kernel without them is caught by the existence check first.
 */
export const TCP_SYSCTL_RANGES: Readonly<Record<string, IntegerRange>> = {
  tcp_abort_on_overflow: u8(),
  tcp_adv_win_scale: int(-31n, 31n), // tcp_adv_win_scale_min/max
  tcp_app_win: u8(0n, 31n), // tcp_app_win_max
  tcp_autocorking: u8(0n, 1n),
  tcp_backlog_ack_defer: u8(0n, 1n),
  tcp_base_mss: int(),
  tcp_challenge_ack_limit: int(),
  tcp_child_ehash_entries: uint(0n, 16n * 1024n * 1024n), // tcp_child_ehash_entries_max
  tcp_comp_sack_delay_ns: { min: 0n, max: ULONG_MAX },
  tcp_comp_sack_nr: u8(),
  tcp_comp_sack_rtt_percent: int(1n, 1000n),
  tcp_comp_sack_slack_ns: { min: 0n, max: ULONG_MAX },
  tcp_dsack: u8(),
  tcp_early_demux: u8(),
  tcp_early_retrans: u8(0n, 4n),
  tcp_ecn: u8(0n, 5n), // tcp_ecn_mode_max
  tcp_ecn_fallback: u8(0n, 1n),
  tcp_ecn_option: u8(0n, 3n),
  tcp_ecn_option_beacon: u8(0n, 3n),
  tcp_fack: u8(),
  tcp_fastopen: int(),
  tcp_fastopen_blackhole_timeout_sec: int(0n),
  tcp_fin_timeout: jiffies(),
  tcp_frto: u8(),
  tcp_fwmark_accept: u8(),
  tcp_invalid_ratelimit: int(),
  tcp_keepalive_intvl: jiffies(),
  tcp_keepalive_probes: u8(),
  tcp_keepalive_time: jiffies(),
  tcp_l3mdev_accept: u8(0n, 1n),
  tcp_limit_output_bytes: int(),
  tcp_max_reordering: int(),
  tcp_max_syn_backlog: int(),
  tcp_max_tw_buckets: int(),
  tcp_migrate_req: u8(0n, 1n),
  tcp_min_rtt_wlen: int(0n, 24n * 3600n), // one_day_secs
  tcp_min_snd_mss: int(48n, 65535n), // TCP_MIN_SND_MSS .. 65535
  tcp_min_tso_segs: u8(1n),
  tcp_moderate_rcvbuf: u8(),
  tcp_mtu_probe_floor: int(48n, 65535n),
  tcp_mtu_probing: u8(),
  tcp_no_metrics_save: u8(),
  tcp_no_ssthresh_metrics_save: u8(0n, 1n),
  tcp_notsent_lowat: uint(),
  tcp_orphan_retries: u8(),
  tcp_pacing_ca_ratio: int(0n, 1000n),
  tcp_pacing_ss_ratio: int(0n, 1000n),
  tcp_pingpong_thresh: u8(1n),
  tcp_plb_cong_thresh: int(0n, 256n),
  tcp_plb_enabled: u8(0n, 1n),
  tcp_plb_idle_rehash_rounds: u8(0n, 31n),
  tcp_plb_rehash_rounds: u8(0n, 31n),
  tcp_plb_suspend_rto_sec: u8(),
  tcp_probe_interval: uint(0n, UINT_MAX / HZ_MAX), // u32_max_div_HZ
  tcp_probe_threshold: int(),
  tcp_rcvbuf_low_rtt: int(0n),
  tcp_recovery: u8(),
  tcp_reflect_tos: u8(0n, 1n),
  tcp_reordering: int(),
  tcp_retrans_collapse: u8(),
  tcp_retries1: u8(0n, 255n), // tcp_retr1_max
  tcp_retries2: u8(),
  tcp_rfc1337: u8(),
  tcp_rmem: { min: 1n, max: INT_MAX, count: 3 },
  tcp_rto_max_ms: int(1000n, 120_000n), // TCP_RTO_MAX_SEC * MSEC_PER_SEC
  tcp_rto_min_us: int(1n),
  tcp_sack: u8(),
  tcp_shrink_window: u8(0n, 1n),
  tcp_slow_start_after_idle: u8(),
  tcp_stdurg: u8(),
  tcp_syn_linear_timeouts: u8(0n, MAX_TCP_SYNCNT),
  tcp_syn_retries: u8(1n, MAX_TCP_SYNCNT), // tcp_syn_retries_min/max
  tcp_synack_retries: u8(),
  tcp_syncookies: u8(),
  tcp_thin_linear_timeouts: u8(),
  tcp_timestamps: u8(),
  tcp_tso_rtt_log: u8(),
  tcp_tso_win_divisor: u8(),
  tcp_tw_reuse: u8(0n, 2n),
  tcp_tw_reuse_delay: uint(1n, 60_000n), // TCP_PAWS_MSL * MSEC_PER_SEC
  tcp_window_scaling: u8(),
  tcp_wmem: { min: 1n, max: INT_MAX, count: 3 },
  tcp_workaround_signed_windows: u8(),
};
