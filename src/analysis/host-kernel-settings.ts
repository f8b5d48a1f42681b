import { SYSCTL_SETTINGS, type KernelSettings } from '../tcp/kernel-settings.js';
import type { RunHost } from './run-record.js';

/**
 * The timing model's kernel inputs as one host recorded them (`kernel-settings.json`, read from the
 * host's network namespace after deployment). Settings the host did not record are listed in
 * `missing` so a check can say so instead of silently using a default.
 */
export interface HostKernelSettings {
  readonly settings: Partial<KernelSettings>;
  /** Sysctl names that a model input needs but the run folder does not have. */
  readonly missing: readonly string[];
  /** tcp_rto_min in ms (net.ipv4.tcp_rto_min_us, 6.11+), when recorded. */
  readonly rtoMinMs: number | undefined;
}

/** Reads a host's recorded `net.ipv4.tcp_*` values into KernelSettings fields (HZ is not recorded: the model's default). */
export function readHostKernelSettings(host: Pick<RunHost, 'kernelSettings'>): HostKernelSettings {
  const settings: { -readonly [K in keyof KernelSettings]?: KernelSettings[K] } = {};
  const missing: string[] = [];
  for (const name of SYSCTL_SETTINGS) {
    const raw = host.kernelSettings[`net.ipv4.${name}`];
    const value = raw === undefined ? Number.NaN : Number(raw.trim());
    if (Number.isInteger(value)) settings[name] = value;
    else missing.push(`net.ipv4.${name}`);
  }
  const rfc1337 = host.kernelSettings['net.ipv4.tcp_rfc1337'];
  if (rfc1337 === '1' || rfc1337 === '0') settings.tcp_rfc1337 = rfc1337 === '1' ? 1 : 0;
  const rtoMinUs = Number(host.kernelSettings['net.ipv4.tcp_rto_min_us'] ?? Number.NaN);
  return { settings, missing, rtoMinMs: Number.isFinite(rtoMinUs) && rtoMinUs > 0 ? rtoMinUs / 1000 : undefined };
}

/** The sysctls among `needed` that the host did not record (empty when all are there). */
export function missingSettings(host: HostKernelSettings, needed: readonly (typeof SYSCTL_SETTINGS)[number][]): string[] {
  return needed.map((name) => `net.ipv4.${name}`).filter((name) => host.missing.includes(name));
}
