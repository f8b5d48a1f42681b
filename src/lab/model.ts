import type { TcpState } from '../tcp/state.js';

/**
 * The Lab model: what a validated lab file means, independent of YAML and of Docker.
 * Immutable by convention (built once by loadLab, never mutated afterwards).
 */
export interface Lab {
  /** Lab name (file name without .yaml unless `name:` says otherwise). */
  readonly name: string;
  readonly title: string;
  /** Narrative paragraphs: what to look at and why, in English; `zh` holds the Chinese version when given. */
  readonly description: string;
  readonly descriptionZh?: string;
  /** Where in the seed articles this experiment comes from, e.g. "seed 000 §二(四)". */
  readonly source?: string;
  /** Absolute path of the file it was loaded from. */
  readonly file: string;
  /** The file as the user named it (relative where given relative; `labs/x.yaml` for the catalog), set by the CLI: checks name it. */
  readonly sourceFile?: string;
  /** Hosts in declaration order; addresses are assigned in this order by the runtime. */
  readonly hosts: readonly LabHost[];
  readonly steps: readonly Step[];
  readonly expectations: readonly Expectation[];
  /** Upper bound for the whole run; the run is aborted (and cleaned up) after it. */
  readonly timeoutMs: number;
  /** Source position of each step / expectation (same index), for messages. */
  readonly positions: { readonly steps: readonly SourcePos[]; readonly expectations: readonly SourcePos[] };
}

export interface SourcePos {
  readonly line: number;
  readonly col: number;
}

export interface LabHost {
  readonly name: string;
  /** net.* sysctls applied at container creation (per network namespace). Values as strings. */
  readonly sysctls: Readonly<Record<string, string>>;
}

/** A duration in milliseconds. Lab files write `500ms`, `2s`, `1.5s` or a bare number of seconds. */
export type Millis = number;

export type AgentEventKind = 'listening' | 'accepted' | 'connected' | 'error' | 'end' | 'closed' | 'data';

export type Step =
  | { readonly kind: 'listen'; readonly host: string; readonly port: number; readonly backlog?: number; readonly accept: boolean }
  | {
      readonly kind: 'connect';
      readonly host: string;
      readonly to: string;
      readonly port: number;
      readonly localPort?: number;
      /** Connection name used by later steps and expectations; defaults to `conn`. */
      readonly conn: string;
      /** Address family of the connection: 4 (also when absent) connects to the peer's IPv4 address, 6 to its IPv6 address. YAML: `family: 6`. */
      readonly family?: IpFamily;
    }
  | { readonly kind: 'send'; readonly host: string; readonly conn?: string; readonly bytes: number }
  | { readonly kind: 'shutdown'; readonly host: string; readonly conn?: string }
  | { readonly kind: 'close'; readonly host: string; readonly conn?: string }
  /** Armed now, close(2) done by the agent the moment the peer's FIN arrives (the seed's server that closes on read() == 0). YAML: `close: { …, on_fin: true }`. */
  | { readonly kind: 'close-on-fin'; readonly host: string; readonly conn?: string }
  | { readonly kind: 'abort'; readonly host: string; readonly conn?: string }
  | {
      readonly kind: 'rule';
      readonly host: string;
      /** Rule name, for `unrule` and for counters; defaults to `rule<N>` (1-based over the lab's rules). */
      readonly name: string;
      /** The rule as the user wrote it, e.g. `-I INPUT -p tcp --dport 8888 -j DROP`. */
      readonly text: string;
      /** 4 (also when absent): the rule goes through iptables; 6: through ip6tables, host names standing for IPv6 addresses. YAML: `family: 6`. */
      readonly family?: IpFamily;
    }
  | { readonly kind: 'unrule'; readonly host: string; readonly name: string }
  | { readonly kind: 'wait-state'; readonly host: string; readonly state: TcpState; readonly conn?: string; readonly port?: number; readonly timeoutMs: Millis }
  | { readonly kind: 'wait-event'; readonly host: string; readonly event: AgentEventKind; readonly conn?: string; readonly timeoutMs: Millis }
  | { readonly kind: 'wait-gone'; readonly host: string; readonly conn?: string; readonly port?: number; readonly timeoutMs: Millis }
  | { readonly kind: 'sleep'; readonly durationMs: Millis }
  /** Queue everything `host` sends (not drop it) until a `release` step on that host; see src/run/hold-egress.ts. */
  | { readonly kind: 'hold'; readonly host: string }
  /** Send what `hold` queued on `host`, oldest first, and stop holding. */
  | { readonly kind: 'release'; readonly host: string }
  /** SYNs to `to:port` from `sources` forged, unused addresses of the lab's own /24, `countPerSource` each (src/run/syn-flood.ts). */
  | { readonly kind: 'flood'; readonly host: string; readonly to: string; readonly port: number; readonly sources: number; readonly countPerSource: number };

