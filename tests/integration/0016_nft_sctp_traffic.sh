#!/usr/bin/env bash
# nftables mode: SCTP traffic through a ClusterIP reaches an SCTP server in a
# pod. Skipped, with the reason, where the kernel has no SCTP sockets.
. "$(dirname "$0")/lib.sh"
need_netns
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' \
	2>/dev/null || skip "no SCTP sockets in this kernel (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails); SCTP rules are checked by 0015"
R=t16
rig2_up $R
dir=$(t_tmpdir)/m
mkdir "$dir"
cat >"$dir/sctp.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sig, namespace: t}
spec:
  clusterIP: 198.19.128.71
  ports: [{name: s, port: 3868, protocol: SCTP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sig-1, namespace: t, labels: {kubernetes.io/service-name: sig}}
addressType: IPv4
ports: [{name: s, port: 3868, protocol: SCTP}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
Y
inns $R a1 socat SCTP-LISTEN:3868,fork,reuseaddr EXEC:'echo a1' >/dev/null 2>&1 &
T_PIDS+=($!)
agents_up $R "$dir"
out=$(inns $R cl socat -T2 - SCTP:198.19.128.71:3868 </dev/null)
[ "$out" = a1 ] || fail "SCTP through the ClusterIP: '$out'"
exit 0
