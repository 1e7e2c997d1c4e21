#!/usr/bin/env bash
# --mode userspace: the agent relays Service traffic itself. TCP and UDP
# through a ClusterIP and a NodePort (IPv4 and IPv6), from a pod and from the
# outside client;
# replies to UDP come from the Service address; a port without endpoints is
# refused at once (reset, ICMP port unreachable); a removed endpoint gets no
# new connection; a connect to a dead endpoint (refused, or no host at all)
# is retried on a live one with no error for the client; many concurrent
# connections, each its own payload, echoed byte for byte; a client that
# never reads does not grow the agent's memory; a UDP flow leaves a removed
# endpoint; /healthz answers throughout; dump reads the forwarder's state and
# --cleanup removes the link.
. "$(dirname "$0")/lib.sh"
rig2_test t50
# The agents' state files live in the machine's /run: whatever happens, stop
# the agents and --cleanup each node before the rig goes.
us_cleanup() {
	local n
	for n in 1 2; do
		[ -n "${AGENT_PID[$n]:-}" ] && kill "${AGENT_PID[$n]}" 2>/dev/null && wait "${AGENT_PID[$n]}" 2>/dev/null
		inns $R node$n "$SVCPLANE" $(node_flags $R node$n) --cleanup >/dev/null 2>&1
	done
	rig_cleanup
}
trap us_cleanup EXIT
PAYLOAD="python3 $TOP/tests/integration/payload.py"
FLOWS="python3 $TOP/tests/integration/flows.py"
BULK_N=${BULK_N:-2000}		# concurrent 1 MiB connections (issue 17: 2000; 40-95 s here)

svc() { # name clusterIP "ports yaml" [type]
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\nspec:\n  type: %s\n  clusterIP: %s\n  ports: %s\n' \
		"$1" "${4:-ClusterIP}" "$2" "$3"
}
slice() { # name "ports yaml" ip...
	local n=$1 p=$2 ip; shift 2
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, namespace: t, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: %s\nendpoints:\n' "$n" "$n" "$p"
	for ip in "$@"; do printf -- '- {addresses: [%s]}\n' "$ip"; done
}
web_nodeport 198.19.128.10 30080 198.18.1.10@node1 198.18.2.10@node2 | put "$dir/web.yaml"
udp_yaml() { svc dns 198.19.128.11 '[{name: u, port: 53, targetPort: 8080, protocol: UDP, nodePort: 30053}]' NodePort
	slice dns '[{name: u, port: 8080, protocol: UDP}]' "$@"; }
udp_yaml 198.18.1.10 198.18.2.10 | put "$dir/dns.yaml"
{ svc bulk 198.19.128.12 '[{name: e, port: 9000}]'; slice bulk '[{name: e, port: 9000}]' 198.18.1.10 198.18.1.11 198.18.2.10; } | put "$dir/bulk.yaml"
svc empty 198.19.128.13 '[{name: tcp, port: 80}, {name: udp, port: 53, protocol: UDP}]' | put "$dir/empty.yaml"
# 198.18.1.12 (a3) has nothing on 9000: refused; 198.18.1.99 is no host: times out.
{ svc retry 198.19.128.14 '[{name: e, port: 9000}]'; slice retry '[{name: e, port: 9000}]' 198.18.1.12 198.18.1.99 198.18.1.10; } | put "$dir/retry.yaml"
# IPv6: a ClusterIP and a NodePort of an IPv6 service.
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web6, namespace: t}\nspec:\n  type: NodePort\n  ipFamilies: [IPv6]\n  clusterIP: fd00:96::10\n  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30086}]\n' | put "$dir/web6.yaml"
slice web6 '[{name: http, port: 8080}]' fd00:10:0:1::10 fd00:10:0:2::10 | sed 's/addressType: IPv4/addressType: IPv6/' >>"$dir/web6.yaml"
{ svc hose 198.19.128.15 '[{name: h, port: 9100}]'; slice hose '[{name: h, port: 9100}]' 198.18.1.11; } | put "$dir/hose.yaml"
# IPv6 UDP: a ClusterIP and a NodePort.
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: dns6, namespace: t}\nspec:\n  type: NodePort\n  ipFamilies: [IPv6]\n  clusterIP: fd00:96::11\n  ports: [{name: u, port: 53, targetPort: 8080, protocol: UDP, nodePort: 30054}]\n' | put "$dir/dns6.yaml"
slice dns6 '[{name: u, port: 8080, protocol: UDP}]' fd00:10:0:1::10 fd00:10:0:2::10 | sed 's/addressType: IPv4/addressType: IPv6/' >>"$dir/dns6.yaml"

