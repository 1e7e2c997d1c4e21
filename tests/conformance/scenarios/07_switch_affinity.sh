#!/usr/bin/env bash
# scenario: 7. should be able to switch session affinity for service with type clusterIP
# Each state is checked from outside (cl) and from a pod on each node.
. "$(dirname "$0")/../lib.sh"
U=http://198.19.128.107/
none() { { svc sw 198.19.128.107; slice sw a1 a2 b1 b2; } | apply sw; }
clientip() { { svc sw 198.19.128.107 '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice sw a1 a2 b1 b2; } | apply sw; }
# spread MEMBER: 40 requests reach more than one pod.
spread() { [ "$(wc -w <<<"$(pods_seen $1 40 $U)")" -gt 1 ] || fail "$1, $2: one pod took 40 requests"; }
# one MEMBER: 30 requests reach one pod.
one() { local got; got=$(pods_seen $1 30 $U); [ "$(wc -w <<<"$got")" = 1 ] || fail "$1, $2: reached [$got]"; }
none
programmed '"cf/sw"'
from_cl spread cl "without affinity"
for m in a3 b3; do spread $m "without affinity"; done
clientip
programmed '"clientIP":true'
from_cl one cl "after switching to ClientIP"
for m in a3 b3; do one $m "after switching to ClientIP"; done
none
programmed '"clientIP":false'
from_cl spread cl "after switching back to None"
for m in a3 b3; do spread $m "after switching back to None"; done
