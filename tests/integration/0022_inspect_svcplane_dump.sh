#!/usr/bin/env bash
# svcplanectl inspect and explain on a dump of svcplane's own tables, taken
# with `nft list ruleset` on a rig node where the agent runs: the dump reads
# as the live tables do (same table, same model, same explain answers), it
# loads back with nft -f as it is, and its findings name the service without
# endpoints.
. "$(dirname "$0")/lib.sh"
need_netns
command -v nft >/dev/null || skip "nft is not installed"
R=t22
rig2_up $R
agents_up $R "$TOP/examples/manifests"
wait_until 10 model_has $R 1 'demo/web' || fail "agent never loaded the sample manifests"
dir=$(t_tmpdir)
inns $R node1 nft list ruleset >"$dir/rules.nft" || fail "nft list ruleset in node1"
grep -q '^table ip svcplane {' "$dir/rules.nft" || fail "no svcplane table in node1's ruleset"

# The same table and model as read live.
inns $R node1 "$SVCPLANECTL" dump >"$dir/live.out" || fail "dump failed"
"$SVCPLANECTL" inspect "$dir/rules.nft" >"$dir/file.out" 2>"$dir/file.err" ||
	fail "inspect of svcplane's dump failed: $(cat "$dir/file.err")"
head -1 "$dir/file.out" | grep -q 'svcplane tables' || fail "format not named: $(head -1 "$dir/file.out")"
# inspect adds what the rules say beyond the model (masquerading, a Local
# port's local list): those lines are checked on their own, the rest must be
# dump's table line for line.
sed -n '/^findings/q;p' "$dir/file.out" | tail -n +2 | sed '${/^$/d}' |
	grep -vE '^    (masquerade|local eps) ' >"$dir/file.table"
diff "$dir/live.out" "$dir/file.table" >"$dir/diff" ||
	fail "dump file reads differently from live tables: $(head -8 "$dir/diff" | tr '\n' ' ')"
grep -qE '^    masquerade +internal=yes \(not from 198\.18\.0\.0/16\)' "$dir/file.out" ||
	fail "inspect does not show the masquerade rule's exempt cluster CIDR: $(grep masquerade "$dir/file.out" | head -3)"
grep -qE '^    local eps +198\.18\.1\.' "$dir/file.out" ||
	fail "inspect does not show the Local port's node1 list: $(grep -A8 'demo/local' "$dir/file.out")"
inns $R node1 "$SVCPLANECTL" dump --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["servicePorts"], sort_keys=True))' >"$dir/live.json"
"$SVCPLANECTL" inspect --json "$dir/rules.nft" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["model"]["servicePorts"], sort_keys=True))' >"$dir/file.json"
cmp -s "$dir/live.json" "$dir/file.json" || fail "inspect --json model differs from dump --json"
grep -q 'demo/nothing:http/TCP/IPv4 has no endpoints' "$dir/file.out" || fail "no-endpoints finding missing: $(cat "$dir/file.out" | tail -5)"

# explain: the dump answers as the live tables do.
for q in "198.18.1.11 198.19.128.13:80/tcp" "203.0.113.9 198.19.201.10:80/tcp" "203.0.113.9 198.19.128.10:80/tcp" \
	 "198.18.2.10 198.19.0.1:30080/tcp" "198.18.1.10 198.19.128.14:80/tcp" "198.18.1.10 198.19.128.11:7/udp"; do
	set -- $q
	a=$(inns $R node1 "$SVCPLANECTL" explain --from "$1" --to "$2" | tail -n +2) || fail "live explain $q"
	b=$("$SVCPLANECTL" explain --from "$1" --to "$2" --dump "$dir/rules.nft" | tail -n +2) || fail "explain --dump $q"
	[ "$a" = "$b" ] || fail "explain $q: live and dump differ:
$a
---
$b"
done

# The dump is a restorable ruleset: nft -f loads it into an empty namespace.
ns=sp-$R-restore
T_RIGS+=("")	# (the namespace below is removed by this test's own trap)
ip netns add "$ns" || fail "ip netns add $ns"
trap 'ip netns del '"$ns"' 2>/dev/null; rig_cleanup' EXIT
ip netns exec "$ns" nft -f "$dir/rules.nft" 2>"$dir/restore.err" || fail "nft -f of the dump: $(head -3 "$dir/restore.err")"
ip netns exec "$ns" "$SVCPLANECTL" dump >"$dir/restored.out"
diff -q "$dir/live.out" "$dir/restored.out" >/dev/null || fail "the restored tables read differently"
exit 0