for p in a1 a2 b1; do
	inns $R $p $PAYLOAD serve 9000 >/dev/null 2>&1 &
	T_PIDS+=($!)
done
inns $R a2 $PAYLOAD firehose 9100 >/dev/null 2>&1 &
T_PIDS+=($!)
agents_up $R "$dir" --mode userspace
wait_until 10 inns $R a1 sh -c 'ss -ltn | grep -q :9000' || fail "payload server did not start"

# /healthz polled all along; every failure is a line in $dir/hz.
( while :; do inns $R node1 curl -sf -m 2 -o /dev/null http://127.0.0.1:10256/healthz || echo "fail $(date +%T.%N)"; sleep 0.2; done ) >"$dir/hz" 2>&1 &
T_PIDS+=($!)

# --- TCP through a ClusterIP and NodePorts, from the outside and from pods ---
for from in cl a2 b2; do
	got=$(hits $R $from 20 'curl -s -m 3 http://198.19.128.10/' | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$got" = "a1 b1 " ] || fail "ClusterIP from $from: answers from [$got], want a1 and b1"
done
for np in 198.19.0.1 198.19.0.2; do
	got=$(hits $R cl 20 "curl -s -m 3 http://$np:30080/" | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$got" = "a1 b1 " ] || fail "NodePort $np:30080 from cl: answers from [$got], want a1 and b1"
done
for url in 'http://[fd00:96::10]/' 'http://[fd00:19::1]:30086/'; do
	got=$(hits $R cl 10 "curl -s -m 3 -g '$url'" | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$got" = "a1 b1 " ] || fail "IPv6 $url from cl: answers from [$got], want a1 and b1"
done
# The pod sees the node's address, not the client's (the mode's limit).
peer=$(inns $R cl curl -s -m 3 http://198.19.128.10/ | awk '{print $2}')
case $peer in 198.19.0.1:* | 198.18.1.1:*) ;; *) fail "peer seen by the pod: $peer, want node1's address" ;; esac

# --- UDP: a connected socket (replies must come from the Service address) ---
udp_conn() { # member host port count
	inns $R "$1" python3 -c 'import socket,sys
h,p,n=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
seen=set()
for i in range(n):
    s=socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2); s.connect((h,p)); s.send(b"x\n")
    try: seen.add(s.recv(100).decode().split()[0])
    except Exception as e: seen.add("error:"+type(e).__name__)
    s.close()
print(" ".join(sorted(seen)))' "$2" "$3" "$4"
}
for from in cl a2; do
	got=$(udp_conn $from 198.19.128.11 53 10)
	[ "$got" = "a1 b1" ] || fail "UDP ClusterIP from $from: [$got], want a1 b1"
done
got=$(udp_conn cl 198.19.0.1 30053 10)
[ "$got" = "a1 b1" ] || fail "UDP NodePort from cl: [$got], want a1 b1"
for target in "fd00:96::11 53" "fd00:19::1 30054"; do
	got=$(udp_conn cl $target 10)
	[ "$got" = "a1 b1" ] || fail "IPv6 UDP $target from cl: [$got], want a1 b1 (replies from the address the client sent to)"
done

# --- no endpoints: refused at once ---
start=$(date +%s%N)
rc=$(inns $R cl sh -c 'curl -s -m 5 -o /dev/null http://198.19.128.13/; echo $?')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 7 ] || fail "TCP to a service without endpoints: curl exit $rc, want 7 (refused)"
[ "$ms" -lt 1000 ] || fail "refusal took ${ms} ms: not at once"
out=$(inns $R cl python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2); s.connect(("198.19.128.13",53)); s.send(b"x")
try: s.recv(10); print("answer")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")')
[ "$out" = refused ] || fail "UDP to a service without endpoints: $out, want refused (ICMP port unreachable)"

# --- dead endpoints: retried on the live one, the client sees no error ---
out=$(inns $R cl $PAYLOAD run 198.19.128.14 9000 30 1000) || fail "connections through dead endpoints: $out"
metrics() { inns $R node1 curl -sf http://127.0.0.1:10249/metrics; }
retries=$(metrics | awk -F'} ' '/^svcplane_userspace_connect_retries_total\{service_port="t\/retry/{print $2}')
[ "${retries:-0}" -ge 10 ] || fail "retries on t/retry: ${retries:-none}, want most of 30 connections retried"
note "30 connections through 2 dead of 3 endpoints: ok, $retries retries"

# --- many concurrent connections, each its own payload, byte for byte ---
out=$(inns $R cl $PAYLOAD run 198.19.128.12 9000 "$BULK_N" 1048576) || fail "$BULK_N x 1 MiB: $out"
note "$BULK_N concurrent x 1 MiB echoed: $out"
metrics | grep -q "^svcplane_userspace_connections_total{service_port=\"t/bulk:e/TCP/IPv4\"} $BULK_N\$" ||
	fail "connections_total for t/bulk is not $BULK_N: $(metrics | grep 't/bulk' | head -3)"

# --- a client that never reads: memory stays bounded ---
rss() { awk '/VmRSS/{print $2}' "/proc/${AGENT_PID[1]}/status"; }
before=$(rss)
for i in $(seq 20); do
	inns $R cl $PAYLOAD stall 198.19.128.15 9100 4 >/dev/null 2>&1 &
	T_PIDS+=($!)
done
sleep 3
after=$(rss)
pipes=$(metrics | awk '/^svcplane_userspace_pipes_in_use /{print $2}')
[ $((after - before)) -lt 20480 ] || fail "20 clients that never read: agent RSS $before → $after KiB"
[ "${pipes:-99}" -le 20 ] || fail "pipes in use with 20 stalled clients: $pipes, want at most one each"
note "20 stalled clients of a firehose: RSS $before → $after KiB, $pipes pipes in flight"
hose_idle() { metrics | grep -q '^svcplane_userspace_connections_active{service_port="t/hose:h/TCP/IPv4"} 0$'; }
wait_until 10 hose_idle || fail "stalled connections still open after their clients left"

# --- a removed endpoint gets no new connection ---
web_nodeport 198.19.128.10 30080 198.18.1.10@node1 | put "$dir/web.yaml"
# What the forwarder serves t/web with, as svcplanectl dump reads it back.
web_eps() {
	inns $R node1 "$SVCPLANECTL" dump --json | python3 -c 'import json,sys
d=json.load(sys.stdin); print(" ".join(e["ip"] for p in d["servicePorts"] if p["service"]=="t/web" for e in p["endpoints"]))'
}
web_only_a1() { [ "$(web_eps)" = 198.18.1.10 ]; }
wait_until 10 web_only_a1 || fail "removed endpoint still served: t/web endpoints [$(web_eps)]"
got=$(hits $R cl 20 'curl -s -m 3 http://198.19.128.10/' | tr '\n' ' ')
[ "$got" = "a1 20 " ] || fail "after removing b1: answers [$got], want a1 20"

# --- a UDP flow moves off a removed endpoint ---
inns $R cl $FLOWS udp 198.19.128.11 53 3 >"$dir/udp.out" &
flows=$!
sleep 0.6
first=$(head -1 "$dir/udp.out")
case $first in
a1) udp_yaml 198.18.2.10 | put "$dir/dns.yaml" ;;
b1) udp_yaml 198.18.1.10 | put "$dir/dns.yaml" ;;
*) fail "UDP flow got no answer: $first" ;;
esac
wait $flows
last=$(tail -5 "$dir/udp.out" | sort -u | tr '\n' ' ')
[[ "$last" != *"$first"* && "$last" != *"-"* ]] || fail "UDP flow stuck on removed endpoint $first: last replies [$last]"

