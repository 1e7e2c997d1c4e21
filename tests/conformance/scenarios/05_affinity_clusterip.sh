#!/usr/bin/env bash
# scenario: 5. should have session affinity work for service with type clusterIP
. "$(dirname "$0")/../lib.sh"
{ svc aff 198.19.128.105 '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice aff a1 a2 b1 b2; } | apply aff
programmed '"cf/aff"'
one_pod() {
	local got
	got=$(pods_seen $1 30 http://198.19.128.105/)
	[ "$(wc -w <<<"$got")" = 1 ] || fail "$1 reached [$got] with ClientIP affinity"
}
from_cl one_pod cl
for m in a3 b3 node2; do one_pod $m; done
