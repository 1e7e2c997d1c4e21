#!/usr/bin/env python3
"""hold_conns.py - hold many hostile connections against an HTTP server on
loopback and probe it meanwhile; print one JSON line of what was seen.

  hold_conns.py PORT --conns 1000 --seconds 15 [--path /healthz]

The connections come from many addresses in 127.0.0.0/8 (8 per address, as
many clients would), a third idle, a third slowloris (a header byte every
second), a third a 40 KB request line with no newline; one address opens 100
at once (a greedy client). A closed one is opened again, so the count holds.
Meanwhile a well-formed probe from 127.0.0.1 runs every 0.5 s; its answers'
status and time are reported. Bounded: --seconds, and every socket closed at
the end."""
import argparse, json, resource, select, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--conns", type=int, default=1000)
ap.add_argument("--seconds", type=float, default=15)
ap.add_argument("--path", default="/healthz")
ap.add_argument("--probe-timeout", type=float, default=10)
a = ap.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.conns + 512)), hard))


def addr_of(i):
    n = 1 + i // 8
    return "127.%d.%d.%d" % (1 + n // 65536 % 200, n // 256 % 256, 1 + n % 250)


def opener(i):
    """(source address, kind) of hostile connection i."""
    if i < 100:
        return "127.250.0.1", "idle"	# the greedy client
    return addr_of(i), ("idle", "slowloris", "longline")[i % 3]


class Conn:
    def __init__(self, i):
        self.i = i
        self.src, self.kind = opener(i)
        self.s = None
        self.next_byte = 0

    def open(self):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((self.src, 0))
            s.connect_ex(("127.0.0.1", a.port))
        except OSError:
            s.close()
            return False
        self.s = s
        self.sent_head = False
        return True

    def poke(self, now):
        if self.kind == "idle" or now < self.next_byte:
            return
        try:
            if not self.sent_head:
                self.s.send(b"GET / HTTP/1.1\r\nHost: x\r\n" if self.kind == "slowloris"
                            else b"GET /" + b"a" * 40000)
                self.sent_head = True
            else:
                self.s.send(b"X" if self.kind == "slowloris" else b"a")
        except OSError:
            pass
        self.next_byte = now + 1


def probe():
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=a.probe_timeout)
        s.sendall(("GET %s HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n" % a.path).encode())
        data = b""
        while b"\r\n" not in data:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, time.monotonic() - t0


conns = [Conn(i) for i in range(a.conns)]
for c in conns:
    c.open()
reopened = 0
probes = []
end = time.monotonic() + a.seconds
next_probe = time.monotonic() + 1
while time.monotonic() < end:
    now = time.monotonic()
    for c in conns:
        if c.s is None:
            reopened += c.open()
        else:
            c.poke(now)
    # find closed ones (readable with EOF or error): reopen next round
    live = [c for c in conns if c.s is not None]
    for i in range(0, len(live), 500):
        chunk = live[i:i + 500]
        r, _, x = select.select([c.s for c in chunk], [], [c.s for c in chunk], 0)
        dead = set(r) | set(x)
        for c in chunk:
            if c.s in dead:
                try:
                    d = c.s.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    c.s.close()
                    c.s = None
    if now >= next_probe:
        probes.append(probe())
        next_probe = time.monotonic() + 0.5
    time.sleep(0.05)
held = sum(c.s is not None for c in conns)
for c in conns:
    if c.s:
        c.s.close()
print(json.dumps({
    "probes": len(probes),
    "ok": sum(1 for st, _ in probes if st in (200, 503)),
    "statuses": sorted(set(st for st, _ in probes)),
    "slowest": max((t for _, t in probes), default=None),
    "held_at_end": held,
    "reopened": reopened,
}))
