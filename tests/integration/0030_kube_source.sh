#!/usr/bin/env bash
# The Kubernetes API source against the fake API server, over TLS with a
# bearer token, with the nftables backend in a rig node: a paginated initial
# list; watch adds, updates and deletes; bookmarks; 410 → relist with the
# rules unchanged; a stream cut mid-object; a malformed event; token rotation;
# 500s; a stalled stream; the server down for 30 s while the rules keep
# working. Watches ask for 8 s timeouts, so they also end and restart
# throughout.
. "$(dirname "$0")/lib.sh"
need_netns
R=t30
rig2_up $R
state=$(t_tmpdir)/state.json
python3 "$TOP/tests/fakeapi/state_from_manifests.py" "$TOP/examples/manifests" node1 >"$state"
fakeapi_up $R node1 "$state" --max-page 2
kc=$(t_tmpdir)/kubeconfig
kubeconfig "$kc"
kube_agent_start $R 1 "$kc" --api-watch-timeout 8s
log=$AGENT_LOG_DIR/agent1.log
wait_until 15 inns $R node1 curl -sf http://127.0.0.1:10256/healthz || fail "agent never healthy: $(tail -5 "$log")"
wait_until 10 model_has $R 1 '"demo/web"' || fail "the initial list never reached the model: $(tail -5 "$log")"

