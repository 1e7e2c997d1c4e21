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
	"$SVCPLANE" "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
	[ $rc -eq 2 ] || fail "$what: exit $rc, want 2"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$what: want one error line, got: $(cat "$dir/err")"
}

expect_exit2 "unknown flag" --no-such-flag
expect_exit2 "bad mode" --mode ipvs2 --manifests "$dir/m"
grep -q -- '--mode: invalid value "ipvs2"' "$dir/err" || fail "bad mode line: $(cat "$dir/err")"
expect_exit2 "bad duration" --min-sync-period 5 --manifests "$dir/m"
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

"$SVCPLANE" --help >"$dir/out" 2>&1 || fail "--help exit status"
grep -q -- '--nodeport-addresses' "$dir/out" || fail "--help text"

# A kube-proxy config file, unchanged but for our own block; flags win.
hz=$(free_port); mp=$(free_port)
cat >"$dir/kp.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 0.0.0.0
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
grep -q 'keys svcplane does not use: bindAddress, conntrack' "$dir/err" || fail "no warning for unused keys: $(cat "$dir/err")"
exit 0
