/**
 * Messages between the host side (tcplab) and the in-container agent, one JSON object per line.
 * Commands go to the agent's stdin; events come back on its stdout. This file is compiled with
 * the agent and must import nothing (the agent runs on the image's Node 18 with no packages).
 *
 * Inside the container the Node agent (agent.ts) relays every socket command (SOCKET_OPS) unchanged to
 * the socket worker (sockets.py, Python 3 of the image), which does the syscalls and writes the events
 * of those commands in this same format; the agent forwards them. The messages below are the whole
 * contract of both processes: sockets.py follows this file.
 */

/** A socket option the worker sets with setsockopt(2); its (level, optname) pair is sockets.py's OPTION_LEVELS. */
export type SocketOptionName =
  | 'SO_REUSEADDR'
  | 'SO_REUSEPORT'
  | 'SO_KEEPALIVE'
  | 'TCP_KEEPIDLE'
  | 'TCP_KEEPINTVL'
  | 'TCP_KEEPCNT'
  | 'TCP_USER_TIMEOUT'
  | 'SO_LINGER'
  | 'TCP_NODELAY'
  | 'TCP_DEFER_ACCEPT'
  | 'SO_RCVBUF'
  | 'SO_SNDBUF'
  | 'TCP_MAXSEG';

/** SO_LINGER's struct linger. */
export interface LingerValue {
  onoff: number;
  seconds: number;
}

/** One setsockopt(2) call, in the kernel's own units (seconds for TCP_KEEPIDLE, ms for TCP_USER_TIMEOUT, …). */
export interface SocketOptionCall {
  name: SocketOptionName;
  value: number | LingerValue;
}

/** What setsockopt wrote and what getsockopt(2) read back right after (the kernel may adjust: SO_RCVBUF doubles). */
export interface SocketOptionReading extends SocketOptionCall {
  readBack: number | LingerValue;
}

export type AgentCommand =
  | {
      id: number;
      op: 'listen';
      port: number;
      backlog?: number;
      /** false: never accept(), leave connections queued (until `accept` commands) */
      accept?: boolean;
      /** true: bind `::` with IPV6_V6ONLY off (IPv6 and IPv4 peers, in labs that use IPv6); else `0.0.0.0` */
      dualStack?: boolean;
      /** Set in this order before bind(2) and listen(2). */
      options?: SocketOptionCall[];
    }
  | {
      id: number;
      op: 'connect';
      conn: string;
      host: string;
      port: number;
      localPort?: number;
      /** Set in this order before bind(2)/connect(2). */
      options?: SocketOptionCall[];
    }
  /** setsockopt(2) on an open connection, in this order; an `options-set` event precedes the reply. */
  | { id: number; op: 'setsockopt'; conn: string; options: SocketOptionCall[] }
  /** Stop reading `conn` (the receive queue fills); `resume` reads again. */
  | { id: number; op: 'pause'; conn: string }
  | { id: number; op: 'resume'; conn: string }
  /** accept(2) one connection queued on the listener of `port` (made with accept: false); replies when started, `accepted` follows. */
  | { id: number; op: 'accept'; port: number }
  /** close(2) the listening socket of `port`. */
  | { id: number; op: 'unlisten'; port: number }
  | { id: number; op: 'send'; conn: string; bytes: number }
  | { id: number; op: 'shutdown'; conn: string }
  /** onFin: close(2) the moment the peer's FIN arrives (at once if it already has), like a server whose read() returned 0. */
  | { id: number; op: 'close'; conn: string; onFin?: boolean }
  | { id: number; op: 'abort'; conn: string }
  /** Returns `netstat -tano`'s text for the host as a `netstat` event (the seeds' view, with timers). */
  | { id: number; op: 'netstat' }
  | { id: number; op: 'exit' };

export type AgentOp = AgentCommand['op'];

/** `ip:port` as the kernel sees it, IPv4 dotted or IPv6 bracketed (`[::1]:80`). */
export type Endpoint = string;

