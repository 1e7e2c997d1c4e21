#!/usr/bin/env bash
# scenario: 18. should work after restarting the proxy
# A steady loop of requests through node1 sees no failure while node1's agent
# is killed with SIGKILL and started again (its supervisor restarts it).
. "$(dirname "$0")/../lib.sh"
{ svc rs 198.19.128.118; slice rs a1 b1; } | apply rs
programmed '"cf/rs"'
expect_pods cl 10 http://198.19.128.118/ "a1 b1"
out=$(t_tmpdir)/loop
inns $R cl sh -c 'for i in $(seq 150); do curl -s -m 2 -o /dev/null -w "%{http_code}\n" http://198.19.128.118/; sleep 0.05; done' >"$out" 2>&1 &
loop=$!
sleep 1
old=$(cat "$CF_STATE/agent1.pid")
kill -9 "$old" || fail "cannot kill node1's agent ($old)"
wait_until 10 sh -c "[ \"\$(cat '$CF_STATE/agent1.pid')\" != $old ]" || fail "the agent was not restarted"
wait_until 10 inns $R node1 curl -sf http://127.0.0.1:10256/healthz || fail "the restarted agent is not healthy"
wait $loop
n=$(wc -l <"$out")
bad=$(grep -vc '^200$' "$out")
[ "$n" = 150 ] || fail "the loop made $n requests"
[ "$bad" = 0 ] || fail "$bad of 150 requests failed across the restart"
{ svc rs 198.19.128.118; slice rs b1; } | apply rs
expect_pods cl 10 http://198.19.128.118/ "b1"
