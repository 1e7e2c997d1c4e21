#!/usr/bin/env bash
# scenario: 25. granular checks: ClientIP affinity over HTTP, UDP client follows endpoint updates
. "$(dirname "$0")/../lib.sh"
{ svc gr 198.19.128.125 '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice gr a1 a2 b1 b2; } | apply gr
programmed '"cf/gr"'
# sticky MEMBER: HTTP requests over separate connections and over one
# kept-alive connection each reach one pod.
sticky() {
	local got one
	got=$(pods_seen $1 30 http://198.19.128.125/)
	[ "$(wc -w <<<"$got")" = 1 ] || fail "$1: HTTP with ClientIP affinity reached [$got]"
	one=$(inns $R $1 curl -s -m 5 $(for i in $(seq 10); do printf 'http://198.19.128.125/ '; done) | awk '{print $1}' | sort -u | tr '\n' ' ')
	[ "$(wc -w <<<"$one")" = 1 ] || fail "$1: requests on one connection reached [$one]"
}
from_cl sticky cl
sticky b3
# A UDP flow follows its endpoint being replaced twice while it sends.
sl() { udp_slice gu "$@"; }
sv() { svc gu 198.19.128.225 '  ports: [{name: udp, port: 80, protocol: UDP, targetPort: 8080}]'; }
{ sv; sl 198.18.1.10 node1; } | apply gu
programmed '"cf/gu"'
out=$(t_tmpdir)/flow
udp_flow a3 198.19.128.225 80 7 >"$out" &
flow=$!
sleep 2
{ sv; sl 198.18.2.10 node2; } | apply gu
sleep 2.5
{ sv; sl 198.18.1.11 node1; } | apply gu
wait $flow
seq=$(awk '{print $1}' "$out" | uniq | tr '\n' ' ')
[ "$seq" = "a1 b1 a2 " ] || fail "the UDP flow went [$seq], want [a1 b1 a2]"
