import { join } from 'node:path';
import type { AgentEvent } from '../../../src/agent/protocol.js';
import type { Lab } from '../../../src/lab/model.js';
import { TcpFlag, type TcpSegment } from '../../../src/observe/packet.js';
import { loadRunRecord } from '../../../src/run/load-run.js';
import type { RunHost, RunRecord } from '../../../src/analysis/run-record.js';

export const FIXTURE_RUNS = join(import.meta.dirname, '../../fixtures/runs');

/** Loads a committed run folder (test/fixtures/runs/<name>). */
export function loadFixtureRun(
  name:
    | 'handshake'
    | 'syn-sent'
    | 'fin-wait-1-orphan'
    | 'last-ack-orphan'
    | 'syn-rcvd-late-drop'
    | 'syn-sent-traced'
    | 'fin-wait-2-timeout'
    | 'synack-lost-once'
    | 'fin-lost-then-delivered'
    | 'data-icmp-port-unreachable'
    | 'data-icmp-host-unreachable'
    | 'injected-rst-out-of-window'
    | 'injected-syn-challenge-ack'
    | 'fin-icmp-host-unreachable'
    | 'port-reuse'
    | 'accept-queue-overflow'
    | 'accept-queue-overflow-abort'
    | 'data-retransmit'
    | 'four-way-close-missed-sample'
    | 'old-duplicate-syn'
    | 'host-unreachable'
    | 'handshake-ipv6'
    | 'defer-accept'
    | 'fin-wait-1-early-fire'
    | 'host-unreachable-worker'
    | 'synack-icmp-host-unreachable'
    | 'synack-icmp-port-unreachable'
    | 'nonblocking-connect-refused-retransmit'
    | 'syn-user-timeout'
    | 'keepalive-peer-reset'
    | 'close-behind-shut-window'
    | 'syn-dropped-full-queue'
    | 'host-unreachable-late-icmp'
    | 'synack-icmp-filtered'
    | 'bulk-transfer'
    | 'unlisten-half-open'
    | 'fin-give-up-rto-range'
    | 'accept-queue-overflow-close-connects'
    | 'closing-fin-lost'
    | 'synack-held-dup-syn'
    | 'orphan-data-give-up'
    | 'write-after-peer-close-quick-data'
    | 'bulk-write-give-up'
    | 'syncookies-always'
    | 'tw-bound-no-timestamps'
    | 'fast-retransmit'
    | 'sack-off-recovery'
    | 'fin-data-lost-once'
    | 'closing-fin-lost-deferred'
    | 'both-fins-lost'
    | 'syn-held-long'
    | 'data-held-sender'
    | 'rule-twice'
    | 'syn-sent-timer-expiries',
): Promise<RunRecord> {
  return loadRunRecord(join(FIXTURE_RUNS, name));
}

/** A copy of the record with one host changed. */
export function withHost(run: RunRecord, name: string, change: (host: RunHost) => Partial<RunHost>): RunRecord {
  return { ...run, hosts: run.hosts.map((h) => (h.name === name ? { ...h, ...change(h) } : h)) };
}

/** A copy of the record with these kernel settings overridden on one host. */
export function withSettings(run: RunRecord, name: string, settings: Record<string, string>): RunRecord {
  return withHost(run, name, (h) => ({ kernelSettings: { ...h.kernelSettings, ...settings } }));
}

export const T0_US = 1_800_000_000_000_000;

/** A TCP segment for synthetic records. */
export function segment(frame: number, atMs: number, src: string, dst: string, flags: number, extra: Partial<TcpSegment> = {}): TcpSegment {
  const [srcAddress = '', srcPort = '0'] = src.split(':');
  const [dstAddress = '', dstPort = '0'] = dst.split(':');
  return {
    frame,
    timeUs: T0_US + atMs * 1000,
    family: 4,
    src: srcAddress,
    dst: dstAddress,
    srcPort: Number(srcPort),
    dstPort: Number(dstPort),
    seq: 1000,
    ack: 0,
    flags,
    window: 64240,
    payloadLength: 0,
    ...extra,
  };
}

export const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;
export const FIN_ACK = TcpFlag.FIN | TcpFlag.ACK;

/** A minimal two-host record (client 10.0.0.3, server 10.0.0.2) for timing and replay tests. */
export function syntheticRun(options: {
  steps: Lab['steps'];
  client?: Partial<RunHost>;
  server?: Partial<RunHost>;
  settings?: Record<string, string>;
}): RunRecord {
  const settings = {
    'net.ipv4.tcp_syn_retries': '6',
    'net.ipv4.tcp_syn_linear_timeouts': '4',
    'net.ipv4.tcp_synack_retries': '5',
    'net.ipv4.tcp_orphan_retries': '0',
    'net.ipv4.tcp_retries2': '15',
    'net.ipv4.tcp_fin_timeout': '60',
    'net.ipv4.tcp_rto_max_ms': '120000',
    'net.ipv4.tcp_rto_min_us': '200000',
    'net.ipv4.tcp_rfc1337': '0',
    ...options.settings,
  };
  const host = (name: string, address: string, extra: Partial<RunHost> | undefined): RunHost => ({
    name,
    address,
    events: [],
    segments: [],
    kernelSettings: settings,
    ruleCounters: '',
    ...extra,
  });
  const lab: Lab = {
    name: 'synthetic',
    title: 'synthetic',
    description: '',
    file: '/dev/null',
    hosts: [
      { name: 'server', sysctls: {} },
      { name: 'client', sysctls: {} },
    ],
    steps: options.steps,
    expectations: [],
    timeoutMs: 60_000,
    positions: { steps: [], expectations: [] },
  };
  return {
    lab,
    runId: 'synthetic',
    startedUs: T0_US - 1_000_000,
    hosts: [host('server', '10.0.0.2', options.server), host('client', '10.0.0.3', options.client)],
    steps: [],
  };
}

/** An agent event at `atMs`. */
export function at(atMs: number, event: EventWithoutTime): AgentEvent {
  return { ...event, timeUs: T0_US + atMs * 1000 };
}

type EventWithoutTime = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'timeUs'> : never) : never;
