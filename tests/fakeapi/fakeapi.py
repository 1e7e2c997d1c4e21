#!/usr/bin/env python3
"""fakeapi.py - a small Kubernetes API server for svcplane's tests only.

Serves Services, EndpointSlices and Nodes over HTTPS: paginated lists
(limit/continue, at most --max-page items a page), chunked watch streams with
resourceVersions, bookmarks and timeoutSeconds, label selectors for the two
labels kube-proxy excludes, fieldSelector metadata.name for nodes, bearer
tokens (read from --token-file on every request) or client certificates.

A plain-HTTP control port on 127.0.0.1 changes objects and misbehaves on
command (POST /control with one JSON object):
  {"op": "apply", "kind": "services", "object": {...}}    add or update
  {"op": "delete", "kind": "services", "key": "ns/name"}
  {"op": "bookmark"}                 a BOOKMARK on every open watch
  {"op": "cut"}                      every open watch: half an event, then the
                                     connection drops (the event stays due)
  ("kind": K with bookmark, cut, garbage or values: only the watches of kind K)
  {"op": "expire"}                   history compacted: open watches get an
                                     ERROR 410 event, older versions answer 410
  {"op": "garbage"}                  a line that is not JSON on every watch
  {"op": "values", "kind": K}        every watch of kind K: an ADDED event of an
                                     object hostile/values holding 7.3 million
                                     tiny values in 14 MiB (not stored)
  {"op": "stall", "seconds": N}      watches hang for N seconds: nothing is sent,
                                     not even the end of a timed-out watch
  {"op": "fail", "count": N, "code": 500}   the next N API requests fail
  {"op": "down", "seconds": N}       connections are dropped at accept for N s
  {"op": "gone", "seconds": N}       for N s every watch gets an ERROR 410 event at once
  {"op": "empty", "seconds": N}      for N s every watch ends at once, 200 and no event
  {"op": "bomb", "kind": K, "what": W, "count": N}   the next N lists of kind K
                                     get, in place of their page, W:
      "gzip"       the page's objects with 1.28 GB of white space among them,
                   gzip-encoded (1.3 MB sent): a valid list too large to hold
      "gzip-item"  the page's objects and one more holding a 1.28 GB string,
                   gzip-encoded (1.3 MB sent)
      "gzip-gzip"  the page's objects gzip-encoded twice (Content-Encoding:
                   gzip, gzip): stacked encodings multiply their ratios
      "gzip-cut"   the page's objects and hostile/cut, gzip-encoded without
                   the member's CRC and length: whole JSON, a cut stream
      "values"     the page's objects and one more holding 7.3 million tiny
                   values in 14 MiB ([0,0,...]: 600 MB parsed), gzip-encoded
      "plain"      the page's objects and 200 Services hostile/big-NNN of 1 MiB
                   each (a bloated managedFields), metadata last: a valid
                   210 MB page, not encoded
GET /control/stats: requests seen (path, auth), open watches, current version.
"""
import argparse
import base64
import gzip
import hashlib
import http.server
import json
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib

KINDS = {
    "services": ("/api/v1/services", "ServiceList", True),
    "endpointslices": ("/apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList", True),
    "nodes": ("/api/v1/nodes", "NodeList", False),
}
EXCLUDED_LABELS = ("service.kubernetes.io/service-proxy-name", "service.kubernetes.io/headless")
MIB = 1 << 20
BOMB_MIB = 1220          # decoded filler of a gzip bomb: 1.28 GB from 1.3 MB
PLAIN_ITEMS = 200        # 1 MiB objects of a plain bomb page
VALUES_MIB = 7           # "0," repeated VALUES_MIB Mi times: an object of tiny values


def values_object(kind, rv):
    """(head, tail) of an object hostile/values whose "x" is VALUES_MIB Mi + 1
    zeros: head + b"0," * (VALUES_MIB * MIB) + tail."""
    head = ('{"apiVersion":"v1","kind":"%s","metadata":{"name":"values","namespace":"hostile",'
            '"resourceVersion":"%s"},"x":[' % (KINDS[kind][1][:-4], rv)).encode()
    return head, b"0]}"


