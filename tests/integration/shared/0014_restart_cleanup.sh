#!/usr/bin/env bash
# Shared by 0014_nft_restart_cleanup.sh and 0014_bpf_restart_cleanup.sh (MODE
# set by the wrapper): kill -9 of node1's agent while a client keeps opening
# connections (a pod on node1 in both modes; the client outside the nodes
# where the mode serves it) fails no request: the rules (nftables) or the
# pinned maps and links (bpf) stay in the kernel; a restarted agent converges
# over what it finds (bpf: adopts the same maps and links), still with no
# failed request; --cleanup then removes every table svcplane installed and
# nothing else (nftables), every pin and link (bpf); twice is fine. In
# userspace mode (0014_us_…) the relay's listeners die with the agent, so
# requests fail while it is down (refused; 0053 measures for how long and
# what is lost): here only between the kill and 1 s after the new start
# (10 x min-sync-period); svcplane0 and its
# addresses stay for the restarted agent, which adopts them; --cleanup
# removes svcplane0 and the state file, and not another bridge.
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
rig2_test t14
web_nodeport 198.19.128.60 30060 198.18.1.10@node1 198.18.2.10@node2 >"$dir/svc.yaml"
# An echo service for connections held open across the restart.
printf -- '---\n' >>"$dir/svc.yaml"
nodeport_svc hold 198.19.128.61 9000 9000 30061 198.18.1.10@node1 198.18.2.10@node2 >>"$dir/svc.yaml"
FLOWS="python3 $TOP/tests/integration/flows.py"
for p in a1 b1; do	# TCP echo servers
	inns $R $p socat TCP-LISTEN:9000,fork,reuseaddr EXEC:cat >/dev/null 2>&1 &
	T_PIDS+=($!)
