/**
 * Messages between the host side (tcplab) and the in-container agent, one JSON object per line.
 * Commands go to the agent's stdin; events come back on its stdout. This file is compiled with
 * the agent and must import nothing (the agent runs on the image's Node 18 with no packages).
 */

export type AgentCommand =
  | {
      id: number;
      op: 'listen';
      port: number;
      backlog?: number;
      /** false: never accept(), leave connections queued */ accept?: boolean;
      /** true: bind `::` with IPV6_V6ONLY off (IPv6 and IPv4 peers, in labs that use IPv6); else `0.0.0.0` */ dualStack?: boolean;
    }
  | { id: number; op: 'connect'; conn: string; host: string; port: number; localPort?: number }
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
