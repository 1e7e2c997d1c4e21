#!/usr/bin/env python3
"""invalid.py - scenario 24's two sides.

  invalid.py client VIP PORT POD-IP DIR   connect to VIP:PORT and, from the
      server's SYN-ACK (seen by a sniffer), write to DIR/flow the local port,
      the server's next sequence number and its ack; then watch for packets
      from POD-IP (un-NATed) until DIR/sent exists and 1 s more, and check the
      connection still answers a line. Writes "ok" or what went wrong to
      DIR/result.
  invalid.py client-direct VIP PORT POD-IP DIR   the same where the service
      is balanced at the socket (bpf mode): the socket is connected to the
      endpoint itself (no NAT, no conntrack translation), so the SYN-ACK and
      the injected segment come from POD-IP as the flow's own packets; checks
      that the application still sees VIP as its peer, that the client
      answers the segment with no reset, and that the connection still
      answers a line.
  invalid.py client-relay VIP PORT POD-IP DIR   the same where the service is
      relayed by the agent (userspace mode): the client's connection ends at
      the agent and the pod's is the agent's own, so the injected segment
      belongs to neither; checks that the application sees VIP as its peer and
      that the connection still answers a line (what reaches the client from
      the pod's address is no part of its connection).
  invalid.py inject SRC SPORT DST DIR     send one TCP segment of that flow from
      SRC:SPORT to DST with the right sequence number but an ack of data the
      client never sent: conntrack calls it INVALID ("ACK is over the upper
      bound"), so without a rule dropping it, it is not de-NATed.
"""
import os
import socket
import sys
import time

from scapy.all import IP, TCP, AsyncSniffer, conf, send  # noqa: E402

conf.verb = 0


def client(vip, port, pod_ip, d, direct=False, relay=False):
    peer = pod_ip if direct else vip
    sniffer = AsyncSniffer(lfilter=lambda p: IP in p and TCP in p and p[IP].src == peer, store=True)
    sniffer.start()
    time.sleep(0.5)
    s = socket.create_connection((vip, int(port)), timeout=3)
    lport = s.getsockname()[1]
    time.sleep(0.3)
    synack = [p for p in sniffer.stop() if p[TCP].dport == lport and p[TCP].flags == "SA"]
    if not synack:
        open(os.path.join(d, "result"), "w").write("the sniffer saw no SYN-ACK from the service")
        return
    last = synack[-1]
    with open(os.path.join(d, "flow.tmp"), "w") as f:
        f.write("%d %d %d\n" % (lport, last[TCP].seq + 1, last[TCP].ack))
    if direct:  # resets the client sends to the pod
        sniffer = AsyncSniffer(lfilter=lambda p: IP in p and TCP in p and p[IP].dst == pod_ip and "R" in p[TCP].flags,
                               store=True)
    else:  # packets from the pod's own address (not de-NATed)
        sniffer = AsyncSniffer(lfilter=lambda p: IP in p and p[IP].src == pod_ip, store=True)
    sniffer.start()
    time.sleep(0.5)
    os.rename(os.path.join(d, "flow.tmp"), os.path.join(d, "flow"))
    end = time.monotonic() + 10
    while not os.path.exists(os.path.join(d, "sent")) and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(1)
    leaked = sniffer.stop()
    result = "ok"
    if direct and s.getpeername()[0] != vip:
        result = "the application sees %s as its peer, not the service %s" % (s.getpeername()[0], vip)
    elif direct and leaked:
        result = "the client reset the connection after the segment (%d reset(s))" % len(leaked)
    elif relay and s.getpeername()[0] != vip:
        result = "the application sees %s as its peer, not the service %s" % (s.getpeername()[0], vip)
    elif leaked and not relay:
        result = "%d packet(s) from the pod's own address reached the client (not dropped)" % len(leaked)
    else:
        try:
            s.sendall(b"still there?\n")
            if not s.recv(100):
                result = "the connection was closed"
        except OSError as e:
            result = "the connection broke: %s" % e
    open(os.path.join(d, "result"), "w").write(result)


def inject(src, sport, dst, d):
    lport, seq, ack = (int(x) for x in open(os.path.join(d, "flow")).read().split())
    send(IP(src=src, dst=dst) / TCP(sport=int(sport), dport=lport, flags="A",
                                    seq=seq, ack=(ack + 0x40000000) & 0xffffffff, window=502))


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(*sys.argv[2:6])
    elif sys.argv[1] == "client-relay":
        client(*sys.argv[2:6], relay=True)
    elif sys.argv[1] == "client-direct":
        client(*sys.argv[2:6], direct=True)
    else:
        inject(*sys.argv[2:6])
