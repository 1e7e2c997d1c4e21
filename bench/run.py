#!/usr/bin/env python3
"""run.py - make bench: sync-time, endpoint-change, datapath and memory figures,
each beside a peer measured in the same run; writes bench/results.json and
prints one table. Everything runs in network namespaces this script makes and
removes (also on failure); traffic stays inside them.

Figures (issue: nftables backend):
  full sync at 1k, 10k (and 50k) services x 10 endpoints, agent's own duration
    and wall time to rules in place, against `nft -f` of kube-proxy's v1.35
    layout (1k, 10k), of its 1.36 layout (a chain per service with an inline
    numgen map, no endpoint chains; 1k, 10k) and of svcplane's own ruleset as
    text
  one endpoint change at 100 and 10k services (agent's partial sync duration)
  datapath at 1 and 10k services: new TCP connections/s (wrk, Connection: close,
    nginx in a pod), UDP round trip (sockperf ping-pong), TCP throughput
    (iperf3); against the direct path and a minimal hand-written NAT ruleset
  agent RSS and CPU at 10k x 10

Figures (issue: eBPF part 1), in the rig's node1 (its cgroup, the rig's bpffs):
  bpf mode's full sync of 10k x 10 beside the nftables agent's, and one
    endpoint change (partial sync) beside nftables mode's
  pod datapath at 1 and 10k services: a client pod on node1 -> ClusterIP -> the
    server pod on node1 in bpf mode, beside the same pod direct to the server
    pod (under node1's hooks, as every socket of a bpf-mode node; the targets'
    reference), the same pod direct with no hook on the node, and the same
    pod -> ClusterIP in nftables mode; runs interleaved, medians of
    BENCH_POD_REPS (9)

Figures (issue 19: hostile input), on loopback (bench/hostile.py): parse time
  of the worst 1 MiB nesting case, the slowest /healthz answer under 1,000
  held connections, the agent's peak and settled RSS after each manifest bomb
  and after each API bomb (a gzip bomb, 1.3 MB -> 1.28 GB; a list item and a
  watch event of 7.3 million tiny values; a plain 210 MB page), served by
  tests/fakeapi, with the slowest /livez answer while each arrives

Figures (issue 16: eBPF part 2): the client outside the nodes → node1's
  NodePort → a server pod on node1 (local) and on node2 (remote), bpf mode and
  nftables mode, beside the client direct to the pod: new TCP connections/s,
  UDP round trip, TCP throughput; runs interleaved, medians of BENCH_POD_REPS

BENCH_ONLY=bpf: only the bpf-mode rows and the nftables figures they stand
beside (results in bench/results-bpf.json); BENCH_ONLY=outside: only the
traffic-from-outside rows (bench/results-outside.json); BENCH_ONLY=userspace:
only the userspace forwarder's rows beside haproxy and the direct path
(userspace.py, results in bench/results-userspace.json); BENCH_ONLY=hostile:
only the hostile-input rows (bench/results-hostile.json); BENCH_ONLY=pod:
only bpf mode's pod datapath rows (bench/results-pod.json); BENCH_QUICK=1:
smaller sizes.

BENCH_ONLY=userspace-idle: only the userspace forwarder's memory rows at
idle connections, beside haproxy (bench/results-userspace-idle.json).
"""
import atexit
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from hostile import bench_hostile
import userspace as userspace_rows

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SVCPLANE = os.path.join(TOP, "svcplane")
CTL = os.path.join(TOP, "svcplanectl")
GEN = os.path.join(TOP, "bench", "gen.py")
QUICK = os.environ.get("BENCH_QUICK") == "1"   # smaller sizes, for a smoke run
# BENCH_ONLY=bpf: only the bpf-mode rows (with the nftables references they
# stand beside); BENCH_POD_REPS=N: repetitions of the pod datapath (default 9)
ONLY = os.environ.get("BENCH_ONLY", "")
RUNS = 5
POD_REPS = int(os.environ.get("BENCH_POD_REPS", "9"))
POD_SECS = 2           # seconds per wrk / sockperf / iperf3 run of the pod datapath
WORK = tempfile.mkdtemp(prefix="svcplane-bench-")
NAMESPACES = []
PROCS = []
results = []


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    if ONLY != "hostile":      # (the hostile rows make no rig: leave any alone)
        subprocess.run([CTL, "rig", "down", "bench"], capture_output=True)
    for ns in NAMESPACES:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    shutil.rmtree(WORK, ignore_errors=True)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def sh(*args, ns=None, check=True, **kw):
    cmd = (in_member(ns) if ns else []) + list(args)
    if "stdout" in kw:
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, **kw)
    else:
        r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr[-1500:]))
    return r


def netns(name):
    sh("ip", "netns", "add", name)
    NAMESPACES.append(name)
    sh("ip", "link", "set", "lo", "up", ns=name)
    return name


def drop_netns(name):
    sh("ip", "netns", "del", name, check=False)
    NAMESPACES.remove(name)


