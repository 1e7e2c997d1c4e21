#!/usr/bin/env bash
# bpf mode, bad input and faults: a map full (--bpf-lb-map-max 16, more
# service ports than fit) is one error line per service port left out, naming
# it, and every other port keeps working (the metric counts them); a hook
# the kernel refuses at start (--cgroup-path not a cgroup v2 directory, or
# missing; a pin path where no bpffs can be) is one line naming it and exit 2;
# maps pinned by an older layout (sp_meta) or with other sizes (sp_services)
# are detected, replaced with a warning line, never read, and traffic works;
# a service address removed from sp_addrs is drift that diff names.
. "$(dirname "$0")/lib.sh"
LAYOUT=$(awk '$1 == "#define" && $2 == "SP_BPF_LAYOUT" {print $3}' "$TOP/bpf/maps.h")
[ -n "$LAYOUT" ] || fail "no SP_BPF_LAYOUT in bpf/maps.h"
mode_test bpf
rig2_test t51
PIN=$("$SVCPLANECTL" rig path $R node1 bpf-pin) || fail "rig path bpf-pin"
CG=$("$SVCPLANECTL" rig path $R node1 cgroup) || fail "rig path cgroup"

# --- refusals at start: one line, exit 2, nothing left attached or pinned.
start_refused() { # what flags...: the agent on node1 with FLAGS (after the rig's)
	local what=$1 out rc; shift
	out=$("$SVCPLANECTL" rig exec $R node1 -- timeout 10 "$SVCPLANE" --mode bpf $(node_flags $R node1) \
		--hostname-override node1 --manifests "$dir" "$@" 2>&1); rc=$?
	[ "$rc" = 2 ] || fail "$what: exit $rc, want 2: $out"
	[ "$(grep -c . <<<"$out")" = 1 ] || fail "$what: want one line, got: $out"
	echo "$out"
}
plain=$(t_tmpdir)
out=$(start_refused "--cgroup-path on a plain directory" --cgroup-path "$plain") || exit 1
[[ "$out" == *"--cgroup-path $plain: not a cgroup v2 directory"* ]] || fail "plain directory as cgroup: $out"
out=$(start_refused "--cgroup-path missing" --cgroup-path "$plain/none") || exit 1
[[ "$out" == *"--cgroup-path $plain/none: No such file or directory"* ]] || fail "missing cgroup: $out"
touch "$plain/file"
out=$(start_refused "--bpf-pin-path below a file" --bpf-pin-path "$plain/file/pins") || exit 1
[[ "$out" == *"--bpf-pin-path $plain/file/pins"*"bpffs"* ]] || fail "pin path below a file: $out"
att=$(bpftool cgroup show "$CG") || fail "bpftool cgroup show"
[ -z "$att" ] || fail "a refused start left programs attached to node1's cgroup: $att"
note "refusals: one line, exit 2"

