#!/usr/bin/env bash
# nftables mode: an SCTP service is programmed (ClusterIP and NodePort, IPv4
# and IPv6) and reads back as the model says (svcplanectl diff). Traffic is
# 0016's job (this kernel may have no SCTP sockets).
. "$(dirname "$0")/lib.sh"
rig2_test t15
cat >"$dir/sctp.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sig, namespace: t}
spec:
  type: NodePort
  clusterIP: 198.19.128.70
  clusterIPs: [198.19.128.70, "fd00:96::70"]
  ipFamilies: [IPv4, IPv6]
  ports: [{name: diameter, port: 3868, targetPort: 3868, protocol: SCTP, nodePort: 30070}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sig-4, namespace: t, labels: {kubernetes.io/service-name: sig}}
addressType: IPv4
ports: [{name: diameter, port: 3868, protocol: SCTP}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sig-6, namespace: t, labels: {kubernetes.io/service-name: sig}}
addressType: IPv6
ports: [{name: diameter, port: 3868, protocol: SCTP}]
endpoints:
- {addresses: ["fd00:10:0:1::10"], nodeName: node1}
Y
agents_up $R "$dir"
inns $R node1 nft list map ip svcplane service-ips | grep -q '198.19.128.70 . sctp . 3868' ||
	fail "SCTP ClusterIP not programmed"
inns $R node1 nft list map ip svcplane service-nodeports | grep -q 'sctp . 30070' ||
	fail "SCTP NodePort not programmed"
inns $R node1 nft list map ip6 svcplane service-ips | grep -q 'fd00:96::70 . sctp . 3868' ||
	fail "SCTP IPv6 ClusterIP not programmed"
for n in 1 2; do
	inns $R node$n "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node$n >/dev/null ||
		fail "node$n: SCTP service does not read back as the model says"
done
inns $R node1 "$SVCPLANECTL" dump | grep -q 'SCTP/IPv4' || fail "dump does not show the SCTP port"
exit 0
