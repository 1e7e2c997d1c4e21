"""userspace.py - make bench's rows for the userspace forwarder (--mode
userspace), each beside haproxy (mode tcp, bench/haproxy.cfg) relaying the
same traffic in the same node and beside the direct path, measured in the
same run: new connections/s (wrk, Connection: close), request round trip
(sockperf ping-pong over TCP, one connection), throughput (iperf3), memory at
idle_n() idle connections (the relay's RSS growth plus its sockets' buffers;
MemAvailable moves by more than that here with other work on the machine),
and the restart-resume time (SIGKILL, start again, first new connection
served). run.py calls rows(run) with itself as `r` (BENCH_ONLY=userspace),
or rows(run, idle_only=True) for the memory rows alone
(BENCH_ONLY=userspace-idle).

Paths, from the client cl outside node1 to the server pod srv:
  forwarder  cl → ClusterIP 198.19.128.1 (svcplane0 in node1) → agent → srv
  haproxy    cl → node1's 198.19.0.1, haproxy.cfg's ports → haproxy → srv
  direct     cl → srv
"""
import os
import resource
import statistics
import subprocess
import time

VIP = "198.19.128.1"
NODE = "198.19.0.1"
SRV = "198.18.1.10"
# service port (forwarder, direct) → haproxy port (haproxy.cfg)
PORTS = {"http": (8080, 18080), "iperf": (5201, 15201), "rtt": (11114, 21114), "idle": (9999, 19999)}
REPS = 9
# Descriptors set aside beside two per idle connection, by the process that
# needs most: the forwarder keeps 128 for the rest of the agent (US_FDS_OWN)
# and one per listener (4 here); haproxy about 20 of its own; the HOLD
# client and the server one per connection and a few.
IDLE_FDS_ASIDE = 200


