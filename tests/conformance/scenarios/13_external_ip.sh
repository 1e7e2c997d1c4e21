#!/usr/bin/env bash
# scenario: 13. should be possible to connect to a service via ExternalIP when the external IP is not assigned to a node
. "$(dirname "$0")/../lib.sh"
{ svc ext 198.19.128.113 '  externalIPs: [198.19.200.113]' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice ext a1 b1; } | apply ext
programmed '"externalIPs":["198.19.200.113"]'
out_lacks 198.19.200.113 inns $R node1 ip -o addr || fail "the external IP is on node1 (it must not be), or ip addr failed"
from_cl expect_pods cl 30 http://198.19.200.113/ "a1 b1"
expect_pods a2 30 http://198.19.200.113/ "a1 b1"
expect_pods node2 30 http://198.19.200.113/ "a1 b1"
