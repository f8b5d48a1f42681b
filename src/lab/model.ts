import type { TcpState } from '../tcp/state.js';
import type { ErrnoName } from './errno-names.js';

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
  /** The classroom exercise of the lab file's `exercise:` section (questions students answer before the run), when it has one. */
  readonly exercise?: Exercise;
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

export type AgentEventKind = 'listening' | 'accepted' | 'connected' | 'connect-returned' | 'error' | 'end' | 'closed' | 'data';

/** Socket options of a listen, connect or setsockopt step (src/lab/socket-options.ts); absent ones are not set at all. */
export interface SocketOptions {
  /** SO_KEEPALIVE: true/false, or on with TCP_KEEPIDLE / TCP_KEEPINTVL (whole seconds, in ms here) / TCP_KEEPCNT. */
  readonly keepalive?: boolean | { readonly idleMs?: Millis; readonly intervalMs?: Millis; readonly count?: number };
  /** TCP_USER_TIMEOUT. */
  readonly userTimeoutMs?: Millis;
  /** SO_LINGER: {1, seconds}, or `off` = {0, 0}. */
  readonly linger?: 'off' | { readonly seconds: number };
  readonly nodelay?: boolean;
  /** TCP_DEFER_ACCEPT (listen only; whole seconds, in ms here). */
  readonly deferAcceptMs?: Millis;
  readonly rcvbuf?: number;
  readonly sndbuf?: number;
  readonly maxseg?: number;
  readonly reuseaddr?: boolean;
  readonly reuseport?: boolean;
}

export type Step =
  | {
      readonly kind: 'listen';
      readonly host: string;
      readonly port: number;
      readonly backlog?: number;
      readonly accept: boolean;
      /** Set on the listening socket before bind/listen(2). */
      readonly options?: SocketOptions;
    }
  | {
      readonly kind: 'connect';
      readonly host: string;
      readonly to: string;
      readonly port: number;
      readonly localPort?: number;
      /** Connection name used by later steps and expectations; defaults to `conn`. */
      readonly conn: string;
      /** Set before bind and connect(2). */
      readonly options?: SocketOptions;
      /** Report connect(2)'s own return (EINPROGRESS) as a `connect-returned` event: the lab's application uses a nonblocking socket. */
      readonly nonblocking?: boolean;
      /** Address family of the connection: 4 (also when absent) connects to the peer's IPv4 address, 6 to its IPv6 address. YAML: `family: 6`. */
      readonly family?: IpFamily;
    }
  /** setsockopt(2) on an existing connection (its `conn`, else the host's latest one). */
  | { readonly kind: 'setsockopt'; readonly host: string; readonly conn?: string; readonly options: SocketOptions }
  /** Stop reading the connection: the receive queue fills and the advertised window shrinks to 0. */
  | { readonly kind: 'pause'; readonly host: string; readonly conn?: string }
  /** Read the connection again (what queued up is read at once). */
  | { readonly kind: 'resume'; readonly host: string; readonly conn?: string }
  /** accept(2) one connection from the queue of the listener on `port` (made with accept: false); named accepted-N. */
  | { readonly kind: 'accept'; readonly host: string; readonly port: number }
  /** close(2) the listening socket on `port` (connections still in its accept queue are reset: inet_csk_listen_stop()). */
  | { readonly kind: 'unlisten'; readonly host: string; readonly port: number }
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
  | { readonly kind: 'flood'; readonly host: string; readonly to: string; readonly port: number; readonly sources: number; readonly countPerSource: number }
  /**
   * One crafted TCP segment from `host`'s own address and `fromPort` to lab host `to`:`port` (src/run/inject-segment.ts), with
   * these tcpdump flag letters (`none` for no flag), sequence and acknowledgment numbers, window and `bytes` of payload.
   * No socket of `host` sends it: the analysis gives it the origin "injected" (src/analysis/injected-segments.ts).
   */
  | {
      readonly kind: 'inject';
      readonly host: string;
      readonly to: string;
      readonly port: number;
      readonly fromPort: number;
      readonly flags: string;
      readonly seq: number;
      readonly ack: number;
      readonly window: number;
      readonly bytes: number;
    };

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

