#!/usr/bin/env bash
# scenario: 23. Conntrack: should be able to preserve UDP traffic when initial unready endpoints get ready
. "$(dirname "$0")/../lib.sh"
sl() { udp_slice ur 198.18.1.10 node1 "$1"; }
sv() { svc ur 198.19.128.123 '  ports: [{name: udp, port: 80, protocol: UDP, targetPort: 8080}]'; }
{ sv; sl false; } | apply ur
programmed '"cf/ur"'
out=$(t_tmpdir)/flow
udp_flow cl 198.19.128.123 80 6 >"$out" &
flow=$!
sleep 2
# The flow ran (several unanswered sends) and nothing answered.
[ "$(grep -c '^-$' "$out")" -ge 3 ] || fail "the flow did not run: $(head -3 "$out")"
grep -qv '^-$' "$out" && fail "answers while the only endpoint was not ready: $(grep -v '^-$' "$out" | head -2)"
{ sv; sl true; } | apply ur
wait $flow
grep -q '^a1' "$out" || fail "the flow never reached a1 once it was ready"
