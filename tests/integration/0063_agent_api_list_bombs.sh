#!/usr/bin/env bash
# Bombs in API list pages, on loopback (plain http, no rig): the services list
# answers in turn with a gzip bomb (1.3 MB sent, 1.28 GB of white space among
# valid items), a gzip bomb of one 1.28 GB item, an item of 7.3 million tiny
# values in 14 MiB ([0,0,...]: 600 MB once parsed; refused by its count of
# values before it is parsed), a page gzip-encoded twice (stacked encodings:
# refused before the body), and a plain 210 MB page (200 Services of 1 MiB
# each, metadata last); then a watch event of tiny values alike. The pages
# are read as they arrive, one item held at a time: the bombs are refused
# with one line naming the limit and change nothing, the plain page is
# applied whole; the agent's peak RSS (VmHWM) stays within 100 MiB of what it
# was before (it was ~1 GiB when a page was buffered whole, ~600 MB when a
# 14 MiB item of tiny values was parsed), /healthz answers, and objects of
# other lists and later changes are still applied. The agent's one thread is
# never held long: the slowest /livez answer while a page arrives is under
# SLOWEST (it was 1.2 s, 3 s under ASan, while curl inflated a whole bomb in
# one call). Runs the ASan+UBSan build of the agent when built (ASan's
# quarantine of freed memory, 256 MiB by default, is held to 16 MiB: the
# bound is on what the agent holds, not on what ASan keeps).
. "$(dirname "$0")/lib.sh"

BOUND_KIB=$((100 * 1024))
SLOWEST=0.5	# seconds, the slowest /livez answer while a bomb arrives
agent_bin=$(agent_bin)
dir=$(t_tmpdir)
log=$dir/agent.log

svc() { # NAME CLUSTER-IP
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"default"},"spec":{"clusterIP":"%s","ports":[{"name":"http","port":80,"targetPort":8080}]}}' "$1" "$2"
}
slice() { # SERVICE ENDPOINT-IP
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s-1","namespace":"default","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[{"addresses":["%s"],"conditions":{"ready":true}}]}' "$1" "$1" "$2"
}
cat >"$dir/state.json" <<J
{"services": [$(svc web 10.96.0.10)],
 "endpointslices": [$(slice web 10.244.1.5)],
 "nodes": [{"apiVersion":"v1","kind":"Node","metadata":{"name":"node1"},"status":{"addresses":[{"type":"InternalIP","address":"192.0.2.1"}]}}]}
J
lo_fakeapi_up --state "$dir/state.json"
apictl() { lo_apictl "$1"; }
model() { curl -sf "http://127.0.0.1:$mp/model"; }
model_has() { model | grep -qF -- "\"service\": \"$1\"" || model | grep -qF -- "\"service\":\"$1\""; }
kib() { awk -v k="$1:" '$1==k{print $2}' "/proc/$agent/status"; }

cat >"$dir/kc" <<Y
apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:$api"}}]
users: [{name: u, user: {}}]
Y
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=16 "$agent_bin" --mode dry-run \
	--kubeconfig "$dir/kc" --hostname-override node1 \
	--healthz-bind-address "127.0.0.1:$hz" --metrics-bind-address "127.0.0.1:$mp" >/dev/null 2>"$log" &
agent=$!
T_PIDS+=($agent)
wait_until 20 curl -sf "http://127.0.0.1:$hz/healthz" || fail "agent never healthy: $(tail -5 "$log")"
wait_until 10 model_has default/web || fail "default/web not in the model: $(model | head -c 300)"
sleep 1
base=$(kib VmRSS)
note "before: VmRSS $base KiB, VmHWM $(kib VmHWM) KiB"

