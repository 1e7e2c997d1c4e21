#!/usr/bin/env bash
# The agent in dry-run on loopback: healthz, livez and metrics answer as
# kube-proxy's do; manifest files added, edited, renamed and deleted reach the
# model (GET /model) within 10 × min-sync-period; a broken file gives one error
# line and loses nothing valid; SIGHUP forces a full sync; SIGTERM stops it.
. "$(dirname "$0")/lib.sh"

dir=$(t_tmpdir)
mf=$dir/manifests
mkdir "$mf"
hz=$(free_port)
mp=$(free_port)
log=$dir/agent.log

svc() { # name port
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: demo}
spec:
  clusterIP: 198.19.128.$2
  ports: [{name: http, port: $2, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $1-1
  namespace: demo
  labels: {kubernetes.io/service-name: $1}
addressType: IPv4
endpoints:
- addresses: [198.18.1.$2]
  nodeName: node1
ports: [{name: http, port: 8080}]
Y
}

svc alpha 10 > "$mf/alpha.yaml"
"$SVCPLANE" --mode dry-run --manifests "$mf" --hostname-override node1 \
	--min-sync-period 200ms --sync-period 30s \
	--healthz-bind-address "127.0.0.1:$hz" --metrics-bind-address "127.0.0.1:$mp" \
	>"$dir/out.jsonl" 2>"$log" &
T_PIDS+=($!)
agent=$!

model() { curl -sf "http://127.0.0.1:$mp/model"; }
has() { model | grep -q "$1"; }
lacks() { out_lacks "$1" model; }	# fails too when /model does not answer
deadline=2   # 10 × min-sync-period

wait_until 5 curl -sf "http://127.0.0.1:$hz/healthz" || fail "healthz never became healthy: $(cat "$log")"

# healthz / livez as kube-proxy answers them
body=$(curl -s -D "$dir/h" "http://127.0.0.1:$hz/healthz")
grep -q "^HTTP/1.1 200" "$dir/h" || fail "healthz status: $(head -1 "$dir/h")"
grep -qi "^Content-Type: application/json" "$dir/h" || fail "healthz content type"
python3 - "$body" <<'P' || fail "healthz body: $body"
import json, sys
b = json.loads(sys.argv[1])
assert set(["lastUpdated", "currentTime", "nodeEligible", "healthy", "status"]) <= set(b), b
assert b["healthy"] is True and b["nodeEligible"] is True
assert b["status"]["IPv4"]["healthy"] is True
P
curl -s "http://127.0.0.1:$hz/livez" | python3 -c 'import json,sys; b=json.load(sys.stdin); assert "nodeEligible" not in b and b["healthy"]' \
	|| fail "livez body"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hz/nope")" = 404 ] || fail "unknown path not 404"

# metrics: Prometheus text with kube-proxy's names
m=$(curl -s "http://127.0.0.1:$mp/metrics")
for name in kubeproxy_sync_proxy_rules_duration_seconds_bucket \
	kubeproxy_sync_full_proxy_rules_duration_seconds_count \
	kubeproxy_sync_proxy_rules_last_timestamp_seconds \
	kubeproxy_network_programming_duration_seconds_bucket \
	kubeproxy_sync_proxy_rules_endpoint_changes_total \
	kubeproxy_sync_proxy_rules_service_changes_total \
	process_resident_memory_bytes process_cpu_seconds_total; do
	grep -qF "$name" <<<"$m" || fail "metrics lack $name"
done
grep -qE '^kubeproxy_proxy_healthz_total\{code="200"\} [1-9]' <<<"$m" || fail "healthz calls not counted"
ts=$(awk '/^kubeproxy_sync_proxy_rules_last_timestamp_seconds /{print int($2)}' <<<"$m")
[ "$ts" -gt $(( $(date +%s) - 60 )) ] || fail "last sync timestamp $ts is not recent"
[ "$(curl -s "http://127.0.0.1:$mp/proxyMode")" = dry-run ] || fail "proxyMode"

has '"service":"demo/alpha"' || fail "initial model lacks demo/alpha"

# add
svc beta 11 > "$mf/beta.yaml"
wait_until $deadline has '"service":"demo/beta"' || fail "added file not in the model"
# edit (in place): beta moves to port 12
sed -i 's/port: 11, targetPort/port: 12, targetPort/' "$mf/beta.yaml"
wait_until $deadline has '"port":12,' || fail "edited file not in the model"
# edit by an editor's save (temp file renamed over)
svc beta 13 > "$mf/.beta.yaml.swp"
mv "$mf/.beta.yaml.swp" "$mf/beta.yaml"
wait_until $deadline has '"port":13,' || fail "renamed-over file not in the model"
# rename keeps objects
mv "$mf/beta.yaml" "$mf/gamma.yml"
sleep 0.5
has '"service":"demo/beta"' || fail "renamed file lost its objects"
# broken edit: one error line, last good version stays, alpha untouched
errs_before=$(grep -c ' error ' "$log" || true)
sed -i 's/port: 13, targetPort/port: 99999, targetPort/' "$mf/gamma.yml"
wait_until $deadline grep -q 'gamma.yml: Service demo/beta: spec.ports\[0\].port' "$log" || fail "no error line for the broken edit: $(cat "$log")"
errs_after=$(grep -c ' error ' "$log")
[ $((errs_after - errs_before)) -eq 1 ] || fail "expected one error line, got $((errs_after - errs_before))"
has '"port":13,' || fail "last good version of demo/beta lost"
has '"service":"demo/alpha"' || fail "valid neighbour lost"
# delete
rm "$mf/gamma.yml"
wait_until $deadline lacks '"service":"demo/beta"' || fail "deleted file still in the model"

# dry-run prints what it would program after each sync
tail -1 "$dir/out.jsonl" | python3 -c 'import json,sys; l=json.load(sys.stdin); assert "model" in l and "servicePorts" in l["model"]' \
	|| fail "dry-run output is not the model"

# SIGHUP: a full sync
fulls() { grep -c 'sync: full' "$log"; }
before=$(fulls)
kill -HUP "$agent"
more_fulls() { [ "$(fulls)" -gt "$before" ]; }
wait_until $deadline more_fulls || fail "SIGHUP did not force a full sync"

# SIGTERM: clean stop
kill -TERM "$agent"
wait "$agent"; rc=$?
T_PIDS=()
[ "$rc" -eq 0 ] || fail "exit status after SIGTERM: $rc"
grep -q 'stopping; rules stay in place' "$log" || fail "no stop line"
exit 0
