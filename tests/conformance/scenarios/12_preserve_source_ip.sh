#!/usr/bin/env bash
# scenario: 12. should preserve source pod IP for traffic thru service cluster IP
# A pod on either node reaches an endpoint on node1 with its own address.
. "$(dirname "$0")/../lib.sh"
{ svc src 198.19.128.112; slice src a2; } | apply src
programmed '"cf/src"'
if relayed; then
	# The connection is the agent's own: a2 sees the address of the client's
	# node (the node whose agent relayed it), the same for every request.
	nat_premise "source pod IP: the pod sees the client node's address"
	for m in b1 a1; do
		seen=$(inns $R $m sh -c 'for i in 1 2 3 4 5; do curl -s -m 2 http://198.19.128.112/; echo; done' |
			awk 'NF {sub(":[0-9]*$", "", $2); print $2}' | sort -u | tr '\n' ' ')
		[ "$(wc -w <<<"$seen")" = 1 ] || fail "$m → a2 (5 requests): the pod saw [$seen], want one address"
		node_addr "${POD_NODE[$m]}" $seen || fail "$m → a2: the pod saw $seen, not an address of ${POD_NODE[$m]}"
	done
	exit 0
fi
for m in b1 a1; do
	seen=$(inns $R $m curl -s -m 2 http://198.19.128.112/ | awk '{print $2}')
	[ "${seen%:*}" = "${POD_IP[$m]}" ] || fail "$m (${POD_IP[$m]}) → a2: the pod saw $seen"
done