/** What a nonblocking connect(2) can return at once (net/ipv4/af_inet.c __inet_stream_connect(), tcp_v4_connect()); `ok` is 0. */
export type ConnectReturn = 'ok' | (typeof CONNECT_RETURN_ERRNOS)[number];
export const CONNECT_RETURN_ERRNOS = [
  'EINPROGRESS',
  'EALREADY',
  'EISCONN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
  'EACCES',
  'EPERM',
  'EAGAIN',
  'EINVAL',
  'EAFNOSUPPORT',
  'ETIMEDOUT',
] as const satisfies readonly ErrnoName[];

/** What the connection attempt `conn` on `host` must end in: connected, or any errno the kernel can return (errno-names.ts). */
export type ConnectOutcome = 'connected' | ErrnoName;

export type Expectation =
  /** `host` must reach these states in this order (other states may come between). */
  | { readonly kind: 'states'; readonly host: string; readonly path: readonly TcpState[]; readonly port?: number; readonly conn?: string }
  /** `host` must never be seen in any of these states. */
  | { readonly kind: 'never'; readonly host: string; readonly states: readonly TcpState[]; readonly port?: number; readonly conn?: string }
  | { readonly kind: 'outcome'; readonly host: string; readonly conn: string; readonly is: ConnectOutcome }
  /** What the nonblocking connect(2) of `conn` itself returned: `ok` (0) or an errno name such as EINPROGRESS. YAML: `returned:`. */
  | { readonly kind: 'connect-returned'; readonly host: string; readonly conn: string; readonly is: ConnectReturn }
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
      /** Only segments with this port at either end. */
      readonly port?: number;
    }
  /** Three-way handshake between these hosts with ack = peer ISN + 1 on both sides (absolute numbers). */
  | { readonly kind: 'handshake'; readonly client: string; readonly server: string }
  /** SYN retransmission times of `conn` and the moment connect() fails match the Linux timing model for the host's settings. */
  | { readonly kind: 'syn-retransmits'; readonly host: string; readonly conn?: string }
  /** SYN-ACK retransmission times of a request on `port` and its silent drop match the Linux timing model. */
  | { readonly kind: 'synack-retransmits'; readonly host: string; readonly port?: number }
  /** FIN retransmissions of orphaned `conn` and its destruction without a RST — or the ACK that stops them — match the Linux timing model. */
  | { readonly kind: 'fin-retransmits'; readonly host: string; readonly conn?: string }
  /** Retransmission times of `conn`'s first unacknowledged data segment and its give-up (ETIMEDOUT) — or the ACK that stops them — match the Linux timing model. */
  | { readonly kind: 'data-retransmits'; readonly host: string; readonly conn?: string }
  /** Keepalive probes of a connection and the give-up (RST, ETIMEDOUT), against the Linux model under the lab's keepalive options. */
  | { readonly kind: 'keepalive-probes'; readonly host: string; readonly conn: string }
  /** Zero-window (persist) probes of a connection and their end, against the Linux model (backoff from the RTO). */
  | { readonly kind: 'persist-probes'; readonly host: string; readonly conn: string }
  /** When a socket of `host` is first sampled in `state`, its /proc/net/tcp timer reads `aboutMs` ± `withinMs` (src/verify/timer-checks.ts). */
  | { readonly kind: 'timer'; readonly host: string; readonly state: TcpState; readonly port?: number; readonly aboutMs: number; readonly withinMs: number }
  /** The error the application saw on a connection (connected or accepted), or `none`. */
  | { readonly kind: 'error'; readonly host: string; readonly conn: string; readonly is: SocketErrorCode }
  /** How many sockets of `host` were in `state` at once, at the peak of the samples. */
  | {
      readonly kind: 'sockets';
      readonly host: string;
      readonly state: TcpState;
      readonly port?: number;
      readonly conn?: string;
      readonly min?: number;
      readonly max?: number;
    }
  /** Bytes the application read (`received`, the agent's data events) or had write() accept (`sent`) on a connection. */
  | ByteCountExpectation<'received'>
  | ByteCountExpectation<'sent'>
  /** Captured ICMP messages from → to (the sender's capture) of this numeric type, and code when given. */
  | {
      readonly kind: 'icmp';
      readonly from: string;
      readonly to: string;
      readonly type: number;
      readonly code?: number;
      readonly count?: number;
      readonly min?: number;
      readonly max?: number;
    }
  /** The accepted connection `conn` of `host` came from host `from` (its peer address is that host's). */
  | { readonly kind: 'accepted'; readonly host: string; readonly conn: string; readonly from: string };

