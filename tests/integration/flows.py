#!/usr/bin/env python3
"""flows.py: long-lived flows through a service, for endpoint-change tests.

  flows.py tcp HOST PORT CONNS SECONDS   CONNS connections to an echo server, each
      sending a line every 0.1 s and reading it back; prints "ok" when every
      exchange on every connection succeeded, else "broken: <why>".
  flows.py udp HOST PORT SECONDS         one UDP socket (one source port, so one
      conntrack flow) sending every 0.1 s; prints each reply's first word.
"""
import socket
import sys
import time


def tcp(host, port, conns, seconds):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for _ in range(conns):
        s = socket.create_connection((host, port), timeout=2)
        socks.append(s)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            msg = b"ping %d\n" % n
            try:
                s.sendall(msg)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = s.recv(100)
                    if not chunk:
                        print("broken: connection %d closed" % i, flush=True)
                        return 1
                    got += chunk
                if got != msg:
                    print("broken: connection %d echoed %r" % (i, got), flush=True)
                    return 1
            except OSError as e:
                print("broken: connection %d: %s" % (i, e), flush=True)
                return 1
            n += 1
        time.sleep(0.1)
    print("ok %d exchanges" % n, flush=True)
    return 0


def udp(host, port, seconds):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            s.sendto(b"x\n", (host, port))
            print(s.recv(2048).decode().split()[0], flush=True)
        except OSError:
            print("-", flush=True)
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "tcp":
        sys.exit(tcp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    sys.exit(udp(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