/** Timer fields of a /proc/net/tcp row (`tr`, `tm->when`, `retrnsmt`), when in milliseconds. */
export interface SocketTimer {
  /** 0 none, 1 retransmit/probe, 2 keepalive, 3 timewait, 4 zero-window probe (get_tcp4_sock). */
  kind: number;
  /** Time left until the timer fires, in milliseconds (USER_HZ ticks × 10). */
  expiresMs: number;
  /** icsk_retransmits, or num_timeout for a request socket. */
  retransmits: number;
}

export type AgentEvent =
  /** tcpSettings: the namespace's net.ipv4.tcp_* sysctls as `sysctl -a` would print their values. */
  | { type: 'ready'; timeUs: number; pid: number; node: string; tcpSettings?: Record<string, string> }
  | { type: 'reply'; timeUs: number; id: number; ok: true }
  | { type: 'reply'; timeUs: number; id: number; ok: false; code: string; message: string }
  | { type: 'listening'; timeUs: number; port: number }
  | { type: 'accepted'; timeUs: number; conn: string; port: number; local: Endpoint; remote: Endpoint }
  | { type: 'connected'; timeUs: number; conn: string; local: Endpoint; remote: Endpoint }
  /**
   * What connect(2) returned, sent before the connect's reply: `ok` (0) or the errno name (EINPROGRESS while the
   * SYN is out). The worker's sockets are all O_NONBLOCK (one thread serves every connection), so every connect
   * reports it; a lab's `nonblocking: true` says its application is written that way. `local` is the endpoint
   * bound by then (tcp_v4_connect() picks the port before the SYN leaves), '' when connect(2) failed before binding.
   */
  | { type: 'connect-returned'; timeUs: number; conn: string; errno: string; local: Endpoint; remote: Endpoint }
  /** The options a listen/connect/setsockopt command set on `conn` (a connection, or `listener-PORT`), with their read-back values. */
  | { type: 'options-set'; timeUs: number; conn: string; options: SocketOptionReading[] }
  /** The kernel accepted `bytes` more of the application's data (a write() returned that count; `sent` expectations sum them). */
  | { type: 'sent'; timeUs: number; conn: string; bytes: number }
  /** The application read `bytes` on `conn` (one read's worth; `received` expectations sum them). */
  | { type: 'data'; timeUs: number; conn: string; bytes: number }
  /** The peer's FIN arrived (the read side ended). */
  | { type: 'end'; timeUs: number; conn: string }
  | { type: 'error'; timeUs: number; conn: string; code: string; syscall?: string; message: string }
  | { type: 'closed'; timeUs: number; conn: string; hadError: boolean }
  /** A socket row of /proc/net/tcp{,6} appeared or changed state. `conn` is set once the agent knows which of its connections it is. */
  | {
      type: 'socket';
      timeUs: number;
      conn?: string;
      local: Endpoint;
      remote: Endpoint;
      state: string; // TcpState name
      previous?: string;
      inode: number;
      timer: SocketTimer;
      txQueue: number;
      rxQueue: number;
      /**
       * Real time just before /proc/net/tcp was read (timeUs: just after). The row describes a moment in
       * [readFromUs, timeUs]; on a loaded machine the agent can be preempted on either side of the read.
       */
      readFromUs?: number;
    }
  /** A socket row disappeared from /proc/net/tcp{,6}; `state` is the last state seen. */
  | { type: 'socket-gone'; timeUs: number; conn?: string; local: Endpoint; remote: Endpoint; state: string; readFromUs?: number }
  /** Output of `netstat -tano`, answering the netstat command `id` (sent before its reply). */
  | { type: 'netstat'; timeUs: number; id: number; text: string }
  /** The agent itself hit a problem it cannot attribute to a command. */
  | { type: 'fatal'; timeUs: number; message: string };

export type AgentEventType = AgentEvent['type'];