svc() { # NAME IP: a ClusterIP service and its slice, endpoints a1 and a2
	printf '{"op":"apply","kind":"services","object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"t"},"spec":{"clusterIP":"%s","ports":[{"name":"http","port":80,"targetPort":8080}]}}}' "$1" "$2"
}
slice() { # NAME ADDRESS...: the slice of service NAME
	local n=$1 eps="" a; shift
	for a in "$@"; do eps="$eps${eps:+,}{\"addresses\":[\"$a\"],\"nodeName\":\"node1\"}"; done
	printf '{"op":"apply","kind":"endpointslices","object":{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s-1","namespace":"t","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","ports":[{"name":"http","port":8080}],"endpoints":[%s]}}' "$n" "$n" "$eps"
}
answers() { hits $R cl "$2" "curl -s -m 2 http://$1/" | awk '{print $1}' | sort | tr '\n' ' '; }
svc_changes() { inns $R node1 curl -sf http://127.0.0.1:10249/metrics | awk '$1=="kubeproxy_sync_proxy_rules_service_changes_total"{print $2}'; }
watches_of() { apistats $R node1 "sum(1 for r in d['requests'] if r['path'].startswith('$1?') and 'watch=true' in r['path'])"; }
answers_are() { [ "$(answers "$1" "$2")" = "$3" ]; }
not_programmed() { # KEY: dump succeeds and has no line for KEY
	local out
	out=$(inns $R node1 "$SVCPLANECTL" dump) || return 1
	! grep -q "^$1 " <<<"$out"
}
last_services_watch() { apistats $R node1 "[r['path'] for r in d['requests'] if r['path'].startswith('/api/v1/services?') and 'watch=true' in r['path']][-1]"; }
watch_from() { last_services_watch | grep -q "resourceVersion=$1&"; }
at_least() { [ "$(apistats $R node1 "$1")" -ge "$2" ]; }
log_count_at_least() { [ "$(grep -c "$1" "$log")" -ge "$2" ]; }

# 1. The initial list came in three pages, and the rules answer.
pages=$(apistats $R node1 "sum(1 for r in d['requests'] if r['path'].startswith('/api/v1/services?') and 'watch' not in r['path'])")
conts=$(apistats $R node1 "sum(1 for r in d['requests'] if r['path'].startswith('/api/v1/services?') and 'continue=' in r['path'])")
[ "$pages" = 3 ] && [ "$conts" = 2 ] || fail "services list: $pages requests, $conts with continue (want 3 and 2)"
[ "$(answers 198.19.128.10 60)" = "a1 a2 b1 b2 " ] || fail "web through its ClusterIP: $(answers 198.19.128.10 60)"
# kube-proxy's selectors; and no sync before every initial list was in.
sel='labelSelector=%21service.kubernetes.io%2Fservice-proxy-name%2C%21service.kubernetes.io%2Fheadless'
# every_request PREFIX TEXT: requests for PREFIX were made, and each has TEXT.
every_request() {
	apistats $R node1 "(lambda ps: len(ps) > 0 and all('$2' in p for p in ps))([r['path'] for r in d['requests'] if r['path'].startswith('$1')])"
}
for prefix in /api/v1/services /apis/discovery.k8s.io/v1/endpointslices; do
	[ "$(every_request "$prefix" "$sel")" = True ] ||
		fail "no $prefix requests, or some without kube-proxy's label selector"
done
[ "$(every_request /api/v1/nodes 'fieldSelector=metadata.name%3Dnode1')" = True ] ||
	fail "no nodes requests, or some without fieldSelector=metadata.name=node1"
first_sync=$(grep -n 'sync: full' "$log" | head -1 | cut -d: -f1)
for k in services endpointslices nodes; do
	listed=$(grep -n "API source: $k listed" "$log" | head -1 | cut -d: -f1)
	[ -n "$listed" ] && [ "$listed" -lt "$first_sync" ] || fail "the first sync ran before $k were listed"
done

# 2. Watch: add, update, delete reach the model and the rules.
apictl $R node1 "$(svc w1 198.19.128.60)"
apictl $R node1 "$(slice w1 198.18.1.10)"
wait_until 10 model_has $R 1 '"198.18.1.10","port":8080' || fail "added service not in the model"
wait_until 10 answers_are 198.19.128.60 5 "a1 " || fail "added service answers: $(answers 198.19.128.60 5)"
apictl $R node1 "$(slice w1 198.18.1.11)"
wait_until 10 answers_are 198.19.128.60 5 "a2 " || fail "updated slice not programmed: $(answers 198.19.128.60 5)"
apictl $R node1 '{"op":"delete","kind":"services","key":"t/w1"}'
wait_until 10 not_programmed t/w1 || fail "deleted service still programmed"

# 3. A bookmark advances the resourceVersion a new watch starts from.
apictl $R node1 "$(slice other 198.18.1.12)"	# a version the services watch never sees
rv=$(apistats $R node1 "d['rv']")
apictl $R node1 '{"op":"bookmark","kind":"services"}'
sleep 0.5
apictl $R node1 '{"op":"cut","kind":"services"}'
wait_until 10 watch_from "$rv" ||
	fail "after a bookmark at $rv the services watch restarted from elsewhere"

# 4. 410 Gone: every resource is listed again; the rules do not change meanwhile.
ruleset_sum() { local out; out=$(inns $R node1 nft list table ip svcplane) && [ -n "$out" ] && sha256sum <<<"$out"; }
before=$(ruleset_sum) || fail "cannot read node1's svcplane table"
lists_before=$(apistats $R node1 "sum(1 for r in d['requests'] if 'watch' not in r['path'])")
apictl $R node1 '{"op":"expire"}'
wait_until 10 log_count_at_least 'too old (410 Gone): listing again' 3 || fail "no relist after 410"
wait_until 10 at_least "sum(1 for r in d['requests'] if 'watch' not in r['path'])" $((lists_before + 7)) ||
	fail "the relist did not complete"
sleep 1
after=$(ruleset_sum) || fail "cannot read node1's svcplane table after the relist"
[ "$after" = "$before" ] || fail "rules changed across a relist of unchanged objects"
[ "$(answers 198.19.128.10 60)" = "a1 a2 b1 b2 " ] || fail "web after the relist"

# 5. A stream cut inside an event: the watch resumes from the last version;
#    the event arrives once.
changes=$(svc_changes)
apictl $R node1 '{"op":"cut","kind":"services"}'
apictl $R node1 "$(svc cut1 198.19.128.61)"
wait_until 10 model_has $R 1 '"t/cut1"' || fail "the event cut in half never arrived"
sleep 1
[ "$(svc_changes)" = "$((changes + 1))" ] || fail "service changes went $changes → $(svc_changes) for one event"

# 6. A malformed event: one error line, and the same stream goes on.
w=$(grep -c 'watch services: .*watching again' "$log")
errs=$(grep -c 'watch services: an event that is not' "$log")
apictl $R node1 '{"op":"garbage","kind":"services"}'
apictl $R node1 "$(svc after-garbage 198.19.128.62)"
wait_until 10 model_has $R 1 '"t/after-garbage"' || fail "the stream stopped after a malformed event"
[ "$(grep -c 'watch services: an event that is not' "$log")" = $((errs + 1)) ] || fail "not one error line for one malformed event"
[ "$(grep -c 'watch services: .*watching again' "$log")" = "$w" ] || fail "a malformed event broke the watch"

# 7. The token file rotates: the requests after it carry the new token.
old=$(cat "$FAKEAPI_DIR/token")
printf 'token-rotated-%s' "$RANDOM" >"$FAKEAPI_DIR/token.new" && mv "$FAKEAPI_DIR/token.new" "$FAKEAPI_DIR/token"
new=$(cat "$FAKEAPI_DIR/token")
n=$(apistats $R node1 "len(d['requests'])")
apictl $R node1 '{"op":"cut"}'
wait_until 10 at_least "len(d['requests'])" $((n + 3)) ||
	fail "no new requests after the cut"
[ "$(apistats $R node1 "sorted(set(r['token'] for r in d['requests'][$n:]))")" = "['$new']" ] ||
	fail "requests after rotation: $(apistats $R node1 "[r['token'] for r in d['requests'][$n:]]")"
apictl $R node1 "$(svc rotated 198.19.128.63)"
wait_until 10 model_has $R 1 '"t/rotated"' || fail "no events after the token rotated"
file_lacks "$log" "$old" "$new" || fail "a token appears in the agent's log (or the log is unreadable)"

# 8. Requests fail with 500 for a while: logged, retried with backoff, no loss.
apictl $R node1 '{"op":"fail","count":4,"code":500}'
apictl $R node1 '{"op":"cut"}'
apictl $R node1 "$(svc after-500 198.19.128.65)"
wait_until 20 model_has $R 1 '"t/after-500"' || fail "no recovery after 500s: $(tail -3 "$log")"
grep -q 'API source: watch .*: HTTP 500: injected failure' "$log" || fail "the 500s were not logged"
# The watches restarted after their 8 s timeouts (the server ends them cleanly).
[ "$(watches_of /api/v1/nodes)" -ge 3 ] || fail "the nodes watch never restarted after its timeout"

# 9. A stream that stalls (nothing, not even bookmarks, for longer than the
#    watch timeout allows) is given up and opened again.
apictl $R node1 '{"op":"stall","seconds":25}'
apictl $R node1 "$(svc after-stall 198.19.128.66)"
wait_until 30 grep -q 'API source: watch services: Operation too slow\|API source: watch services: Timeout' "$log" ||
	fail "a stalled watch was not noticed: $(tail -3 "$log")"
wait_until 30 model_has $R 1 '"t/after-stall"' || fail "the event held during the stall never arrived"

# 10. The server is down for 30 s: the rules keep working; the agent reconnects
#    and catches up on what changed meanwhile.
apictl $R node1 '{"op":"down","seconds":30}'
sleep 2
apictl $R node1 "$(svc while-down 198.19.128.64)"
for i in 1 2 3; do
	[ "$(answers 198.19.128.10 8)" != "" ] || fail "web stopped answering while the API server was down"
	sleep 8
done
model_lacks $R 1 '"t/while-down"' || fail "an object arrived while the server was down (or /model did not answer)"
wait_until 45 model_has $R 1 '"t/while-down"' || fail "never reconnected after the server came back: $(tail -3 "$log")"
[ "$(answers 198.19.128.10 60)" = "a1 a2 b1 b2 " ] || fail "web after the reconnect"
exit 0
