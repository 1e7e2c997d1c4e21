#!/usr/bin/env bash
# scenario: 8. should have session affinity timeout work for service with type clusterIP
# timeoutSeconds 2: the pod holds while requests keep coming; after 3 s of
# silence the client may land anywhere (six endpoints: within six rounds a
# different one, else the affinity never expired). From outside (cl) and from
# a pod.
. "$(dirname "$0")/../lib.sh"
U=http://198.19.128.108/
{ svc afft 198.19.128.108 '  sessionAffinity: ClientIP' '  sessionAffinityConfig: {clientIP: {timeoutSeconds: 2}}' \
	'  ports: [{name: http, port: 80, targetPort: 8080}]'; slice afft a1 a2 a3 b1 b2 b3; } | apply afft
programmed '"timeoutSeconds":2'
# expires MEMBER: MEMBER keeps one pod within the timeout and, after silences
# longer than it, lands on another within six rounds.
expires() {
	local first now round
	first=$(pods_seen $1 20 $U)
	[ "$(wc -w <<<"$first")" = 1 ] || fail "$1 within the timeout: [$first]"
	for round in 1 2 3 4 5 6; do
		sleep 3
		now=$(pods_seen $1 5 $U)
		[ "$(wc -w <<<"$now")" = 1 ] || fail "$1, round $round: [$now] within one affinity period"
		[ "$now" != "$first" ] && return 0
	done
	fail "$1 stayed on $first through six expiries"
}
from_cl expires cl
expires b3