export type StepKind = Step['kind'];

/** An IP version: 4 or 6. */
export type IpFamily = 4 | 6;

/** The family of a connect or rule step: its `family`, 4 when absent (labs and run folders from before IPv6). */
export function familyOf(step: { readonly family?: IpFamily }): IpFamily {
  return step.family ?? 4;
}

/**
 * True when the lab needs IPv6: a connect or a rule says `family: 6`. Only such labs get a dual-stack
 * network and IPv6 turned on in their containers (router solicitations and MLD reports would
 * otherwise fill every IPv4 lab's capture); the rule is here, in one place.
 */
export function labUsesIpv6(lab: Pick<Lab, 'steps'>): boolean {
  return lab.steps.some((step) => (step.kind === 'connect' || step.kind === 'rule') && step.family === 6);
}

/** What the connection attempt `conn` on `host` must end in. */
export type ConnectOutcome = 'connected' | 'ETIMEDOUT' | 'ECONNREFUSED' | 'ECONNRESET' | 'EHOSTUNREACH';

export type Expectation =
  /** `host` must reach these states in this order (other states may come between). */
  | { readonly kind: 'states'; readonly host: string; readonly path: readonly TcpState[]; readonly port?: number }
  /** `host` must never be seen in any of these states. */
  | { readonly kind: 'never'; readonly host: string; readonly states: readonly TcpState[]; readonly port?: number }
  | { readonly kind: 'outcome'; readonly host: string; readonly conn: string; readonly is: ConnectOutcome }
  /**
   * Count of captured segments from → to whose flags equal `flags` exactly (tcpdump letters, e.g. `S`, `S.`, `F.`, `R.`),
   * or, with a trailing `*` (`R*`), whose flags include all of those letters (any segment with RST set).
   */
  | {
      readonly kind: 'packets';
      readonly from: string;
      readonly to: string;
      readonly flags: string;
      readonly count?: number;
      readonly min?: number;
      readonly max?: number;
      /** All matching segments must carry the same sequence number (retransmissions). */
      readonly sameSeq?: boolean;
    }
  /** Three-way handshake between these hosts with ack = peer ISN + 1 on both sides (absolute numbers). */
  | { readonly kind: 'handshake'; readonly client: string; readonly server: string }
  /** SYN retransmission times of `conn` and the moment connect() fails match the Linux timing model for the host's settings. */
  | { readonly kind: 'syn-retransmits'; readonly host: string; readonly conn?: string }
  /** SYN-ACK retransmission times of a request on `port` and its silent drop match the Linux timing model. */
  | { readonly kind: 'synack-retransmits'; readonly host: string; readonly port?: number }
  /** FIN retransmissions of orphaned FIN_WAIT_1 `conn`, its destruction time, and no RST, match the Linux timing model. */
  | { readonly kind: 'fin-retransmits'; readonly host: string; readonly conn?: string }
  /** Retransmission times of `conn`'s first unacknowledged data segment and its give-up (ETIMEDOUT) match the Linux timing model. */
  | { readonly kind: 'data-retransmits'; readonly host: string; readonly conn?: string }
  /** When a socket of `host` is first sampled in `state`, its /proc/net/tcp timer reads `aboutMs` ± `withinMs` (src/verify/timer-checks.ts). */
  | { readonly kind: 'timer'; readonly host: string; readonly state: TcpState; readonly port?: number; readonly aboutMs: number; readonly withinMs: number }
  /** The error the application saw on a connection (connected or accepted), or `none`. */
  | { readonly kind: 'error'; readonly host: string; readonly conn: string; readonly is: SocketErrorCode }
  /** How many sockets of `host` were in `state` at once, at the peak of the samples. */
  | { readonly kind: 'sockets'; readonly host: string; readonly state: TcpState; readonly port?: number; readonly min?: number; readonly max?: number };

/** Errors a socket can report to the application in these labs; `none` claims there was none. */
export type SocketErrorCode = 'none' | 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EPIPE' | 'EHOSTUNREACH';

export type ExpectationKind = Expectation['kind'];
