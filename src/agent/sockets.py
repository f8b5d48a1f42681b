#!/usr/bin/env python3
"""The socket worker of the in-container agent: every socket system call of a lab host is made here.

The Node agent (agent.ts) starts it as `python3 sockets.py` and relays the socket commands of
protocol.ts (listen, connect, send, shutdown, close, abort, setsockopt, pause, resume, accept,
unlisten, exit) as JSON lines on stdin; this process answers with the events of protocol.ts as JSON
lines on stdout, which the agent forwards unchanged. protocol.ts is the contract; this file follows it.

Model (one thread, one epoll set, every socket O_NONBLOCK):
- Every command gets exactly one `reply`, sent when its operation has been *started*: connect(2)
  returns at once (EINPROGRESS) and its outcome follows as `connected`, or `error` + `closed`.
  `connect-returned` carries what connect(2) itself returned, before the reply.
- Options are set with setsockopt(2) in the order given, before bind(2) (listen, connect) or on an
  open socket (setsockopt); each is read back with getsockopt(2) into one `options-set` event. A
  failing call answers the command with its errno name (e.g. EINVAL) and the option's name.
- Reading: every open connection is read as data arrives (so close(2) sends a FIN, not the RST Linux
  sends for unread data: net/ipv4/tcp.c tcp_close()), except while paused: then the fd is not polled
  for input and the receive queue fills (the advertised window shrinks to 0). A peer's FIN is `end`.
- Like Node's net sockets (allowHalfOpen + autoDestroy), which the labs were written against: a
  connection whose read side has ended and whose write side is shut down is closed (close(2)).
- Errors: any errno a call or SO_ERROR yields becomes an `error` event with its name (errno.errorcode)
  and the syscall, and the socket is closed (`closed` with hadError). An error that arrives while the
  fd is not polled for input (paused, or after `end`) is still seen: epoll reports EPOLLERR always.
- abort: close(2) with SO_LINGER {1, 0}, which sends a RST (tcp_close(): tcp_disconnect when
  linger is 0), except in SYN_SENT, where Linux sends nothing on close (tcp_close_state()).
- Times are CLOCK_REALTIME microseconds (time.time_ns(), clock_gettime), the clock of tcpdump's stamps.
Needs only the standard library of Debian's python3 (bookworm: 3.11).
"""

import errno
import json
import os
import select
import socket
import struct
import sys
import time

TCP_USER_TIMEOUT = getattr(socket, 'TCP_USER_TIMEOUT', 18)  # include/uapi/linux/tcp.h
TCP_DEFER_ACCEPT = getattr(socket, 'TCP_DEFER_ACCEPT', 9)
SO_REUSEPORT = getattr(socket, 'SO_REUSEPORT', 15)