def idle_n():
    """Idle connections for the memory rows: 10,000, or as many as one
    process's descriptors allow here. A relay holds two per connection (the
    client's socket and the server's), so RLIMIT_NOFILE's hard limit, which
    no process here may raise (no CAP_SYS_RESOURCE), bounds them: 20,000
    here gives (20000 - 200) / 2 = 9,900 (rounded down to hundreds); 10,000
    would need 20,000 for the sockets alone."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return 10000
    return min(10000, (hard - IDLE_FDS_ASIDE) // 2 // 100 * 100)


def manifests(r, d):
    os.makedirs(d, exist_ok=True)
    ports = [{"name": n, "port": p, "targetPort": p} for n, (p, _) in PORTS.items()]
    items = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-0", "namespace": "bench"},
         "spec": {"clusterIP": VIP, "ports": ports}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "svc-0-1", "namespace": "bench",
                      "labels": {"kubernetes.io/service-name": "svc-0"}},
         "addressType": "IPv4", "ports": [{"name": n, "port": p} for n, (p, _) in PORTS.items()],
         "endpoints": [{"addresses": [SRV], "nodeName": "node1"}]}]
    with open(os.path.join(d, "svc0.json"), "w") as f:
        r.json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def addr(path, port_name):
    svc, ha = PORTS[port_name]
    return {"forwarder": (VIP, svc), "haproxy": (NODE, ha), "direct": (SRV, svc)}[path]


def wrk(r, path):
    a, p = addr(path, "http")
    return r.wrk(a, port=p)


def rtt(r, path):
    a, p = addr(path, "rtt")
    out = r.sh(*r.in_member("sp-bench-cl"), "sockperf", "ping-pong", "--tcp", "-i", a, "-p", str(p),
               "-t", "3", "--msg-size", "64").stdout
    m = r.re.search(r"avg-latency=([0-9.]+)", out) or r.re.search(r"avg-lat=\s*([0-9.]+)", out)
    return float(m.group(1))


def iperf(r, path):
    a, p = addr(path, "iperf")
    return r.iperf(a, port=p)


def relay_kib(r, pid):
    """The relay's memory now: (RSS KiB, socket buffer KiB, sockets), the
    buffers summed over every TCP socket in node1 (only the relay has
    connections there): ss's skmem r, t, f, w, o and bl (receive, send,
    forward-allocated, queued, options, backlog)."""
    with open("/proc/%d/status" % pid) as f:
        rss = int(r.re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    out = r.sh(*r.in_member("sp-bench-node1"), "ss", "-tmnH").stdout
    sk = n = 0
    for m in r.re.finditer(r"skmem:\(([^)]*)\)", out):
        n += 1
        for field in m.group(1).split(","):
            k = r.re.match(r"([a-z]+)(\d+)", field)
            if k and k.group(1) in ("r", "t", "f", "w", "o", "bl"):
                sk += int(k.group(2))
    return rss, sk / 1024, n


# The idle clients: one process holding n connections, each having sent one
# byte; linger 0, so that when it is killed every connection ends with a
# reset (no TIME_WAIT left to crowd out the next round's ports).
HOLD = r'''
import resource, socket, struct, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
host, port, n, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"x")
    socks.append(s)
open(ready, "w").close()
time.sleep(3600)
'''

# The server behind the idle connections: accepts every one, never reads or
# writes, and resets one whose peer hung up (the relay passing a client's
# end on), so that rounds leave neither held sockets nor TIME_WAIT behind.
IDLE_SERVER = r'''
import resource, select, socket, struct, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1])))
srv.listen(4096)
srv.setblocking(False)
ep = select.epoll()
ep.register(srv.fileno(), select.EPOLLIN)
held = {}
while True:
    for fd, ev in ep.poll():
        if fd != srv.fileno():
            c = held.pop(fd)
            ep.unregister(fd)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            continue
        while True:
            try:
                c, _ = srv.accept()
            except BlockingIOError:
                break
            except OSError:
                time.sleep(0.01)    # out of descriptors: as they free
                break
            ep.register(c.fileno(), select.EPOLLRDHUP)
            held[c.fileno()] = c
'''


def idle_mem(r, path, start, n):
    """KiB a fresh relay of @path (started by @start, which returns its pid
    and a function that stops it) takes for @n idle connections (each has
    carried one byte to the server, which never answers): the growth of its
    RSS plus its sockets' buffers. Fresh each time: a relay that held
    connections before reuses the memory it grew then. The sockets' own
    kernel objects (two per connection in either relay) are not counted;
    MemAvailable, which would count them, moves by more than that here with
    other work on the machine. A relay that did not hold all @n (two
    sockets each) is an error, not a figure."""
    a, p = addr(path, "idle")
    pid, stop = start()
    ready = os.path.join(r.WORK, "idle-ready")
    if os.path.exists(ready):
        os.unlink(ready)
    h = None
    try:
        r.sh(*r.in_member("sp-bench-cl"), r.sys.executable, "-c", READY, a, str(p))
        time.sleep(2)      # the probe's connection is gone
        before = relay_kib(r, pid)
        h = subprocess.Popen(r.in_member("sp-bench-cl") + [r.sys.executable, "-c", HOLD, a, str(p), str(n), ready],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 60
        while not os.path.exists(ready):
            if h.poll() is not None or time.monotonic() > end:
                raise RuntimeError("idle connections via %s: %s" % (path, h.stderr.read()[-500:]))
            time.sleep(0.1)
        time.sleep(1)
        after = relay_kib(r, pid)
        grew = [after[i] - before[i] for i in range(3)]
        print("  (idle via %s: RSS +%d KiB, socket buffers +%d KiB, %d sockets more)" % (path, *grew), flush=True)
        if grew[2] < 2 * n:
            raise RuntimeError("idle connections via %s: %d sockets more in node1 for %d connections, "
                               "want %d: the relay did not hold them all" % (path, grew[2], n, 2 * n))
        return grew[0] + grew[1]
    finally:
        if h:
            h.kill()
            h.wait()
        stop()
        time.sleep(1)




def restart_resume(r, agent_flags, d):
    """Seconds from starting a SIGKILLed agent again to the first new
    connection it serves (a connect every 5 ms from cl)."""
    a = r.Agent("sp-bench-node1", d, *agent_flags)
    a.wait_syncs("full", 1)
    a.p.kill()
    a.p.wait()
    r.PROCS.remove(a.p)
    probe = r'''
import socket, sys, time
t = time.monotonic()
while time.monotonic() - t < 30:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        print(time.time()); sys.exit(0)
    except OSError:
        time.sleep(0.005)
sys.exit(1)
'''
    p = subprocess.Popen(r.in_member("sp-bench-cl") + [r.sys.executable, "-c", probe, VIP, str(PORTS["http"][0])],
                         stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)     # the probe is refused meanwhile
    start = time.time()
    a = r.Agent("sp-bench-node1", d, *agent_flags)
    out, _ = p.communicate(timeout=60)
    a.stop()
    if p.returncode:
        raise RuntimeError("no connection served after the restart")
    return float(out.strip()) - start


READY = r'''
import socket, sys, time
end = time.monotonic() + 10
while True:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > end:
            raise
        time.sleep(0.05)
'''


def rows(r, idle_only=False):
    """The rows (with @idle_only, the memory rows alone), then --cleanup in
    node1 whatever happened (the agent's state file is in the machine's
    /run)."""
    try:
        _rows(r, idle_only)
    finally:
        r.node_cleanup()


def _rows(r, idle_only):
    d = os.path.join(r.WORK, "us")
    manifests(r, d)
    cfg = os.path.join(r.TOP, "bench", "haproxy.cfg")
    for cmd in (["sockperf", "server", "--tcp", "-i", "0.0.0.0", "-p", str(PORTS["rtt"][0])],
                [r.sys.executable, "-c", IDLE_SERVER, str(PORTS["idle"][0])]):
        r.PROCS.append(subprocess.Popen(r.in_member("sp-bench-srv") + cmd, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    r.inns("node1", "haproxy", "-c", "-f", cfg)
    flags = ["--mode", "userspace", "--min-sync-period", "100ms"]

    def start_haproxy():
        ha = subprocess.Popen(r.in_member("sp-bench-node1") + ["haproxy", "-db", "-f", cfg],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r.PROCS.append(ha)

        def stop():
            ha.kill()
            ha.wait()
            r.PROCS.remove(ha)
        return ha, stop

    def start_agent():
        agent = r.Agent("sp-bench-node1", d, *flags)
        agent.wait_syncs("full", 1)
        return agent, agent.stop

    if not idle_only:
        datapath_rows(r, start_haproxy, start_agent)
    idle_rows(r, start_haproxy, start_agent)
    if not idle_only:
        resume = statistics.median(restart_resume(r, flags, d) for _ in range(3))
        r.record("restart-resume time, userspace forwarder (SIGKILL, start again)", resume, "s", 1.0,
                 "10 x min-sync-period (100ms)")


def datapath_rows(r, start_haproxy, start_agent):
    """New connections/s, round trip and throughput: forwarder, haproxy and
    the direct path, interleaved."""
    ha, stop_ha = start_haproxy()
    agent, stop_agent = start_agent()
    for path in ("haproxy", "forwarder"):    # both relays answer before anything is timed
        a, p = addr(path, "http")
        r.sh(*r.in_member("sp-bench-cl"), r.sys.executable, "-c", READY, a, str(p))
    if ha.poll() is not None:
        raise RuntimeError("haproxy exited: %d" % ha.returncode)
    measures = [("new TCP connections/s (wrk)", wrk, "conn/s"),
                ("TCP request round trip (sockperf --tcp)", rtt, "us"),
                ("TCP throughput (iperf3)", iperf, "Gbit/s")]
    paths = ("forwarder", "haproxy", "direct")
    for name, fn, unit in measures:
        got = {p: [] for p in paths}
        for i in range(REPS):
            for p in paths[i % 3:] + paths[:i % 3]:    # each repetition starts one path later
                got[p].append(fn(r, p))
        med = {p: statistics.median(v) for p, v in got.items()}
        for p in paths:
            print("#   %s, %s: %s" % (name, p, " ".join("%.4g" % x for x in got[p])), file=r.sys.stderr, flush=True)
        r.record("%s, userspace forwarder" % name, med["forwarder"], unit, med["haproxy"],
                 "haproxy (mode tcp, same node)")
        r.record("%s, userspace forwarder vs direct" % name, med["forwarder"], unit, med["direct"],
                 "direct to pod")
    stop_agent()
    stop_ha()


def idle_rows(r, start_haproxy, start_agent):
    """Memory at idle_n() idle connections: the relays only (the direct
    path has none), each a fresh process, three rounds alternating."""
    n = idle_n()
    starts = {"forwarder": lambda: (lambda a: (a[0].pid(), a[1]))(start_agent()),
              "haproxy": lambda: (lambda h: (h[0].pid, h[1]))(start_haproxy())}
    got = {p: [] for p in starts}
    for i in range(3):
        for p in (("forwarder", "haproxy") if i % 2 == 0 else ("haproxy", "forwarder")):
            got[p].append(idle_mem(r, p, starts[p], n))
    med = {p: statistics.median(v) for p, v in got.items()}
    r.record("memory at %d idle connections (relay RSS + socket buffers), userspace forwarder" % n,
             med["forwarder"], "KiB", med["haproxy"], "haproxy, same connections")
    r.record("memory per idle connection, userspace forwarder", med["forwarder"] / n, "KiB",
             med["haproxy"] / n, "haproxy, same connections")