def record(name, value, unit, reference=None, ref_name=None, lower_is_better=True):
    row = {"name": name, "value": round(value, 6), "unit": unit}
    if reference:
        row["reference"] = round(reference, 6)
        row["reference_name"] = ref_name
        row["ratio"] = round(value / reference, 4)
    results.append(row)
    ref = "" if not reference else "  ref %-28s %12.4f  ratio %.4f" % (ref_name, reference, row["ratio"])
    print("%-52s %12.4f %-8s%s" % (name, value, unit, ref), flush=True)


def nft_load_time(path):
    """Seconds `nft -f path` takes in a fresh namespace."""
    ns = netns("sp-bench-nft")
    try:
        t = time.monotonic()
        sh("nft", "-f", path, ns=ns)
        return time.monotonic() - t
    finally:
        drop_netns(ns)


def rig_member(ns):
    """The member name when ns is a namespace of the bench rig, else None."""
    return ns[len("sp-bench-"):] if ns.startswith("sp-bench-") and os.path.exists(
        "/run/svcplane/rig/bench/members") and ns[len("sp-bench-"):] in RIG_MEMBERS else None


def node_flags(member):
    """--cgroup-path and --bpf-pin-path of a rig member's node (rig path)."""
    return ["--cgroup-path", sh(CTL, "rig", "path", "bench", member, "cgroup").stdout.strip(),
            "--bpf-pin-path", sh(CTL, "rig", "path", "bench", member, "bpf-pin").stdout.strip()]


def in_member(ns):
    """The command prefix that runs in namespace ns: a rig member's namespace and
    cgroup (rig exec), or a bench namespace of its own (ip netns exec)."""
    m = rig_member(ns)
    return [CTL, "rig", "exec", "bench", m, "--"] if m else ["ip", "netns", "exec", ns]