def gzip_fill(head, fill, mib, tail):
    """gzip of head + fill repeated to mib MiB + tail, built from one compressed
    MiB: after a full flush deflate starts afresh, so every MiB compresses to
    the same bytes (1,038 of them), and only the CRC walks all of it."""
    block = fill * MIB
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff",
             c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)]
    parts.append((c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)) * mib)
    parts.append(c.compress(tail) + c.flush(zlib.Z_FINISH))
    crc = zlib.crc32(head)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    parts.append(struct.pack("<II", crc, (len(head) + mib * MIB + len(tail)) & 0xffffffff))
    return b"".join(parts)


def bomb_body(what, kind, items, rv):
    """(body, Content-Encoding or None) of a bomb list page holding @items."""
    head = ('{"kind":"%s","apiVersion":"v1","metadata":{"resourceVersion":"%s"},"items":['
            % (KINDS[kind][1], rv)).encode()
    real = b",".join(json.dumps(o).encode() for o in items)
    if what == "gzip":
        return gzip_fill(head + real, b" ", BOMB_MIB, b"]}"), "gzip"
    if what == "values":
        vh, vt = values_object(kind, rv)
        return gzip_fill(head + real + (b"," if real else b"") + vh, b"0,", VALUES_MIB, vt + b"]}"), "gzip"
    if what == "gzip-gzip":
        return gzip.compress(gzip.compress(head + real + b"]}")), "gzip, gzip"
    if what == "gzip-cut":
        cut = b'{"metadata":{"name":"cut","namespace":"hostile"}}'
        return gzip.compress(head + real + (b"," if real else b"") + cut + b"]}")[:-8], "gzip"
    if what == "gzip-item":
        return gzip_fill(head + real + (b"," if real else b"") +
                         b'{"metadata":{"name":"bomb","namespace":"hostile"},"x":"', b"a", BOMB_MIB,
                         b'"}]}'), "gzip"
    pad = "x" * MIB
    big = [json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "big-%03d" % i, "namespace": "hostile", "resourceVersion": str(rv),
        "managedFields": [{"manager": "bloat", "fieldsV1": {"f:pad": pad}}]},
        "spec": {"clusterIP": "10.96.%d.%d" % (200 + i // 200, 1 + i % 200),
                 "ports": [{"port": 80, "targetPort": 8080}]}}).encode() for i in range(PLAIN_ITEMS)]
    body = (('{"kind":"%s","apiVersion":"v1","items":[' % KINDS[kind][1]).encode() +
            b",".join(([real] if real else []) + big) +
            ('],"metadata":{"resourceVersion":"%s"}}' % rv).encode())
    return body, None


class State:
    def __init__(self, initial, max_page):
        self.cv = threading.Condition()
        self.rv = 100
        self.oldest = 0          # watches from below this get 410
        self.objects = {k: {} for k in KINDS}
        self.log = []            # (rv, kind, type, object)
        self.max_page = max_page
        self.watches = []        # open Watch objects
        self.fail = []           # codes for the next requests
        self.down_until = 0.0
        self.stall_until = 0.0
        self.gone_until = 0.0
        self.empty_until = 0.0
        self.bombs = {k: [] for k in KINDS}   # what the next lists of a kind get
        self.requests = []
        for kind, objs in initial.items():
            for o in objs:
                self.apply(kind, o, log=False)

    @staticmethod
    def key(kind, o):
        md = o.get("metadata", {})
        return "%s/%s" % (md.get("namespace", ""), md["name"]) if KINDS[kind][2] else md["name"]

    def apply(self, kind, o, log=True):
        with self.cv:
            self.rv += 1
            o = json.loads(json.dumps(o))
            o.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
            k = self.key(kind, o)
            typ = "MODIFIED" if k in self.objects[kind] else "ADDED"
            self.objects[kind][k] = o
            if log:
                self.log.append((self.rv, kind, typ, o))
            self.cv.notify_all()

    def delete(self, kind, k):
        with self.cv:
            o = self.objects[kind].pop(k, None)
            if o is None:
                return
            self.rv += 1
            o = json.loads(json.dumps(o))
            o["metadata"]["resourceVersion"] = str(self.rv)
            self.log.append((self.rv, kind, "DELETED", o))
            self.cv.notify_all()

    def signal(self, what, kind=None):
        with self.cv:
            for w in self.watches:
                if kind is None or w.kind == kind:
                    w.pending.append(what)
            self.cv.notify_all()


class Watch:
    def __init__(self, kind, rv, match):
        self.kind, self.rv, self.match = kind, rv, match
        self.pending = []        # control signals


