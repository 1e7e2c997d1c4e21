#!/usr/bin/env bash
# The API source against a hostile API server, on loopback (plain http, no
# rig): --master with a user and password never logs them (the bearer token
# over http:// gets its one warning); for 10 s every watch gets 410 at once,
# then for 10 s every watch ends at once with no event: the agent backs off
# (it relisted and rewatched hundreds of times), says so in a few
# rate-limited lines and counts the restarts in a metric. Runs the ASan+UBSan
# build of the agent when built.
. "$(dirname "$0")/lib.sh"

agent_bin=$(agent_bin)
dir=$(t_tmpdir)
log=$dir/agent.log
lo_fakeapi_up
apictl() { lo_apictl "$1"; }
requests() { # PYTHON-FILTER over r (one request): how many
	curl -sf "http://127.0.0.1:$ctl/control/stats" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for r in d["requests"] if eval(sys.argv[1])))' "$1"
}
svc_lists="r['path'].startswith('/api/v1/services?') and 'watch=true' not in r['path']"
svc_watches="r['path'].startswith('/api/v1/services?') and 'watch=true' in r['path']"
restarts() { curl -sf "http://127.0.0.1:$mp/metrics" | awk '$1=="svcplane_source_watch_restarts_total"{print $2}'; }

printf 'tok3n' >"$dir/token"
cat >"$dir/kc" <<Y
apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {tokenFile: $dir/token}}]
Y
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$agent_bin" --mode dry-run --kubeconfig "$dir/kc" \
	--master "http://admin:password@127.0.0.1:$api" --hostname-override node1 --v 4 \
	--healthz-bind-address "127.0.0.1:$hz" --metrics-bind-address "127.0.0.1:$mp" >/dev/null 2>"$log" &
agent=$!
T_PIDS+=($agent)
wait_until 15 curl -sf "http://127.0.0.1:$hz/healthz" || fail "agent never healthy: $(tail -5 "$log")"
file_lacks "$log" "password" || fail "the password is in the log: $(grep password "$log" | head -3)"
grep -q 'http://\*\*\*@127.0.0.1' "$log" || fail "the server is not named (redacted): $(head -5 "$log")"
[ "$(grep -c 'sent over plain http://' "$log")" = 1 ] || fail "no single plain-http token warning"

# 410 on every watch for 10 s
l0=$(requests "$svc_lists")
apictl '{"op":"gone","seconds":10}'
sleep 10
l1=$(requests "$svc_lists")
note "410 for 10 s: $((l1 - l0)) services lists"
[ $((l1 - l0)) -le 15 ] || fail "$((l1 - l0)) services lists in 10 s of 410s (no backoff)"
[ $((l1 - l0)) -ge 1 ] || fail "no relist after 410"
n=$(grep -c 'resource version expired (410)' "$log")
[ "$n" -ge 1 ] && [ "$n" -le 6 ] || fail "$n lines about 410 restarts (want a few, rate-limited)"

# every watch ends at once, no event, for 10 s
sleep 1
w0=$(requests "$svc_watches")
apictl '{"op":"empty","seconds":10}'
sleep 10
w1=$(requests "$svc_watches")
note "empty watches for 10 s: $((w1 - w0)) services watches"
[ $((w1 - w0)) -le 15 ] || fail "$((w1 - w0)) services watches in 10 s of empty watches (no backoff)"
grep -q 'the watch ended without an event' "$log" || fail "the empty-watch loop is not in the log"
[ "$(restarts)" -ge 2 ] 2>/dev/null || fail "svcplane_source_watch_restarts_total: $(restarts)"
file_lacks "$log" "password" "tok3n" || fail "a secret is in the log"

stop_agent_clean $agent "$log"
exit 0
