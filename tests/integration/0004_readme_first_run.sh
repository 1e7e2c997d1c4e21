#!/usr/bin/env bash
# README's "Running without a cluster" commands, run as written (pasted in
# order from the README itself) and their output checked: the agent starts
# in the background on examples/manifests, answers /healthz, /metrics and
# /model, svcplanectl model prints the same services, and dry-run binds
# nothing but the health and metrics addresses it was given (not the
# demo's health-check node port 32000). Runs in a fresh network namespace
# of its own (unshare -n), so the README's fixed ports collide with nothing.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for unshare -n"
dir=$(t_tmpdir)
sed -n '/^## Running without a cluster/,/^## /p' "$TOP/README.md" |
	sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' >"$dir/readme.sh"
grep -q 'svcplane --mode dry-run --manifests' "$dir/readme.sh" || fail "no commands found in README"
# After the README's own commands: what listens in the namespace, before the kill.
sed -i "/^kill %1/i ss -Hltnu >$dir/listening" "$dir/readme.sh"

(cd "$TOP" && timeout 60 unshare -n bash -c "ip link set lo up && bash $dir/readme.sh") \
	>"$dir/out" 2>&1 || fail "README commands failed: $(cat "$dir/out")"
out=$(cat "$dir/out")
grep -q '"healthy":true' <<<"$out" || fail "no healthy /healthz answer: $out"
grep -q '^kubeproxy_sync_proxy_rules_last_timestamp_seconds [0-9]' <<<"$out" || fail "no sync metric: $out"
grep -q '{"servicePorts":\[{"service":"demo/' <<<"$out" || fail "/model is empty (nothing loaded): $out"
grep -Eq '^demo/.* (TCP|UDP)/IPv4' <<<"$out" || fail "svcplanectl model printed no service: $out"
ports=$(awk '{print $5}' "$dir/listening" | sed 's/.*://' | sort -u | tr '\n' ' ')
[ "$ports" = "10249 10256 " ] || fail "dry-run listens on more than its health and metrics addresses: $ports"
[ -z "$(jobs -p)" ] || fail "left a job running"
exit 0
