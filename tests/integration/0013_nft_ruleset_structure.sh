#!/usr/bin/env bash
# nftables mode: `nft -j list ruleset` parses our tables and their structure
# matches the model (chains do not grow with services: no per-endpoint chains,
# one dnat chain per endpoint count); svcplanectl dump equals the model the
# agent was given (svcplanectl diff: no drift); an endpoint change is a batch
# of element operations only; drift (a deleted table, an edited chain) is
# repaired by the periodic full sync.
. "$(dirname "$0")/lib.sh"
need_netns
R=t13
rig2_up $R
work=$(t_tmpdir)
dir=$work/m
mkdir "$dir"
gen() { # services: svc-$i with $eps endpoints each, plus one with affinity
	local n=$1 eps=$2 i j
	for i in $(seq "$n"); do
		cat <<Y
---
apiVersion: v1
kind: Service
metadata: {name: svc-$i, namespace: t}
spec:
  type: NodePort
  clusterIP: 198.19.129.$i
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: $((30100 + i))}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-$i-1, namespace: t, labels: {kubernetes.io/service-name: svc-$i}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
Y
		for j in $(seq "$eps"); do
			echo "- {addresses: [198.18.$(( (j % 2) + 1 )).$((10 + (j - 1) / 2 % 3))], nodeName: node$(( (j % 2) + 1 ))}"
		done | sort -u
	done
}
gen 30 3 | put "$dir/many.yaml"
cat >"$dir/sticky.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: t}
spec:
  clusterIP: 198.19.128.50
  sessionAffinity: ClientIP
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sticky-1, namespace: t, labels: {kubernetes.io/service-name: sticky}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [198.18.1.10], nodeName: node1}
- {addresses: [198.18.2.10], nodeName: node2}
Y
agents_up $R "$dir" --sync-period 3s

# nft -j parses, and the structure matches the model.
inns $R node1 nft -j list ruleset >"$work/rs.json" || fail "nft -j list ruleset failed"
python3 - "$work/rs.json" <<'P' || fail "ruleset structure"
import base64, hashlib, json, sys
rs = json.load(open(sys.argv[1]))["nftables"]
chains = [o["chain"]["name"] for o in rs if "chain" in o and o["chain"]["table"] == "svcplane"
          and o["chain"]["family"] == "ip"]
assert not [c for c in chains if c.startswith("endpoint-")], "per-endpoint chains"
svc_chains = [c for c in chains if "/" in c]
# kube-proxy's naming: "affinity-" + base32(sha256(base))[:8] + "-" + base
base = "t/sticky/tcp/http"
h = base64.b32encode(hashlib.sha256(base.encode()).digest()).decode()[:8]
assert svc_chains == ["affinity-%s-%s" % (h, base)], (svc_chains, h)
assert "dnat-n3" in chains and "nodeport-dnat-n3" in chains, chains
elems = {}
for o in rs:
    if "map" in o and o["map"]["table"] == "svcplane" and o["map"]["family"] == "ip":
        elems[o["map"]["name"]] = o["map"].get("elem", [])
svc_ips = elems["service-ips"]
assert len(svc_ips) == 31, len(svc_ips)                  # 30 + sticky
assert len(elems["backends"]) == 30 * 3, len(elems["backends"])
assert len(elems["service-nodeports"]) == 30
P
# The chain count does not grow with services: 30 more add no chain.
chains() { # the number of chains in node1's ip family (fails if nft does)
	local out
	out=$(inns $R node1 nft list chains ip) || return 1
	grep -c chain <<<"$out"
}
before=$(chains) && [ "$before" -gt 0 ] || fail "no chains to count: '$before'"
gen 60 3 | put "$dir/many.yaml"
wait_until 5 model_has $R 1 '"service":"t/svc-60"' || fail "60 services not in the model"
after=$(chains) && [ "$after" -gt 0 ] || fail "no chains to count: '$after'"
[ "$before" = "$after" ] || fail "chains grew with services: $before → $after"

# dump equals the model the agent was given.
for n in 1 2; do
	inns $R node$n "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node$n >"$work/diff$n" ||
		fail "node$n drift: $(cat "$work/diff$n")"
done
inns $R node1 "$SVCPLANECTL" dump --json | python3 -c '
import json,sys; m=json.load(sys.stdin)["servicePorts"]
p=[x for x in m if x["service"]=="t/svc-7"][0]
assert p["nodePort"]==30107 and len(p["endpoints"])==3, p' || fail "dump --json"

# An endpoint change: element operations only.
sed -i '0,/- {addresses: \[198.18.2.10\], nodeName: node2}/{//d}' "$dir/many.yaml"
wait_until 5 sh -c "grep 'partial sync' '$AGENT_LOG_DIR/agent1.log' | tail -1 | grep -q '([1-9][0-9]* elements)'" ||
	fail "no partial sync after the endpoint change"
line=$(grep 'partial sync' "$AGENT_LOG_DIR/agent1.log" | tail -1)
[[ "$line" == *" 0 chain, 0 rule, 0 set, 0 table message(s)"* ]] || fail "endpoint change was not element-only: $line"

# Drift repair: a deleted table and a hand-edited chain come back within a
# sync-period (3 s here).
inns $R node2 nft delete table ip svcplane
inns $R node1 nft flush chain ip svcplane services
wait_until 8 sh -c "$SVCPLANECTL rig exec $R node2 -- nft list table ip svcplane >/dev/null 2>&1" || fail "deleted table not repaired"
wait_until 8 sh -c "$SVCPLANECTL rig exec $R node1 -- nft list chain ip svcplane services | grep -q service-ips" ||
	fail "flushed chain not repaired"
out=$(inns $R cl curl -s -m 2 http://198.19.0.2:30107/)
[ -n "$out" ] || fail "no answer after repair"
exit 0
