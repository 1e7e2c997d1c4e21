#!/usr/bin/env python3
"""restart_load.py: load across an agent restart, for the userspace forwarder.

  restart_load.py HOST PORT SECONDS INFLIGHT DIR
      Opens INFLIGHT long-lived connections to an echo server at HOST:PORT
      (each checked with one exchange), writes DIR/ready, then for SECONDS
      opens a new connection every 10 ms (connect, one line echoed, close;
      1 s timeout), one line per attempt in DIR/attempts: "WALLTIME ok" or
      "WALLTIME err REASON". At the end each in-flight connection is tried
      once more; DIR/inflight gets "LOST OF" (how many no longer echo).
"""
import os
import socket
import sys
import time


def exchange(s, msg):
    s.sendall(msg)
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            raise OSError("closed")
        got += chunk
    if got != msg:
        raise OSError("echoed %r" % got)


def main(host, port, seconds, inflight, d):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    held = []
    for i in range(inflight):
        s = socket.create_connection((host, port), timeout=2)
        exchange(s, b"held %d\n" % i)
        held.append(s)
    open(os.path.join(d, "ready"), "w").close()
    end = time.monotonic() + seconds
    with open(os.path.join(d, "attempts"), "w") as out:
        n = 0
        while time.monotonic() < end:
            t = time.time()
            try:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.settimeout(1)
                s.connect((host, port))
                exchange(s, b"new %d\n" % n)
                s.close()
                out.write("%.3f ok\n" % t)
            except OSError as e:
                s.close()
                out.write("%.3f err %s\n" % (t, type(e).__name__))
            out.flush()
            n += 1
            time.sleep(0.01)
    lost = 0
    for i, s in enumerate(held):
        try:
            s.settimeout(1)
            exchange(s, b"after %d\n" % i)
        except OSError:
            lost += 1
        s.close()
    open(os.path.join(d, "inflight"), "w").write("%d %d\n" % (lost, inflight))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
