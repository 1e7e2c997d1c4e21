#!/usr/bin/env bash
# Shared by 0020_nft_explain_matches_traffic.sh,
# 0020_bpf_explain_matches_traffic.sh and 0020_us_explain_matches_traffic.sh
# (MODE set by the wrapper): svcplanectl explain on svcplane's live state
# (nftables' tables, bpf's pinned maps, the userspace agent's own answer)
# agrees with real traffic: the endpoints 100 requests reach are exactly its
# candidates, and the source address the pod sees matches its masquerade
# answer (client outside the cluster CIDR: masqueraded; pod: kept; Local
# policy: the client's own; a relay: the node's address it names). From
# pods, and from the client outside the nodes where the mode serves it.
# Where explain counts the connections open to each endpoint (a relay
# does), held connections are counted and released.
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
rig2_test t20
cat >"$dir/svc.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: t}
spec:
  clusterIP: 198.19.128.90
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: t, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.1.11], nodeName: node1}
- {addresses: [198.18.2.11], nodeName: node2}
- {addresses: [198.18.2.12], nodeName: node2, conditions: {ready: false}}
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: t}
spec:
  type: LoadBalancer
  clusterIP: 198.19.128.91
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30091}]
status:
  loadBalancer: {ingress: [{ip: 198.19.201.91}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-1, namespace: t, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.12], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
Y
agents_up $R "$dir"
declare -A POD=([198.18.1.10]=a1 [198.18.1.11]=a2 [198.18.1.12]=a3 [198.18.2.10]=b1 [198.18.2.11]=b2 [198.18.2.12]=b3)

check() { # from-member from-ip to-ip:port
	local m=$1 src=$2 to=$3 out cands masq hit seen
	out=$(inns $R node1 "$SVCPLANECTL" explain --from "$src" --to "$to/tcp") || fail "explain failed: $out"
	cands=$(grep -oE '^  [0-9.]+' <<<"$out" | tr -d ' ' | while read -r ip; do echo "${POD[$ip]}"; done | sort | tr '\n' ' ')
	masq=$(grep '^masquerade:' <<<"$out")
	hit=$(hits $R "$m" 100 "curl -s -m 2 http://$to/" | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$hit" = "$cands" ] || fail "$src → $to: explain says [$cands], traffic reached [$hit]"
	# An answer from another pod checks explain's masquerade line; one from
	# the client itself is a hairpin, masqueraded in nftables mode whatever
	# the policy (as kube-proxy does), so try again (bounded).
	for _ in $(seq 20); do
		read -r who seen < <(inns $R "$m" curl -s -m 2 "http://$to/")
		seen=${seen%:*}
		[ "$who" = "$m" ] || break
		if in_mode nftables; then
			[ "$seen" != "$src" ] || fail "$src → $to: $m reached itself unmasqueraded (hairpin)"
		fi
	done
	# A backend that translates per endpoint (bpf, from outside) answers on
	# each candidate's line: the one of the pod that answered counts.
	local ip line
	for ip in "${!POD[@]}"; do [ "${POD[$ip]}" = "$who" ] && break; done
	line=$(grep -E "^  $ip:[0-9]+ .*masquerade: " <<<"$out")
	[ -n "$line" ] && masq="masquerade: ${line##*masquerade: }"
	case $masq in
	"masquerade: yes"*) [ "$seen" != "$src" ] || fail "$src → $to: explain says masquerade, pod saw $seen" ;;
	"masquerade: no"*) [ "$seen" = "$src" ] || fail "$src → $to: explain says source kept, pod saw $seen" ;;
	*) fail "no masquerade answer: $out" ;;
	esac
	# An answer naming the address the endpoint sees (a relay's) names
	# exactly the one the pod saw.
	# A relay (userspace mode) always names it.
	if [[ $masq =~ the\ endpoint\ sees\ ([0-9.]+) ]]; then
		[ "$seen" = "${BASH_REMATCH[1]}" ] || fail "$src → $to: explain says $who sees ${BASH_REMATCH[1]}, it saw $seen"
	elif in_mode userspace; then
		fail "$src → $to: userspace explain does not say which address the endpoint sees: $line"
	fi
}
check a3 198.18.1.12 198.19.128.90:80     # a pod: source kept
check a3 198.18.1.12 198.19.201.91:80     # a pod of node1 to a Local LB address
if from_cl "explain vs traffic from the client (masqueraded; Local: client kept)"; then
	check cl 198.19.0.100 198.19.128.90:80    # outside the cluster CIDR: masqueraded
	check cl 198.19.0.100 198.19.201.91:80    # Local policy: node1's endpoint, client kept
fi
# Open connections per endpoint, where explain counts them: six held from
# the client are on its lines (round robin over three: two each), then gone.
counts() { # "a1 N a2 N b2 N" from explain's "active N" per candidate
	inns $R node1 "$SVCPLANECTL" explain --from 198.19.0.100 --to 198.19.128.90:80/tcp |
		awk '/^  [0-9.]+:[0-9]+ .* active [0-9]+ / {sub(/:.*/, "", $1); for (i = 2; i < NF; i++) if ($i == "active") print $1, $(i + 1)}' |
		while read -r ip n; do echo "${POD[$ip]} $n"; done | sort | tr '\n' ' '
}
counts_are() { [ "$(counts)" = "$1" ]; }
if in_mode userspace || [ -n "$(counts)" ]; then
	wait_until 10 counts_are "a1 0 a2 0 b2 0 " || fail "before holding: explain counts [$(counts)], want none open"
	# rig exec, not inns: $! must be the holder itself, to end it
	"$SVCPLANECTL" rig exec $R cl -- python3 "$TOP/tests/integration/hostile.py" hold 198.19.128.90 80 6 30 >/dev/null &
	hold=$!
	T_PIDS+=($hold)
	wait_until 10 counts_are "a1 2 a2 2 b2 2 " || fail "six held: explain counts [$(counts)], want two on each"
	kill "$hold"
	wait "$hold" 2>/dev/null
	wait_until 10 counts_are "a1 0 a2 0 b2 0 " || fail "released: explain still counts [$(counts)]"
	note "explain counted six held connections, two per endpoint, and none once released"
fi
out=$(inns $R node1 "$SVCPLANECTL" explain --from 198.19.0.100 --to 198.19.128.99:80/tcp)
grep -q '^match: none' <<<"$out" || fail "explain for an address no service has: $out"
mode_done
