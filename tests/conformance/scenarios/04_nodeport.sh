#!/usr/bin/env bash
# scenario: 4. should be able to create a functioning NodePort service
# Reached on both nodes' addresses from outside, with endpoints on both nodes;
# from inside, a node's own NodePort (from a pod and from the node) and the
# ClusterIP.
. "$(dirname "$0")/../lib.sh"
{ svc np 198.19.128.104 '  type: NodePort' '  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30104}]'; slice np a1 b1; } | apply np
programmed '"nodePort":30104'
from_cl expect_pods cl 30 http://198.19.0.1:30104/ "a1 b1"
from_cl expect_pods cl 30 http://198.19.0.2:30104/ "a1 b1"
from_cl expect_pods cl 20 http://198.19.128.104/ "a1 b1"
expect_pods a2 30 http://198.19.0.1:30104/ "a1 b1"
expect_pods b2 30 http://198.19.0.2:30104/ "a1 b1"
expect_pods node1 30 http://198.19.0.1:30104/ "a1 b1"
expect_pods a2 20 http://198.19.128.104/ "a1 b1"
