#!/usr/bin/env bash
# scenario: 6. should have session affinity work for NodePort service
. "$(dirname "$0")/../lib.sh"
{ svc affnp 198.19.128.106 '  type: NodePort' '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30106}]'; slice affnp a1 a2 b1 b2; } | apply affnp
programmed '"nodePort":30106'
# one_pod MEMBER NODE-ADDRESS: 30 requests to the NodePort reach one pod.
one_pod() {
	local got
	got=$(pods_seen $1 30 http://$2:30106/)
	[ "$(wc -w <<<"$got")" = 1 ] || fail "$1 via $2 reached [$got] with ClientIP affinity"
}
for node in 198.19.0.1 198.19.0.2; do from_cl one_pod cl $node; done
one_pod a3 198.19.0.1	# pods to their own node's NodePort
one_pod b3 198.19.0.2
