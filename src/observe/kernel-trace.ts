/**
 * Exact kernel observations: the text of a tracefs instance (`instances/tcplab-<run id>/trace`)
 * recording the socket tracepoints, parsed into events on the capture's clock and attributed to
 * the lab host whose socket they belong to. Pure: text in, events out.
 *
 * Model.
 * - Tracepoints (include/trace/events/sock.h, tcp.h) fire in the kernel at the moment of the change:
 *   inet_sock_set_state from inet_sk_set_state()/tcp_set_state(), tcp_retransmit_skb from
 *   __tcp_retransmit_skb(), tcp_retransmit_synack from tcp_rtx_synack(), tcp_send_reset from
 *   tcp_v4_send_reset()/tcp_send_active_reset(), tcp_receive_reset from tcp_reset(),
 *   tcp_destroy_sock from tcp_v4_destroy_sock(), inet_sk_error_report from sk_error_report().
 * - The instance uses trace_clock `tai` (ktime_get_tai_fast_ns(): CLOCK_MONOTONIC + offs_tai). The
 *   capture's clock is CLOCK_REALTIME (tcpdump -tt; packet sockets stamp with ktime_get_real()), and
 *   CLOCK_TAI − CLOCK_REALTIME is the kernel's TAI offset: a whole number of seconds (0 unless NTP set
 *   it; timekeeping.c __timekeeping_set_tai_offset()). A marker written at start with the real time
 *   (`tcplab-clock realtime_us=…`) gives that number: round((trace stamp − real time) / 1 s). Real
 *   time known only to the millisecond is enough to find a whole-second offset, so the mapping
 *   itself adds no error; what remains is the distance between the tracepoint and the device
 *   (measured in the README). With trace_clock `mono` the same marker gives the offset directly,
 *   as exact as the real time written in it (Date.now(): 1 ms).
 * - Attribution: an event belongs to the host whose address is the socket's local address (saddr,
 *   or the RST's source for tcp_send_reset). tcp_disconnect() clears a socket's local address and
 *   destination port before tcp_destroy_sock fires, so an event with local 0.0.0.0 is attributed by
 *   the (local port, remote address) an earlier event of the run tied to a host.
 */
import { TCP_STATES, assertNever, parseTcpState, type TcpState } from '../tcp/state.js';

export type KernelEventKind = 'state' | 'retransmit' | 'synack-retransmit' | 'send-reset' | 'receive-reset' | 'destroy' | 'error-report';

/** One tracepoint hit, on the capture's clock, as written to `<host>/kernel-events.jsonl`. */
export interface KernelEvent {
  kind: KernelEventKind;
  /** The tracepoint's own name (`inet_sock_set_state`, `tcp_retransmit_skb`, …). */
  tracepoint: string;
  /** CLOCK_REALTIME µs since the epoch: the clock of the capture's timestamps. */
  timeUs: number;
  /** The trace clock's own µs, as printed in kernel-trace.txt. */
  traceUs: number;
  /** 1-based line in kernel-trace.txt. */
  line: number;
  /** `ip:port` of the socket on the host the event belongs to. */
  local: string;
  remote: string;
  /** state: the transition (TCP_NEW_SYN_RECV is SYN_RECEIVED). */
  from?: TcpState;
  to?: TcpState;
  /** retransmit, send-reset: the socket's state when it happened (absent for a RST without socket). */
  state?: TcpState;
  /** retransmit: err of tcp_retransmit_skb (0 sent; non-zero: not sent). error-report: the errno. */
  error?: number;
  /**
   * retransmit, synack-retransmit sent from a timer: how many jiffies after its wheel bucket the timer ran
   * (timer_expire_entry of tcp_write_timer / reqsk_timer_handler on the same CPU just before: now − baseclk).
   * The timer softirq runs late on a loaded machine (deferred to ksoftirqd); the wheel's own slack is not in it.
   */
  timerLateJiffies?: number;
  /** send-reset: enum sk_rst_reason (NO_SOCKET, TCP_ABORT_ON_CLOSE, …). */
  reason?: string;
  /** The kernel's socket pointer (hashed %p) or sock_cookie, when the tracepoint prints one. */
  socket?: string;
  /**
   * state → CLOSED from FIN_WAIT_1, FIN_WAIT_2 or CLOSING with no RST or error on the socket just
   * before: tcp_time_wait() handed the connection to a timewait socket (FIN_WAIT_2 of an orphan, or
   * TIME_WAIT), which lives on in /proc/net/tcp with no tracepoint, and closed the full socket
   * (tcp_done()). A real close from those states follows tcp_reset() or tcp_write_err().
   */
  handedToTimewait?: true;
}

