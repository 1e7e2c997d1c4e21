#!/usr/bin/env bash
# scenario: 6. should have session affinity work for NodePort service
. "$(dirname "$0")/../lib.sh"
{ svc affnp 198.19.128.106 '  type: NodePort' '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30106}]'; slice affnp a1 a2 b1 b2; } | apply affnp
programmed '"nodePort":30106'
for node in 198.19.0.1 198.19.0.2; do
	got=$(pods_seen cl 30 http://$node:30106/)
	[ "$(wc -w <<<"$got")" = 1 ] || fail "cl via $node reached [$got] with ClientIP affinity"
done
