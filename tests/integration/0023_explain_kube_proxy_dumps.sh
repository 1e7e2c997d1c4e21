#!/usr/bin/env bash
# svcplanectl explain on dumps in kube-proxy's own formats (iptables-save, and
# nftables mode as nft text and nft -j JSON, ip and ip6 tables): for each packet
# of a fixed list the answer (match, verdict, candidates with shares,
# masquerade) is the reviewed one in tests/fixtures/dumps/explain.golden:
# ClusterIP from a pod and from outside, external IP, NodePort, ClientIP
# affinity, Local policy with and without a local endpoint, no endpoints,
# UDP, IPv6, and an address no service has.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/dumps
queries=(
	"10.244.0.5 10.96.12.34:80/tcp" "203.0.113.7 10.96.12.34:80/tcp" "203.0.113.7 192.0.2.50:80/tcp"
	"10.244.0.5 10.96.5.5:80/tcp" "203.0.113.7 10.96.12.50:80/tcp" "203.0.113.7 198.51.100.1:30080/tcp"
	"203.0.113.7 198.51.100.1:30082/tcp" "10.244.0.5 10.96.0.10:53/udp" "203.0.113.7 192.0.2.10:443/tcp"
	"203.0.113.7 198.51.100.1:30081/tcp" "203.0.113.7 10.1.1.1:80/tcp"
)
answers() { # DUMP: every query's answer, one line each
	local q
	for q in "${queries[@]}"; do
		set -- $q
		printf '%s → %s: ' "$1" "$2"
		"$SVCPLANECTL" explain --from "$1" --to "$2" --dump "$FX/$DUMP" | tail -n +3 | tr '\n' '|'
		echo
	done
}
out=$(t_tmpdir)/answers
for DUMP in kube-proxy-iptables.save kube-proxy-nft.json kube-proxy-nft.txt kube-proxy-nft-dual.txt; do
	echo "== $DUMP"
	answers
done >"$out"
# IPv6 from the ip6 table of the dual-stack dump.
queries=("fd00:244::5 [fd00:96::12:34]:80/tcp" "2001:db8::7 [2001:db8::50]:80/tcp" "fd00:244::5 [fd00:96::5:5]:80/tcp")
DUMP=kube-proxy-nft-dual.json
echo "== $DUMP (IPv6)" >>"$out"
answers >>"$out"
# (UPDATE_GOLDEN=1 rewrites the golden file: review its diff before committing.)
[ "${UPDATE_GOLDEN:-}" = 1 ] && cp "$out" "$FX/explain.golden"
diff -u "$FX/explain.golden" "$out" >"$out.diff" || fail "explain answers differ from explain.golden: $(head -20 "$out.diff")"
# The nft text and JSON forms answer alike.
diff <(sed -n '/== kube-proxy-nft.json/,/== kube-proxy-nft.txt/p' "$out" | sed '1d;$d') \
	<(sed -n '/== kube-proxy-nft.txt/,/== kube-proxy-nft-dual.txt/p' "$out" | sed '1d;$d') >/dev/null ||
	fail "the text and JSON forms of one dump answer differently"
exit 0