done
agents_up $R "$dir"
PIN=$("$SVCPLANECTL" rig path $R node1 bpf-pin) || fail "rig path bpf-pin"
CG=$("$SVCPLANECTL" rig path $R node1 cgroup) || fail "rig path cgroup"
# bpf_ids KIND: "name id" of each map or link pinned for node1, sorted.
bpf_ids() {
	local f
	if [ "$1" = link ]; then
		for f in "$PIN"/links/*; do
			echo "$(basename "$f") $(bpftool -j link show pinned "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
		done
	else
		for f in "$PIN"/sp_*; do
			echo "$(basename "$f") $(bpftool -j map show pinned "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
		done
	fi | sort
}
if in_mode nftables; then
	# Something else's table in the node, which cleanup must leave alone.
	inns $R node1 nft add table inet someone-else
elif in_mode userspace; then
	# Something else's bridge, which cleanup must leave alone.
	inns $R node1 ip link add someone0 type bridge || fail "ip link add someone0"
	addrs_before=$(inns $R node1 ip -o addr show dev svcplane0 | awk '{print $4}' | sort) || fail "no svcplane0"
	[ -n "$addrs_before" ] || fail "no addresses on svcplane0"
else
	links_before=$(bpf_ids link) && maps_before=$(bpf_ids map) || fail "reading node1's pins"
	[ "$(grep -c . <<<"$links_before")" -ge 9 ] || fail "want 9 pinned links (connect, sendmsg, recvmsg, getpeername × 2, sock_release), got: $links_before"
fi

loop() { # member url...: 400 rounds of a request to each URL, bounded in time by curl's own timeout;
	# "F TIME" for each failed round, then "OK BAD"
	local m=$1; shift
	inns $R "$m" sh -c 'ok=0; bad=0; for i in $(seq 400); do r=0
		for u; do curl -s -m 2 -o /dev/null "$u" || r=1; done
		if [ $r = 0 ]; then ok=$((ok+1)); else bad=$((bad+1)); echo "F $(date +%s.%N)"; fi; done; echo "$ok $bad"' loop "$@"
}
loop a3 http://198.19.128.60/ http://198.19.0.1:30060/ >"$AGENT_LOG_DIR/loop-a3.out" &
lps=($!)
if from_cl "a loop from the client across the restart, and connections it holds"; then
	loop cl http://198.19.128.60/ http://198.19.0.1:30060/ >"$AGENT_LOG_DIR/loop-cl.out" &
	lps+=($!)
	# Established before the kill, exchanging lines every 0.1 s until after
	# the restart (bpf: their connection-tracking entries are in the pinned
	# map; nftables: in the kernel's conntrack). The userspace relay cannot
	# keep them (its own test, 0053, counts what a restart loses).
	if ! in_mode userspace; then
		inns $R cl $FLOWS tcp 198.19.0.1 30061 6 5 >"$AGENT_LOG_DIR/held-cl.out" &
		held=$!
	fi
fi
sleep 1
t_kill=$(date +%s.%N)
kill -9 "${AGENT_PID[1]}"
wait "${AGENT_PID[1]}" 2>/dev/null
# Each run its own log: the first run's is moved aside (its writer is dead),
# so agent_start writes the second run's into a fresh agent1.log.
run1_log=$AGENT_LOG_DIR/agent1.run1.log
run2_log=$AGENT_LOG_DIR/agent1.log
mv "$run2_log" "$run1_log" || fail "no log of the first run"
sleep 1
agent_start $R 1 "$dir"
t_start=$(date +%s.%N)
wait "${lps[@]}"
if [ -n "${held:-}" ]; then
	wait "$held"
	grep -q '^ok' "$AGENT_LOG_DIR/held-cl.out" ||
		fail "connections from cl held across kill -9 and restart broke: $(cat "$AGENT_LOG_DIR/held-cl.out")"
fi
for f in "$AGENT_LOG_DIR"/loop-*.out; do
	read -r ok bad < <(tail -1 "$f")
	if in_mode userspace; then
		# every failed round fell between the kill and 10 x min-sync-period
		# (1 s) after the new start
		late=$(awk -v k="$t_kill" -v s="$t_start" '$1 == "F" && ($2 < k || $2 > s + 1.0) {n++} END {print n + 0}' "$f")
		[ $((ok + bad)) = 400 ] && [ "$late" = 0 ] ||
			fail "$(basename "$f" .out): $bad of $((ok + bad)) rounds failed, $late of them outside the restart window"
		note "$(basename "$f" .out): $bad of 400 rounds failed, all while the agent was down or starting"
	else
		[ "$bad" = 0 ] && [ "$ok" = 400 ] || fail "$(basename "$f" .out): $bad of $((ok + bad)) rounds failed across kill -9 and restart"
	fi
done
fulls() { grep -c 'sync: full' "$1"; }	# prints the count; fails on an unreadable log
n1=$(fulls "$run1_log"); n2=$(fulls "$run2_log")
[ "${n1:-0}" -ge 1 ] 2>/dev/null || fail "first agent run logged no full sync ($n1)"
[ "${n2:-0}" -ge 1 ] 2>/dev/null || fail "restarted agent did not sync: $n2 full syncs in its own log"
inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1 >/dev/null ||
	fail "restarted agent did not converge"
if in_mode bpf; then
	# Adopted, not replaced: the same maps and links, no warning about them.
	[ "$(bpf_ids link)" = "$links_before" ] || fail "links replaced by the restart: before [$links_before] after [$(bpf_ids link)]"
	[ "$(bpf_ids map)" = "$maps_before" ] || fail "maps replaced by the restart: before [$maps_before] after [$(bpf_ids map)]"
	file_lacks "$run2_log" "replaced" "not reusable" || fail "restarted agent replaced something: $(grep -E 'replaced|reusable' "$run2_log")"
fi
if in_mode userspace; then
	# Adopted: the same link and addresses, and the link never remade.
	addrs_after=$(inns $R node1 ip -o addr show dev svcplane0 | awk '{print $4}' | sort)
	[ "$addrs_after" = "$addrs_before" ] || fail "svcplane0's addresses changed: [$addrs_before] → [$addrs_after]"
	file_lacks "$run2_log" "went away" || fail "the restarted agent remade svcplane0: $(grep 'went away' "$run2_log")"
fi

kill "${AGENT_PID[1]}"; wait "${AGENT_PID[1]}" 2>/dev/null
inns $R node1 "$SVCPLANE" ${MODE:+--mode $MODE} $(node_flags $R node1) --cleanup || fail "--cleanup exit status"
if in_mode nftables; then
	tables=$(inns $R node1 nft list tables)
	[ "$tables" = "table inet someone-else" ] || fail "after --cleanup: $tables"
elif in_mode userspace; then
	inns $R node1 ip link show svcplane0 >/dev/null 2>&1 && fail "svcplane0 left after --cleanup"
	inns $R node1 ip link show someone0 >/dev/null || fail "--cleanup removed another bridge (someone0)"
	state=/run/svcplane/userspace/net-$(inns $R node1 stat -L -c %i /proc/self/ns/net).json
	[ ! -e "$state" ] || fail "--cleanup left $state"
	[ ! -e "${state%.json}.sock" ] || fail "--cleanup left ${state%.json}.sock (explain's control socket)"
	out=$(inns $R a3 curl -s -m 1 http://198.19.128.60/) && fail "ClusterIP still served after --cleanup: $out"
else
	# Every pin gone (the pin dir empty or removed), none of node1's links left
	# in the kernel, nothing attached to node1's cgroup.
	[ ! -e "$PIN" ] || [ -z "$(ls -A "$PIN")" ] || fail "pins left under $PIN: $(find "$PIN")"
	links_now=$(bpftool -j link list) || fail "bpftool link list"
	for id in $(awk '{print $2}' <<<"$links_before"); do
		python3 -c 'import json,sys; sys.exit(int(sys.argv[2]) in [l["id"] for l in json.loads(sys.argv[1])])' "$links_now" "$id" ||
			fail "link $id still in the kernel after --cleanup: $(grep -w "$id" <<<"$links_before")"
	done
	att=$(bpftool cgroup show "$CG") || fail "bpftool cgroup show $CG"
	[ -z "$att" ] || fail "still attached to node1's cgroup after --cleanup: $att"
	# And traffic from node1's pod now goes to the ClusterIP untranslated:
	# nothing answers there (not refused by us, not balanced).
	out=$(inns $R a3 curl -s -m 1 http://198.19.128.60/) && fail "ClusterIP still balanced after --cleanup: $out"
fi
inns $R node1 "$SVCPLANE" ${MODE:+--mode $MODE} $(node_flags $R node1) --cleanup || fail "--cleanup with nothing to remove"
mode_done
