#!/usr/bin/env bash
# --take-over-kube-proxy, once per way kube-proxy leaves its rules: iptables
# through iptables-legacy, iptables through iptables-nft, and its nftables
# mode. kube-proxy-shaped rules for the rig's service are loaded in node1 with
# the real tools (iptables-legacy-restore, iptables-nft-restore, nft -f) and
# serve a client; `svcplanectl dump` there exits 3 naming that state. Then,
# while the client holds established connections (made through kube-proxy's
# NAT) and opens a new one every 20 ms, svcplane starts with
# --take-over-kube-proxy: no connection fails, held or new; afterwards no
# kube-proxy rule is left (in any table of either family), kubelet's
# KUBE-FIREWALL and someone else's chain are still there, and the agent's
# log says what it removed.
. "$(dirname "$0")/lib.sh"
need_netns
R=t60
VIP=198.19.128.1
dir=$(t_tmpdir)
cat >"$dir/rig.yaml" <<Y
name: $R
nodes:
  - name: node1
    pods: [p1, p2]
clients: [client]
Y
rig_up "$dir/rig.yaml"
# bench/gen.py writes the same service three ways: manifests (svcplane's
# input), kube-proxy's iptables-save and kube-proxy's nftables ruleset:
# bench/svc-0, 198.19.128.1:80 → 198.18.1.10, 198.18.1.11 (p1, p2), where
# the target port is moved from 8080 to 9000: a line echo server (socat) that
# long-lived connections can talk to.
python3 "$TOP/bench/gen.py" manifests 1 2 "$dir/m" || fail "gen manifests"
python3 "$TOP/bench/gen.py" iptables 1 2 "$dir/nat.save" || fail "gen iptables"
python3 "$TOP/bench/gen.py" kube-proxy 1 2 "$dir/kp.nft" || fail "gen kube-proxy"
sed -i 's/8080/9000/g' "$dir/m"/*.json "$dir/nat.save" "$dir/kp.nft"
for p in p1 p2; do
	inns $R $p socat TCP-LISTEN:9000,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
	T_PIDS+=($!)
done
# The rest of what kube-proxy's iptables mode keeps: its filter chains, the
# canaries, masquerading, an IPv6 side; and kubelet's KUBE-FIREWALL plus
# someone else's chain, which must stay.
sed -i 's/^:KUBE-MARK-MASQ - \[0:0\]$/&\n:POSTROUTING ACCEPT [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-PROXY-CANARY - [0:0]\n:OTHER-NAT - [0:0]/' "$dir/nat.save"
sed -i 's/^COMMIT$/-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000\/0x4000\n-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n-A KUBE-POSTROUTING -m mark ! --mark 0x4000\/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MASQUERADE --random-fully\n-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n-A OTHER-NAT -j RETURN\nCOMMIT/' "$dir/nat.save"
cat >"$dir/v4.save" <<S
*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-PROXY-CANARY - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
$(cat "$dir/nat.save")
S
cat >"$dir/v6.save" <<S
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
S
printf 'table ip6 kube-proxy {\n  chain services { }\n  chain nat-prerouting { type nat hook prerouting priority -100; jump services; }\n}\n' >>"$dir/kp.nft"

node1() { inns $R node1 "$@"; }
# Everything of kube-proxy's, in any backend and family, as one listing.
kp_left() {
	{ node1 nft list ruleset; node1 iptables-legacy-save; node1 ip6tables-legacy-save; } 2>/dev/null |
		grep -E 'table ip6? kube-proxy|KUBE-(SERVICES|SVC-|SEP-|MARK-MASQ|POSTROUTING|NODEPORTS|FORWARD|EXTERNAL|PROXY-)'
}

hz=$(free_port); mp=$(free_port)
for way in iptables-legacy iptables-nft nftables; do
	note "kube-proxy's rules through $way"
	case $way in
	iptables-*)
		node1 "${way/-/-}-restore" <"$dir/v4.save" || fail "$way: loading kube-proxy's IPv4 rules"
		node1 "ip6${way#ip}-restore" <"$dir/v6.save" || fail "$way: loading kube-proxy's IPv6 rules"
		;;
	nftables)
		node1 nft -f "$dir/kp.nft" || fail "nft -f kube-proxy's ruleset"
		node1 iptables-nft -t filter -N KUBE-FIREWALL || fail "kubelet's chain"
		;;
	esac
	node1 nft add table inet someone-else && node1 nft add chain inet someone-else keep ||
		fail "someone else's table"
	[ -n "$(kp_left)" ] || fail "$way: no kube-proxy rules loaded"
	wait_until 5 inns $R client python3 "$TOP/tests/integration/newconns.py" $VIP 80 0.01 ||
		fail "$way: kube-proxy's rules do not serve the service"
	node1 "$SVCPLANECTL" dump >"$dir/dump.out" 2>&1; rc=$?
	[ $rc -eq 3 ] || fail "$way: dump on a kube-proxy node: exit $rc, want 3: $(cat "$dir/dump.out")"
	case $way in
	iptables-legacy) want="iptables-legacy: [0-9]+ KUBE-\* chains \(iptables\); iptables-legacy: 2 KUBE-\* chains \(ip6tables\)" ;;
	iptables-nft) want="iptables-nft: [0-9]+ KUBE-\* chains \(ip\); iptables-nft: 2 KUBE-\* chains \(ip6\)" ;;
	nftables) want="nftables table ip kube-proxy; nftables table ip6 kube-proxy" ;;
	esac
	grep -Eq "kube-proxy's state is here: $want" "$dir/dump.out" || fail "$way: dump does not name the state: $(cat "$dir/dump.out")"

	# Held connections (through kube-proxy's NAT) and a stream of new ones.
	inns $R client python3 "$TOP/tests/integration/flows.py" tcp $VIP 80 4 9 >"$dir/held" 2>&1 &
	held=$!
	inns $R client python3 "$TOP/tests/integration/newconns.py" $VIP 80 9 >"$dir/new" 2>&1 &
	new=$!
	T_PIDS+=($held $new)
	sleep 2
	# rig exec, not the node1 function: $! must be the agent itself.
	"$SVCPLANECTL" rig exec $R node1 -- "$SVCPLANE" --manifests "$dir/m" --hostname-override node1 --cluster-cidr 198.18.0.0/16 \
		--take-over-kube-proxy --healthz-bind-address 127.0.0.1:$hz --metrics-bind-address 127.0.0.1:$mp \
		$(node_flags $R node1) >"$dir/agent-$way.log" 2>&1 &
	agent=$!
	T_PIDS+=($agent)
	wait_until 10 grep -q "take-over: removed kube-proxy's rules" "$dir/agent-$way.log" ||
		fail "$way: no take-over line: $(cat "$dir/agent-$way.log")"
	# svcplane's rules first, kube-proxy's removal after.
	sync_at=$(grep -an 'sync: full' "$dir/agent-$way.log" | head -1 | cut -d: -f1)
	take_at=$(grep -an 'take-over: removed' "$dir/agent-$way.log" | head -1 | cut -d: -f1)
	[ -n "$sync_at" ] && [ "$sync_at" -lt "$take_at" ] || fail "$way: take-over before svcplane's first sync"
	wait $held; wait $new
	grep -q '^ok' "$dir/held" || fail "$way: an established connection failed: $(cat "$dir/held")"
	grep -q '^ok' "$dir/new" || fail "$way: a new connection failed: $(cat "$dir/new")"
	left=$(kp_left)
	[ -z "$left" ] || fail "$way: kube-proxy's rules left: $left; agent: $(grep -v "^{" "$dir/agent-$way.log")"
	node1 nft list chain inet someone-else keep >/dev/null || fail "$way: someone else's chain was removed"
	case $way in
	iptables-*) node1 "${way}-save" -t nat | grep -q '^:OTHER-NAT' || fail "$way: a chain not kube-proxy's was removed"
		node1 "${way}-save" -t filter | grep -q '^-A INPUT -j KUBE-FIREWALL' || fail "$way: kubelet's KUBE-FIREWALL was unhooked" ;;
	nftables) node1 iptables-nft-save -t filter | grep -q '^:KUBE-FIREWALL' || fail "$way: kubelet's KUBE-FIREWALL was removed" ;;
	esac
	grep "take-over:" "$dir/agent-$way.log" | sed "s/^/  $T_NAME: $way: /"
	grep -q error "$dir/agent-$way.log" && fail "$way: agent errors: $(grep error "$dir/agent-$way.log")"
	inns $R client python3 "$TOP/tests/integration/newconns.py" $VIP 80 0.01 >/dev/null ||
		fail "$way: svcplane does not serve the service"
	node1 "$SVCPLANECTL" dump >/dev/null || fail "$way: dump after the take-over"

	# Reset node1 for the next way: stop the agent, remove its tables and the rest.
	kill $agent; wait $agent 2>/dev/null
	grep -aq "stopping; rules stay" "$dir/agent-$way.log" || fail "$way: the agent did not stop on SIGTERM"
	node1 "$SVCPLANE" --cleanup $(node_flags $R node1) || fail "cleanup"
	node1 nft delete table inet someone-else
	node1 iptables-legacy -t filter -F 2>/dev/null; node1 iptables-legacy -t filter -X 2>/dev/null
	node1 iptables-legacy -t nat -F 2>/dev/null; node1 iptables-legacy -t nat -X 2>/dev/null
	node1 iptables-nft -t filter -F 2>/dev/null; node1 iptables-nft -t filter -X 2>/dev/null
	node1 iptables-nft -t nat -F 2>/dev/null; node1 iptables-nft -t nat -X 2>/dev/null
done
exit 0