# bomb WHAT LINE: the next services list gets bomb WHAT (every list starts
# again: a 410 on every watch); wait for LINE in the log, or for the page to
# be applied when LINE is empty. Then the agent's peak must be within the
# bound, /healthz must have answered all along, and a new Service with its
# slice (the services and endpointslices lists and watches) must reach the
# model. WHAT "values-event": no list; the services watch gets an event of
# 7.3 million tiny values (fakeapi's op values) and goes on.
n=0
bomb() {
	local what=$1 line=$2 t0 hwm probe slowest
	n=$((n + 1))
	[ "$what" = values-event ] ||
		apictl "{\"op\":\"bomb\",\"kind\":\"services\",\"what\":\"$what\"}"
	rm -f "$dir/stop-probe"
	python3 "$TOP/tests/integration/probe_slowest.py" "$hz" --path /livez \
		--stop-file "$dir/stop-probe" >"$dir/probe-$what.json" &
	probe=$!
	T_PIDS+=($probe)
	t0=$(date +%s)
	if [ "$what" = values-event ]; then
		apictl '{"op":"values","kind":"services"}'
	else
		apictl '{"op":"expire"}'
	fi
	if [ -n "$line" ]; then
		wait_until 120 grep -qF -- "$line" "$log" || fail "$what: no line '$line': $(tail -5 "$log")"
		[ "$(grep -cF -- "$line" "$log")" = 1 ] || fail "$what: not one line '$line': $(grep -F -- "$line" "$log")"
	else
		wait_until 120 model_has hostile/big-199 || fail "$what: the page was not applied: $(tail -5 "$log")"
	fi
	touch "$dir/stop-probe"
	wait $probe || fail "$what: the /livez probe failed"
	T_PIDS=("${T_PIDS[@]:0:${#T_PIDS[@]}-1}")	# (it has ended: never signal its PID)
	slowest=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["slowest"] if r["probes"] and r["ok"] == r["probes"] else "none: %s" % r)' "$dir/probe-$what.json")
	note "$what: slowest /livez answer $slowest s ($(cat "$dir/probe-$what.json"))"
	awk -v s="$slowest" -v b=$SLOWEST 'BEGIN { exit !(s + 0 == s && s < b) }' ||
		fail "$what: the slowest /livez answer while the page arrived: $slowest s (bound $SLOWEST s)"
	curl -sf -m 2 "http://127.0.0.1:$hz/healthz" >/dev/null || fail "$what: /healthz does not answer"
	model_has default/web || fail "$what: default/web left the model"
	apictl "{\"op\":\"apply\",\"kind\":\"endpointslices\",\"object\":$(slice after$n 10.244.2.$n)}"
	apictl "{\"op\":\"apply\",\"kind\":\"services\",\"object\":$(svc after$n 10.96.1.$n)}"
	wait_until 60 model_has default/after$n || fail "$what: a later Service never reached the model"
	wait_until 10 sh -c "curl -sf http://127.0.0.1:$mp/model | grep -q 10.244.2.$n" ||
		fail "$what: a later EndpointSlice never reached the model"
	hwm=$(kib VmHWM)
	note "$what: done in $(($(date +%s) - t0)) s; VmHWM $hwm KiB (+$((hwm - base))), VmRSS $(kib VmRSS) KiB"
	[ $((hwm - base)) -lt $BOUND_KIB ] ||
		fail "$what: peak RSS $hwm KiB, $((hwm - base)) KiB above the $base KiB before (bound $BOUND_KIB)"
}

bomb gzip "list services: a page larger than 1073741824 bytes: refused"
model_lacks_hostile() { out_lacks '"hostile/' model; }
model_lacks_hostile || fail "gzip: a hostile object reached the model"
bomb gzip-item "list services: an item larger than 16777216 bytes"
model_lacks_hostile || fail "gzip-item: its object reached the model"
bomb values "list services: an item of more than 1000000 JSON values (from byte "
model_lacks_hostile || fail "values: its object reached the model"
bomb gzip-gzip "list services: encoding gzip, gzip: refused (gzip or none)"
bomb gzip-cut "list services: gzip: cut short (no CRC and length at its end): refused"
model_lacks_hostile || fail "gzip-cut: its object reached the model"
bomb plain ""
[ "$(model | grep -o '"hostile/big-[0-9]*"' | sort -u | wc -l)" = 200 ] ||
	fail "plain: not the 200 Services of the page in the model"
[ "$(grep -c 'API source: list services' "$log")" = 5 ] ||
	fail "not one line a bomb: $(grep 'API source: list services' "$log")"
bomb values-event "watch services: an event of more than 1000000 JSON values: refused"
out_lacks '"hostile/values"' model || fail "values-event: its object reached the model"

stop_agent_clean $agent "$log"
exit 0
