#!/usr/bin/env bash
# The health server against a flood, on loopback: 1,000 idle, slowloris and
# 40 KB-request-line connections from many 127/8 addresses (one greedy address
# opening 100) are held against /healthz for 14 s while a well-formed probe
# from 127.0.0.1 must be answered every time (the bound here is generous; the
# figure is `make bench`'s); the log stays a few rate-limited lines; SIGTERM
# still stops the agent. Runs the ASan+UBSan build of the agent when built.
. "$(dirname "$0")/lib.sh"

agent_bin=$(agent_bin)
dir=$(t_tmpdir)
mkdir "$dir/m"
hz=$(free_port)
log=$dir/agent.log
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$agent_bin" --mode dry-run --manifests "$dir/m" \
	--hostname-override node1 --healthz-bind-address "127.0.0.1:$hz" \
	--metrics-bind-address 127.0.0.1:0 >/dev/null 2>"$log" &
agent=$!
T_PIDS+=($agent)
wait_until 10 curl -sf "http://127.0.0.1:$hz/healthz" || fail "healthz never answered: $(cat "$log")"

res=$(timeout 120 python3 "$TOP/tests/integration/hold_conns.py" "$hz" --conns 1000 --seconds 14) ||
	fail "hold_conns failed"
note "$res"
python3 - "$res" <<'P' || fail "healthz under 1,000 held connections: $res"
import json, sys
r = json.loads(sys.argv[1])
assert r["probes"] >= 10, r
assert r["ok"] == r["probes"], r            # every probe answered
assert r["slowest"] < 5, r                  # generous: the target (1 s) is bench's
assert r["held_at_end"] >= 500, r           # the flood really was held
P
lines=$(grep -c 'http 127.0.0.1' "$log")
[ "$lines" -le 30 ] || fail "$lines http log lines in 14 s (rate limit): $(grep 'http ' "$log" | head -5)"
grep -q 'more like it\|more refusals' "$log" || fail "the rate-limited lines carry no count: $(grep 'http ' "$log" | head -5)"
curl -sf "http://127.0.0.1:$hz/healthz" >/dev/null || fail "healthz after the flood"
stop_agent_clean $agent "$log"
exit 0