class Agent:
    def __init__(self, ns, manifests, *flags):
        """manifests: a directory, or a list of source flags (--kubeconfig ...).
        In a rig node, the agent runs in its cgroup with its cgroup and pin dir."""
        self.log = os.path.join(WORK, "agent-%s.log" % ns)
        self.start = time.monotonic()
        source = ["--manifests", manifests] if isinstance(manifests, str) else manifests
        if rig_member(ns):
            source = node_flags(rig_member(ns)) + source
        self.p = subprocess.Popen(in_member(ns) + [SVCPLANE] + source + [
                                   "--hostname-override", "node1", "--cluster-cidr", "198.18.0.0/16",
                                   "--min-sync-period", "0", "--sync-period", "600s"] + list(flags),
                                  stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        PROCS.append(self.p)

    def syncs(self, kind):
        with open(self.log) as f:
            return [float(m.group(1)) for m in re.finditer(r"sync: %s, .* ([0-9.]+) ms" % kind, f.read())]

    def wait_syncs(self, kind, n, timeout=600):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.syncs(kind)
            if len(s) >= n:
                return s
            if self.p.poll() is not None:
                raise RuntimeError("agent exited: " + open(self.log).read()[-2000:])
            time.sleep(0.01)
        raise RuntimeError("no %s sync in time: %s" % (kind, open(self.log).read()[-2000:]))

    def source_synced(self, timeout=600):
        """(CPU s, max RSS MiB) the agent logged when its source finished loading."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(self.log) as f:
                m = re.search(r"source synced: .* CPU ([0-9.]+) s, max RSS ([0-9]+) MiB", f.read())
            if m:
                return float(m.group(1)), float(m.group(2))
            if self.p.poll() is not None:
                raise RuntimeError("agent exited: " + open(self.log).read()[-2000:])
            time.sleep(0.02)
        raise RuntimeError("source never synced: " + open(self.log).read()[-2000:])

    def pid(self):
        # rig exec and ip netns exec exec the agent: same pid
        return self.p.pid

    def rss_mib(self):
        with open("/proc/%d/status" % self.pid()) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024

    def cpu_s(self):
        with open("/proc/%d/stat" % self.pid()) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.p.terminate()
        self.p.wait()
        PROCS.remove(self.p)


def synced_agent(n, eps):
    """An nftables agent in a fresh namespace, past its full sync of n x eps:
    (namespace, agent, its own sync seconds, wall seconds from start)."""
    d = os.path.join(WORK, "m%d" % n)
    sh(sys.executable, GEN, "manifests", str(n), str(eps), d)
    ns = netns("sp-bench-sync")
    try:
        a = Agent(ns, d)
        own = a.wait_syncs("full", 1)[0] / 1000
    except BaseException:
        drop_netns(ns)
        raise
    return ns, a, own, time.monotonic() - a.start


def bench_sync(n, eps, kube_proxy_ref):
    ns, a, own, wall = synced_agent(n, eps)
    try:
        label = "%dk" % (n // 1000) if n >= 1000 else str(n)
        # svcplane's own ruleset as text, loaded by nft -f
        text = os.path.join(WORK, "own-%d.nft" % n)
        sh(sys.executable, GEN, "own", str(n), str(eps), text)
        ref_own = nft_load_time(text)
        ref_kp = None
        if kube_proxy_ref:
            kp = os.path.join(WORK, "kp-%d.nft" % n)
            sh(sys.executable, GEN, "kube-proxy", str(n), str(eps), kp)
            ref_kp = nft_load_time(kp)
            record("full sync %s x %d (agent)" % (label, eps), own, "s", ref_kp, "nft -f kube-proxy v1.35")
            # kube-proxy 1.36: no endpoint chains, the same services
            kp136 = os.path.join(WORK, "kp136-%d.nft" % n)
            sh(sys.executable, GEN, "kube-proxy-136", str(n), str(eps), kp136)
            ref_kp136 = nft_load_time(kp136)
            record("full sync %s x %d (agent) vs kube-proxy 1.36" % (label, eps), own, "s", ref_kp136,
                   "nft -f kube-proxy v1.36")
        record("full sync %s x %d (agent) vs own text" % (label, eps), own, "s", ref_own,
               "nft -f svcplane ruleset")
        record("full sync %s x %d wall, start to rules" % (label, eps), wall, "s", ref_kp or ref_own,
               "nft -f kube-proxy v1.35" if ref_kp else "nft -f svcplane ruleset")
        if n == 10000:
            record("agent RSS at 10k x 10", a.rss_mib(), "MiB")
            record("agent CPU, start to first sync at 10k x 10", a.cpu_s(), "s")
            bench_readback(ns, label)
        a.stop()
    finally:
        drop_netns(ns)
    return own, wall


def nft_agent_full_sync(n, eps):
    """The nftables agent's own full sync of n x eps in a fresh namespace (the
    reference of bpf mode's, when bench_sync does not run)."""
    ns, a, own, wall = synced_agent(n, eps)
    try:
        a.stop()
    finally:
        drop_netns(ns)
    return own, wall


def bench_readback(ns, label):
    """svcplanectl dump of the live tables, and inspect of their `nft list
    ruleset` dump, beside nft listing the same tables."""
    t = time.monotonic()
    sh(CTL, "dump", ns=ns, stdout=subprocess.DEVNULL)
    dump = time.monotonic() - t
    path = os.path.join(WORK, "own-dump.nft")
    t = time.monotonic()
    with open(path, "w") as f:
        sh("nft", "list", "ruleset", ns=ns, stdout=f)
    listing = time.monotonic() - t
    record("svcplanectl dump, %s x 10 live" % label, dump, "s", listing, "nft list ruleset")
    secs, mib = inspect_cost(path)
    record("inspect of svcplane's own %s x 10 text dump" % label, secs, "s", listing, "nft list ruleset")
    record("inspect peak memory, svcplane's own %s x 10 dump" % label, mib, "MiB")


def bench_endpoint_change(n, eps):
    d = os.path.join(WORK, "c%d" % n)
    sh(sys.executable, GEN, "manifests", str(n), str(eps), d)
    ns = netns("sp-bench-chg")
    try:
        a = Agent(ns, d)
        a.wait_syncs("full", 1)
        for i in range(RUNS + 1):     # the first is a warm-up
            sh(sys.executable, GEN, "change", str(eps), d, str(i + 1))
            a.wait_syncs("partial", i + 1, timeout=30)
        times = a.syncs("partial")[1:RUNS + 1]
        a.stop()
    finally:
        drop_netns(ns)
    return statistics.median(times) / 1000


def bench_api_list(n, eps):
    """The API source's initial list of n Services and n EndpointSlices (pages
    of 500, over TLS with a token, from tests/fakeapi) against the manifest
    source loading the same objects from files: agent CPU and peak memory
    when the source reports itself synced (decoded, in the store)."""
    d = os.path.join(WORK, "api%d" % n)
    sh(sys.executable, GEN, "manifests", str(n), str(eps), d)
    state = os.path.join(WORK, "api-state-%d.json" % n)
    with open(state, "w") as f:
        sh(sys.executable, os.path.join(TOP, "tests", "fakeapi", "state_from_manifests.py"), d, "node1",
           stdout=f)
    certs = os.path.join(WORK, "certs")
    sh("bash", os.path.join(TOP, "tests", "fakeapi", "mkcerts.sh"), certs)
    with open(os.path.join(certs, "token"), "w") as f:
        f.write("bench-token")
    kc = os.path.join(WORK, "bench.kubeconfig")
    with open(kc, "w") as f:
        f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                "    server: https://127.0.0.1:6443\n    certificate-authority: %s/ca.crt\n"
                "users:\n- name: u\n  user: {tokenFile: %s/token}\n"
                "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n" % (certs, certs))
    figures = {}
    for source in ("api", "manifests"):
        ns = netns("sp-bench-api")
        try:
            if source == "api":
                srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable,
                                        os.path.join(TOP, "tests", "fakeapi", "fakeapi.py"),
                                        "--cert", os.path.join(certs, "server.crt"),
                                        "--key", os.path.join(certs, "server.key"),
                                        "--token-file", os.path.join(certs, "token"), "--state", state],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                PROCS.append(srv)
                srv.stdout.readline()          # "fakeapi: serving ..."
                a = Agent(ns, ["--kubeconfig", kc], "--mode", "dry-run")
            else:
                a = Agent(ns, d, "--mode", "dry-run")
            figures[source] = a.source_synced()
            a.stop()
            if source == "api":
                srv.kill()
                srv.wait()
                PROCS.remove(srv)
        finally:
            drop_netns(ns)
    label = "%dk" % (n // 1000)
    record("API initial list %s svc + %s slices, agent CPU" % (label, label), figures["api"][0], "s",
           figures["manifests"][0], "manifest files, same objects")
    record("API initial list %s svc + %s slices, peak RSS" % (label, label), figures["api"][1], "MiB",
           figures["manifests"][1], "manifest files, same objects")


# --- datapath ---------------------------------------------------------------------

RIG = """name: bench
nodes:
  - name: node1
    pods: [{name: srv, ports: []}, {name: cp, ports: []}]
  - name: node2
    pods: [{name: srv2, ports: []}]
clients: [cl]
"""
RIG_MEMBERS = ("node1", "node2", "srv", "cp", "srv2", "cl", "fabric")
SRV = "198.18.1.10"
SRV2 = "198.18.2.10"          # the server pod on node2
NODE1 = "198.19.0.1"
VIP = "198.19.128.1"          # svc-0 in the generated manifests
MIN_VIP = "198.19.143.250"    # the hand-written ruleset's address
NGINX = """worker_processes 1; daemon off; pid %(dir)s/%(pid)s; error_log stderr;
events { worker_connections 4096; }
http { access_log off; server { listen 8080 reuseport backlog=4096;
  location / { return 200 "ok\\n"; } } }
"""


def inns(member, *args, **kw):
    return sh(*args, ns="sp-bench-" + member, **kw)


def wrk(addr, prefix=None, port=None, secs=3):
    prefix = prefix or in_member("sp-bench-cl")
    port = port or (8080 if addr == SRV else 80)
    out = sh(*prefix, "wrk", "-t1", "-c16", "-d%ds" % secs, "-H", "Connection: close",
             "http://%s:%d/" % (addr, port)).stdout
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))


