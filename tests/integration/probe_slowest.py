#!/usr/bin/env python3
"""probe_slowest.py - probe an HTTP endpoint on loopback until told to stop,
and print one JSON line: probes sent, answered 200, and the slowest answer.

  probe_slowest.py PORT --path /livez --stop-file F [--every 0.02] [--max-seconds 300]

One probe at a time (a new connection each, as a kubelet probe), every
--every seconds; it stops when --stop-file exists (after one probe at least)
or after --max-seconds. A probe that gets no answer within --timeout counts
as that long."""
import argparse, json, os, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--path", default="/livez")
ap.add_argument("--stop-file", required=True)
ap.add_argument("--every", type=float, default=0.02)
ap.add_argument("--timeout", type=float, default=10)
ap.add_argument("--max-seconds", type=float, default=300)
a = ap.parse_args()


def probe():
    """(status or 0, seconds)"""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout) as s:
            s.settimeout(a.timeout)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % a.path.encode())
            data = b""
            while b"\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, min(time.monotonic() - t0, a.timeout)


probes = ok = 0
slowest = 0.0
end = time.monotonic() + a.max_seconds
while True:     # (one probe at least, however soon the stop file is there)
    status, t = probe()
    probes += 1
    ok += status == 200
    slowest = max(slowest, t)
    if time.monotonic() >= end or os.path.exists(a.stop_file):
        break
    time.sleep(a.every)
print(json.dumps({"probes": probes, "ok": ok, "slowest": round(slowest, 4)}))