/** States a socket of the run is first traced leaving: it was made during the run (connect, listen, a request's child). */
const BORN_IN_RUN: ReadonlySet<TcpState | undefined> = new Set<TcpState | undefined>(['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED']);

/**
 * A host's events less those of sockets that existed before the run's trace began. The filter is by
 * address, and the addresses of a finished run's network come back for later runs, while the kernel
 * destroys a removed network namespace's sockets later, from a workqueue (cleanup_net()): measured in CI,
 * two ESTABLISHED sockets of an earlier run with this run's addresses closed (FIN_WAIT_1/LAST_ACK → CLOSED)
 * 3.96 s into it. A socket whose first traced transition leaves a state other than CLOSED, LISTEN,
 * SYN_SENT or SYN_RECEIVED was not made in this run (SYN_SENT: connect()'s CLOSED → SYN_SENT is traced
 * before the source port is bound, sport=0, so a socket's own first event can be its SYN_SENT → …).
 */
export function withoutEarlierSockets(events: readonly KernelEvent[]): KernelEvent[] {
  const first = new Map<string, KernelEvent>();
  for (const e of events) if (e.kind === 'state' && !first.has(`${e.local} ${e.remote}`)) first.set(`${e.local} ${e.remote}`, e);
  return events.filter((e) => BORN_IN_RUN.has(first.get(`${e.local} ${e.remote}`)?.from ?? 'CLOSED'));
}

/** A parsed trace: events per host, events no host claimed, and how the clocks were tied. */
export interface ParsedKernelTrace {
  eventsByHost: Map<string, KernelEvent[]>;
  /** Events with no address of the run (another run's or the machine's; only unfiltered tracepoints). */
  foreign: number;
  /** Line numbers of those events. */
  foreignLines: ReadonlySet<number>;
  /** Lines the parser did not understand (header lines excepted), with their line numbers. */
  unparsed: { line: number; text: string }[];
  clock: TraceClockMapping;
  /** `entries-in-buffer/entries-written` from the header: written > in buffer means events were lost. */
  entriesInBuffer?: number;
  entriesWritten?: number;
}

export interface TraceClockMapping {
  traceClock: string;
  /** capture µs = trace µs − offsetUs. */
  offsetUs: number;
  /** The trace stamp and the real time of the clock marker the offset came from. */
  markerTraceUs: number;
  markerRealtimeUs: number;
}

/** The text the tracer writes into the instance's trace_marker once tracing is on. */
export function clockMarkerText(realtimeUs: number): string {
  return `tcplab-clock realtime_us=${realtimeUs}`;
}

/** The offset capture µs = trace µs − offset, from the clock marker (see the module comment). */
export function mapTraceClock(traceClock: string, markerTraceUs: number, markerRealtimeUs: number): TraceClockMapping {
  const raw = markerTraceUs - markerRealtimeUs;
  // tai: a whole number of seconds, which a real time good to a few ms pins exactly.
  const offsetUs = traceClock === 'tai' ? Math.round(raw / 1e6) * 1e6 : raw;
  return { traceClock, offsetUs, markerTraceUs, markerRealtimeUs };
}

