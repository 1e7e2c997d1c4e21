#!/usr/bin/env bash
# Agent start-up: bad flags and config values are one error line and exit 2
# before anything is touched; a kube-proxy KubeProxyConfiguration works
# unchanged (flags win). (Every mode's backend is built now, so none is
# refused as unbuilt here: userspace, the last, would program this namespace.)
. "$(dirname "$0")/lib.sh"

dir=$(t_tmpdir)
mkdir "$dir/m"

expect_exit2() { # description, args...
	local what=$1; shift
	timeout 10 "$SVCPLANE" "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
	[ $rc -eq 2 ] || fail "$what: exit $rc, want 2"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$what: want one error line, got: $(cat "$dir/err")"
}

expect_exit2 "unknown flag" --no-such-flag
expect_exit2 "bad mode" --mode ipvs2 --manifests "$dir/m"
grep -q -- '--mode: invalid value "ipvs2"' "$dir/err" || fail "bad mode line: $(cat "$dir/err")"
expect_exit2 "bad duration" --min-sync-period 5 --manifests "$dir/m"
grep -q 'a duration needs a unit (e.g. 5s)' "$dir/err" || fail "no unit hint: $(cat "$dir/err")"
grep -q 'built into this binary' <("$SVCPLANE" --mode foo 2>&1) || fail "--mode foo does not list the built modes"
# Durations are Go's, finite and bounded (issue 19 item 10): refused at start.
for v in nans infs 1e400s 1ns 0; do
	expect_exit2 "--sync-period $v" --sync-period "$v" --mode dry-run --manifests "$dir/m"
done
expect_exit2 "--min-sync-period nans" --min-sync-period nans --mode dry-run --manifests "$dir/m"
grep -q -- '--sync-period: invalid value "1ns": must be between 1s and 24h' <("$SVCPLANE" --sync-period 1ns 2>&1) ||
	fail "--sync-period 1ns: no bounds in the error"
"$SVCPLANE" --help | grep -q -- '--sync-period DURATION .*1s to 24h' || fail "--help does not state the bounds"
"$SVCPLANE" --version | grep -q '^svcplane [0-9]' || fail "svcplane --version"
"$SVCPLANE" -h | grep -q -- '--mode MODE' || fail "svcplane -h"
expect_exit2 "bad cidr" --cluster-cidr 198.18.0.0/99 --manifests "$dir/m"
expect_exit2 "missing manifests dir" --mode dry-run --manifests "$dir/none" \
	--healthz-bind-address 127.0.0.1:0 --metrics-bind-address 127.0.0.1:0

cat >"$dir/bad.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
nftables:
  syncPeriod: often
Y
expect_exit2 "malformed config value" --config "$dir/bad.yaml"
grep -q 'nftables.syncPeriod: invalid value "often"' "$dir/err" || fail "config error line: $(cat "$dir/err")"

# A malformed value in a block kube-proxy's mode would not read is still an error.
sed 's/^mode: .*//' "$dir/bad.yaml" >"$dir/bad2.yaml"
printf 'iptables:\n  minSyncPeriod: soon\n' >>"$dir/bad2.yaml"
sed -i '/^nftables:/,/often/d' "$dir/bad2.yaml"
expect_exit2 "malformed iptables value" --config "$dir/bad2.yaml" --mode dry-run --manifests "$dir/m"
grep -q 'iptables.minSyncPeriod: invalid value "soon"' "$dir/err" || fail "iptables error line: $(cat "$dir/err")"

# A --config over 1 MiB is refused whole (issue 19 item 12), not read in part.
{ cat "$dir/bad.yaml" | sed '/^nftables:/,$d'; yes '# padding line' | head -c $((1100 * 1024)); } >"$dir/big.yaml"
expect_exit2 "config over 1 MiB" --config "$dir/big.yaml" --mode dry-run --manifests "$dir/m"
grep -q 'larger than 1 MiB: refused' "$dir/err" || fail "big config line: $(cat "$dir/err")"

"$SVCPLANE" --help >"$dir/out" 2>&1 || fail "--help exit status"
grep -q -- '--nodeport-addresses' "$dir/out" || fail "--help text"

# A kube-proxy config file, unchanged but for our own block; flags win.
hz=$(free_port); mp=$(free_port)
cat >"$dir/kp.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 198.19.0.1
clusterCIDR: 198.18.0.0/16
conntrack:
  maxPerCore: 32768
healthzBindAddress: 127.0.0.1:$hz
metricsBindAddress: 127.0.0.1:1
mode: iptables
iptables:
  masqueradeAll: false
  minSyncPeriod: 250ms
  syncPeriod: 30s
svcplane:
  manifests: $dir/m
Y
"$SVCPLANE" --config "$dir/kp.yaml" --mode dry-run --metrics-bind-address "127.0.0.1:$mp" \
	>"$dir/out" 2>"$dir/err" &
T_PIDS+=($!)
wait_until 5 curl -sf "http://127.0.0.1:$hz/healthz" || fail "agent from config never healthy: $(cat "$dir/err")"
[ "$(curl -s "http://127.0.0.1:$mp/proxyMode")" = dry-run ] || fail "the --mode flag did not win over the file"
grep -q 'keys svcplane does not use: bindAddress, conntrack.maxPerCore$' "$dir/err" || fail "no warning for unused keys: $(cat "$dir/err")"
# The iptables block is in force (mode iptables), visible in the settings line.
grep -q 'settings: min-sync-period 250ms, sync-period 30s (config block iptables:)' "$dir/err" ||
	fail "iptables block not in force: $(cat "$dir/err")"
[ "$(grep -c 'mode iptables: svcplane runs its nftables mode' "$dir/err")" -le 1 ] || fail "mode warning repeated"

# kubeadm's generated file, unchanged but for the periods an operator tuned.
hz2=$(free_port); mp2=$(free_port)
sed -e '/^iptables:/,/^ipvs:/s/minSyncPeriod: 0s/minSyncPeriod: 300ms/' \
	-e '/^iptables:/,/^ipvs:/s/syncPeriod: 0s/syncPeriod: 20s/' \
	"$TOP/tests/fixtures/kube-proxy/kubeadm-config.conf" >"$dir/kubeadm.conf"
printf 'svcplane:\n  manifests: %s\n' "$dir/m" >>"$dir/kubeadm.conf"
"$SVCPLANE" --config "$dir/kubeadm.conf" --mode dry-run --healthz-bind-address "127.0.0.1:$hz2" \
	--metrics-bind-address "127.0.0.1:$mp2" >"$dir/out2" 2>"$dir/err2" &
T_PIDS+=($!)
wait_until 5 curl -sf "http://127.0.0.1:$hz2/healthz" || fail "agent from kubeadm's config never healthy: $(cat "$dir/err2")"
grep -q 'settings: min-sync-period 300ms, sync-period 20s (config block iptables:)' "$dir/err2" ||
	fail "kubeadm iptables block not in force: $(cat "$dir/err2")"
! grep -Eq 'error|warning' "$dir/err2" || fail "kubeadm config: $(cat "$dir/err2")"
exit 0
