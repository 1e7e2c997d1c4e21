#!/usr/bin/env bash
# nftables mode: kill -9 of the agent during a steady client loop fails no
# request (the rules stay in the kernel); a restarted agent converges over the
# rules it finds, still with no failed request; --cleanup then removes every
# table svcplane installed, and nothing else.
. "$(dirname "$0")/lib.sh"
rig2_test t14
web_nodeport 198.19.128.60 30060 198.18.1.10@node1 198.18.2.10@node2 >"$dir/svc.yaml"
agents_up $R "$dir"
# Something else's table in the node, which cleanup must leave alone.
inns $R node1 nft add table inet someone-else

loop() { # 400 requests, bounded in time by curl's own timeout
	inns $R cl sh -c 'ok=0; bad=0; for i in $(seq 400); do
		if curl -s -m 2 -o /dev/null http://198.19.128.60/ && curl -s -m 2 -o /dev/null http://198.19.0.1:30060/
		then ok=$((ok+1)); else bad=$((bad+1)); fi; done; echo "$ok $bad"'
}
loop >"$AGENT_LOG_DIR/loop.out" &
lp=$!
sleep 1
kill -9 "${AGENT_PID[1]}"
wait "${AGENT_PID[1]}" 2>/dev/null
# Each run its own log: the first run's is moved aside (its writer is dead),
# so agent_start writes the second run's into a fresh agent1.log.
run1_log=$AGENT_LOG_DIR/agent1.run1.log
run2_log=$AGENT_LOG_DIR/agent1.log
mv "$run2_log" "$run1_log" || fail "no log of the first run"
sleep 1
agent_start $R 1 "$dir"
wait $lp
read -r ok bad <"$AGENT_LOG_DIR/loop.out"
[ "$bad" = 0 ] && [ "$ok" = 400 ] || fail "$bad of $((ok + bad)) requests failed across kill -9 and restart"
fulls() { grep -c 'sync: full' "$1"; }	# prints the count; fails on an unreadable log
n1=$(fulls "$run1_log"); n2=$(fulls "$run2_log")
[ "${n1:-0}" -ge 1 ] 2>/dev/null || fail "first agent run logged no full sync ($n1)"
[ "${n2:-0}" -ge 1 ] 2>/dev/null || fail "restarted agent did not sync: $n2 full syncs in its own log"
inns $R node1 "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1 >/dev/null ||
	fail "restarted agent did not converge"

kill "${AGENT_PID[1]}"; wait "${AGENT_PID[1]}" 2>/dev/null
inns $R node1 "$SVCPLANE" $(node_flags $R node1) --cleanup || fail "--cleanup exit status"
tables=$(inns $R node1 nft list tables)
[ "$tables" = "table inet someone-else" ] || fail "after --cleanup: $tables"
inns $R node1 "$SVCPLANE" $(node_flags $R node1) --cleanup || fail "--cleanup with nothing to remove"
exit 0