# --- healthz all along; dump; cleanup ---
[ ! -s "$dir/hz" ] || fail "/healthz failed during the test: $(head -3 "$dir/hz")"
inns $R node1 "$SVCPLANECTL" dump >"$dir/dump" || fail "dump"
grep -q 't/bulk:e' "$dir/dump" || fail "dump lacks t/bulk: $(cat "$dir/dump")"
inns $R node1 nft list ruleset >"$dir/nft" || fail "nft list ruleset"
[ ! -s "$dir/nft" ] || fail "userspace mode created nftables state: $(head -5 "$dir/nft")"
kill "${AGENT_PID[1]}"; wait "${AGENT_PID[1]}" 2>/dev/null
# Stopped: the link stays, and dump says nobody serves it.
inns $R node1 "$SVCPLANECTL" dump >/dev/null 2>"$dir/err" && fail "dump with the agent stopped succeeded"
grep -q "No such process" "$dir/err" || fail "dump with the agent stopped: $(cat "$dir/err")"
inns $R node1 "$SVCPLANE" $(node_flags $R node1) --cleanup >/dev/null 2>&1 || fail "--cleanup"
inns $R node1 ip link show svcplane0 >/dev/null 2>&1 && fail "--cleanup left svcplane0"
state=/run/svcplane/userspace/net-$(inns $R node1 stat -L -c %i /proc/self/ns/net).json
[ ! -e "$state" ] || fail "--cleanup left $state"
rc=0; inns $R node1 "$SVCPLANECTL" dump >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "dump after --cleanup: exit $rc, want 3 (no state)"
exit 0