def sockperf(addr, prefix=None, port=None, secs=3):
    prefix = prefix or in_member("sp-bench-cl")
    port = port or (11111 if addr == SRV else 7)
    out = sh(*prefix, "sockperf", "ping-pong", "-i", addr, "-p", str(port), "-t", str(secs),
             "--msg-size", "64").stdout
    m = re.search(r"avg-latency=([0-9.]+)", out) or re.search(r"avg-lat=\s*([0-9.]+)", out)
    return float(m.group(1))


def iperf(addr, prefix=None, port=None, secs=3):
    prefix = prefix or in_member("sp-bench-cl")
    out = sh(*prefix, "iperf3", "-c", addr, "-p", str(port or 5201), "-t", str(secs), "-J").stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def median_of(fn, addr):
    return statistics.median(fn(addr) for _ in range(RUNS))


def datapath_services(d, n, udp_port=11111):
    """svc-0 (VIP) → the server pod on 80/tcp→8080, 7/udp→udp_port and 5201/tcp→5201;
    n-1 other services beside it."""
    sh(sys.executable, GEN, "manifests", str(max(n, 1)), "10", d)
    items = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-0", "namespace": "bench"},
         "spec": {"clusterIP": VIP, "ports": [
             {"name": "http", "port": 80, "targetPort": 8080},
             {"name": "udp", "port": 7, "targetPort": udp_port, "protocol": "UDP"},
             {"name": "iperf", "port": 5201, "targetPort": 5201}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "svc-0-1", "namespace": "bench",
                      "labels": {"kubernetes.io/service-name": "svc-0"}},
         "addressType": "IPv4",
         "ports": [{"name": "http", "port": 8080}, {"name": "udp", "port": udp_port, "protocol": "UDP"},
                   {"name": "iperf", "port": 5201}],
         "endpoints": [{"addresses": [SRV], "nodeName": "node1"}]}]
    with open(os.path.join(d, "svc0.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    if n <= 1:
        for f in os.listdir(d):
            if f.startswith("services-"):
                os.unlink(os.path.join(d, f))


def rig_up():
    """The bench rig: node1 with the server pod and a client pod, and a client
    outside the node; nginx, sockperf and iperf3 servers in the server pod."""
    rig = os.path.join(WORK, "rig.yaml")
    with open(rig, "w") as f:
        f.write(RIG)
    sh(CTL, "rig", "up", rig)
    # Tens of thousands of short connections a second: without these, the
    # server's TIME_WAIT sockets and conntrack's TIME_WAIT entries (120 s)
    # collide with reused (masqueraded) source ports and every NAT path stalls
    # on SYN retries. The same settings hold for all paths measured.
    inns("srv", "sysctl", "-qw", "net.ipv4.tcp_max_tw_buckets=0")
    inns("srv2", "sysctl", "-qw", "net.ipv4.tcp_max_tw_buckets=0")
    inns("node1", "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1")
    inns("cl", "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")
    inns("cp", "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")
    ngx = os.path.join(WORK, "nginx")
    os.makedirs(ngx, exist_ok=True)
    with open(os.path.join(ngx, "nginx.conf"), "w") as f:
        f.write(NGINX % {"dir": ngx, "pid": "nginx.pid"})
    with open(os.path.join(ngx, "nginx2.conf"), "w") as f:
        f.write(NGINX % {"dir": ngx, "pid": "nginx2.pid"})
    for prefix, cmd in ((in_member("sp-bench-srv"), ["nginx", "-c", os.path.join(ngx, "nginx.conf"), "-p", ngx]),
                        (in_member("sp-bench-srv"), ["sockperf", "server", "-i", "0.0.0.0", "-p", "11111"]),
                        # the pod datapath's UDP servers, on one CPU with their
                        # client: under node1's socket hooks (bpf mode), and
                        # outside them (the reference paths; see bench_bpf_datapath)
                        (in_member("sp-bench-srv"), PIN + ["sockperf", "server", "-i", "0.0.0.0", "-p",
                                                          str(UDP_HOOKED)]),
                        (unhooked("sp-bench-srv"), PIN + ["sockperf", "server", "-i", "0.0.0.0", "-p",
                                                         str(UDP_UNHOOKED)]),
                        (in_member("sp-bench-srv"), ["iperf3", "-s", "-p", "5201"]),
                        # node2's server pod: the endpoint on the other node
                        (in_member("sp-bench-srv2"), ["nginx", "-c", os.path.join(ngx, "nginx2.conf"),
                                                      "-p", ngx]),
                        (in_member("sp-bench-srv2"), ["sockperf", "server", "-i", "0.0.0.0", "-p",
                                                      "11111"]),
                        # its UDP server for the outside rows, on one CPU with
                        # their client as the server pod's (see OUTSIDE_UDP)
                        (in_member("sp-bench-srv2"), PIN + ["sockperf", "server", "-i", "0.0.0.0", "-p",
                                                           str(UDP_HOOKED)]),
                        (in_member("sp-bench-srv2"), ["iperf3", "-s", "-p", "5201"])):
        p = subprocess.Popen(prefix + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(p)
    time.sleep(0.5)


MEASURES = [("new TCP connections/s (wrk)", wrk, "conn/s"),
            ("UDP round trip (sockperf)", sockperf, "us"),
            ("TCP throughput (iperf3)", iperf, "Gbit/s")]


def bench_datapath(sizes):
    """Client outside the node → node1 (nftables mode) → the server pod."""
    measures = MEASURES
    direct = {m[0]: median_of(m[1], SRV) for m in measures}
    # the minimal hand-written NAT ruleset, alone in node1
    mini = os.path.join(WORK, "minimal.nft")
    sh(sys.executable, GEN, "minimal", MIN_VIP, "80", SRV, "8080", mini)
    # one ruleset per protocol port: the generator's map serves 80 and 7 (UDP);
    # iperf's port gets its own elements
    with open(mini) as f:
        text = f.read()
    text = text.replace("elements = { %s . tcp . 80, %s . udp . 80 }" % (MIN_VIP, MIN_VIP),
                        "elements = { %s . tcp . 80, %s . udp . 7, %s . tcp . 5201 }" % (MIN_VIP, MIN_VIP, MIN_VIP))
    text = text.replace("elements = { %s . tcp . 80 : %s . 8080, %s . udp . 80 : %s . 8080 }"
                        % (MIN_VIP, SRV, MIN_VIP, SRV),
                        "elements = { %s . tcp . 80 : %s . 8080, %s . udp . 7 : %s . 11111, %s . tcp . 5201 : %s . 5201 }"
                        % (MIN_VIP, SRV, MIN_VIP, SRV, MIN_VIP, SRV))
    with open(mini, "w") as f:
        f.write(text)
    inns("node1", "nft", "-f", mini)
    minimal = {m[0]: median_of(m[1], MIN_VIP) for m in measures}
    inns("node1", "nft", "delete", "table", "ip", "minimal")
    for n in sizes:
        d = os.path.join(WORK, "dp%d" % n)
        datapath_services(d, n)
        a = Agent("sp-bench-node1", d)
        a.wait_syncs("full", 1)
        label = "1 service" if n <= 1 else "%dk services" % (n // 1000)
        for name, fn, unit in measures:
            v = median_of(fn, VIP)
            record("%s via VIP, %s" % (name, label), v, unit, minimal[name], "minimal NAT ruleset")
            record("%s via VIP, %s vs direct" % (name, label), v, unit, direct[name], "direct to pod")
        a.stop()
        node_cleanup()


# --- bpf mode -----------------------------------------------------------------------

UDP_HOOKED = 11113      # the server pod's sockperf servers for the pod datapath:
UDP_UNHOOKED = 11112    # under node1's socket hooks, and outside them
# Across the two CPUs of a small VM a UDP round trip is bimodal (about 4 or
# about 30 us, by where the scheduler wakes the peer): the pod datapath's
# sockperf client and servers share one CPU, for every path alike.
PIN = ["taskset", "-c", str(max(os.sched_getaffinity(0)))]


def clients_cgroup():
    """The rig's cgroup for clients and the fabric: under no node's socket hooks."""
    return sh(CTL, "rig", "path", "bench", "cl", "cgroup").stdout.strip()


def unhooked(ns):
    """The command prefix that runs in rig namespace ns from the rig's clients
    cgroup: the same pod, as it is on a node without bpf mode's socket hooks."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', clients_cgroup(),
            "ip", "netns", "exec", ns]


def node_cleanup():
    """svcplane --cleanup in node1: every backend's state (nftables tables, the
    bpf links and pins in node1's pin dir)."""
    inns("node1", SVCPLANE, *node_flags("node1"), "--cleanup", check=False)


def nft_tables_delete():
    """nftables mode's tables in node1, leaving bpf mode's pins alone."""
    for fam in ("ip", "ip6"):
        inns("node1", "nft", "delete", "table", fam, "svcplane", check=False)


def bench_bpf_sync(n, eps, nft_full, nft_wall, nft_change):
    """bpf mode's full sync of n x eps in the rig's node1 (its cgroup, a bpffs
    of the rig's), beside nftables mode's of the same services, and one
    endpoint change (partial sync, median of RUNS) beside nftables mode's."""
    d = os.path.join(WORK, "bpf%d" % n)
    sh(sys.executable, GEN, "manifests", str(n), str(eps), d)
    node_cleanup()
    a = Agent("sp-bench-node1", d, "--mode", "bpf")
    full = a.wait_syncs("full", 1)[0] / 1000
    wall = time.monotonic() - a.start
    for i in range(RUNS + 1):     # the first is a warm-up
        sh(sys.executable, GEN, "change", str(eps), d, str(i + 1))
        a.wait_syncs("partial", i + 1, timeout=30)
    change = statistics.median(a.syncs("partial")[1:RUNS + 1])
    a.stop()
    node_cleanup()
    label = "%dk" % (n // 1000)
    record("full sync %s x %d (agent), bpf mode" % (label, eps), full, "s", nft_full,
           "nftables mode (agent)")
    record("full sync %s x %d wall, start to maps, bpf mode" % (label, eps), wall, "s", nft_wall,
           "nftables mode, start to rules")
    record("one endpoint change at %s services, bpf mode" % label, change, "ms", nft_change,
           "nftables mode, same change")


def bench_bpf_datapath(sizes):
    """A client pod on node1 → ClusterIP → the server pod on node1, in bpf mode
    (the client in node1's cgroup, under the socket hooks), beside the same
    client → the server pod's address (direct: the issue's reference, client
    and server under node1's hooks as on a bpf-mode node, where a pod's every
    socket passes them), beside that pod with no hook at all (client from the
    rig's hook-free cgroup, the server pod's hook-free UDP server: a node
    without bpf mode; what the hooks cost all traffic shows here) and → the
    ClusterIP in nftables mode (hook-free too). Runs are interleaved (each
    repetition starts one path later), POD_REPS each."""
    hooked, free = in_member("sp-bench-cp"), unhooked("sp-bench-cp")

    def path(addr, prefix, udp_port):
        def run(fn):
            if fn is sockperf:
                return fn(addr, prefix + PIN, port=udp_port, secs=POD_SECS)
            return fn(addr, prefix, secs=POD_SECS)
        return run
    paths = {"bpf": path(VIP, hooked, 7), "direct": path(SRV, hooked, UDP_HOOKED),
             "hook-free": path(SRV, free, UDP_UNHOOKED), "nftables": path(VIP, free, 7)}
    med = {}
    for n in sizes:
        dbpf, dnft = os.path.join(WORK, "pod-bpf%d" % n), os.path.join(WORK, "pod-nft%d" % n)
        datapath_services(dbpf, n, udp_port=UDP_HOOKED)
        datapath_services(dnft, n, udp_port=UDP_UNHOOKED)
        node_cleanup()
        # bpf mode's maps and hooks stay in force when the agent stops
        a = Agent("sp-bench-node1", dbpf, "--mode", "bpf")
        a.wait_syncs("full", 1)
        a.stop()
        runs = {(p, m[0]): [] for p in paths for m in MEASURES}
        order = list(paths)
        for rep in range(POD_REPS):
            # each repetition starts one path later (bpf, direct, hook-free,
            # nftables; direct, hook-free, nftables, bpf; ...): no path always
            # runs right after the nftables agent's start and teardown
            k = rep % len(order)
            for p in order[k:] + order[:k]:
                run = paths[p]
                if p == "nftables":
                    a = Agent("sp-bench-node1", dnft)
                    a.wait_syncs("full", 1)
                for name, fn, unit in MEASURES:
                    runs[p, name].append(run(fn))
                if p == "nftables":
                    a.stop()
                    nft_tables_delete()
        node_cleanup()
        label = "1 service" if n <= 1 else "%dk services" % (n // 1000)
        for name, fn, unit in MEASURES:
            v = {p: statistics.median(runs[p, name]) for p in paths}
            for p in paths:
                print("#   %s, %s, %s: %s" % (name, label, p, " ".join("%.4g" % x for x in runs[p, name])),
                      file=sys.stderr, flush=True)
            med[n, name] = v["bpf"]
            record("%s pod to ClusterIP, bpf mode, %s" % (name, label), v["bpf"], unit, v["direct"],
                   "same pod direct to the server pod, both under node1's hooks")
            record("%s pod to ClusterIP, bpf mode, %s vs no hooks" % (name, label), v["bpf"], unit,
                   v["hook-free"], "same pod direct, no socket hook on the node")
            record("%s pod to ClusterIP, bpf mode, %s vs nftables" % (name, label), v["bpf"], unit,
                   v["nftables"], "nftables mode, same pod")
    if len(sizes) > 1:
        big = sizes[-1]
        for name, fn, unit in MEASURES:
            record("%s pod to ClusterIP, bpf mode, %dk services vs 1" % (name, big // 1000),
                   med[big, name], unit, med[sizes[0], name], "same, at 1 service")


# --- traffic from outside the node (bpf part 2) ----------------------------------------

OUT_PORTS = {"local": (30080, 30007, 30201), "remote": (31080, 31007, 31201)}
# The outside rows' UDP servers (both server pods): on the CPU of their
# client, as the pod datapath's (PIN). Until 2026-11-30 (session 7) they were
# not pinned, and a round trip (about 32 us) measured mostly where the
# scheduler woke the server, for every path alike.
OUTSIDE_UDP = UDP_HOOKED


def outside_services(d):
    """Two NodePort services: np-local → the server pod on node1, np-remote →
    the one on node2 (http 80→8080, udp 7→OUTSIDE_UDP, iperf 5201→5201 each)."""
    items = []
    for name, srv in (("local", SRV), ("remote", SRV2)):
        http, udp, ipf = OUT_PORTS[name]
        items += [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np-" + name, "namespace": "bench"},
             "spec": {"type": "NodePort", "clusterIP": "198.19.140.%d" % (1 if name == "local" else 2),
                      "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": http},
                                {"name": "udp", "port": 7, "targetPort": OUTSIDE_UDP, "protocol": "UDP",
                                 "nodePort": udp},
                                {"name": "iperf", "port": 5201, "targetPort": 5201, "nodePort": ipf}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "np-%s-1" % name, "namespace": "bench",
                          "labels": {"kubernetes.io/service-name": "np-" + name}},
             "addressType": "IPv4",
             "ports": [{"name": "http", "port": 8080}, {"name": "udp", "port": OUTSIDE_UDP, "protocol": "UDP"},
                       {"name": "iperf", "port": 5201}],
             "endpoints": [{"addresses": [srv], "nodeName": "node1" if name == "local" else "node2"}]}]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "np.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def bench_outside_datapath():
    """The client outside the nodes → node1's NodePort → the server pod on
    node1 (local) or on node2 (remote), in bpf mode (node1's tc programs) and
    nftables mode, beside the client → the server pod's own address (direct);
    runs interleaved (bpf, nftables, direct; nftables, direct, bpf; ...),
    POD_REPS each. Each path runs with only its own state in node1: bpf's
    programs are loaded for its runs and removed (--cleanup) before the others."""
    d = os.path.join(WORK, "outside")
    outside_services(d)
    cl = in_member("sp-bench-cl")

    def measure(addr, kind):
        http, udp, ipf = OUT_PORTS[kind] if addr == NODE1 else (8080, OUTSIDE_UDP, 5201)
        return {MEASURES[0][0]: lambda: wrk(addr, cl, port=http, secs=POD_SECS),
                MEASURES[1][0]: lambda: sockperf(addr, cl + PIN, port=udp, secs=POD_SECS),
                MEASURES[2][0]: lambda: iperf(addr, cl, port=ipf, secs=POD_SECS)}
    runs = {}
    order = ["bpf", "nftables", "direct"]
    node_cleanup()
    for rep in range(POD_REPS):
        for p in order[rep % 3:] + order[:rep % 3]:
            a = None
            if p != "direct":
                a = Agent("sp-bench-node1", d, "--mode", p)
                a.wait_syncs("full", 1)
            for kind, srv in (("local", SRV), ("remote", SRV2)):
                for name, fn in measure(NODE1 if p != "direct" else srv, kind).items():
                    runs.setdefault((p, kind, name), []).append(fn())
            if a:
                a.stop()
                node_cleanup()
    for kind in ("local", "remote"):
        for name, fn, unit in MEASURES:
            v = {p: statistics.median(runs[p, kind, name]) for p in order}
            for p in order:
                print("#   outside %s, %s, %s: %s" % (kind, name, p,
                      " ".join("%.4g" % x for x in runs[p, kind, name])), file=sys.stderr, flush=True)
            what = "endpoint on the node" if kind == "local" else "endpoint on another node"
            record("%s client to NodePort, %s, bpf vs nftables" % (name, what), v["bpf"], unit,
                   v["nftables"], "nftables mode, same client")
            record("%s client to NodePort, %s, bpf vs direct" % (name, what), v["bpf"], unit,
                   v["direct"], "client direct to the server pod")
            record("%s client to NodePort, %s, nftables vs direct" % (name, what), v["nftables"],
                   unit, v["direct"], "client direct to the server pod")


def inspect_cost(path):
    """Seconds and peak MiB of `svcplanectl inspect path`."""
    # A fresh interpreter whose only child is inspect: its children's peak RSS
    # is inspect's own (nft children of a text inspect included).
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.monotonic()\n"
             "r = subprocess.run([sys.argv[1], 'inspect', sys.argv[2]], stdout=subprocess.DEVNULL)\n"
             "print(r.returncode, time.monotonic() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    rc, secs, kib = sh(sys.executable, "-c", probe, CTL, path).stdout.split()
    if rc != "0":
        raise RuntimeError("inspect failed on %s" % path)
    return float(secs), int(kib) / 1024


def bench_inspect():
    """svcplanectl inspect of a ~500,000-line iptables-save: time and peak memory."""
    path = os.path.join(WORK, "big.save")
    sh(sys.executable, GEN, "iptables", "11700", "10", path)
    lines = sum(1 for _ in open(path))
    secs, mib = inspect_cost(path)
    record("inspect of a %dk-line iptables-save" % (lines // 1000), secs, "s")
    record("inspect peak memory, %dk-line iptables-save" % (lines // 1000), mib, "MiB")


def bench_inspect_nft(n, eps):
    """svcplanectl inspect of kube-proxy's nftables-mode rules for n services,
    as `nft -j list ruleset` and as `nft list ruleset` text, taken from a
    namespace the rules were loaded into."""
    kp = os.path.join(WORK, "kp-inspect-%d.nft" % n)
    sh(sys.executable, GEN, "kube-proxy", str(n), str(eps), kp)
    ns = netns("sp-bench-dump")
    try:
        t = time.monotonic()
        sh("nft", "-f", kp, ns=ns)
        load = time.monotonic() - t
        paths = {}
        for kind, args in (("json", ["-j"]), ("text", [])):
            paths[kind] = os.path.join(WORK, "kp-dump-%d.%s" % (n, kind))
            with open(paths[kind], "w") as f:
                sh("nft", *args, "list", "ruleset", ns=ns, stdout=f)
    finally:
        drop_netns(ns)
    label = "%dk" % (n // 1000)
    secs, mib = inspect_cost(paths["json"])
    record("inspect of a %s-service nft -j dump" % label, secs, "s")
    record("inspect peak memory, %s-service nft -j dump" % label, mib, "MiB")
    secs, mib = inspect_cost(paths["text"])
    record("inspect of a %s-service nft text dump" % label, secs, "s", load,
           "nft -f of the same rules")
    record("inspect peak memory, %s-service nft text dump" % label, mib, "MiB")


def main():
    t0 = time.monotonic()
    print("%-52s %12s %-8s" % ("figure", "value", "unit"))
    sizes = [1000, 10000] if not QUICK else [1000]
    big_n = 10000 if not QUICK else 1000
    dp_sizes = [1, 10000] if not QUICK else [1]
    if ONLY == "hostile":
        bench_hostile(record)
    elif ONLY == "userspace":
        # the userspace forwarder's rows, beside haproxy and the direct path
        rig_up()
        userspace_rows.rows(sys.modules[__name__])
    elif ONLY == "userspace-idle":
        # its memory rows alone: forwarder and haproxy at idle connections
        rig_up()
        userspace_rows.rows(sys.modules[__name__], idle_only=True)
    elif ONLY == "bpf":
        # bpf rows only, with the nftables figures they stand beside
        own = {big_n: nft_agent_full_sync(big_n, 10)}
        big = bench_endpoint_change(big_n, 10) * 1000
        rig_up()
        bench_bpf_sync(big_n, 10, own[big_n][0], own[big_n][1], big)
        bench_bpf_datapath(dp_sizes)
        bench_outside_datapath()
    elif ONLY == "outside":
        rig_up()
        bench_outside_datapath()
    elif ONLY == "pod":
        # bpf mode's pod datapath only (pod → ClusterIP beside direct and nftables)
        rig_up()
        bench_bpf_datapath(dp_sizes)
    else:
        own = {}
        for n in sizes:
            own[n] = bench_sync(n, 10, kube_proxy_ref=True)
        if not QUICK:
            own[50000] = bench_sync(50000, 10, kube_proxy_ref=False)
        small = bench_endpoint_change(100, 10) * 1000
        record("one endpoint change at 100 services", small, "ms")
        big = bench_endpoint_change(big_n, 10) * 1000
        record("one endpoint change at %dk services" % (big_n // 1000), big, "ms", small,
               "same, at 100 services")
        bench_api_list(big_n, 10)
        bench_inspect()
        bench_inspect_nft(big_n, 10)
        rig_up()
        bench_datapath(dp_sizes)
        bench_bpf_sync(big_n, 10, own[big_n][0], own[big_n][1], big)
        bench_bpf_datapath(dp_sizes)
        bench_outside_datapath()
        userspace_rows.rows(sys.modules[__name__])
        bench_hostile(record)
    # a partial run (BENCH_ONLY) leaves the full run's results.json alone
    out = os.path.join(TOP, "bench", "results-%s.json" % ONLY if ONLY else "results.json")
    with open(out, "w") as f:
        json.dump({"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "seconds": round(time.monotonic() - t0, 1), "results": results}, f, indent=2)
    print("\nwrote %s in %.0f s" % (out, time.monotonic() - t0))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("make bench needs root (network namespaces)")
    main()
