"""hostile.py - make bench rows for hostile input (issue 19), all on loopback,
no namespaces: parse time of the worst nesting case (1 MiB manifests), the
slowest /healthz answer under 1,000 held connections, the agent's peak and
settled RSS after each manifest bomb, and after each API bomb (the fake API
server's gzip bomb, 1.3 MB -> 1.28 GB, a list item and a watch event of 7.3
million tiny values in 14 MiB, and a plain 210 MB page) with the slowest
/livez answer while it arrives. Run alone: BENCH_ONLY=hostile."""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def nesting_cases():
    """1 MiB of each kind of nesting."""
    block = []
    n = 0
    while n < MIB:
        line = " " * len(block) + "a:\n"
        block.append(line)
        n += len(line)
    return {"flow sequences": "[" * MIB, "flow mappings": "{a: " * (MIB // 4),
            "block sequences": "- " * (MIB // 2), "block mappings": "".join(block)[:MIB]}


def bombs():
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        "a%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)) for i in range(1, 9))
    leaves = "a: &a " + "x" * 100000 + "\nb: [" + ",".join(["*a"] * 10000) + "]\n"
    return {"billion laughs 9^9": laughs, "alias bomb 100 KB x 10,000": leaves,
            "deep nesting 1 MiB": "[" * MIB}


def rss_kib(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


# API bombs (tests/fakeapi: the "bomb" op; "values-event": the "values" op,
# a watch event): what, row name, and the log line of a refused page or event
# (None: the page is valid, done when applied).
LIST_BOMBS = [("gzip", "API list gzip bomb (1.3 MB -> 1.28 GB)", "list services: a page larger than"),
              ("values", "API list item of 7.3 million tiny values (14 MiB)",
               "list services: an item of more than"),
              ("values-event", "API watch event of 7.3 million tiny values (14 MiB)",
               "watch services: an event of more than"),
              ("plain", "API list page, plain 210 MB (200 objects of 1 MiB)", None)]


def http(url, data=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def until(secs, fn):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.1)
    return False


def bench_list_bombs(record, w):
    """A fresh agent on the fake API server per bomb: the slowest /livez
    answer while the page (or event) arrives (tests/integration/probe_slowest.py,
    a probe every 20 ms), its VmHWM once it is refused or applied, and its
    VmRSS 3 s later."""
    state = os.path.join(w, "api-state.json")
    with open(state, "w") as f:
        json.dump({"services": [], "endpointslices": [], "nodes": [
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}}]}, f)
    for what, name, line in LIST_BOMBS:
        api, ctl, hz, mp = free_port(), free_port(), free_port(), free_port()
        kc, log = os.path.join(w, "kc-" + what), os.path.join(w, "agent-api-%s.log" % what)
        with open(kc, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                    "clusters: [{name: k, cluster: {server: \"http://127.0.0.1:%d\"}}]\n"
                    "users: [{name: u, user: {}}]\n" % api)
        fake = subprocess.Popen(["python3", os.path.join(TOP, "tests", "fakeapi", "fakeapi.py"),
                                 "--listen", "127.0.0.1:%d" % api, "--control", "127.0.0.1:%d" % ctl,
                                 "--state", state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(log, "w") as lf:
            p = subprocess.Popen([os.path.join(TOP, "svcplane"), "--mode", "dry-run", "--kubeconfig", kc,
                                  "--hostname-override", "node1", "--healthz-bind-address",
                                  "127.0.0.1:%d" % hz, "--metrics-bind-address", "127.0.0.1:%d" % mp],
                                 stdout=subprocess.DEVNULL, stderr=lf)
        try:
            if not until(10, lambda: http("http://127.0.0.1:%d/control/stats" % ctl)) or not wait_healthy(hz):
                continue
            stop = os.path.join(w, "stop-probe-" + what)
            probe = subprocess.Popen(["python3", os.path.join(TOP, "tests", "integration", "probe_slowest.py"),
                                      str(hz), "--path", "/livez", "--stop-file", stop],
                                     stdout=subprocess.PIPE, text=True)
            if what == "values-event":
                # (again each second: the watch may not be open yet)
                def sent():
                    http("http://127.0.0.1:%d/control" % ctl, b'{"op": "values", "kind": "services"}')
                    return until(1, lambda: line in open(log).read())
                done = until(120, sent)
            else:
                for cmd in ({"op": "bomb", "kind": "services", "what": what}, {"op": "expire"}):
                    http("http://127.0.0.1:%d/control" % ctl, json.dumps(cmd).encode())
                if line:
                    done = until(120, lambda: line in open(log).read())
                else:
                    done = until(120, lambda: "hostile/big-199" in (http("http://127.0.0.1:%d/model" % mp) or ""))
            open(stop, "w").close()
            r = json.loads(probe.communicate(timeout=60)[0])
            if not done:
                continue
            record("slowest /livez answer while it arrives, %s (target <= 1 s)" % name,
                   r["slowest"] if r["probes"] and r["ok"] == r["probes"] else 99.0, "s")
            record("agent RSS peak, %s" % name, rss_kib(p.pid, "VmHWM") / 1024, "MiB")
            time.sleep(3)
            record("agent RSS settled (3 s), %s" % name, rss_kib(p.pid) / 1024, "MiB")
        finally:
            for q in (p, fake):
                q.terminate()
                q.wait()


def agent(d, hz):
    return subprocess.Popen([os.path.join(TOP, "svcplane"), "--mode", "dry-run", "--manifests", d,
                             "--hostname-override", "node1", "--healthz-bind-address",
                             "127.0.0.1:%d" % hz, "--metrics-bind-address", "127.0.0.1:0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(hz, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/healthz" % hz],
                          stdout=subprocess.DEVNULL).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def bench_hostile(record):
    with tempfile.TemporaryDirectory(prefix="svcplane-hostile-") as w:
        # parse time: svcplanectl model over a directory holding one case,
        # less the same over an empty one (process start-up)
        def model_time(d):
            best = None
            for _ in range(3):
                t0 = time.monotonic()
                subprocess.run([os.path.join(TOP, "svcplanectl"), "model", "--manifests", d],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                t = time.monotonic() - t0
                best = t if best is None else min(best, t)
            return best
        empty = os.path.join(w, "empty")
        os.mkdir(empty)
        base = model_time(empty)
        worst = 0.0
        for name, text in nesting_cases().items():
            d = os.path.join(w, "nest-" + name.replace(" ", "-"))
            os.mkdir(d)
            with open(os.path.join(d, "deep.yaml"), "w") as f:
                f.write(text)
            worst = max(worst, model_time(d) - base)
        record("manifest parse, worst nesting case (1 MiB; target <= 0.1 s)", max(worst, 0.0), "s")

        # healthz under 1,000 held connections
        d = os.path.join(w, "m")
        os.mkdir(d)
        hz = free_port()
        p = agent(d, hz)
        try:
            if wait_healthy(hz):
                out = subprocess.run(["python3", os.path.join(TOP, "tests", "integration", "hold_conns.py"),
                                      str(hz), "--conns", "1000", "--seconds", "15"],
                                     capture_output=True, text=True, timeout=120).stdout
                r = json.loads(out)
                record("slowest healthz answer, 1,000 held connections (target <= 1 s)",
                       r["slowest"] if r["ok"] == r["probes"] else 99.0, "s")
        finally:
            p.terminate()
            p.wait()

        # RSS after each bomb
        for name, text in bombs().items():
            d = os.path.join(w, "bomb-%d" % abs(hash(name)))
            os.mkdir(d)
            hz = free_port()
            p = agent(d, hz)
            try:
                if not wait_healthy(hz):
                    continue
                with open(os.path.join(d, ".bomb.tmp"), "w") as f:
                    f.write(text)
                os.rename(os.path.join(d, ".bomb.tmp"), os.path.join(d, "bomb.yaml"))
                peak, end = 0, time.monotonic() + 3
                while time.monotonic() < end:
                    peak = max(peak, rss_kib(p.pid))
                    time.sleep(0.01)
                record("agent RSS peak, %s" % name, peak / 1024, "MiB")
                record("agent RSS settled (3 s), %s" % name, rss_kib(p.pid) / 1024, "MiB")
            finally:
                p.terminate()
                p.wait()

        bench_list_bombs(record, w)
