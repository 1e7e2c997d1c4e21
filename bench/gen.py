#!/usr/bin/env python3
"""gen.py - services × endpoints for benchmarks, on the rig's addresses.

  gen.py manifests N EPS DIR     write DIR/services.json: N ClusterIP services
                                 (one TCP port each) with EPS endpoints each
  gen.py kube-proxy N EPS FILE   the same services as kube-proxy v1.35's nftables
                                 ruleset (a chain per service and per endpoint),
                                 for `nft -f`
  gen.py kube-proxy-136 N EPS FILE   the same services as kube-proxy 1.36's
                                 nftables layout (a chain per service with an
                                 inline `dnat … numgen random mod N map { … }`,
                                 no chain per endpoint), as the transaction text
                                 kube-proxy feeds `nft -f -` on a full sync
  gen.py own N EPS FILE          svcplane's own layout for the same services, as
                                 `nft -f` text
  gen.py minimal VIP PORT EP EPPORT FILE   the minimal NAT ruleset of README's Benchmarks
                                 describes: one set lookup, one dnat from a data
                                 map, masquerade
"""
import base64
import hashlib
import ipaddress
import json
import os
import sys

SVC_BASE = int(ipaddress.IPv4Address("198.19.128.0"))   # 198.19.128.0/20 holds 4096;
BIG_BASE = int(ipaddress.IPv4Address("198.19.128.0"))    # beyond it we continue upward
EP_BASE = int(ipaddress.IPv4Address("198.18.1.10"))


def vip(i):
    # 198.19.128.0 + i (past /20 for big runs: still inside 198.18.0.0/15)
    return str(ipaddress.IPv4Address(SVC_BASE + 1 + i))


def ep(i, j, eps):
    # endpoints spread over 198.18.1.0/24 .. 198.18.255.0/24 (addresses only;
    # datapath benchmarks use their own service)
    n = i * eps + j
    return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("198.18.1.0")) + 10 + n % 60000))


def service(i, eps, first_ep=0):
    name = "svc-%d" % i
    return [{"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": name, "namespace": "bench"},
             "spec": {"clusterIP": vip(i),
                      "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": name + "-1", "namespace": "bench",
                          "labels": {"kubernetes.io/service-name": name}},
             "addressType": "IPv4",
             "ports": [{"name": "http", "port": 8080}],
             "endpoints": [{"addresses": [ep(i, j + first_ep, eps)], "nodeName": "node1"}
                           for j in range(eps)]}]


