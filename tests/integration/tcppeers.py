#!/usr/bin/env python3
"""tcppeers.py ADDR PORT N GO: open N TCP connections to ADDR:PORT (a
Service), print each one's getpeername ("peer ADDR:PORT", one a line), then
"held", and hold them until the file GO exists (at most 30 s); then close
them all and exit. Bounded: N sockets, 30 s."""
import os
import socket
import sys
import time

addr, port, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = []
for _ in range(n):
    c = socket.create_connection((addr, port), timeout=2)
    conns.append(c)
    print("peer %s:%d" % c.getpeername()[:2], flush=True)
print("held", flush=True)
end = time.monotonic() + 30
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.02)
for c in conns:
    c.close()