# protocol.ts SocketOptionName -> (level, optname): the one table of what each name means to the kernel.
OPTION_LEVELS = {
    'SO_REUSEADDR': (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    'SO_REUSEPORT': (socket.SOL_SOCKET, SO_REUSEPORT),
    'SO_KEEPALIVE': (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    'SO_LINGER': (socket.SOL_SOCKET, socket.SO_LINGER),
    'SO_RCVBUF': (socket.SOL_SOCKET, socket.SO_RCVBUF),
    'SO_SNDBUF': (socket.SOL_SOCKET, socket.SO_SNDBUF),
    'TCP_KEEPIDLE': (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
    'TCP_KEEPINTVL': (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
    'TCP_KEEPCNT': (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
    'TCP_USER_TIMEOUT': (socket.IPPROTO_TCP, TCP_USER_TIMEOUT),
    'TCP_NODELAY': (socket.IPPROTO_TCP, socket.TCP_NODELAY),
    'TCP_DEFER_ACCEPT': (socket.IPPROTO_TCP, TCP_DEFER_ACCEPT),
    'TCP_MAXSEG': (socket.IPPROTO_TCP, socket.TCP_MAXSEG),
}
LINGER = struct.Struct('ii')
DEFAULT_BACKLOG = 511
READ_CHUNK = 256 * 1024
SEND_PATTERN = b'abcdefghijklmnopqrstuvwxyz0123456789\n'
EP_IN, EP_OUT, EP_ERR, EP_HUP = select.EPOLLIN, select.EPOLLOUT, select.EPOLLERR, select.EPOLLHUP


def now_us():
    return time.time_ns() // 1000


def errno_name(number):
    return errno.errorcode.get(number, 'E%d' % number)


def endpoint(address):
    host, port = address[0], address[1]
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def emit(event_type, **fields):
    line = json.dumps(dict(type=event_type, timeUs=now_us(), **fields), separators=(',', ':')) + '\n'
    os.write(1, line.encode())  # one write per line: lines never interleave with the agent's


def reply_ok(command_id):
    emit('reply', id=command_id, ok=True)


def reply_error(command_id, code, message):
    emit('reply', id=command_id, ok=False, code=code, message=message)


class CommandError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def set_options(sock, calls):
    """setsockopt(2) each call in order, then reads it back; raises CommandError naming the failing option."""
    readings = []
    for call in calls or []:
        name, value = call['name'], call['value']
        level, optname = OPTION_LEVELS[name]
        try:
            if name == 'SO_LINGER':
                sock.setsockopt(level, optname, LINGER.pack(value['onoff'], value['seconds']))
                onoff, seconds = LINGER.unpack(sock.getsockopt(level, optname, LINGER.size))
                read_back = {'onoff': onoff, 'seconds': seconds}
            else:
                sock.setsockopt(level, optname, value)
                read_back = sock.getsockopt(level, optname)
        except OSError as err:
            raise CommandError(errno_name(err.errno), 'setsockopt(%s, %s) failed: %s' % (name, json.dumps(value), os.strerror(err.errno)))
        readings.append({'name': name, 'value': value, 'readBack': read_back})
    return readings


class Connection:
    def __init__(self, name, sock, connecting):
        self.name = name
        self.sock = sock
        self.fd = sock.fileno()
        self.connecting = connecting
        self.paused = False
        self.ended = False
        self.close_on_fin = False
        self.pending = bytearray()
        self.shutdown_pending = False
        self.shutdown_done = False
        self.close_pending = False
        self.closed = False
        self.polled = None  # the epoll mask registered, None when not in the epoll set


class Listener:
    def __init__(self, sock, port, auto_accept):
        self.sock = sock
        self.fd = sock.fileno()
        self.port = port
        self.auto_accept = auto_accept
        self.accepts_wanted = 0


class Worker:
    def __init__(self):
        self.epoll = select.epoll()
        self.connections = {}
        self.listeners = {}
        self.by_fd = {}
        self.accepted_count = 0
        self.stdin_buffer = b''
        self.exiting = False

    # ------------------------------------------------------------ polling

    def watch(self, item):
        """(Re)registers a connection or listener with the mask its state asks for."""
        if isinstance(item, Listener):
            mask = EP_IN if (item.auto_accept or item.accepts_wanted > 0) else 0
            if item.fd in self.by_fd:
                self.epoll.modify(item.fd, mask)
            else:
                self.epoll.register(item.fd, mask)
                self.by_fd[item.fd] = item
            return
        if item.closed:
            return
        if item.connecting:
            mask = EP_OUT
        else:
            mask = (EP_IN if not item.paused and not item.ended else 0) | (EP_OUT if item.pending else 0)
        if item.polled is None:
            self.epoll.register(item.fd, mask)
            self.by_fd[item.fd] = item
        elif item.polled != mask:
            self.epoll.modify(item.fd, mask)
        item.polled = mask

    def park(self, conn):
        """Takes a connection out of the epoll set (EPOLLHUP would repeat while nobody reads); watch() puts it back."""
        if conn.polled is not None:
            self.epoll.unregister(conn.fd)
            self.by_fd.pop(conn.fd, None)
            conn.polled = None

    def destroy(self, conn, had_error):
        if conn.closed:
            return
        self.park(conn)
        conn.closed = True
        try:
            conn.sock.close()
        finally:
            emit('closed', conn=conn.name, hadError=had_error)

    def fail(self, conn, number, syscall):
        code = errno_name(number)
        emit('error', conn=conn.name, code=code, syscall=syscall, message='%s %s (%s)' % (syscall, code, os.strerror(number)))
        self.destroy(conn, True)

    # ------------------------------------------------------------ socket events

    def on_connection_event(self, conn, mask):
        if conn.connecting:
            number = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if number:
                return self.fail(conn, number, 'connect')
            conn.connecting = False
            emit('connected', conn=conn.name, local=endpoint(conn.sock.getsockname()), remote=endpoint(conn.sock.getpeername()))
            self.watch(conn)
            return
        reading = not conn.paused and not conn.ended
        if reading and mask & (EP_IN | EP_ERR | EP_HUP):
            self.read(conn)
            if conn.closed:
                return
        elif mask & EP_ERR:
            number = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if number:
                return self.fail(conn, number, 'read' if conn.paused else 'write')
        if mask & EP_OUT and conn.pending:
            self.flush(conn)
            if conn.closed:
                return
        if mask & EP_HUP and not conn.closed and not reading:
            self.park(conn)  # hang-up without an error while nobody reads: wait for resume (or a close)
            return
        self.watch(conn)

    def read(self, conn):
        try:
            data = conn.sock.recv(READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as err:
            return self.fail(conn, err.errno, 'read')
        if data:
            emit('data', conn=conn.name, bytes=len(data))
            return
        conn.ended = True
        emit('end', conn=conn.name)
        # In the same turn as the FIN's arrival, before the delayed ACK (>= 40 ms, TCP_DELACK_MIN) fires:
        # our FIN carries that ACK ([F.], three segments in all).
        if conn.close_on_fin or conn.shutdown_done:
            self.destroy(conn, False)

    def flush(self, conn):
        while conn.pending:
            try:
                count = conn.sock.send(conn.pending)
            except BlockingIOError:
                return
            except OSError as err:
                return self.fail(conn, err.errno, 'write')
            del conn.pending[:count]
            emit('sent', conn=conn.name, bytes=count)
        if conn.shutdown_pending:
            self.shut_write(conn)
        if conn.close_pending:
            self.destroy(conn, False)

    def shut_write(self, conn):
        conn.shutdown_pending = False
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError as err:
            return self.fail(conn, err.errno, 'shutdown')
        conn.shutdown_done = True
        if conn.ended:
            self.destroy(conn, False)

    def on_listener_event(self, listener):
        while listener.auto_accept or listener.accepts_wanted > 0:
            try:
                sock, _ = listener.sock.accept()
            except BlockingIOError:
                break
            except OSError as err:
                emit('fatal', message='accept on port %d failed: %s %s' % (listener.port, errno_name(err.errno), os.strerror(err.errno)))
                break
            if not listener.auto_accept:
                listener.accepts_wanted -= 1
            self.adopt(sock, listener.port)
        self.watch(listener)

    def adopt(self, sock, port):
        sock.setblocking(False)
        self.accepted_count += 1
        conn = Connection('accepted-%d' % self.accepted_count, sock, False)
        self.connections[conn.name] = conn
        emit('accepted', conn=conn.name, port=port, local=endpoint(sock.getsockname()), remote=endpoint(sock.getpeername()))
        self.watch(conn)

    # ------------------------------------------------------------ commands

    def find(self, name):
        conn = self.connections.get(name)
        if conn is None:
            known = list(self.connections) + ['listener-%d' % p for p in self.listeners]
            raise CommandError(
                'EUNKNOWNCONN',
                'conn "%s": no such connection (known: %s); remedy: connect it first or use a name from an "accepted" event'
                % (name, ', '.join(known) or 'none'),
            )
        return conn

    def find_open(self, name, op):
        conn = self.find(name)
        if conn.closed:
            raise CommandError('ENOTCONN', 'conn "%s": %s needs an open socket, but it is already closed; remedy: reconnect' % (name, op))
        return conn

    def find_listener(self, port, op):
        """The first listener on `port` (SO_REUSEPORT lets several share one port)."""
        listener = (self.listeners.get(port) or [None])[0]
        if listener is None:
            ports = ', '.join(str(p) for p in self.listeners) or 'none'
            raise CommandError('EUNKNOWNLISTENER', '%s: no listener on port %d (listening: %s); remedy: listen on it first' % (op, port, ports))
        return listener

    def cmd_listen(self, command):
        port, backlog = command['port'], command.get('backlog', DEFAULT_BACKLOG)
        # dualStack: `::` with IPV6_V6ONLY off takes IPv6 and IPv4 peers (the latter as ::ffff:a.b.c.d).
        dual = command.get('dualStack') is True
        host = '::' if dual else '0.0.0.0'
        sock = socket.socket(socket.AF_INET6 if dual else socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        try:
            if dual:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            readings = set_options(sock, command.get('options'))
            sock.bind((host, port))
            sock.listen(backlog)
        except CommandError:
            sock.close()
            raise
        except OSError as err:
            sock.close()
            raise CommandError(errno_name(err.errno), 'listen on %s (backlog %d) failed: %s' % (endpoint((host, port)), backlog, os.strerror(err.errno)))
        bound = sock.getsockname()[1]
        listener = Listener(sock, bound, command.get('accept', True))
        self.listeners.setdefault(bound, []).append(listener)
        self.watch(listener)
        if readings:
            emit('options-set', conn='listener-%d' % bound, options=readings)
        emit('listening', port=bound)

    def cmd_connect(self, command):
        name = command['conn']
        existing = self.connections.get(name)
        if existing is not None and not existing.closed:
            raise CommandError('EEXIST', 'conn "%s" is already in use; remedy: pick another name or close it first' % name)
        family = socket.AF_INET6 if ':' in command['host'] else socket.AF_INET  # the host side sends an address literal
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        conn = Connection(name, sock, True)
        try:
            readings = set_options(sock, command.get('options'))
        except CommandError:
            sock.close()
            raise
        self.connections[name] = conn
        if readings:
            emit('options-set', conn=name, options=readings)
        remote = (command['host'], command['port'])
        if 'localPort' in command:
            try:
                sock.bind(('::' if family == socket.AF_INET6 else '0.0.0.0', command['localPort']))
            except OSError as err:
                emit('connect-returned', conn=name, errno=errno_name(err.errno), local='', remote=endpoint(remote))
                return self.fail(conn, err.errno, 'bind')
        number = sock.connect_ex(remote)
        local = sock.getsockname()
        emit('connect-returned', conn=name, errno='ok' if number == 0 else errno_name(number), local=endpoint(local) if local[1] else '', remote=endpoint(remote))
        if number == 0:
            conn.connecting = False
            emit('connected', conn=name, local=endpoint(local), remote=endpoint(sock.getpeername()))
        elif number != errno.EINPROGRESS:
            return self.fail(conn, number, 'connect')
        self.watch(conn)

    def cmd_send(self, command):
        conn = self.find_open(command['conn'], 'send')
        if conn.shutdown_pending or conn.shutdown_done:
            raise CommandError('EPIPE', 'conn "%s": send after shutdown (our FIN is already queued); remedy: send before shutdown' % conn.name)
        count = command['bytes']
        conn.pending += (SEND_PATTERN * (count // len(SEND_PATTERN) + 1))[:count]
        if not conn.connecting:
            self.flush(conn)
        self.watch(conn)

    def cmd_shutdown(self, command):
        conn = self.find_open(command['conn'], 'shutdown')
        if conn.pending or conn.connecting:
            conn.shutdown_pending = True  # after the queued data, as Node's end() does
        else:
            self.shut_write(conn)

    def cmd_close(self, command):
        name = command['conn']
        if name.startswith('listener-') and name[9:].isdigit() and int(name[9:]) in self.listeners:
            return self.close_listener(int(name[9:]))
        conn = self.find(name)
        if command.get('onFin') and not conn.ended and not conn.closed:
            conn.close_on_fin = True
            return
        if conn.pending and not conn.closed:
            # An application's blocking write() returns once the kernel has taken every byte, and only then does it
            # call close(2): so close after the queued data (flush()), or never while the peer's window stays shut.
            conn.close_pending = True
            return
        self.destroy(conn, False)  # close(2) of a closed socket is a no-op here (the fd is gone), not an error

    def cmd_abort(self, command):
        conn = self.find_open(command['conn'], 'abort')
        if not conn.connecting:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER.pack(1, 0))
        self.destroy(conn, False)

    def cmd_setsockopt(self, command):
        conn = self.find_open(command['conn'], 'setsockopt')
        emit('options-set', conn=conn.name, options=set_options(conn.sock, command['options']))

    def cmd_pause(self, command):
        conn = self.find_open(command['conn'], 'pause')
        conn.paused = True
        self.watch(conn)

    def cmd_resume(self, command):
        conn = self.find_open(command['conn'], 'resume')
        conn.paused = False
        self.watch(conn)
        if not conn.ended and not conn.connecting:
            self.read(conn)  # what queued up while paused, at once
            if not conn.closed:
                self.watch(conn)

    def cmd_accept(self, command):
        listener = self.find_listener(command['port'], 'accept')
        if listener.auto_accept:
            raise CommandError('EINVAL', 'accept: the listener on port %d accepts by itself; remedy: listen with accept: false' % listener.port)
        listener.accepts_wanted += 1
        self.on_listener_event(listener)

    def cmd_unlisten(self, command):
        self.find_listener(command['port'], 'unlisten')
        self.close_listener(command['port'])

    def close_listener(self, port):
        """close(2) every listener on `port`; connections still queued are reset: inet_csk_listen_stop()."""
        for listener in self.listeners.pop(port):
            self.epoll.unregister(listener.fd)
            self.by_fd.pop(listener.fd, None)
            listener.sock.close()

    def run_command(self, command):
        op = command.get('op')
        command_id = command.get('id')
        if op == 'exit':
            self.exiting = True
            return
        handler = getattr(self, 'cmd_' + str(op), None)
        if handler is None:
            return reply_error(command_id, 'EBADCMD', 'socket worker: unknown op %s; remedy: use an op of protocol.ts' % json.dumps(op))
        try:
            handler(command)
        except CommandError as err:
            return reply_error(command_id, err.code, str(err))
        except OSError as err:
            return reply_error(command_id, errno_name(err.errno or 0), '%s failed: %s' % (op, os.strerror(err.errno or 0)))
        except (KeyError, TypeError, ValueError) as err:
            return reply_error(command_id, 'EBADCMD', 'socket worker: malformed %s command: %r' % (op, err))
        reply_ok(command_id)

    def on_stdin(self):
        chunk = os.read(0, 65536)
        if not chunk:
            self.exiting = True
            return
        self.stdin_buffer += chunk
        *lines, self.stdin_buffer = self.stdin_buffer.split(b'\n')
        for line in lines:
            if line.strip():
                self.run_command(json.loads(line))
            if self.exiting:
                return

    def loop(self):
        self.epoll.register(0, EP_IN)
        while not self.exiting:
            for fd, mask in self.epoll.poll():
                if fd == 0:
                    self.on_stdin()
                    if self.exiting:
                        break
                    continue
                item = self.by_fd.get(fd)
                if isinstance(item, Listener):
                    self.on_listener_event(item)
                elif item is not None:
                    self.on_connection_event(item, mask)
        for conn in list(self.connections.values()):
            self.destroy(conn, False)
        for port in list(self.listeners):
            self.close_listener(port)


def main():
    worker = Worker()
    try:
        worker.loop()
    except Exception as err:  # a bug here must reach the events, not vanish with the process
        emit('fatal', message='socket worker bug (please report): %r' % (err,))
        raise
    sys.exit(0)


if __name__ == '__main__':
    main()
