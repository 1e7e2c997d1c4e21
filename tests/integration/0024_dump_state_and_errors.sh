#!/usr/bin/env bash
# svcplanectl reaches the dataplane only through the backend ops, and says
# what it finds: with no svcplane state here, dump, diff and explain print one
# line saying so and exit 3; without the privilege to read the tables (an
# EPERM from netlink) they report the error and exit 1, never an empty table;
# with state, dump shows it and diff agrees.
. "$(dirname "$0")/lib.sh"
rig2_test t24
web_nodeport 198.19.128.24 30024 198.18.1.10@node1 198.18.2.10@node2 >"$dir/svc.yaml"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# expect_exit CODE OUT-FILE ERR-FILE CMD...: run CMD in node1, check its status.
expect_exit() {
	local want=$1 out=$2 err=$3 rc; shift 3
	inns $R node1 "$@" >"$out" 2>"$err"; rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $(cat "$err")"
}

# No state yet: one line, exit 3, nothing on stdout.
for cmd in "dump" "dump --json" "diff --manifests $dir --hostname-override node1" \
	"explain --from 198.19.0.100 --to 198.19.128.24:80/tcp"; do
	# shellcheck disable=SC2086
	expect_exit 3 "$dir/out" "$dir/err" "$SVCPLANECTL" $cmd
	[ ! -s "$dir/out" ] || fail "$cmd with no state printed: $(cat "$dir/out")"
	[ "$(wc -l <"$dir/err")" = 1 ] || fail "$cmd with no state: want one line, got: $(cat "$dir/err")"
	grep -q "no svcplane state in this network namespace (looked for: nftables tables ip/ip6 svcplane, bpf maps" \
		"$dir/err" || fail "$cmd with no state: $(cat "$dir/err")"
done
# Without CAP_NET_ADMIN the kernel refuses to say: an error, not "no state".
expect_exit 1 "$dir/out" "$dir/err" "${nobody[@]}" "$SVCPLANECTL" dump
grep -q "Operation not permitted" "$dir/err" || fail "unprivileged dump, no state: $(cat "$dir/err")"

agents_up $R "$dir"
expect_exit 0 "$dir/out" "$dir/err" "$SVCPLANECTL" dump
grep -q "t/web" "$dir/out" || fail "dump with state lacks t/web: $(cat "$dir/out")"
expect_exit 0 "$dir/out" "$dir/err" "$SVCPLANECTL" diff --manifests "$dir" --hostname-override node1
# Tables present but unreadable to this user: the error, and no table printed.
expect_exit 1 "$dir/out" "$dir/err" "${nobody[@]}" "$SVCPLANECTL" dump
grep -q "Operation not permitted" "$dir/err" || fail "unprivileged dump: $(cat "$dir/err")"
[ ! -s "$dir/out" ] || fail "unprivileged dump printed a table: $(cat "$dir/out")"
expect_exit 1 "$dir/out" "$dir/err" "${nobody[@]}" "$SVCPLANECTL" explain --from 198.19.0.100 \
	--to 198.19.128.24:80/tcp
grep -q "Operation not permitted" "$dir/err" || fail "unprivileged explain: $(cat "$dir/err")"
# --cleanup removes the state: dump says so again.
kill "${AGENT_PID[1]}"; wait "${AGENT_PID[1]}" 2>/dev/null
inns $R node1 "$SVCPLANE" $(node_flags $R node1) --cleanup >/dev/null 2>&1 || fail "--cleanup"
expect_exit 3 "$dir/out" "$dir/err" "$SVCPLANECTL" dump
exit 0
