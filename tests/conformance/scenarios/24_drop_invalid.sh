#!/usr/bin/env bash
# scenario: 24. Conntrack: should drop INVALID conntrack entries
# A client pod (a1, node1) holds a TCP connection through the ClusterIP to a
# server pod on node2; a packet of that flow is sent from the server's side
# with an ack of data the client never sent.
# conntrack marks it INVALID ("ACK is over the upper bound"), so it would
# pass un-NATed (from the server pod's own address) and the client would
# answer with a reset; the proxy's rules drop it instead: the client never
# sees it and the connection still works.
# In bpf mode the client's socket is connected to the endpoint itself (no NAT,
# so nothing for an INVALID packet to slip past): the segment is the flow's
# own; the client must still see the ClusterIP as its peer, send no reset,
# and the connection must still work (invalid.py client-direct).
. "$(dirname "$0")/../lib.sh"
# Debian's python3 (where python3-scapy is), even when another python3 comes first in PATH.
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
$PY -c 'import scapy.all' 2>/dev/null || skip "python3-scapy is not installed for $PY"
{ svc inv 198.19.128.124; slice inv b1; } | apply inv
programmed '"cf/inv"'
d=$(t_tmpdir)
side=client
[ "$CF_MODE" = bpf ] && side=client-direct
# userspace: the client's connection ends at the agent and the pod's is the
# agent's own; a segment from the pod's address to the client's port belongs
# to neither (no conntrack translation to slip past).
relayed && side=client-relay && nat_premise "conntrack INVALID: no NAT; the client's connection, ended at the agent, is untouched"
inns $R a1 $PY "$(dirname "$0")/../invalid.py" $side 198.19.128.124 80 198.18.2.10 "$d" &
client=$!
wait_until 10 test -s "$d/flow" || fail "the client did not connect: $(cat "$d/result" 2>/dev/null)"
inns $R b1 $PY "$(dirname "$0")/../invalid.py" inject 198.18.2.10 8080 198.18.1.10 "$d" ||
	fail "could not send the out-of-window packet"
touch "$d/sent"
wait $client
res=$(cat "$d/result" 2>/dev/null)
[ "$res" = "ok" ] || fail "${res:-the client reported nothing}"
