#!/usr/bin/env python3
"""invalid.py - scenario 24's two sides.

  invalid.py client VIP PORT POD-IP DIR   connect to VIP:PORT, write the local
      port to DIR/port, watch for packets from POD-IP (un-NATed) until
      DIR/sent exists and 1 s more, then check the connection still echoes;
      writes "ok" or what went wrong to DIR/result.
  invalid.py inject SRC SPORT DST DPORT   send one TCP ACK from SRC:SPORT to
      DST:DPORT with a sequence number far outside any window.
"""
import os
import socket
import sys
import time

from scapy.all import IP, TCP, AsyncSniffer, conf, send  # noqa: E402

conf.verb = 0


def client(vip, port, pod_ip, d):
    s = socket.create_connection((vip, int(port)), timeout=3)
    sniffer = AsyncSniffer(lfilter=lambda p: IP in p and p[IP].src == pod_ip, store=True)
    sniffer.start()
    time.sleep(0.3)
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    end = time.monotonic() + 10
    while not os.path.exists(os.path.join(d, "sent")) and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(1)
    leaked = sniffer.stop()
    result = "ok"
    if leaked:
        result = "%d packet(s) from the pod's own address reached the client (not dropped)" % len(leaked)
    else:
        try:
            s.sendall(b"still there?\n")
            if not s.recv(100):
                result = "the connection was closed"
        except OSError as e:
            result = "the connection broke: %s" % e
    with open(os.path.join(d, "result"), "w") as f:
        f.write(result)


def inject(src, sport, dst, dport):
    send(IP(src=src, dst=dst) / TCP(sport=int(sport), dport=int(dport), flags="A",
                                    seq=0x7fff0000, ack=0x12345678))


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(*sys.argv[2:6])
    else:
        inject(*sys.argv[2:6])
