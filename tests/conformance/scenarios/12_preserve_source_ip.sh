#!/usr/bin/env bash
# scenario: 12. should preserve source pod IP for traffic thru service cluster IP
# A pod on either node reaches an endpoint on node1 with its own address.
. "$(dirname "$0")/../lib.sh"
{ svc src 198.19.128.112; slice src a2; } | apply src
programmed '"cf/src"'
for m in b1 a1; do
	seen=$(inns $R $m curl -s -m 2 http://198.19.128.112/ | awk '{print $2}')
	[ "${seen%:*}" = "${POD_IP[$m]}" ] || fail "$m (${POD_IP[$m]}) → a2: the pod saw $seen"
done
