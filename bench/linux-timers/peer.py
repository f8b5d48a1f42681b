#!/usr/bin/env python3
"""One end of a Linux timer measurement (bench/linux-timers/measure.sh runs it inside a private netns).

Prints one JSON line per event, stamped with time.time() (CLOCK_REALTIME, the clock of tcpdump -tt).
  server PORT MODE     MODE: idle (accept, never send), noread (accept, rcvbuf 4096, never read)
  client ADDR PORT EXP EXP: keepalive | keepalive-ut | keepalive-answered | persist | persist-ut | data-ut | data
"""
import json
import socket
import sys
import threading
import time


def emit(event, **fields):
    print(json.dumps({"t": round(time.time(), 6), "event": event, **fields}), flush=True)


def server(port, mode):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "noread":
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("0.0.0.0", port))
    listener.listen(8)
    emit("listening", port=port)
    conn, peer = listener.accept()
    emit("accepted", peer=f"{peer[0]}:{peer[1]}")
    time.sleep(600)


def set_keepalive(sock, idle, intvl, cnt):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)


def wait_error(sock, limit_s):
    """Blocks in recv until the socket fails (or the peer closes) and reports the errno."""
    sock.settimeout(limit_s)
    try:
        data = sock.recv(1)
        emit("recv-returned", bytes=len(data))
    except OSError as error:  # ETIMEDOUT arrives as TimeoutError too: tell it from the recv timeout by errno
        if error.errno is None:
            emit("still-open", after_s=limit_s)
            return
        emit("error", errno=error.errno, name=errno_name(error.errno))


def errno_name(number):
    import errno

    return errno.errorcode.get(number, str(number))


def writer(sock, stop):
    block = b"x" * 65536
    sent = 0
    while not stop.is_set():
        try:
            sent += sock.send(block)
        except OSError as error:
            emit("send-error", errno=error.errno, name=errno_name(error.errno), sent=sent)
            return
    emit("writer-stopped", sent=sent)


def client(addr, port, exp):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if exp == "keepalive":
        set_keepalive(sock, 2, 1, 3)
    elif exp == "keepalive-ut":
        set_keepalive(sock, 2, 1, 9)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 3500)
    elif exp == "keepalive-answered":
        set_keepalive(sock, 2, 1, 3)
    elif exp in ("persist-ut", "data-ut"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 3000)
    sock.connect((addr, port))
    emit("connected", local=f"{sock.getsockname()[0]}:{sock.getsockname()[1]}")
    if exp.startswith("keepalive"):
        wait_error(sock, 9 if exp == "keepalive-answered" else 30)
    elif exp.startswith("persist"):
        stop = threading.Event()
        threading.Thread(target=writer, args=(sock, stop), daemon=True).start()
        wait_error(sock, 14 if exp == "persist" else 40)
        stop.set()
    elif exp.startswith("data"):
        time.sleep(1.0)  # measure.sh drops the peer during this second
        sock.send(b"d" * 100)
        emit("sent", bytes=100)
        wait_error(sock, 40)
    sock.close()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "server":
        server(int(sys.argv[2]), sys.argv[3])
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
