#!/usr/bin/env python3
"""udpconn.py HOST PORT GO-FILE: a connected and an unconnected UDP socket of
one process to a Service, across the removal of the connected one's endpoint.

Prints, one a line:
  first NAME               the connected socket's endpoint (the test removes it,
                           then creates GO-FILE)
  unconnected-before NAME ADDR:PORT   the unconnected socket's reply and its source
  old-send ERROR|ok        the old connected socket's next send after GO-FILE
  old-recv ERROR|NAME      ... and a receive on it (a reply would be the removed endpoint's)
  reconnect NAME           a reconnect of the old socket (a live endpoint)
  unconnected NAME ADDR:PORT       five more replies to the unconnected socket
"""
import os
import socket
import sys
import time

host, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def out(*a):
    print(*a, flush=True)


def ask_unconnected(s):
    s.sendto(b"x\n", (host, port))
    data, src = s.recvfrom(2048)
    return data.decode().split()[0], "%s:%d" % src[:2]


c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(1)
c.connect((host, port))
c.send(b"x\n")
first = c.recv(2048).decode().split()[0]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
out("unconnected-before", *ask_unconnected(u))
out("first", first)
deadline = time.monotonic() + 20
while not os.path.exists(go):
    if time.monotonic() > deadline:
        out("no go file")
        sys.exit(1)
    time.sleep(0.05)
try:
    c.send(b"x\n")
    out("old-send ok")
except OSError as e:
    out("old-send", e.__class__.__name__, e.errno)
try:
    out("old-recv", c.recv(2048).decode().split()[0])
except (OSError, socket.timeout) as e:
    out("old-recv", e.__class__.__name__)
c.connect((host, port))
c.send(b"x\n")
out("reconnect", c.recv(2048).decode().split()[0])
for _ in range(5):
    try:
        out("unconnected", *ask_unconnected(u))
    except OSError as e:
        out("unconnected", e.__class__.__name__)
