#!/usr/bin/env bash
# scenario: 24. Conntrack: should drop INVALID conntrack entries
# A client pod (a1, node1) holds a TCP connection through the ClusterIP to a
# server pod on node2; a packet of that flow far outside the window is sent
# from the server's side. node1's conntrack marks it INVALID, so it would
# pass un-NATed (from the server pod's own address) and the client would
# answer with a reset; the proxy's rules drop it instead: the client never
# sees it and the connection still works.
. "$(dirname "$0")/../lib.sh"
python3 -c 'import scapy.all' 2>/dev/null || skip "python3-scapy is not installed"
{ svc inv 198.19.128.124; slice inv b1; } | apply inv
programmed '"cf/inv"'
d=$(t_tmpdir)
inns $R a1 python3 "$(dirname "$0")/../invalid.py" client 198.19.128.124 80 198.18.2.10 "$d" &
client=$!
wait_until 10 test -s "$d/port" || fail "the client did not connect"
inns $R b1 python3 "$(dirname "$0")/../invalid.py" inject 198.18.2.10 8080 198.18.1.10 "$(cat "$d/port")" ||
	fail "could not send the out-of-window packet"
touch "$d/sent"
wait $client
res=$(cat "$d/result" 2>/dev/null)
[ "$res" = "ok" ] || fail "${res:-the client reported nothing}"