def write_list(path, items):
    with open(path + ".tmp", "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    os.rename(path + ".tmp", path)


def manifests(n, eps, d, per_file=500):
    """svc-0 lives alone in svc0.json, so a benchmark can change one endpoint;
    the others go 500 to a file, as an operator would split them by app (a
    file is parsed whole, so the largest file sets the agent's peak memory)."""
    os.makedirs(d, exist_ok=True)
    write_list(os.path.join(d, "svc0.json"), service(0, eps))
    for start in range(1, n, per_file):
        items = []
        for i in range(start, min(n, start + per_file)):
            items.extend(service(i, eps))
        write_list(os.path.join(d, "services-%05d.json" % start), items)


def h8(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:8]


def kube_proxy(n, eps, path):
    out = ["table ip kube-proxy {",
           "  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }",
           "  set cluster-ips { type ipv4_addr; }",
           "  chain mark-for-masquerade { mark set mark or 0x4000; }",
           "  chain masquerading { mark and 0x4000 == 0 return; mark set mark xor 0x4000; masquerade fully-random; }",
           "  chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }",
           "  chain nat-prerouting { type nat hook prerouting priority -100; jump services; }",
           "  chain nat-output { type nat hook output priority -100; jump services; }",
           "  chain nat-postrouting { type nat hook postrouting priority 100; jump masquerading; }"]
    elems = []
    for i in range(n):
        base = "bench/svc-%d/tcp/http" % i
        svc = "service-%s-%s" % (h8(base), base)
        eps_chains = []
        for j in range(eps):
            e = ep(i, j, eps)
            ename = "%s__%s/8080" % (base, e)
            ech = "endpoint-%s-%s" % (h8(ename), ename)
            eps_chains.append(ech)
            out.append('  chain %s { ip saddr %s jump mark-for-masquerade; meta l4proto tcp dnat to %s:8080; }'
                       % (ech, e, e))
        vm = ", ".join("%d : goto %s" % (k, c) for k, c in enumerate(eps_chains))
        out.append("  chain %s { ip daddr %s tcp dport 80 ip saddr != 198.18.0.0/16 jump mark-for-masquerade; "
                   "numgen random mod %d vmap { %s }; }" % (svc, vip(i), eps, vm))
        elems.append("%s . tcp . 80 : goto %s" % (vip(i), svc))
    out.append("}")
    out.append("add element ip kube-proxy service-ips { %s }" % ", ".join(elems))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


POD_CIDR = "198.18.0.0/16"        # --cluster-cidr the bench gives the agent
SERVICE_CIDR = "198.19.128.0/17"  # holds vip(i) up to 32k services


def kube_proxy_136(n, eps, path):
    """kube-proxy 1.36's nftables layout for the same services: what its full
    sync writes through knftables (`nft -f -`), one command a line.

    Taken from kubernetes/kubernetes pkg/proxy/nftables after the endpoint
    chains went away (masquerading rework, PRs 135800 and 136499) and from a
    `nft list table ip kube-proxy` of that code at 45k services:
      - the masquerade decision for traffic from outside the cluster moved
        out of the service chains into one rule in `services` (a lookup in
        @cluster-ips); the mark-for-masquerade chain is gone;
      - hairpin: `masquerading` masquerades DNATed connections found in the
        set @hairpin-connections (endpoint . endpoint . proto . port, one
        element per local endpoint; every bench endpoint is on node1);
      - a service chain is one rule: `meta l4proto tcp dnat ip addr . port to
        numgen random mod N map { 0 : ep . port, … }` (an anonymous map).
    Chains are added and flushed (knftables' ensureChain), as in a full sync.
    ClientIP affinity is not modelled: the bench services have none."""
    t = "ip kube-proxy"
    out = ['add table %s { comment "rules for kube-proxy" ; }' % t]
    for name, typ, comment in (
            ("cluster-ips", "ipv4_addr", "Active ClusterIPs"),
            ("nodeport-ips", "ipv4_addr", "IPs that accept NodePort traffic"),
            ("hairpin-connections", "ipv4_addr . ipv4_addr . inet_proto . inet_service",
             "service hairpin connections")):
        out.append('add set %s %s { type %s ; comment "%s" ; }' % (t, name, typ, comment))
    for name, typ, comment in (
            ("firewall-ips", "ipv4_addr . inet_proto . inet_service : verdict",
             "destinations that are subject to LoadBalancerSourceRanges"),
            ("no-endpoint-nodeports", "inet_proto . inet_service : verdict",
             "vmap to drop or reject packets to service nodeports with no endpoints"),
            ("no-endpoint-services", "ipv4_addr . inet_proto . inet_service : verdict",
             "vmap to drop or reject packets to services with no endpoints"),
            ("service-ips", "ipv4_addr . inet_proto . inet_service : verdict",
             "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
            ("service-nodeports", "inet_proto . inet_service : verdict", "NodePort traffic")):
        out.append('add map %s %s { type %s ; comment "%s" ; }' % (t, name, typ, comment))
    base = (("filter-prerouting-pre-dnat", "filter", "prerouting", "-110"),
            ("filter-output-pre-dnat", "filter", "output", "-110"),
            ("filter-input", "filter", "input", "0"),
            ("filter-forward", "filter", "forward", "0"),
            ("filter-output", "filter", "output", "0"),
            ("nat-prerouting", "nat", "prerouting", "-100"),
            ("nat-output", "nat", "output", "-100"),
            ("nat-postrouting", "nat", "postrouting", "100"))
    for name, typ, hook, prio in base:
        out.append("add chain %s %s { type %s hook %s priority %s ; }" % (t, name, typ, hook, prio))
        out.append("flush chain %s %s" % (t, name))
    for name in ("nodeport-endpoints-check", "service-endpoints-check", "firewall-check",
                 "services", "masquerading", "cluster-ips-check"):
        out.append("add chain %s %s" % (t, name))
        out.append("flush chain %s %s" % (t, name))
    out.append('add chain %s reject-chain { comment "helper for @no-endpoint-services / '
               '@no-endpoint-nodeports" ; }' % t)
    out.append("flush chain %s reject-chain" % t)
    rules = (
        ("filter-prerouting-pre-dnat", "ct state new jump firewall-check"),
        ("filter-output-pre-dnat", "ct state new jump firewall-check"),
        ("filter-input", "ct state new jump nodeport-endpoints-check"),
        ("filter-input", "ct state new jump service-endpoints-check"),
        ("filter-forward", "ct state new jump service-endpoints-check"),
        ("filter-forward", "ct state new jump cluster-ips-check"),
        ("filter-output", "ct state new jump service-endpoints-check"),
        ("filter-output", "ct state new jump cluster-ips-check"),
        ("nat-prerouting", "jump services"),
        ("nat-output", "jump services"),
        ("nat-postrouting", "jump masquerading"),
        ("nodeport-endpoints-check",
         "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"),
        ("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services"),
        ("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips"),
        ("services", "ip daddr @cluster-ips ip saddr != %s mark set mark or 0x4000 "
                     'comment "masquerade clusterIP traffic from outside cluster"' % POD_CIDR),
        ("services", "ip daddr . meta l4proto . th dport vmap @service-ips"),
        ("services", "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"),
        ("masquerading", "mark and 0x4000 != 0 mark set mark xor 0x4000 masquerade fully-random"),
        ("masquerading", "ct status dnat ip saddr . ip daddr . meta l4proto . th dport "
                         "@hairpin-connections masquerade fully-random"),
        ("cluster-ips-check",
         'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"'),
        ("cluster-ips-check",
         'ip daddr { %s } drop comment "Drop traffic to unallocated ClusterIPs"' % SERVICE_CIDR),
        ("reject-chain", "reject"))
    for chain, rule in rules:
        out.append("add rule %s %s %s" % (t, chain, rule))
    hairpin = set()                # one element per endpoint address and port
    for i in range(n):
        base_ = "bench/svc-%d/tcp/http" % i
        svc = "service-%s-%s" % (h8(base_), base_)
        m = " , ".join("%d : %s . 8080" % (j, ep(i, j, eps)) for j in range(eps))
        out.append("add chain %s %s" % (t, svc))
        out.append("flush chain %s %s" % (t, svc))
        out.append("add rule %s %s meta l4proto tcp dnat ip addr . port to numgen random mod %d map { %s }"
                   % (t, svc, eps, m))
        out.append("add element %s cluster-ips { %s }" % (t, vip(i)))
        out.append("add element %s service-ips { %s . tcp . 80 : goto %s }" % (t, vip(i), svc))
        for j in range(eps):
            e = ep(i, j, eps)
            if e not in hairpin:
                hairpin.add(e)
                out.append("add element %s hairpin-connections { %s . %s . tcp . 8080 }" % (t, e, e))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def own(n, eps, path):
    """svcplane's layout for the same services, as `nft -f` text (what the agent
    programs over netlink for ClusterIP-only services)."""
    svc, back, hair, cips = [], [], set(), []
    for i in range(n):
        v = vip(i)
        cips.append(v)
        svc.append("%s . tcp . 80 : goto dnat-n%d" % (v, eps))
        for j in range(eps):
            e = ep(i, j, eps)
            back.append("%s . tcp . 80 . %d : %s . 8080" % (v, j, e))
            hair.add("%s . %s" % (e, e))
    out = ["table ip svcplane {",
           "  set cluster-ips { type ipv4_addr; }",
           "  set hairpin { type ipv4_addr . ipv4_addr; }",
           "  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }",
           "  map backends { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport; }",
           "  chain mark-for-masquerade { mark set mark or 0x4000; }",
           "  chain masquerading { mark and 0x4000 == 0 return; mark set mark xor 0x4000; masquerade fully-random; }",
           "  chain dnat-n%d { dnat ip to ip daddr . meta l4proto . th dport . numgen random mod %d map @backends; }"
           % (eps, eps),
           "  chain services { ip daddr @cluster-ips ip saddr != 198.18.0.0/16 jump mark-for-masquerade;"
           " ip daddr . meta l4proto . th dport vmap @service-ips; }",
           "  chain nat-prerouting { type nat hook prerouting priority -100; jump services; }",
           "  chain nat-output { type nat hook output priority -100; jump services; }",
           "  chain nat-postrouting { type nat hook postrouting priority 100;"
           " ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade; jump masquerading; }",
           "}"]
    for name, elems in (("cluster-ips", cips), ("service-ips", svc), ("backends", back),
                        ("hairpin", sorted(hair))):
        for k in range(0, len(elems), 20000):
            out.append("add element ip svcplane %s { %s }" % (name, ", ".join(elems[k:k + 20000])))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def iptables(n, eps, path):
    """kube-proxy's iptables-save for the same services (about 43 lines per
    service with 10 endpoints)."""
    decl, rules = [], []
    for i in range(n):
        base = "bench/svc-%d:http" % i
        svc = "KUBE-SVC-" + h8(base + "tcp") + h8(base)
        decl.append(":%s - [0:0]" % svc)
        rules.append('-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment "%s cluster IP" '
                     '-m tcp --dport 80 -j %s' % (vip(i), base, svc))
        rules.append('-A %s ! -s 198.18.0.0/16 -d %s/32 -p tcp -m comment --comment "%s cluster IP" '
                     '-m tcp --dport 80 -j KUBE-MARK-MASQ' % (svc, vip(i), base))
        for j in range(eps):
            e = ep(i, j, eps)
            sep = "KUBE-SEP-" + h8(base + "tcp" + e) + h8(e + base)
            decl.append(":%s - [0:0]" % sep)
            stat = "" if j == eps - 1 else \
                " -m statistic --mode random --probability %.11f" % (1.0 / (eps - j))
            rules.append('-A %s -m comment --comment "%s -> %s:8080"%s -j %s' % (svc, base, e, stat, sep))
            rules.append('-A %s -s %s/32 -m comment --comment "%s" -j KUBE-MARK-MASQ' % (sep, e, base))
            rules.append('-A %s -p tcp -m comment --comment "%s" -m tcp -j DNAT --to-destination %s:8080'
                         % (sep, base, e))
    with open(path, "w") as f:
        f.write("*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n")
        f.write("\n".join(decl) + "\n")
        f.write("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n")
        f.write("\n".join(rules) + "\nCOMMIT\n")


def minimal(vip_, port, ep_, epport, path):
    with open(path, "w") as f:
        f.write("""table ip minimal {
  set vips { type ipv4_addr . inet_proto . inet_service; elements = { %(vip)s . tcp . %(port)s, %(vip)s . udp . %(port)s } }
  map backends { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;
    elements = { %(vip)s . tcp . %(port)s : %(ep)s . %(epport)s, %(vip)s . udp . %(port)s : %(ep)s . %(epport)s } }
  chain pre { type nat hook prerouting priority -100;
    ip daddr . meta l4proto . th dport @vips meta mark set 0x4000 dnat ip to ip daddr . meta l4proto . th dport map @backends
  }
  chain post { type nat hook postrouting priority 100;
    meta mark 0x4000 masquerade fully-random
  }
}
""" % {"vip": vip_, "port": port, "ep": ep_, "epport": epport})


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "change":     # gen.py change EPS DIR FIRST: svc-0 with endpoints shifted
        write_list(os.path.join(sys.argv[3], "svc0.json"),
                   service(0, int(sys.argv[2]), int(sys.argv[4])))
    elif cmd == "manifests":
        manifests(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "kube-proxy":
        kube_proxy(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "kube-proxy-136":
        kube_proxy_136(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "iptables":
        iptables(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "own":
        own(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "minimal":
        minimal(*sys.argv[2:7])
