#!/usr/bin/env bash
# scenario: 16. should implement service.kubernetes.io/service-proxy-name
# A service another proxy owns is not programmed; removing the label makes it ours.
. "$(dirname "$0")/../lib.sh"
labelled() {
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: other\n  namespace: cf\n%s\nspec:\n  clusterIP: 198.19.128.116\n  ports: [{name: http, port: 80, targetPort: 8080}]\n' "$1"
	slice other a1
}
{ svc mine 198.19.128.216; slice mine b1; labelled '  labels: {service.kubernetes.io/service-proxy-name: someone-else}'; } | apply other
programmed '"cf/mine"'
model_lacks $R 1 '"cf/other"' || fail "node1 programs a service of another proxy (or its /model did not answer)"
model_lacks $R 2 '"cf/other"' || fail "node2 programs a service of another proxy (or its /model did not answer)"
from_cl no_answer cl http://198.19.128.116/ || fail "the other proxy's service answers through svcplane (cl)"
no_answer a3 http://198.19.128.116/ || fail "the other proxy's service answers through svcplane (a3)"
# ours (b1) answers meanwhile, so the silence above is not everything broken
expect_pods a3 5 http://198.19.128.216/ "b1"
{ svc mine 198.19.128.216; slice mine b1; labelled '  labels: {}'; } | apply other
programmed '"cf/other"'
from_cl expect_pods cl 5 http://198.19.128.116/ "a1"
expect_pods a3 5 http://198.19.128.116/ "a1"
expect_pods b3 5 http://198.19.128.116/ "a1"