/** `received` or `sent`: a byte count of one connection, exact (`bytes`) or bounded (min/max). */
export interface ByteCountExpectation<K extends 'received' | 'sent'> {
  readonly kind: K;
  readonly host: string;
  readonly conn: string;
  readonly bytes?: number;
  readonly min?: number;
  readonly max?: number;
}

/** An error a socket reported to the application (any errno the kernel can return); `none` claims there was none. */
export type SocketErrorCode = 'none' | ErrnoName;

export type ExpectationKind = Expectation['kind'];

/** A lab's classroom exercise: what students are told before the run, and the questions they answer (src/exercise grades them). */
export interface Exercise {
  /** The setup as students read it (the fault in words, not the rule), in English and Chinese. */
  readonly intro?: string;
  readonly introZh?: string;
  readonly questions: readonly ExerciseQuestion[];
}

/** One question: its prompt, the form of its answer, and where the truth comes from in the run. */
export interface ExerciseQuestion {
  /** Unique in the lab: lower-case letters, digits and -, e.g. `syn-count`. */
  readonly id: string;
  readonly prompt: string;
  readonly promptZh?: string;
  readonly answer: ExerciseAnswerForm;
  readonly truth: TruthSource;
  /** Why the truth is what it is, shown after grading. */
  readonly explain?: string;
  readonly explainZh?: string;
}

/** The form of an answer: a state path, a whole number, a duration within a tolerance, one of some options, or yes/no. */
export type ExerciseAnswerForm =
  | { readonly kind: 'states' }
  | { readonly kind: 'count' }
  | { readonly kind: 'duration'; readonly toleranceMs: Millis }
  | { readonly kind: 'choice'; readonly options: readonly string[] }
  | { readonly kind: 'yes-no' };

export type ExerciseAnswerKind = ExerciseAnswerForm['kind'];

/** Where a question's truth comes from in the observed run (never from a check's text). */
export type TruthSource =
  /** The states `host` (on `port`) passed through, as the run's analysis has them. */
  | { readonly kind: 'states'; readonly host: string; readonly port?: number }
  /** How many segments `from` sent to `to` with exactly these tcpdump flags (or, with `*`, at least them), in the sender's capture. */
  | { readonly kind: 'segments'; readonly from: string; readonly to: string; readonly flags: string }
  /** What connect() of `conn` on `host` ended in (connected, ETIMEDOUT, …). */
  | { readonly kind: 'outcome'; readonly host: string; readonly conn: string }
  /** The error the application saw on `conn`, or none. */
  | { readonly kind: 'error'; readonly host: string; readonly conn: string }
  /** The time from connect() of `conn` (its step's start) to the first error the connection reported (connect's own, or a later call's). */
  | { readonly kind: 'give-up'; readonly host: string; readonly conn: string }
  /** Whether the check of the lab's expectation number `expect` (1-based, in `expect:` order) passed. */
  | { readonly kind: 'check'; readonly expect: number };

export type TruthKind = TruthSource['kind'];
