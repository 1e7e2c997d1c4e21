#!/usr/bin/env bash
# nftables mode: one sync is one transaction for both families. When the
# kernel rejects the IPv6 part of a sync (here: someone deleted the ip6
# table, so the IPv6 element changes of an endpoint change fail), the IPv4
# part is not applied either: both families keep the rules from before until
# the retry (a full sync) puts both in place.
. "$(dirname "$0")/lib.sh"
rig2_test t18

# dual SVC EPS...: a dual-stack Service t/dual and one slice per family with
# endpoints a1.. on node1 (pod index i: 198.18.1.1i and fd00:10:0:1::1i).
dual() {
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: dual, namespace: t}\nspec:\n  clusterIP: 198.19.128.30\n  clusterIPs: [198.19.128.30, "fd00:96::30"]\n  ipFamilies: [IPv4, IPv6]\n  ports: [{name: http, port: 80, targetPort: 8080}]\n'
	for fam in 4 6; do
		printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: dual-%s, namespace: t, labels: {kubernetes.io/service-name: dual}}\naddressType: IPv%s\nports: [{name: http, port: 8080}]\nendpoints:\n' $fam $fam
		for i in "$@"; do
			if [ $fam = 4 ]; then a=198.18.1.1$i; else a="\"fd00:10:0:1::1$i\""; fi
			printf -- '- {addresses: [%s], nodeName: node1}\n' "$a"
		done
	done
}
dual 0 | put "$dir/dual.yaml"
# Retries wait min-sync-period (2 s): time to look at the rules in between.
agents_up $R "$dir" --min-sync-period 2s --sync-period 60s
log=$AGENT_LOG_DIR/agent1.log
N1="ip netns exec sp-$R-node1"
v4_backends() { $N1 nft list map ip svcplane backends | grep -c '198.19.128.30 . tcp . 80 . '; }
v6_backends() { $N1 nft list map ip6 svcplane backends | grep -c 'fd00:96::30 . tcp . 80 . '; }
wait_until 5 sh -c "[ \$($N1 nft list map ip6 svcplane backends | grep -c 'fd00:96::30 . tcp') = 1 ]" ||
	fail "IPv6 rules never in place: $(tail -5 "$log")"
[ "$(v4_backends)" = 1 ] || fail "IPv4 rules: $(v4_backends) endpoints, want 1"
fails=$(grep -c 'sync: nftables backend failed' "$log")

# The IPv6 part of the next sync will fail: its table is gone.
$N1 nft delete table ip6 svcplane
dual 0 1 | put "$dir/dual.yaml"
wait_until 5 sh -c "[ \$(grep -c 'sync: nftables backend failed' '$log') -gt $fails ]" ||
	fail "no failed sync after the IPv6 table went: $(tail -5 "$log")"
grep -q 'nftables: ip6 svcplane: .*No such file or directory' "$log" ||
	fail "the error line does not name the ip6 table: $(grep 'nftables: ip' "$log" | tail -3)"
# Before the retry: the IPv4 rules are those from before the failed sync.
n=$(v4_backends)
[ "$n" = 1 ] || fail "IPv4 changed by a sync whose IPv6 part failed: $n endpoints, want 1"
out=$(inns $R cl curl -s -m 2 http://198.19.128.30/)
[[ "$out" == a1* ]] || fail "IPv4 service after the failed sync: '$out'"

# The retry rebuilds both families in one transaction.
wait_until 10 sh -c "[ \$($N1 nft list map ip6 svcplane backends 2>/dev/null | grep -c 'fd00:96::30 . tcp') = 2 ]" ||
	fail "the retry did not rebuild IPv6: $(tail -5 "$log")"
[ "$(v4_backends)" = 2 ] || fail "IPv4 after the retry: $(v4_backends) endpoints, want 2"
[ "$(v6_backends)" = 2 ] || fail "IPv6 after the retry: $(v6_backends) endpoints, want 2"
exit 0
