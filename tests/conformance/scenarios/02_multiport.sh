#!/usr/bin/env bash
# scenario: 2. should serve multiport endpoints from pods
# Two service ports whose targets are matched to the slices' ports by name
# (listed in the other order there): port 80 → a1:8080, port 81 → b1:8081.
. "$(dirname "$0")/../lib.sh"
apply multi <<'Y'
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: cf}
spec:
  clusterIP: 198.19.128.102
  ports: [{name: one, port: 80, targetPort: 8080}, {name: two, port: 81, targetPort: 8081}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: multi-1, namespace: cf, labels: {kubernetes.io/service-name: multi}}
addressType: IPv4
ports: [{name: two, port: 8081}, {name: one, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: multi-2, namespace: cf, labels: {kubernetes.io/service-name: multi}}
addressType: IPv4
ports: [{name: two, port: 8081}]
endpoints:
- {addresses: [198.18.2.10], nodeName: node2}
Y
programmed '"cf/multi","portName":"two"'
from_cl expect_pods cl 10 http://198.19.128.102:80/ "a1"
from_cl expect_pods cl 20 http://198.19.128.102:81/ "a1 b1"
expect_pods a2 10 http://198.19.128.102:80/ "a1"
expect_pods a2 20 http://198.19.128.102:81/ "a1 b1"
