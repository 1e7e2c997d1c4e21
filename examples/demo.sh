#!/usr/bin/env bash
# make demo: a two-node netns rig (examples/rig.yaml), an svcplane agent in each
# node namespace on examples/manifests, and answers from pods through Service
# IPs, NodePorts, external and load-balancer IPs; everything removed at the end.
set -u
cd "$(dirname "$0")/.."
RIG=demo
AGENT_PIDS=()
LOGS=$(mktemp -d /tmp/svcplane-demo-XXXXXX)	# the agents' logs, removed at the end

teardown() {
	local pid
	for pid in "${AGENT_PIDS[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	./svcplanectl rig down "$RIG" >/dev/null 2>&1
	rm -rf "$LOGS"
}
trap teardown EXIT

# A member's namespace and cgroup (a pod's: its node's), as the rig runs them.
in_ns() { local m=$1; shift; ./svcplanectl rig exec "$RIG" "$m" -- "$@"; }
# Bold headings on a terminal only: no escape codes in a log or a pipe.
if [ -t 1 ]; then
	say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
	say() { printf '\n%s\n' "$*"; }
fi
show() { printf '  $ %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root (network namespaces)" >&2
	exit 1
fi
./svcplanectl rig down "$RIG" >/dev/null 2>&1
say "1. A rig: two nodes with two echo pods each, and a client outside them"
./svcplanectl rig up examples/rig.yaml || exit 1

say "2. An svcplane agent in each node's namespace, on examples/manifests"
for n in 1 2; do
	# the node's own cgroup and pin dir, never the machine's (bpf mode)
	./svcplanectl rig exec "$RIG" node$n -- ./svcplane --manifests examples/manifests \
		--cgroup-path "$(./svcplanectl rig path "$RIG" node$n cgroup)" \
		--bpf-pin-path "$(./svcplanectl rig path "$RIG" node$n bpf-pin)" --hostname-override node$n \
		--cluster-cidr 198.18.0.0/16,fd00:10::/48 --metrics-bind-address 127.0.0.1:10249 \
		>"$LOGS/node$n.log" 2>&1 &
	AGENT_PIDS+=($!)
done
for n in 1 2; do
	for _ in $(seq 50); do
		in_ns node$n curl -sf http://127.0.0.1:10256/healthz >/dev/null && break
		sleep 0.1
	done
	echo "  node$n: $(in_ns node$n curl -s http://127.0.0.1:10256/healthz)"
done

# An answer "<pod> <peer>:<port>" and, when the peer is a node's address
# rather than the client's, why: a pod that reached itself (hairpin), or a
# client outside the cluster CIDR, so
# the connection was masqueraded (as kube-proxy does) to bring replies back
# through the node that did the DNAT.
explain_peer() { # asking member, answer
	local m=$1; shift
	local peer=${1#* }
	if [ "${1%% *}" = "$m" ]; then
		printf '    %s   <- the pod itself, through the Service: masqueraded (hairpin), so the reply comes back through the node\n' "$1"
		return
	fi
	peer=${peer%:*}
	peer=${peer#[}
	peer=${peer%]}
	case $peer in
	198.18.[0-9].1 | 198.19.0.[0-9] | fd00:10:0:[0-9]::1 | fd00:19::[0-9])
		printf '    %s   <- a node'"'"'s address: masqueraded (client outside --cluster-cidr)\n' "$1" ;;
	*) printf '    %s\n' "$1" ;;
	esac
}
ask() { # member, description, command...
	local m=$1 what=$2; shift 2
	show "$what"
	for _ in 1 2 3 4 5 6; do
		explain_peer "$m" "$(in_ns "$m" "$@" 2>&1 | tr -d '\r' | tail -1)"
	done
}
say "3. Answers (each line: the pod that answered, and the source address it saw; a node's address there means masqueraded)"
ask client "client → ClusterIP 198.19.128.10:80 (demo/web)" curl -s -m 2 http://198.19.128.10/
ask web-3 "pod web-3 on node2 → the same ClusterIP (its own node's rules; the pod's address is kept)" \
	curl -s -m 2 http://198.19.128.10/
ask client "client → NodePort 198.19.0.2:30080 on node2" curl -s -m 2 http://198.19.0.2:30080/
ask client "client → external IP 198.19.200.10:80" curl -s -m 2 http://198.19.200.10/
ask client "client → IPv6 ClusterIP [fd00:96::10]:80" curl -s -m 2 'http://[fd00:96::10]/'
ask client "client → UDP ClusterIP 198.19.128.11:7 (demo/echo-udp)" sh -c 'echo hi | nc -u -w 1 198.19.128.11 7'
ask client "client → load-balancer IP 198.19.201.10 (externalTrafficPolicy: Local: node1's pod only, client address kept)" \
	curl -s -m 2 http://198.19.201.10/
ask client "client → ClusterIP 198.19.128.13 with ClientIP affinity (one pod every time)" \
	curl -s -m 2 http://198.19.128.13/
show "client → 198.19.128.14, a service with no endpoints: refused at once"
printf '    %s\n' "$(in_ns client curl -sS -m 2 http://198.19.128.14/ 2>&1)"

say "4. What node1 programmed (svcplanectl dump)"
in_ns node1 ./svcplanectl dump 2>&1 | sed 's/^/  /' | head -60

say "5. Teardown"
teardown
trap - EXIT
left=$(ip netns list | grep -c "^sp-$RIG-" || true)
echo "  rig removed; namespaces left: $left"
