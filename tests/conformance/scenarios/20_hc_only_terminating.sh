#!/usr/bin/env bash
# scenario: 20. should fail health check node port if there are only terminating endpoints
# The client outside (cl) asks the agents' health check node port itself, no
# service in between: that works in every mode (cl_direct).
. "$(dirname "$0")/../lib.sh"
lb() {
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: hc, namespace: cf}\nspec:\n  type: LoadBalancer\n  clusterIP: 198.19.128.120\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32120\n  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30120}]\nstatus: {loadBalancer: {ingress: [{ip: 198.19.201.120}]}}\n'
	slice hc "$@"
}
hc() { cl_direct inns $R cl curl -s -o /dev/null -w '%{http_code}' http://198.19.0.$1:32120/; }
hc_is() { [ "$(hc "$1")" = "$2" ]; }
lb a1 | apply hc
programmed '"healthCheckNodePort":32120'
wait_until 10 hc_is 1 200 || fail "node1 with a ready local endpoint: $(hc 1)"
[ "$(hc 2)" = 503 ] || fail "node2 without local endpoints: $(hc 2)"
lb a1:terminating | apply hc
wait_until 10 hc_is 1 503 || fail "node1 with only a terminating endpoint: $(hc 1)"
body=$(cl_direct inns $R cl curl -s http://198.19.0.1:32120/)
python3 -c 'import json,sys; b=json.loads(sys.argv[1]); assert b["localEndpoints"]==0 and b["service"]=={"namespace":"cf","name":"hc"}, b' "$body" ||
	fail "node1's health check body: $body"
