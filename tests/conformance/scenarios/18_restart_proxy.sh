#!/usr/bin/env bash
# scenario: 18. should work after restarting the proxy
# Steady loops of requests through node1 (from outside, and from a pod on
# node1) see no failure while node1's agent is killed with SIGKILL and
# started again (its supervisor restarts it).
. "$(dirname "$0")/../lib.sh"
relayed && nat_premise "connections served while the agent is down: the relay's listeners die with it; refusals only in that window, and the one request in flight at the kill lost"
U=http://198.19.128.118/
{ svc rs 198.19.128.118; slice rs a1 b1; } | apply rs
programmed '"cf/rs"'
from_cl expect_pods cl 10 $U "a1 b1"
expect_pods a2 10 $U "a1 b1"
out=$(t_tmpdir)
LOOPS=()
# loop MEMBER: 150 requests, 50 ms apart, in the background; "CODE EXIT" lines in $out/MEMBER.
loop() {
	inns $R $1 sh -c "for i in \$(seq 150); do curl -s -m 2 -o /dev/null -w '%{http_code} ' $U; echo \$?; sleep 0.05; done" >"$out/$1" 2>&1 &
	LOOPS+=($!)
}
# loop_ok MEMBER: every one of its 150 requests got 200.
loop_ok() {
	local n bad
	n=$(wc -l <"$out/$1")
	bad=$(grep -vc '^200 0$' "$out/$1")
	[ "$n" = 150 ] || fail "$1: the loop made $n requests"
	relayed && { loop_ok_relayed "$1" "$bad"; return; }
	[ "$bad" = 0 ] || fail "$1: $bad of 150 requests failed across the restart"
}
# userspace: nothing serves while the agent is down (its listeners died with
# it), so requests in that one window are refused at once (curl exit 7:
# never a hang), at most 40 of them (2 s of the loop), one run of refusals
# with answers on both sides. A request in flight at the kill is lost (reset
# or closed: curl exit 56 or 52; README: a restart loses every connection in
# flight): at most one per loop (one request at a time), the one the loop
# was at when the agent was killed (KILLED_AT: lines written then), and just
# before the refusals when there are any.
loop_ok_relayed() {
	local other first last lost at
	other=$(grep -v -E '^(200 0|000 7|000 56|000 52)$' "$out/$1" | head -1)
	[ -z "$other" ] || fail "$1: a request failed otherwise than refused or lost in flight across the restart: $other"
	lost=$(grep -cE '^000 (56|52)$' "$out/$1")
	[ "$lost" -le 1 ] || fail "$1: $lost requests lost in flight across the restart (one at a time: at most one)"
	if [ "$lost" = 1 ]; then
		at=$(grep -nE '^000 (56|52)$' "$out/$1" | cut -d: -f1)
		# (the loop may finish a request between the count and the kill)
		[ "$at" -gt "${KILLED_AT[$1]}" ] && [ "$at" -le $((KILLED_AT[$1] + 2)) ] ||
			fail "$1: request $at was lost, but the agent was killed at request $((KILLED_AT[$1] + 1))"
	fi
	local refused=$(($2 - lost))
	[ "$refused" -le 40 ] || fail "$1: $refused of 150 requests refused across the restart (more than 2 s)"
	if [ "$refused" -gt 0 ]; then
		first=$(grep -n '^000 7$' "$out/$1" | head -1 | cut -d: -f1)
		last=$(grep -n '^000 7$' "$out/$1" | tail -1 | cut -d: -f1)
		[ $((last - first + 1)) = "$refused" ] || fail "$1: refusals at requests $first..$last are not one window"
		[ "$last" -lt 150 ] || fail "$1: still refused at the loop's last request"
		if [ "$lost" = 1 ]; then
			[ "$at" = $((first - 1)) ] || fail "$1: the request lost in flight ($at) is not the one just before the refusals ($first..$last)"
		fi
	fi
	echo "  $1: $refused of 150 requests refused while the agent was down, $lost lost in flight at the kill"
}
from_cl loop cl
loop a2
sleep 1
old=$(cat "$CF_STATE/agent1.pid")
declare -A KILLED_AT
for m in cl a2; do [ -f "$out/$m" ] && KILLED_AT[$m]=$(wc -l <"$out/$m"); done
kill -9 "$old" || fail "cannot kill node1's agent ($old)"
wait_until 10 sh -c "[ \"\$(cat '$CF_STATE/agent1.pid')\" != $old ]" || fail "the agent was not restarted"
wait_until 10 inns $R node1 curl -sf http://127.0.0.1:10256/healthz || fail "the restarted agent is not healthy"
wait "${LOOPS[@]}"
from_cl loop_ok cl
loop_ok a2
{ svc rs 198.19.128.118; slice rs b1; } | apply rs
from_cl expect_pods cl 10 $U "b1"
expect_pods a2 10 $U "b1"
