#!/usr/bin/env bash
# svcplanectl inspect reads a kube-proxy nftables-mode dump in nft's text form
# exactly as it reads the same rules as `nft -j` JSON (ip and ip6 tables),
# without touching this machine's ruleset or leaving a network namespace
# behind, also when not root; a broken text dump is one line naming the file
# and the line.
. "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "nft is not installed"
[ "$(id -u)" = 0 ] || skip "the test compares this machine's ruleset before and after: needs root"
FX=$TOP/tests/fixtures/dumps
dir=$(t_tmpdir)

before=$(nft list ruleset | sha256sum)
netns_before=$(ip netns list | sort)

"$SVCPLANECTL" inspect "$FX/kube-proxy-nft.txt" >"$dir/text.out" 2>"$dir/text.err" ||
	fail "text dump refused: $(cat "$dir/text.err")"
"$SVCPLANECTL" inspect "$FX/kube-proxy-nft.json" >"$dir/json.out" || fail "JSON dump refused"
diff <(tail -n +2 "$dir/text.out") <(tail -n +2 "$dir/json.out") >"$dir/diff" ||
	fail "text and JSON readings differ: $(head -5 "$dir/diff")"
grep -q '^shop/web:http TCP/IPv4' "$dir/text.out" || fail "shop/web missing from the text reading"
grep -q '10.244.1.21:8080  50.0% ready' "$dir/text.out" || fail "shop/web endpoints missing"
grep -q 'affinity=ClientIP/10800s' "$dir/text.out" || fail "affinity timeout not read"
"$SVCPLANECTL" inspect --json "$FX/kube-proxy-nft.txt" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
	fail "--json output of a text dump is not JSON"

# kube-proxy's ip6 table beside its ip one (the chains are named alike in
# both): each family read on its own, text as JSON, and the IPv4 part as in
# the single-family dump.
"$SVCPLANECTL" inspect "$FX/kube-proxy-nft-dual.txt" >"$dir/dual-text.out" || fail "dual-stack text dump refused"
"$SVCPLANECTL" inspect "$FX/kube-proxy-nft-dual.json" >"$dir/dual.out" || fail "dual-stack JSON dump refused"
diff <(tail -n +2 "$dir/dual-text.out") <(tail -n +2 "$dir/dual.out") >"$dir/diff" ||
	fail "dual-stack text and JSON readings differ: $(head -5 "$dir/diff")"
"$SVCPLANECTL" inspect --json "$FX/kube-proxy-nft-dual.json" >"$dir/dual.json"
"$SVCPLANECTL" inspect --json "$FX/kube-proxy-nft.json" >"$dir/single.json"
python3 - "$dir/dual.json" "$dir/single.json" <<'P' || fail "dual-stack reading is wrong"
import json, sys
dual, single = (json.load(open(f)) for f in sys.argv[1:3])
def ports(d, fam):
    return {"%s:%s/%s" % (p["service"], p["portName"], p["protocol"]): p
            for p in d["model"]["servicePorts"] if p["family"] == fam}
assert ports(dual, "IPv4") == ports(single, "IPv4"), "IPv4 part differs from the ip-only dump"
six = ports(dual, "IPv6")
web = six["shop/web:http/TCP"]
assert web["clusterIPs"] == ["fd00:96::12:34"], web
assert sorted(e["ip"] for e in web["endpoints"]) == ["fd00:244::1:21", "fd00:244::20"], web
assert all(":" in e["ip"] for p in six.values() for e in p.get("endpoints", [])), "an IPv4 endpoint in an IPv6 port"
P

# Piped in, too.
"$SVCPLANECTL" inspect - <"$FX/kube-proxy-nft.txt" | grep -q '^shop/sticky:http' || fail "stdin text dump not read"

# Not root: reading a dump needs no privilege (no nft, no namespace).
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if ! command -v setpriv >/dev/null; then
	note "no setpriv; non-root text inspect not checked"
elif ! nobody test -x "$SVCPLANECTL"; then
	note "user nobody cannot run $SVCPLANECTL (checkout under a private directory); non-root text inspect not checked"
else
	nobody "$SVCPLANECTL" inspect - <"$FX/kube-proxy-nft.txt" >"$dir/nobody.out" 2>"$dir/nobody.err" ||
		fail "unprivileged text inspect: $(cat "$dir/nobody.err")"
	diff -q "$dir/nobody.out" "$dir/text.out" >/dev/null || fail "unprivileged reading differs"
	nobody "$SVCPLANECTL" inspect - <"$FX/svcplane-nft.txt" >/dev/null 2>"$dir/nobody.err" ||
		fail "unprivileged inspect of svcplane's own dump: $(cat "$dir/nobody.err")"
fi

# Cut off (as a terminal or a paste cuts it): read as far as it goes, said
# ("truncated at line N", a partial dump), never a silent full reading.
head -c 3000 "$FX/kube-proxy-nft.txt" >"$dir/cut.nft"	# cut inside a block
"$SVCPLANECTL" inspect "$dir/cut.nft" >"$dir/cut.out" 2>"$dir/cut.err" ||
	fail "a cut-off text dump was refused: $(cat "$dir/cut.err")"
head -1 "$dir/cut.out" | grep -q '(partial dump)' || fail "cut-off dump not called partial: $(head -1 "$dir/cut.out")"
grep -qE 'truncated at line [0-9]+' "$dir/cut.out" || fail "cut-off dump: no 'truncated at line N' note: $(cat "$dir/cut.out")"
# Broken beyond reading: one line, naming the file and the line where reading stopped.
printf 'table ip kube-proxy {\n\tchain foo {\n\t\tthis is not nft {{{\n' >"$dir/broken.nft"
if "$SVCPLANECTL" inspect "$dir/broken.nft" >/dev/null 2>"$dir/broken.err"; then
	fail "an unreadable text dump was accepted"
fi
[ "$(wc -l <"$dir/broken.err")" = 1 ] || fail "broken dump: expected one error line, got: $(cat "$dir/broken.err")"
grep -q "^$dir/broken.nft: .*line [0-9]" "$dir/broken.err" ||
	fail "broken dump error does not name file and line: $(cat "$dir/broken.err")"
printf 'table ip kube-proxy {\n\tchain x {\n\t\tjump \001y\n\t}\n}\n' >"$dir/binary.nft"
"$SVCPLANECTL" inspect "$dir/binary.nft" >/dev/null 2>"$dir/binary.err" && fail "a dump with a control byte was accepted"
grep -q "line 3: unexpected byte 0x01" "$dir/binary.err" || fail "binary dump: $(cat "$dir/binary.err")"

# A ruleset that is not kube-proxy's.
printf 'table inet filter {\n\tchain input { type filter hook input priority 0; policy accept; }\n}\n' >"$dir/other.nft"
"$SVCPLANECTL" inspect "$dir/other.nft" 2>"$dir/other.err" >/dev/null && fail "a non-kube-proxy ruleset was accepted"
grep -q "no table kube-proxy" "$dir/other.err" || fail "non-kube-proxy ruleset: $(cat "$dir/other.err")"

[ "$(nft list ruleset | sha256sum)" = "$before" ] || fail "this machine's ruleset changed"
[ "$(ip netns list | sort)" = "$netns_before" ] || fail "network namespaces changed"
exit 0
