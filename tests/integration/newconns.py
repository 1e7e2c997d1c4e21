#!/usr/bin/env python3
"""newconns.py HOST PORT SECONDS: a new TCP connection to an echo server (socat
… EXEC:cat) every 20 ms for SECONDS, each sending a line and expecting it back; prints
"ok N" when every one was answered, else "failed K of N: <first reason>"."""
import socket
import sys
import time


def main(host, port, seconds):
    end = time.monotonic() + seconds
    n = failed = 0
    first = ""
    while time.monotonic() < end:
        n += 1
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                msg = b"hello %d\n" % n
                s.sendall(msg)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = s.recv(1000)
                    if not chunk:
                        break
                    got += chunk
                if got != msg:
                    raise OSError("answer %r" % got[:60])
        except OSError as e:
            failed += 1
            first = first or "connection %d: %s" % (n, e)
        time.sleep(0.02)
    print("ok %d" % n if not failed else "failed %d of %d: %s" % (failed, n, first), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
