#!/usr/bin/env python3
"""udpask.py COUNT HOST PORT [TIMEOUT]: send COUNT datagrams, each from a new
socket (a new source port, so a new conntrack flow), print each reply line.
A request with no reply prints nothing for it."""
import socket
import sys

count, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
family = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(count):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(b"x\n", (host, port))
        print(s.recv(2048).decode().strip(), flush=True)
    except OSError:
        pass
    finally:
        s.close()