def selected(kind, o, query):
    labels = o.get("metadata", {}).get("labels", {}) or {}
    sel = query.get("labelSelector", [""])[0]
    for term in filter(None, sel.split(",")):
        if term.startswith("!") and term[1:] in labels:
            return False
    fsel = query.get("fieldSelector", [""])[0]
    if fsel.startswith("metadata.name="):
        return o["metadata"]["name"] == fsel.split("=", 1)[1]
    return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.state

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def status(self, code, reason, msg):
        self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "message": msg, "reason": reason, "code": code})

    # --- control ---
    def control(self):
        if self.command == "GET":
            with self.st.cv:
                self.reply(200, {"rv": self.st.rv, "watches": len(self.st.watches),
                                 "requests": self.st.requests[-500:]})
            return
        n = int(self.headers.get("Content-Length", "0"))
        cmd = json.loads(self.rfile.read(n) or b"{}")
        op, st = cmd.get("op"), self.st
        if op == "apply":
            st.apply(cmd["kind"], cmd["object"])
        elif op == "delete":
            st.delete(cmd["kind"], cmd["key"])
        elif op in ("bookmark", "cut", "garbage", "values"):
            st.signal(op, cmd.get("kind"))
        elif op == "expire":
            with st.cv:
                st.oldest = st.rv      # only the current version is still served
            st.signal("expire")
        elif op == "stall":
            with st.cv:
                st.stall_until = time.monotonic() + float(cmd["seconds"])
        elif op == "fail":
            with st.cv:
                st.fail += [int(cmd.get("code", 500))] * int(cmd["count"])
        elif op in ("gone", "empty"):
            with st.cv:
                setattr(st, op + "_until", time.monotonic() + float(cmd["seconds"]))
            st.signal("expire" if op == "gone" else "drop")    # the open watches too
        elif op == "bomb":
            if cmd.get("what") not in ("gzip", "gzip-item", "gzip-gzip", "gzip-cut", "values", "plain") or \
                    cmd.get("kind") not in KINDS:
                self.reply(400, {"error": "bomb: kind and what (gzip, gzip-item, gzip-gzip, gzip-cut, values, plain)"})
                return
            with st.cv:
                st.bombs[cmd["kind"]] += [cmd["what"]] * int(cmd.get("count", 1))
        elif op == "down":
            with st.cv:
                st.down_until = time.monotonic() + float(cmd["seconds"])
            st.signal("drop")
        else:
            self.reply(400, {"error": "unknown op %r" % op})
            return
        with st.cv:
            self.reply(200, {"rv": st.rv})

    # --- API ---
    def authorized(self):
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        with self.st.cv:
            self.st.requests.append({"path": self.path, "token": token,
                                     "cert": bool(cert), "t": time.time()})
        if self.server.token_file:
            try:
                want = open(self.server.token_file).read().strip()
            except OSError:
                want = None
            if token is not None and token == want:
                return True
        if self.server.client_ca and cert:
            return True
        return not self.server.token_file and not self.server.client_ca

    def do_GET(self):
        if self.server.control:
            return self.control()
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        kind = next((k for k, v in KINDS.items() if v[0] == u.path), None)
        if not self.authorized():
            return self.status(401, "Unauthorized", "Unauthorized")
        with self.st.cv:
            code = self.st.fail.pop(0) if self.st.fail else None
        if code:
            return self.status(code, "InternalError", "injected failure")
        if kind is None:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        if q.get("watch", [""])[0] in ("true", "1"):
            return self.watch(kind, q)
        return self.list(kind, q)

    do_POST = do_GET

    def list(self, kind, q):
        st = self.st
        limit = int(q.get("limit", ["0"])[0] or 0) or 10 ** 9
        limit = min(limit, st.max_page or limit)
        cont = q.get("continue", [""])[0]
        with st.cv:
            start, rv = 0, st.rv
            if cont:
                c = json.loads(base64.b64decode(cont))
                start, rv = c["start"], c["rv"]
                if rv < st.oldest:
                    return self.status(410, "Expired", "continue token too old")
            items = [o for k, o in sorted(st.objects[kind].items()) if selected(kind, o, q)]
            bomb = st.bombs[kind].pop(0) if st.bombs[kind] else None
        page = items[start:start + limit]
        if bomb:
            body, enc = bomb_body(bomb, kind, page, rv)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if enc:
                self.send_header("Content-Encoding", enc)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:      # refused part-way: the client hung up
                self.close_connection = True
            return
        md = {"resourceVersion": str(rv)}
        if start + limit < len(items):
            md["continue"] = base64.b64encode(json.dumps({"start": start + limit, "rv": rv}).encode()).decode()
        self.reply(200, {"kind": KINDS[kind][1], "apiVersion": "v1", "metadata": md, "items": page})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, kind, q):
        st = self.st
        rv = int(q.get("resourceVersion", ["0"])[0] or 0)
        timeout = float(q.get("timeoutSeconds", ["1800"])[0])
        with st.cv:
            if rv and rv < st.oldest:
                return self.status(410, "Expired", "too old resource version: %d (%d)" % (rv, st.oldest))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        w = Watch(kind, rv, lambda o: selected(kind, o, q))
        deadline = time.monotonic() + timeout
        if time.monotonic() < st.empty_until:
            deadline = 0
        if time.monotonic() < st.gone_until:
            w.pending.append("expire")
        with st.cv:
            st.watches.append(w)
        try:
            while True:
                out = []
                with st.cv:
                    now = time.monotonic()
                    if now < st.stall_until:      # hung: sends nothing, ends nothing
                        st.cv.wait(0.2)
                        continue
                    if now >= deadline:
                        break
                    out = [e for e in st.log if e[0] > w.rv and e[1] == kind]
                    sig = w.pending
                    w.pending = []
                    if not out and not sig:
                        st.cv.wait(min(deadline - now, 0.2))
                        continue
                    cur = st.rv
                if "drop" in sig:
                    return self.abort()
                if "expire" in sig:
                    self.chunk(json.dumps({"type": "ERROR", "object": {
                        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
                        "reason": "Expired", "message": "too old resource version"}}).encode() + b"\n")
                    break
                if "garbage" in sig:
                    self.chunk(b"{this is not json\n")
                if "values" in sig:
                    vh, vt = values_object(kind, cur)
                    self.chunk(b'{"type":"ADDED","object":' + vh + b"0," * (VALUES_MIB * MIB) + vt + b"}\n")
                for e in out:
                    if not e[3] or w.match(e[3]) or e[2] == "DELETED":
                        line = json.dumps({"type": e[2], "object": e[3]}).encode() + b"\n"
                        if "cut" in sig:
                            self.chunk(line[:len(line) // 2])
                            return self.abort()
                        self.chunk(line)
                    w.rv = e[0]
                if "cut" in sig:     # nothing due: cut a bookmark instead
                    line = json.dumps({"type": "BOOKMARK", "object": {
                        "kind": "Service", "metadata": {"resourceVersion": str(cur)}}}).encode()
                    self.chunk(line[:len(line) // 2])
                    return self.abort()
                if "bookmark" in sig:
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": KINDS[kind][1][:-4], "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(cur)}}}).encode() + b"\n")
                    w.rv = max(w.rv, cur)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        finally:
            with st.cv:
                if w in st.watches:
                    st.watches.remove(w)
        self.close_connection = True

    def abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, tls, control, token_file=None, client_ca=None):
        self.state, self.tls, self.control = state, tls, control
        self.token_file, self.client_ca = token_file, client_ca
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        if not self.control and time.monotonic() < self.state.down_until:
            request.close()
            return
        if self.tls:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        self.RequestHandlerClass(request, client_address, self)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:6443")
    ap.add_argument("--control", default="127.0.0.1:6444")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA")
    ap.add_argument("--token-file", help="the bearer token expected, re-read on every request")
    ap.add_argument("--state", help="JSON {kind: [objects]} to start with")
    ap.add_argument("--max-page", type=int, default=0, help="at most this many items a list page")
    a = ap.parse_args()
    initial = json.load(open(a.state)) if a.state else {}
    st = State(initial, a.max_page)
    tls = None
    if a.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            tls.load_verify_locations(a.client_ca)
            tls.verify_mode = ssl.CERT_OPTIONAL
    host, port = a.listen.rsplit(":", 1)
    api = Server((host, int(port)), st, tls, False, a.token_file, a.client_ca)
    chost, cport = a.control.rsplit(":", 1)
    ctl = Server((chost, int(cport)), st, None, True)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    print("fakeapi: serving %s (control %s), %s" % (a.listen, a.control,
          hashlib.sha256(json.dumps(initial).encode()).hexdigest()[:8]), flush=True)
    api.serve_forever()


if __name__ == "__main__":
    main()
