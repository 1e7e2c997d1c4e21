#!/usr/bin/env python3
"""sctp_msgs.py: SCTP messages with stream ids, for the userspace forwarder.

  sctp_msgs.py probe                      exit 0 when this kernel makes
      one-to-one SCTP sockets, else print why and exit 1
  sctp_msgs.py serve PORT                 an echo server (one-to-one sockets):
      every message back whole, on the stream and with the payload protocol
      id it came with
  sctp_msgs.py run HOST PORT              messages of 1 B to 200 KiB on
      streams 0..9, each with its own ppid; checks that each comes back as
      one message, byte for byte, on its stream with its ppid; prints "ok N"
      or "bad: why"
"""
import socket
import struct
import sys

SCTP_SNDRCV = 1       # cmsg type: struct sctp_sndrcvinfo
SCTP_EVENTS = 11      # setsockopt: struct sctp_event_subscribe
SCTP_INITMSG = 2
SNDRCV = struct.Struct("=HHHxxIIIIIi")     # stream, ssn, flags, ppid, context, ttl, tsn, cumtsn, assoc
MSG_EOR = 0x80


def setup(s):
    s.setsockopt(socket.IPPROTO_SCTP, SCTP_EVENTS, bytes([1]) + bytes(13))   # data_io_event
    s.setsockopt(socket.IPPROTO_SCTP, SCTP_INITMSG, struct.pack("=HHHH", 16, 16, 0, 0))


def send(s, data, stream, ppid):
    info = SNDRCV.pack(stream, 0, 0, socket.htonl(ppid), 0, 0, 0, 0, 0)
    s.sendmsg([data], [(socket.IPPROTO_SCTP, SCTP_SNDRCV, info)], MSG_EOR)


def recv(s):
    """One whole message: (data, stream, ppid), or None at the end."""
    data = b""
    stream = ppid = None
    while True:
        d, anc, flags, _ = s.recvmsg(262144, socket.CMSG_SPACE(SNDRCV.size))
        if not d and not anc:
            return None
        for lvl, typ, val in anc:
            if lvl == socket.IPPROTO_SCTP and typ == SCTP_SNDRCV:
                f = SNDRCV.unpack(val[:SNDRCV.size])
                stream, ppid = f[0], socket.ntohl(f[3])
        data += d
        if flags & MSG_EOR:
            return data, stream, ppid


def probe():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
    except OSError as e:
        print("socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %s" % e)
        return 1
    return 0


def serve(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    setup(srv)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        setup(c)
        while True:
            m = recv(c)
            if m is None:
                break
            send(c, *m)
        c.close()


def run(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    setup(s)
    s.settimeout(5)
    s.connect((host, port))
    sizes = [1, 7, 1000, 65536, 65537, 200000]
    n = 0
    for stream in range(10):
        for size in sizes:
            data = bytes((stream * 31 + i) % 251 for i in range(size))
            ppid = 1000 + stream * 10 + sizes.index(size)
            send(s, data, stream, ppid)
            m = recv(s)
            if m is None:
                print("bad: closed after %d messages" % n)
                return 1
            if m != (data, stream, ppid):
                print("bad: message %d (%d B, stream %d, ppid %d) came back as %d B, stream %s, ppid %s"
                      % (n, size, stream, ppid, len(m[0]), m[1], m[2]))
                return 1
            n += 1
    print("ok %d" % n)
    return 0


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "probe":
        sys.exit(probe())
    if a[1] == "serve":
        sys.exit(serve(int(a[2])))
    sys.exit(run(a[2], int(a[3])))
