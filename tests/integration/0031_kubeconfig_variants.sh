#!/usr/bin/env bash
# kubeconfig variants each reach the fake API server over TLS: a token, a
# tokenFile, client certificate and key as files and as data, the CA as a
# file and as data, insecure-skip-tls-verify (with its warning), and --master
# over the kubeconfig's server. A CA that did not sign the server, and a
# wrong token, are refused with one clear error line; no token is ever logged.
. "$(dirname "$0")/lib.sh"
need_netns
R=t31
f=$(t_tmpdir)/rig.yaml
printf 'name: %s\nnodes:\n  - name: node1\n    pods: [a1]\n' $R >"$f"
rig_up "$f"
state=$(t_tmpdir)/state.json
python3 "$TOP/tests/fakeapi/state_from_manifests.py" "$TOP/examples/manifests" node1 >"$state"
fakeapi_up $R node1 "$state"
D=$FAKEAPI_DIR
b64() { base64 -w0 "$1"; }
token=$(cat "$D/token")

run_agent() { # NAME KUBECONFIG [flags]: a dry-run agent; sets $alog, $apid
	local name=$1 kc=$2; shift 2
	alog=$(t_tmpdir)/$name.log
	# shellcheck disable=SC2046 # node_flags: two flags, paths without spaces
	"$SVCPLANECTL" rig exec $R node1 -- "$SVCPLANE" $(node_flags $R node1) --mode dry-run --kubeconfig "$kc" --hostname-override node1 "$@" >"$alog" 2>&1 &
	apid=$!
	T_PIDS+=($apid)
}
stop_agent() { kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; grep -q "stopping" "$alog" || fail "agent $alog did not stop: $(tail -2 "$alog")"; }
synced() { inns $R node1 curl -sf http://127.0.0.1:10249/model | grep -q '"demo/web"'; }

connects() { # NAME USER-LINES CLUSTER-LINES [flags]
	local name=$1 user=$2 cluster=$3 kc; shift 3
	kc=$(t_tmpdir)/$name.kubeconfig
	kubeconfig "$kc" "$user" "$cluster"
	run_agent "$name" "$kc" "$@"
	wait_until 15 synced || fail "$name: never synced: $(grep -v '^{' "$alog" | tail -3)"
	stop_agent
	case $name in
	client-cert*) [ "$(apistats $R node1 "set((r['token'], r['cert']) for r in d['requests'][-3:])")" = "{(None, True)}" ] ||
		fail "$name: the server did not see a client certificate alone" ;;
	esac
	file_lacks "$alog" "$token" || fail "$name: the token appears in the log (or the log is unreadable)"
	note "$name: connected"
}
refused() { # NAME USER-LINES CLUSTER-LINES PATTERN
	local name=$1 user=$2 cluster=$3 want=$4 kc
	kc=$(t_tmpdir)/$name.kubeconfig
	kubeconfig "$kc" "$user" "$cluster"
	run_agent "$name" "$kc"
	wait_until 10 grep -q "$want" "$alog" || fail "$name: no error matching '$want': $(tail -3 "$alog")"
	model_lacks $R 1 '"demo/web"' || fail "$name: synced although it should be refused (or /model did not answer)"
	stop_agent
	file_lacks "$alog" "$token" || fail "$name: the token appears in the log (or the log is unreadable)"
	note "$name: refused as expected"
}

ca_file="    certificate-authority: $D/ca.crt"
ca_data="    certificate-authority-data: $(b64 "$D/ca.crt")"
connects token "    token: $token" "$ca_file"
connects token-file-ca-data "    tokenFile: $D/token" "$ca_data"
connects client-cert-files "    client-certificate: $D/client.crt
    client-key: $D/client.key" "$ca_file"
connects client-cert-data "    client-certificate-data: $(b64 "$D/client.crt")
    client-key-data: $(b64 "$D/client.key")" "$ca_data"
connects insecure "    token: $token" "    insecure-skip-tls-verify: true"
grep -q 'insecure-skip-tls-verify is set' "$alog" || fail "insecure: no warning logged"
# --master wins over the kubeconfig's server (a port nothing listens on).
kc=$(t_tmpdir)/master.kubeconfig
kubeconfig "$kc" "    token: $token" "$ca_file"
sed -i 's#https://127.0.0.1:6443#https://127.0.0.1:6999#' "$kc"
run_agent master "$kc" --master https://127.0.0.1:6443
wait_until 15 synced || fail "--master: never synced: $(tail -3 "$alog")"
stop_agent

refused wrong-ca "    token: $token" "    certificate-authority: $D/other-ca.crt" 'API source: list services: SSL peer certificate or SSH remote key was not OK'
refused wrong-token "    token: not-the-token" "$ca_file" 'API source: list services: HTTP 401: Unauthorized'
[ "$(grep -c 'list services: HTTP 401' "$alog")" -ge 1 ] || fail "wrong-token: no 401 line"

# A broken kubeconfig: one line naming the file and the field.
kc=$(t_tmpdir)/broken.kubeconfig
kubeconfig "$kc" "    token: $token" "$ca_file"
sed -i 's#server: https://127.0.0.1:6443#server: 127.0.0.1:6443#' "$kc"
if inns $R node1 "$SVCPLANE" $(node_flags $R node1) --mode dry-run --kubeconfig "$kc" >"$D/broken.out" 2>&1; then
	fail "a kubeconfig with a bad server URL was accepted"
fi
grep -q "^.*error --kubeconfig $kc: clusters\[0\].cluster.server: server 127.0.0.1:6443 is not an http:// or https:// URL" "$D/broken.out" ||
	fail "broken kubeconfig: $(cat "$D/broken.out")"
exit 0
