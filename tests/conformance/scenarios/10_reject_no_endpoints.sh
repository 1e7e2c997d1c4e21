#!/usr/bin/env bash
# scenario: 10. should be rejected when no endpoints exist
# Refused at once (TCP reset / ICMP unreachable), not left to time out.
. "$(dirname "$0")/../lib.sh"
{ svc noep 198.19.128.110; slice noep; } | apply noep
programmed '"cf/noep"'
for m in cl a1 b1; do
	t0=$(date +%s%N)
	inns $R $m curl -s -m 5 http://198.19.128.110/ >/dev/null; rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $rc = 7 ] || fail "$m: curl exit $rc, want 7 (connection refused)"
	[ $ms -lt 2000 ] || fail "$m: refused only after $ms ms"
done
