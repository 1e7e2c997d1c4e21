#!/usr/bin/env bash
# scenario: 7. should be able to switch session affinity for service with type clusterIP
. "$(dirname "$0")/../lib.sh"
U=http://198.19.128.107/
none() { { svc sw 198.19.128.107; slice sw a1 a2 b1 b2; } | apply sw; }
clientip() { { svc sw 198.19.128.107 '  sessionAffinity: ClientIP' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice sw a1 a2 b1 b2; } | apply sw; }
none
programmed '"cf/sw"'
[ "$(wc -w <<<"$(pods_seen cl 40 $U)")" -gt 1 ] || fail "without affinity one pod took 40 requests"
clientip
programmed '"clientIP":true'
[ "$(wc -w <<<"$(pods_seen cl 30 $U)")" = 1 ] || fail "after switching to ClientIP: more than one pod"
none
programmed '"clientIP":false'
[ "$(wc -w <<<"$(pods_seen cl 40 $U)")" -gt 1 ] || fail "after switching back to None: one pod took 40 requests"