# --- maps of an older layout, then of other sizes, pinned before the agent starts.
web_nodeport 198.19.128.70 30070 198.18.1.10@node1 198.18.2.10@node2 >"$dir/web.yaml"
mkdir -p "$PIN"
bpftool map create "$PIN/sp_meta" type array key 4 value 8 entries 1 name sp_meta || fail "pinning an old sp_meta"
bpftool map update pinned "$PIN/sp_meta" key 0 0 0 0 value 7 0 0 0 0 0 0 0 || fail "writing layout 7"
old_meta=$(bpftool -j map show pinned "$PIN/sp_meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
layout_run() { # what expected-warning-text
	local log id lay
	AGENT_LOG_DIR=$(t_tmpdir)
	agents_up $R "$dir"
	log=$AGENT_LOG_DIR/agent1.log
	[ "$(grep -c "maps pinned under $PIN are of $2" "$log")" = 1 ] ||
		fail "$1: want one warning line 'maps pinned under $PIN are of $2': $(cat "$log")"
	id=$(bpftool -j map show pinned "$PIN/sp_meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	[ "$id" != "$old_meta" ] || fail "$1: the planted sp_meta (id $old_meta) is still pinned"
	lay=$(bpftool -j map dump pinned "$PIN/sp_meta" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d.get("formatted", d)["value"]["layout"])')
	[ "$lay" = "$LAYOUT" ] || fail "$1: sp_meta's layout after the start: $lay"
	out=$(hits $R a3 20 'curl -s -m 2 http://198.19.128.70/' | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$out" = "a1 b1 " ] || fail "$1: traffic from pod a3 reached [$out]"
	inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1 >/dev/null ||
		fail "$1: maps do not match the manifests"
	kill "${AGENT_PID[1]}" "${AGENT_PID[2]}"; wait "${AGENT_PID[1]}" "${AGENT_PID[2]}" 2>/dev/null
	inns $R node1 "$SVCPLANE" --mode bpf $(node_flags $R node1) --cleanup || fail "$1: --cleanup"
	inns $R node2 "$SVCPLANE" --mode bpf $(node_flags $R node2) --cleanup || fail "$1: --cleanup on node2"
	note "$1: replaced with one warning, traffic through the new maps"
}
layout_run "sp_meta of layout 7" "another layout (layout 7, this agent's $LAYOUT)"
mkdir -p "$PIN"
bpftool map create "$PIN/sp_meta" type array key 4 value 8 entries 1 name sp_meta || fail "pinning sp_meta"
# (layout, then the Maglev table size, 16381 by default: little-endian words)
bpftool map update pinned "$PIN/sp_meta" key 0 0 0 0 value "$LAYOUT" 0 0 0 0xfd 0x3f 0 0 ||
	fail "writing layout $LAYOUT"
# sp_services of the right key and value but another size (an agent with another --bpf-lb-map-max).
bpftool map create "$PIN/sp_services" type hash key 24 value 16 entries 8 name sp_services || fail "pinning a small sp_services"
old_meta=$(bpftool -j map show pinned "$PIN/sp_meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
layout_run "sp_services of 8 entries" "other sizes (layout $LAYOUT, this agent's $LAYOUT)"

# --- a map full: 12 ClusterIP services (each two sp_services entries: its
# address and port, and its address for the ports it does not serve) in maps
# of 16: some are left out, each named in one error line; every other works.
rm -f "$dir"/*.yaml
for i in $(seq 10 21); do
	cat >"$dir/s$i.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: s$i, namespace: t}
spec:
  clusterIP: 198.19.128.$i
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s$i-1, namespace: t, labels: {kubernetes.io/service-name: s$i}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
Y
done
AGENT_LOG_DIR=$(t_tmpdir)
agents_up $R "$dir" --bpf-lb-map-max 16
log=$AGENT_LOG_DIR/agent1.log
sleep 1	# (a sync after the first would log its ports again: wait for it to show)
left=$(grep -o 'service port [^ ]* left out: a map is full' "$log" | awk '{print $3}')
[ -n "$left" ] || fail "no port left out with maps of 16: $(cat "$log")"
dups=$(sort <<<"$left" | uniq -d)
[ -z "$dups" ] || fail "ports named in more than one line: $dups"
note "left out: $(tr '\n' ' ' <<<"$left")"
grep 'left out' "$log" | grep -q -- '--bpf-lb-map-max 16' || fail "the line does not name the flag and its value: $(grep 'left out' "$log")"
n_ok=0
for i in $(seq 10 21); do
	out=$(inns $R a3 curl -s -m 1 http://198.19.128.$i/)
	if grep -qx "t/s$i:http/TCP/IPv4" <<<"$left"; then
		[[ "$out" != a1* ]] || fail "s$i is named as left out but answers: $out"
	else
		[[ "$out" == a1* ]] || fail "s$i (not left out) does not answer: '$out'"
		n_ok=$((n_ok + 1))
	fi
done
[ "$n_ok" -ge 1 ] || fail "no service works"
gauge=$(inns $R node1 curl -sf http://127.0.0.1:10249/metrics | awk '$1 == "svcplane_bpf_service_ports_left_out" {print $2}')
[ "$gauge" = "$(grep -c . <<<"$left")" ] || fail "svcplane_bpf_service_ports_left_out = '$gauge', lines name $(grep -c . <<<"$left")"
note "map full: $(grep -c . <<<"$left") port(s) left out, one line each; $n_ok answer"

# --- a service address gone from sp_addrs behind the agent's back: the
# programs no longer reach its entry, and diff says so (exit 1, naming it,
# where it named only the ports left out before), though sp_services still
# holds the entry.
for i in $(seq 10 21); do grep -qx "t/s$i:http/TCP/IPv4" <<<"$left" || break; done
if grep -qx "t/s$i:http/TCP/IPv4" <<<"$left"; then fail "every service was left out: none to take sp_addrs from"; fi
key="198 19 128 $i 0 0 0 0 0 0 0 0 0 0 0 0 4 0 0 0"
bpftool map lookup pinned "$PIN/sp_services" key 198 19 128 $i 0 0 0 0 0 0 0 0 0 0 0 0 0 80 6 0 4 0 0 0 >/dev/null ||
	fail "s$i has no sp_services entry to begin with"
out=$(inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1)
! grep -q "t/s$i:http" <<<"$out" || fail "diff names t/s$i before its address is gone: $out"
bpftool map delete pinned "$PIN/sp_addrs" key $key || fail "deleting s$i's address from sp_addrs"
out=$(inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1); rc=$?
[ "$rc" = 1 ] || fail "diff with s$i's address gone from sp_addrs: exit $rc, want 1: $out"
grep -q "t/s$i:http" <<<"$out" || fail "diff does not name t/s$i: $out"
note "an address gone from sp_addrs: diff names it ($(grep "t/s$i:http" <<<"$out"))"
exit 0
