#!/usr/bin/env bash
# The rig: a 2-node, 6-pod topology comes up with working routes (v4 and v6,
# TCP and UDP, pod to pod across nodes, client to pod) and goes down leaving
# `ip netns list` and `ip -o link` as they were, also after a crash of `rig up`.
. "$(dirname "$0")/lib.sh"
need_netns

dir=$(t_tmpdir)
cat >"$dir/rig.yaml" <<Y
name: t3
nodes:
  - name: node1
    pods: [a1, a2, a3]
  - name: node2
    pods: [b1, {name: b2, ports: [8080, 9090]}, b3]
clients: [cl]
Y
ns_before=$(ip netns list | sort)
links_before=$(ip -o link | awk -F': ' '{print $2}' | sort)

rig_up "$dir/rig.yaml"
[ "$(ip netns list | grep -c '^sp-t3-')" -eq 10 ] || fail "want 10 namespaces: $(ip netns list)"
# client → every pod, v4 and v6
for p in a1:198.18.1.10 a2:198.18.1.11 a3:198.18.1.12 b1:198.18.2.10 b2:198.18.2.11 b3:198.18.2.12; do
	name=${p%%:*} ip4=${p#*:}
	out=$(inns t3 cl curl -s -m 2 "http://$ip4:8080/")
	[ "$out" = "$name 198.19.0.100:${out##*:}" ] || fail "client → $name over v4: '$out'"
	ip6="fd00:10:0:${ip4:7:1}::${ip4##*.}"
	out=$(inns t3 cl curl -s -m 2 "http://[$ip6]:8080/")
	[[ "$out" == "$name [fd00:19::100]:"* ]] || fail "client → $name over v6: '$out'"
done
# pod → pod across nodes sees the pod's own address; UDP; a second port
out=$(inns t3 a1 curl -s -m 2 http://198.18.2.12:8080/)
[[ "$out" == "b3 198.18.1.10:"* ]] || fail "a1 → b3: '$out'"
out=$(echo x | inns t3 a2 nc -u -w 1 198.18.2.10 8080)
[[ "$out" == "b1 198.18.1.11:"* ]] || fail "UDP a2 → b1: '$out'"
out=$(inns t3 cl nc -w 1 198.18.2.11 9090 </dev/null)
[[ "$out" == "b2 "* ]] || fail "b2 on its second port: '$out'"
# node namespaces are set up as a bridge-CNI node: hairpin, br_netfilter, forwarding
inns t3 node1 bridge -d link show dev vp0 | grep -q 'hairpin on' || fail "hairpin is off"
[ "$(inns t3 node1 cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 1 ] || fail "bridge-nf-call-iptables"
[ "$(inns t3 node2 cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward"
"$SVCPLANECTL" rig status t3 | grep -q '^b3 sp-t3-b3 198.18.2.12 fd00:10:0:2::12$' || fail "rig status"
"$SVCPLANECTL" rig exec t3 a1 -- ip -4 -o addr show dev eth0 | grep -q 198.18.1.10 || fail "rig exec"
# the echo servers run, and the pattern that checks they are gone finds them
echods='svcplanectl echod --name (a|b)[123] '
[ "$(pgrep -fc "$echods")" -ge 6 ] || fail "want 6 echo servers: $(pgrep -fa "$echods")"
# refuses to come up twice
"$SVCPLANECTL" rig up "$dir/rig.yaml" >/dev/null 2>"$dir/up2.err" && fail "second rig up succeeded"
grep -q '^rig t3 is already up' "$dir/up2.err" || fail "second rig up refused for another reason: $(cat "$dir/up2.err")"

"$SVCPLANECTL" rig down t3 || fail "rig down"
[ "$(ip netns list | sort)" = "$ns_before" ] || fail "namespaces left: $(ip netns list)"
[ "$(ip -o link | awk -F': ' '{print $2}' | sort)" = "$links_before" ] || fail "links changed"
pgrep -f "$echods"; [ $? -eq 1 ] || fail "echo servers left (or pgrep failed)"

# A crash of `rig up` half way: down still removes everything it made.
"$SVCPLANECTL" rig up "$dir/rig.yaml" >/dev/null &
sleep 0.03
kill -9 $! 2>/dev/null; wait $! 2>/dev/null
rm -rf /run/svcplane/rig/t3      # and its state is gone too
"$SVCPLANECTL" rig down t3 || fail "rig down after a crash"
[ "$(ip netns list | sort)" = "$ns_before" ] || fail "namespaces left after crash: $(ip netns list)"
[ "$(ip -o link | awk -F': ' '{print $2}' | sort)" = "$links_before" ] || fail "links changed after crash"
pgrep -f "$echods"; [ $? -eq 1 ] || fail "echo servers left after crash (or pgrep failed)"
exit 0
