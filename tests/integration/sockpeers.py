#!/usr/bin/env python3
"""sockpeers.py SVC-A SVC-B PORT TCP-SVC TCP-PORT: what a pod's sockets see
as their peer when they dial Services (bpf mode's getpeername and recvmsg
hooks). Prints, one a line:
  unconnected ADDR:PORT   the source of each reply to one unconnected UDP
                          socket sending to A, B, A, B, A, B in turn
  udp-peer ADDR:PORT      getpeername of a UDP socket connected to A, then
                          connected again to B
  udp-from ADDR:PORT      the source of its reply after the second connect
  tcp-peer ADDR:PORT      getpeername of a TCP connection to TCP-SVC
  same-socket NAME...     the endpoints answering ten datagrams of one new
                          unconnected socket to A (one, as with conntrack)
"""
import socket
import sys

a, b, port, tsvc, tport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])


def hp(x):
    return "%s:%d" % x[:2]


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
for dst in (a, b, a, b, a, b):
    u.sendto(b"x\n", (dst, port))
    print("unconnected", hp(u.recvfrom(2048)[1]), flush=True)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect((a, port))
c.connect((b, port))
print("udp-peer", hp(c.getpeername()), flush=True)
c.send(b"x\n")
print("udp-from", hp(c.recvfrom(2048)[1]), flush=True)
t = socket.create_connection((tsvc, tport), timeout=2)
print("tcp-peer", hp(t.getpeername()), flush=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
names = []
for _ in range(10):
    s.sendto(b"x\n", (a, port))
    names.append(s.recvfrom(2048)[0].decode().split()[0])
print("same-socket", *sorted(set(names)), flush=True)
