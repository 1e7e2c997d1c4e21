#!/usr/bin/env python3
"""hostile.py: misbehaving clients and endpoints for the userspace forwarder.

  hostile.py hold HOST PORT N SECONDS      N connections that send nothing and
      hold for SECONDS (a flood of half-open connections: the agent accepts
      what its limit allows, the kernel's backlog keeps the rest); prints how
      many connects completed.
  hostile.py burst HOST PORT N SIZE MODE   N connections, each sends SIZE
      bytes and closes at once (MODE fin: close(); rst: SO_LINGER 0, a reset);
      prints how many sent everything.
  hostile.py push HOST PORT N SIZE SECONDS N connections that each keep
      writing (whenever the path takes more) up to SIZE bytes for SECONDS,
      then close; prints the bytes written.
  hostile.py hang PORT                     a server that accepts every
      connection and then never reads, writes or closes.
"""
import select
import socket
import struct
import sys
import time


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def connect_all(host, port, n):
    socks = []
    for _ in range(n):
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def hold(host, port, n, seconds):
    socks = connect_all(host, port, n)
    end = time.monotonic() + seconds
    done = set()
    while time.monotonic() < end:
        pending = [s for s in socks if s not in done]
        if not pending:
            time.sleep(0.1)
            continue
        _, w, _ = select.select([], pending[:1000], [], 0.2)
        for s in w:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.add(s)
    print(len(done), flush=True)
    for s in socks:
        s.close()


def burst(host, port, n, size, mode):
    ok = 0
    data = b"x" * size
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=2)
        try:
            s.sendall(data)
            ok += 1
        except OSError:
            pass
        if mode == "rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(ok, flush=True)


def push(host, port, n, size, seconds):
    socks = connect_all(host, port, n)
    sent = {s: 0 for s in socks}
    chunk = b"y" * 65536
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        todo = [s for s in socks if sent[s] < size]
        if not todo:
            time.sleep(0.1)
            continue
        _, w, _ = select.select([], todo[:1000], [], 0.2)
        for s in w:
            try:
                sent[s] += s.send(chunk[: min(65536, size - sent[s])])
            except (BlockingIOError, OSError):
                pass
    print(sum(sent.values()), flush=True)
    for s in socks:
        s.close()


def hang(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(4096)
    held = []
    while True:
        c, _ = srv.accept()
        held.append(c)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "hold":
        hold(a[2], int(a[3]), int(a[4]), float(a[5]))
    elif a[1] == "burst":
        burst(a[2], int(a[3]), int(a[4]), int(a[5]), a[6])
    elif a[1] == "push":
        push(a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]))
    else:
        hang(int(a[2]))
