#!/usr/bin/env bash
# nftables mode: a kernel error is one line naming the object it concerns; the
# failed batch changes nothing (the rules before it stay in force) and is
# retried with backoff; the retry replaces the table in one transaction, so a
# set recreated by hand with another type cannot wedge the agent.
. "$(dirname "$0")/lib.sh"
rig2_test t17
web_nodeport 198.19.128.80 30080 198.18.1.10@node1 >"$dir/svc.yaml"
agents_up $R "$dir" --sync-period 2s
log=$AGENT_LOG_DIR/agent1.log
N1="$SVCPLANECTL rig exec $R node1 --"
# Someone replaces one of our sets with one of another type (its users first).
$N1 nft flush chain ip svcplane services
$N1 nft flush chain ip svcplane nodeport-endpoints-check
$N1 nft delete set ip svcplane masq-nodeports
$N1 nft add set ip svcplane masq-nodeports '{ type ipv4_addr; }'
# Meanwhile the ClusterIP rules are broken; the NodePort path too.
wait_until 6 grep -q 'nftables: ip svcplane: create set masq-nodeports: ' "$log" ||
	fail "no error line naming the set: $(tail -5 "$log")"
grep -q 'sync: nftables backend failed .*retrying' "$log" || fail "no retry announced"
wait_until 10 sh -c "$N1 nft list chain ip svcplane services | grep -q service-ips" ||
	fail "the retry did not rebuild the table: $(tail -5 "$log")"
out=$(inns $R cl curl -s -m 2 http://198.19.128.80/)
[[ "$out" == a1* ]] || fail "service after the rebuild: '$out'"
out=$(inns $R cl curl -s -m 2 http://198.19.0.1:30080/)
[[ "$out" == a1* ]] || fail "NodePort after the rebuild: '$out'"
# Retries were spaced by the backoff (at least min(min-sync-period, 0.5 s)).
fails=$(grep -c 'sync: nftables backend failed' "$log")
[ "$fails" -ge 1 ] && [ "$fails" -le 3 ] || fail "$fails failed syncs: not a backoff"
exit 0
