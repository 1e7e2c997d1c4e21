#!/usr/bin/env bash
# The rig: a 2-node, 6-pod topology comes up with working routes (v4 and v6,
# TCP and UDP, pod to pod across nodes, client to pod), its bpffs, cgroup2 view
# and a cgroup per node (echod and `rig exec` in them), and goes down leaving
# `ip netns list`, `ip -o link`, the mounts and the cgroup tree as they were,
# also after a crash of `rig up`.
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
S=/run/svcplane/rig/t3
# the machine's own cgroup2 mount (not a rig's view), and what is mounted and
# made now, to compare with after each down
CG2=$(awk '$3 == "cgroup2" && $2 !~ "^/run/svcplane/" {print $2; exit}' /proc/mounts)
[ -d "$CG2" ] || skip "no cgroup2 mount"
mounts() { awk '$3 == "bpf" || $3 == "cgroup2" {print $1, $2, $3}' /proc/mounts | sort; }
cgroups() { (cd "$CG2" && find . -type d | sort); }
mounts_before=$(mounts)
cgroups_before=$(cgroups)
# left_behind WHEN: nothing of the rig is left (namespaces, links, mounts,
# cgroups, state dir, processes)
left_behind() {
	[ "$(ip netns list | sort)" = "$ns_before" ] || fail "namespaces left $1: $(ip netns list)"
	[ "$(ip -o link | awk -F': ' '{print $2}' | sort)" = "$links_before" ] || fail "links changed $1"
	[ "$(mounts)" = "$mounts_before" ] || fail "mounts left $1: $(diff <(echo "$mounts_before") <(mounts))"
	[ "$(cgroups)" = "$cgroups_before" ] || fail "cgroups left $1: $(diff <(echo "$cgroups_before") <(cgroups))"
	[ ! -e "$S" ] || fail "state dir left $1: $(ls -R "$S")"
	pgrep -f "$echods"; [ $? -eq 1 ] || fail "echo servers left $1 (or pgrep failed)"
}

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

# A bpffs and a cgroup2 view under the state dir; the rig's cgroup with one
# child per node and one for clients, seen in the machine's hierarchy too;
# a pin dir per node.
grep -qx "bpffs $S/bpffs bpf .*" /proc/mounts || fail "no bpffs at $S/bpffs: $(grep "$S" /proc/mounts)"
grep -qx "none $S/cgroup cgroup2 .*" /proc/mounts || fail "no cgroup2 view at $S/cgroup: $(grep "$S" /proc/mounts)"
for c in node1 node2 clients; do
	[ -f "$S/cgroup/svcplane-rig-t3/$c/cgroup.procs" ] || fail "no cgroup $c in the view"
	[ -d "$CG2/svcplane-rig-t3/$c" ] || fail "cgroup $c not in the machine's hierarchy $CG2"
done
[ -d "$S/bpffs/node1" ] && [ -d "$S/bpffs/node2" ] || fail "no pin dirs: $(ls "$S/bpffs")"
[ "$(stat -f -c %T "$S/bpffs/node1")" = bpf_fs ] || fail "pin dir not on the bpffs: $(stat -f -c %T "$S/bpffs/node1")"
# each echod in its node's cgroup
for p in a1:node1 b2:node2; do
	pid=$(pgrep -f "svcplanectl echod --name ${p%:*} ") || fail "no echod ${p%:*}"
	grep -qx "$pid" "$S/cgroup/svcplane-rig-t3/${p#*:}/cgroup.procs" ||
		fail "echod ${p%:*} ($pid) not in ${p#*:}'s cgroup: $(cat "/proc/$pid/cgroup")"
done
# rig path: a member's node's cgroup and pin dir
[ "$("$SVCPLANECTL" rig path t3 b3 cgroup)" = "$S/cgroup/svcplane-rig-t3/node2" ] || fail "rig path b3 cgroup"
[ "$("$SVCPLANECTL" rig path t3 node1 bpf-pin)" = "$S/bpffs/node1" ] || fail "rig path node1 bpf-pin"
[ "$("$SVCPLANECTL" rig path t3 cl cgroup)" = "$S/cgroup/svcplane-rig-t3/clients" ] || fail "rig path cl cgroup"
"$SVCPLANECTL" rig path t3 cl bpf-pin >/dev/null 2>&1; [ $? -eq 2 ] || fail "rig path of a client's pin dir: not exit 2"
"$SVCPLANECTL" rig path t3 nobody cgroup >/dev/null 2>&1; [ $? -eq 2 ] || fail "rig path of no member: not exit 2"
# rig exec (and so inns): the command runs in the member's cgroup
for p in a2:node1 node2:node2 b1:node2 cl:clients fabric:clients; do
	got=$(inns t3 "${p%:*}" cat /proc/self/cgroup | grep '^0::')
	[ "$got" = "0::/svcplane-rig-t3/${p#*:}" ] || fail "rig exec ${p%:*}: in cgroup '$got', want ${p#*:}'s"
done
# refuses to come up twice
"$SVCPLANECTL" rig up "$dir/rig.yaml" >/dev/null 2>"$dir/up2.err" && fail "second rig up succeeded"
grep -q '^rig t3 is already up' "$dir/up2.err" || fail "second rig up refused for another reason: $(cat "$dir/up2.err")"

# a process a test put in a rig cgroup but in no rig namespace: down kills it
sh -c "echo \$\$ >$S/cgroup/svcplane-rig-t3/clients/cgroup.procs && exec sleep 600" &
stray=$!
wait_until 5 grep -qx "$stray" "$S/cgroup/svcplane-rig-t3/clients/cgroup.procs" || fail "stray process not in the cgroup"

"$SVCPLANECTL" rig down t3 || fail "rig down"
left_behind "after down"
kill -0 "$stray" 2>/dev/null && fail "a process in the rig's cgroup outlived down"
wait "$stray" 2>/dev/null
"$SVCPLANECTL" rig down t3 || fail "a second rig down"
left_behind "after a second down"

# Up, then its state files are lost (a crash that took them): down works from
# the name alone.
rig_up "$dir/rig.yaml"
find "$S" -maxdepth 1 -type f -delete
"$SVCPLANECTL" rig down t3 || fail "rig down without state files"
left_behind "after down without state files"

# A crash of `rig up` half way: down still removes everything it made.
"$SVCPLANECTL" rig up "$dir/rig.yaml" >/dev/null &
sleep 0.03
kill -9 $! 2>/dev/null; wait $! 2>/dev/null
find "$S" -maxdepth 1 -type f -delete 2>/dev/null	# and its state files are gone too
"$SVCPLANECTL" rig down t3 || fail "rig down after a crash"
left_behind "after a crash"
exit 0