/** An IPv4 address as the event filter compares a `__u8 addr[4]` field: loaded as a little-endian u32. */
export function ipv4FilterValue(address: string): string {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`not an IPv4 address: "${address}"`);
  const [a, b, c, d] = octets as [number, number, number, number];
  return `0x${((a | (b << 8) | (c << 16) | (d << 24)) >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * The event filter keeping events whose saddr or daddr is one of the IPv4 `addresses` (tracepoints with
 * `__u8 saddr[4]`). A 16-byte `saddr_v6` cannot be compared by a filter (trace_events_filter.c compares
 * arrays only up to 8 bytes as integers), so when `addresses` hold IPv6 ones every AF_INET6 event is kept
 * (`family == 10`) and parseKernelTrace leaves out the lines of no host of the run, as for tcp_send_reset.
 */
export function addressFilter(addresses: readonly string[]): string {
  const v4 = addresses.filter((a) => !a.includes(':'));
  const clauses = v4.flatMap((a) => [`saddr == ${ipv4FilterValue(a)}`, `daddr == ${ipv4FilterValue(a)}`]);
  if (v4.length < addresses.length) clauses.push('family == 10');
  return clauses.join(' || ');
}

/** The same for fib_table_lookup, whose addresses are `__u8 src[4]` and `dst[4]`. */
export function routeAddressFilter(addresses: readonly string[]): string {
  return addresses.flatMap((a) => [`src == ${ipv4FilterValue(a)}`, `dst == ${ipv4FilterValue(a)}`]).join(' || ');
}

/**
 * Lines of the call-path recording (kernel-call-path.ts) that are no socket event: stack entries
 * (`<stack trace>` and its ` => frame` lines), route lookups and connect(2) enter/exit.
 */
export function isCallPathLine(line: string): boolean {
  return /^\s*=> /.test(line) || /\d:\s+(<stack trace>|fib_table_lookup:|sys_connect(\(| ->))/.test(line);
}

/** `<stack trace>` after an event: the task's pid and the CPU, as LINE reads them. */
const STACK_LINE = /^\s*.+?-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+\S*\s*\d+\.\d+:\s+<stack trace>/;
/** timer_expire_entry's body: `timer=… function=tcp_write_timer now=4295… baseclk=4295…`. */
const TIMER_EXPIRY = /function=(\S+) now=(\d+) baseclk=(\d+)/;
/** A timer's send follows its expiry on the same CPU in the same softirq: measured 42–345 µs (syn-sent). */
const TIMER_TO_SEND_US = 1000;
/** The timer function that sends each kind of retransmission. */
const TIMER_OF_KIND: Partial<Record<KernelEventKind, string>> = { retransmit: 'tcp_write_timer', 'synack-retransmit': 'reqsk_timer_handler' };

/** The filter of timer_expire_entry that keeps the expiries of the timers in TIMER_OF_KIND (the `.function` modifier). */
export function timerExpiryFilter(): string {
  return Object.values(TIMER_OF_KIND)
    .map((fn) => `function.function == ${fn}`)
    .join(' || ');
}
const LINE = /^\s*(.+?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(\S+\s+)?(\d+)\.(\d+):\s+([\w]+):\s?(.*)$/;

/**
 * Parses the trace text of one run. `hosts` are the run's hosts and addresses; the clock mapping
 * comes from the marker line in the text (an error when it is missing: times could not be mapped).
 */
export function parseKernelTrace(
  text: string,
  hosts: readonly { name: string; address: string; address6?: string | undefined }[],
  traceClock: string,
): ParsedKernelTrace {
  const hostOfAddress = new Map(hosts.flatMap((h) => [[h.address, h.name] as const, ...(h.address6 !== undefined ? [[h.address6, h.name] as const] : [])]));
  const hostOfPortPeer = new Map<string, string>();
  const eventsByHost = new Map<string, KernelEvent[]>(hosts.map((h) => [h.name, []]));
  const unparsed: { line: number; text: string }[] = [];
  const pending: { event: KernelEvent; localAddress: string; remoteAddress: string }[] = [];
  let clock: TraceClockMapping | undefined;
  const foreignLines = new Set<number>();
  let entriesInBuffer: number | undefined;
  let entriesWritten: number | undefined;
  /** The kernel stack recorded after an event (a `stacktrace` trigger), by event; and the event whose stack is being read. */
  const stacks = new Map<KernelEvent, string[]>();
  const latestOfTask = new Map<string, KernelEvent>();
  let stackOf: KernelEvent | undefined;
  /** The latest TCP timer expiry of each CPU, and the expiry line of each retransmission a timer sent. */
  const timerOfCpu = new Map<string, { traceUs: number; function: string; lateJiffies: number; line: number }>();
  const timerLines = new Map<KernelEvent, number>();

  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    if (raw.trim() === '') continue;
    if (raw.startsWith('#')) {
      const entries = /entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/.exec(raw);
      if (entries) [entriesInBuffer, entriesWritten] = [Number(entries[1]), Number(entries[2])];
      continue;
    }
    const frame = /^\s*=> (\S+)/.exec(raw);
    if (frame) {
      if (stackOf !== undefined) stacks.get(stackOf)?.push(frame[1] as string);
      continue;
    }
    const stackLine = STACK_LINE.exec(raw);
    if (stackLine) {
      // The stack of the latest event of the same task on the same CPU (other CPUs' lines may come between).
      stackOf = latestOfTask.get(`${stackLine[1]} ${stackLine[2]}`);
      if (stackOf !== undefined) stacks.set(stackOf, []);
      continue;
    }
    stackOf = undefined;
    if (isCallPathLine(raw)) continue;
    const m = LINE.exec(raw);
    if (!m) {
      unparsed.push({ line: lineNo, text: raw });
      continue;
    }
    const traceUs = Number(m[5]) * 1e6 + Number((m[6] as string).padEnd(6, '0').slice(0, 6));
    const tracepoint = m[7] as string;
    const body = m[8] as string;
    if (tracepoint === 'tracing_mark_write') {
      const marker = /tcplab-clock realtime_us=(\d+)/.exec(body);
      if (marker && !clock) clock = mapTraceClock(traceClock, traceUs, Number(marker[1]));
      continue;
    }
    if (tracepoint === 'timer_expire_entry') {
      const timer = TIMER_EXPIRY.exec(body);
      if (timer) timerOfCpu.set(m[3] as string, { traceUs, function: timer[1] as string, lateJiffies: Number(timer[2]) - Number(timer[3]), line: lineNo });
      foreignLines.add(lineNo); // kept only when a retransmission it sent belongs to the run (below)
      continue;
    }
    const parsed = parseEventBody(tracepoint, body);
    if (!parsed) {
      unparsed.push({ line: lineNo, text: raw });
      continue;
    }
    const event: KernelEvent = { ...parsed.event, tracepoint, traceUs, timeUs: traceUs, line: lineNo };
    const timer = timerOfCpu.get(m[3] as string);
    if (timer !== undefined && traceUs - timer.traceUs <= TIMER_TO_SEND_US && TIMER_OF_KIND[event.kind] === timer.function) {
      event.timerLateJiffies = timer.lateJiffies;
      timerLines.set(event, timer.line);
      timerOfCpu.delete(m[3] as string);
    }
    latestOfTask.set(`${m[2]} ${m[3]}`, event);
    pending.push({ event, localAddress: parsed.localAddress, remoteAddress: parsed.remoteAddress });
  }
  if (!clock) {
    throw new Error('kernel trace has no clock marker (tcplab-clock realtime_us=…): its times cannot be put on the capture clock');
  }
  for (const { event, localAddress, remoteAddress } of pending) {
    event.timeUs = event.traceUs - clock.offsetUs;
    const localPort = event.local.slice(event.local.lastIndexOf(':') + 1);
    let host = hostOfAddress.get(localAddress);
    if (host !== undefined) hostOfPortPeer.set(`${localPort}|${remoteAddress}`, host);
    else if (localAddress === '0.0.0.0' || localAddress === '::') host = hostOfPortPeer.get(`${localPort}|${remoteAddress}`);
    if (host === undefined) {
      foreignLines.add(event.line);
      continue;
    }
    eventsByHost.get(host)?.push(event);
    const timerLine = timerLines.get(event);
    if (timerLine !== undefined) foreignLines.delete(timerLine);
  }
  for (const events of eventsByHost.values()) {
    fillConnectPorts(events);
    markTimewaitHandovers(events, stacks);
  }
  return { eventsByHost, foreign: foreignLines.size, foreignLines, unparsed, clock, entriesInBuffer, entriesWritten };
}

/**
 * tcp_v4_connect() sets SYN_SENT before inet_hash_connect() picks the local port, so that event
 * prints sport=0. The port is the one of the socket's next event with the same local address and
 * remote endpoint that leaves SYN_SENT or is sent in it — of a socket no earlier such event was given:
 * two connects to one peer at once (accept-queue-overflow) print two sport=0 events before either
 * socket's next one. A port is free again once its socket closed.
 */
function fillConnectPorts(events: KernelEvent[]): void {
  /** The sockets (local and remote endpoint) a SYN_SENT event was given to, while they live. */
  const given = new Set<string>();
  for (const [i, event] of events.entries()) {
    if (event.kind === 'state' && event.to === 'CLOSED') given.delete(`${event.local} ${event.remote}`);
    if (event.kind !== 'state' || event.to !== 'SYN_SENT' || !event.local.endsWith(':0')) continue;
    const address = event.local.slice(0, -2);
    const next = events
      .slice(i + 1)
      .find(
        (e) =>
          e.remote === event.remote &&
          e.local.startsWith(`${address}:`) &&
          !e.local.endsWith(':0') &&
          (e.from === 'SYN_SENT' || e.state === 'SYN_SENT') &&
          !given.has(`${e.local} ${e.remote}`),
      );
    if (next) {
      event.local = next.local;
      given.add(`${next.local} ${next.remote}`);
    }
  }
}

const TIMEWAIT_FROM: ReadonlySet<TcpState> = new Set(['FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSING']);

/** Frames that make a CLOSED a real close: a retransmission give-up (tcp_write_err() → tcp_done_with_error()). */
const GIVE_UP_FRAMES = ['tcp_done_with_error', 'tcp_write_err'];

/**
 * Marks the CLOSED events that are tcp_time_wait()'s hand-over to a timewait socket (KernelEvent.handedToTimewait):
 * a close with no RST or error report on the socket within 1 ms before. A give-up is one too, unless its stack was
 * recorded: an orphan's reports no error (tcp_done_with_error() calls sk_error_report() only for a socket that is not
 * dead), so the stack tells it (measured 2026-12-04: FIN_WAIT_1 → CLOSED from tcp_done_with_error ← tcp_retransmit_timer).
 * The hand-over's own stack cannot be told by name: tcp_time_wait() ends in a tail call of tcp_done().
 */
function markTimewaitHandovers(events: KernelEvent[], stacks: ReadonlyMap<KernelEvent, readonly string[]>): void {
  for (const [i, event] of events.entries()) {
    if (event.kind !== 'state' || event.to !== 'CLOSED' || !TIMEWAIT_FROM.has(event.from as TcpState)) continue;
    if (stacks.get(event)?.some((frame) => GIVE_UP_FRAMES.includes(frame)) === true) continue;
    const cause = events
      .slice(0, i)
      .reverse()
      .find(
        (e) => e.local === event.local && e.remote === event.remote && (e.kind === 'receive-reset' || e.kind === 'error-report' || e.kind === 'send-reset'),
      );
    if (cause === undefined || event.timeUs - cause.timeUs > 1000) event.handedToTimewait = true;
  }
}

type ParsedBody = { event: Omit<KernelEvent, 'tracepoint' | 'traceUs' | 'timeUs' | 'line'>; localAddress: string; remoteAddress: string };

/** key=value fields of a tracepoint's print format (values never contain spaces in these events). */
function fieldsOf(body: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const m of body.matchAll(/(\w+)=(\S*)/g)) fields.set(m[1] as string, m[2] as string);
  return fields;
}

function parseEventBody(tracepoint: string, body: string): ParsedBody | undefined {
  const f = fieldsOf(body);
  if (tracepoint === 'tcp_send_reset') return parseSendReset(f);
  const kind = KIND_OF_TRACEPOINT[tracepoint];
  if (kind === undefined) return undefined;
  const family = f.get('family');
  if (family !== undefined && family !== 'AF_INET' && family !== 'AF_INET6') return undefined;
  // An AF_INET6 socket prints its addresses in saddrv6/daddrv6 (%pI6c, RFC 5952); an IPv4-mapped one
  // (a dual-stack listener's IPv4 peer) is an IPv4 connection on the wire and is told as one.
  const saddr = family === 'AF_INET6' ? unmapIpv4(f.get('saddrv6')) : f.get('saddr');
  const daddr = family === 'AF_INET6' ? unmapIpv4(f.get('daddrv6')) : f.get('daddr');
  const sport = f.get('sport');
  const dport = f.get('dport');
  if (saddr === undefined || daddr === undefined || sport === undefined || dport === undefined) return undefined;
  const event: ParsedBody['event'] = { kind, local: endpointOf(saddr, sport), remote: endpointOf(daddr, dport) };
  const socket = f.get('skaddr') ?? f.get('sock_cookie');
  if (socket !== undefined) event.socket = socket;
  switch (kind) {
    case 'state': {
      const from = kernelState(f.get('oldstate'));
      const to = kernelState(f.get('newstate'));
      if (!from || !to) return undefined;
      event.from = from;
      event.to = to;
      break;
    }
    case 'retransmit': {
      const state = kernelState(f.get('state'));
      if (state) event.state = state;
      event.error = Number(f.get('err') ?? 0);
      break;
    }
    case 'error-report':
      event.error = Number(f.get('error') ?? 0);
      break;
    case 'synack-retransmit':
    case 'receive-reset':
    case 'destroy':
      break;
    default:
      return assertNever(kind);
  }
  return { event, localAddress: saddr, remoteAddress: daddr };
}

/** `ip:port`, IPv6 bracketed, as /proc/net/tcp rows and the agent print endpoints. */
function endpointOf(address: string, port: string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `::ffff:a.b.c.d` → `a.b.c.d`; other addresses (and undefined) unchanged. */
function unmapIpv4(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') === true && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/** The address of an `ip:port` or `[ipv6]:port` endpoint, without brackets. */
function addressOfEndpoint(endpoint: string): string {
  return endpoint.slice(0, endpoint.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}

/** tcp_send_reset prints `src=ip:port dest=ip:port state=… reason=…` (sockaddrs, %pISpc: IPv6 as `[addr]:port`). */
function parseSendReset(f: Map<string, string>): ParsedBody | undefined {
  const src = f.get('src');
  const dest = f.get('dest');
  if (src === undefined || dest === undefined) return undefined;
  const event: ParsedBody['event'] = { kind: 'send-reset', local: src, remote: dest };
  const state = kernelState(f.get('state'));
  if (state) event.state = state;
  const reason = f.get('reason');
  if (reason !== undefined) event.reason = reason;
  const skaddr = f.get('skaddr');
  if (skaddr !== undefined && !/^0+$/.test(skaddr)) event.socket = skaddr;
  return { event, localAddress: addressOfEndpoint(src), remoteAddress: addressOfEndpoint(dest) };
}

const KIND_OF_TRACEPOINT: Readonly<Record<string, Exclude<KernelEventKind, 'send-reset'>>> = {
  inet_sock_set_state: 'state',
  tcp_retransmit_skb: 'retransmit',
  tcp_retransmit_synack: 'synack-retransmit',
  tcp_receive_reset: 'receive-reset',
  tcp_destroy_sock: 'destroy',
  inet_sk_error_report: 'error-report',
};

function kernelState(name: string | undefined): TcpState | undefined {
  if (name === undefined || name === 'UNKNOWN') return undefined;
  const state = parseTcpState(name);
  return state !== undefined && (TCP_STATES as readonly string[]).includes(state) ? state : undefined;
}
