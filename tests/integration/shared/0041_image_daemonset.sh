# Shared by 0041_nft_image_daemonset.sh and 0041_bpf_image_daemonset.sh (MODE
# set by the wrapper). The image (make image) runs the agent in rig node1's
# network namespace exactly as the mode's DaemonSet says: its security
# context, command, env, args and mounts are read from the manifest itself
# (podspec.py), the ConfigMap's KubeProxyConfiguration mounted read-only where
# the DaemonSet mounts it (clusterCIDR set to the rig's, as an operator
# does), the fake API server as the in-cluster service account reaches it,
# and in bpf mode the manifest's host paths mapped to node1's own bpffs and
# cgroup in the rig (never the machine's). Checks: the capabilities, no new
# privileges and read-only root really in force; the probes answer; Services
# carry traffic; `svcplanectl dump` from the image, in the running container
# and in a container of its own; SIGTERM ends it cleanly (exit 0) leaving its
# rules; and a copy of the manifest without a capability the mode needs
# fails to start (the test can see a missing capability). SP_DAEMONSET runs
# another manifest in place of the mode's (to see this test fail).
. "$(dirname "$0")/lib.sh"
mode_test "${MODE:?set by the wrapper}"
need_netns
# (Run from make test, make's own MAKEFLAGS would print "Entering directory"
# lines: the answer is the last line, from a make of its own.)
eng=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$TOP" image-engine |
	tail -1) || fail "make image-engine"
case $eng in
"engine "*podman*) ENG=${eng#engine } ;;
"engine "*) skip "the image test joins a rig node's network namespace (--network ns:PATH): podman only, not ${eng#engine }" ;;
*) skip "no container engine: ${eng#none }" ;;
esac
eng() { env $ENG "$@"; }	# (unquoted: CONTAINERS_CONF=... podman)
IMG=svcplane:dev
ilog=$(t_tmpdir)/image.log
make -s --no-print-directory -C "$TOP" image IMAGE=$IMG >"$ilog" 2>&1 || fail "make image: $(tail -20 "$ilog")"
case $MODE in
nftables) DS=$TOP/agent/deploy/daemonset.yaml NEEDS=NET_ADMIN ;;
# (bpf(): CAP_BPF or, as before CAP_BPF existed, CAP_SYS_ADMIN: either will do)
bpf) DS=$TOP/agent/deploy/bpf/daemonset.yaml NEEDS="BPF SYS_ADMIN" ;;
esac
DS=${SP_DAEMONSET:-$DS}
note "manifest ${DS#"$TOP"/}"

R=t41${MODE:0:1}
CTRS=()	# containers this test started (removed on any exit)
CG_PARENT=/svcplane-rig-$R/node1	# the container's cgroup: node1's in the rig
image_cleanup() {
	local c d
	for c in "${CTRS[@]:-}"; do
		[ -n "$c" ] && eng rm -f -t 0 "$c" >/dev/null 2>&1
	done
	rig_cleanup
	# runc made CG_PARENT in every cgroup v1 hierarchy too (the rig's cgroup2
	# tree is the rig's to remove): remove those, empty, after the containers.
	for d in $(awk '$3 == "cgroup" {print $2}' /proc/mounts); do
		[ -d "$d/svcplane-rig-$R" ] && find "$d/svcplane-rig-$R" -depth -type d -exec rmdir {} + 2>/dev/null
	done
}
trap image_cleanup EXIT

rig2_test t41
# Probe the runtime with the image itself: where it refuses to start any
# container at all, skip with its words; past this, a refusal is a failure.
probe=$(eng run --rm --pull=never --network=none --cgroup-parent=$CG_PARENT --entrypoint=/bin/true "$IMG" 2>&1) ||
	skip "the container runtime refuses to run here: $probe"

web_nodeport 198.19.128.41 30041 198.18.1.11@node1 198.18.2.10@node2 >"$dir/web.yaml"
# udp_slice ADDRESS...: Service t/udp's slice (endpoints on node1), as JSON.
udp_slice() {
	local eps="" a
	for a in "$@"; do eps="$eps${eps:+,}{\"addresses\":[\"$a\"],\"nodeName\":\"node1\"}"; done
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"udp-1","namespace":"t","labels":{"kubernetes.io/service-name":"udp"}},"addressType":"IPv4","ports":[{"name":"u","port":8080,"protocol":"UDP"}],"endpoints":[%s]}' "$eps"
}
printf '{"apiVersion":"v1","kind":"List","items":[%s,%s]}' \
	'{"apiVersion":"v1","kind":"Service","metadata":{"name":"udp","namespace":"t"},"spec":{"clusterIP":"198.19.128.42","ports":[{"name":"u","port":7,"targetPort":8080,"protocol":"UDP"}]}}' \
	"$(udp_slice 198.18.1.10 198.18.1.12)" >"$dir/udp.json"
state=$(t_tmpdir)/state.json
python3 "$TOP/tests/fakeapi/state_from_manifests.py" "$dir" node1 >"$state" || fail "fake API state"
fakeapi_up $R node1 "$state"
sa=$(t_tmpdir)	# what the kubelet mounts for the pod's service account
cp "$FAKEAPI_DIR/token" "$FAKEAPI_DIR/ca.crt" "$sa/" && echo kube-system >"$sa/namespace"

PIN=$("$SVCPLANECTL" rig path $R node1 bpf-pin) || fail "rig path bpf-pin"
CGDIR=$("$SVCPLANECTL" rig path $R node1 cgroup) || fail "rig path cgroup"
[ "$CGDIR" = "/run/svcplane/rig/$R/cgroup$CG_PARENT" ] || fail "node1's cgroup is $CGDIR, not under $CG_PARENT"
# run_args MANIFEST: `podman run` arguments for MANIFEST's container (one a
# line, image and args last) in node1, its ConfigMap written to a new dir.
run_args() {
	python3 "$TOP/tests/integration/podspec.py" run "$1" --image "$IMG" --node node1 \
		--netns /run/netns/sp-$R-node1 --config-dir "$(t_tmpdir)" --sa-dir "$sa" --api 127.0.0.1:6443 \
		--set-config clusterCIDR=198.18.0.0/16,fd00:10::/48 \
		--host-path "/sys/fs/bpf=$PIN" --host-path "/sys/fs/cgroup=$CGDIR"
}
# start NAME MANIFEST [ENTRYPOINT ARGS...]: the container, detached.
start() {
	local name=$1 args
	args=$(run_args "$2") || fail "podspec.py refused $2"
	mapfile -t args <<<"$args"
	CTRS+=("$name")
	eng run -d --pull=never --name "$name" --cgroup-parent=$CG_PARENT "${args[@]}" >/dev/null ||
		fail "podman run $name: $(eng logs "$name" 2>&1 | tail -5)"
}
C=svcplane-$R-$$
start "$C" "$DS"
clog() { eng logs "$C" 2>&1 | tail -"${1:-10}"; }

# 1. The probes, as the kubelet asks them (on the node's network).
probes=$(python3 "$TOP/tests/integration/podspec.py" probes "$DS") || fail "probes"
[ -n "$probes" ] || fail "the DaemonSet has no probes"
while read -r kind url; do
	wait_until 20 inns $R node1 curl -sf -o /dev/null "$url" ||
		fail "$kind probe $url never answered: $(clog)"
done <<<"$probes"

# 2. The security context is in force: the agent's effective capabilities
# are the manifest's, no new privileges, the root and the config read-only.
pid=$(eng inspect --format '{{.State.Pid}}' "$C") || fail "inspect $C"
want=$(python3 "$TOP/tests/integration/podspec.py" caps "$DS") || fail "podspec caps"
have=$(python3 "$TOP/tests/integration/podspec.py" decode "$(awk '/^CapEff:/{print $2}' /proc/$pid/status)" | sort)
[ "$have" = "$want" ] || fail "the agent's capabilities: $(echo $have), the manifest's: $(echo $want)"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status || fail "the agent may gain privileges (NoNewPrivs 0)"
for f in /x /etc/svcplane/x; do
	out=$(eng exec "$C" touch "$f" 2>&1) && fail "the container could write $f"
	grep -q 'Read-only file system' <<<"$out" || fail "writing $f failed otherwise: $out"
done
# The user: the manifest's runAsUser, else the image's USER.
uid=$(python3 -c 'import sys,yaml; d=[x for x in yaml.safe_load_all(open(sys.argv[1])) if x and x["kind"]=="DaemonSet"][0]; print((d["spec"]["template"]["spec"]["containers"][0].get("securityContext") or {}).get("runAsUser", ""))' "$DS") ||
	fail "runAsUser"
[ -n "$uid" ] || uid=$(eng image inspect --format '{{.Config.User}}' "$IMG") || fail "image user"
uid=${uid:-0}
grep -q "^Uid:[[:space:]]*${uid%%:*}[[:space:]]" /proc/$pid/status ||
	fail "the agent runs as $(grep ^Uid: /proc/$pid/status), not user $uid"

# 3. Services carry traffic: from a pod on node1 (both modes) and from the
# client through node1's NodePort (bpf: part 2).
# spread MEMBER URL: the pods that answered 20 requests, in order.
spread() { hits $R "$1" 20 "curl -s -m 2 $2" | awk '$2 > 0 {print $1}' | sort | tr '\n' ' '; }
wait_until 20 model_has $R 1 '"198.18.2.10","port":8080' || fail "the API's service never reached the model: $(clog)"
[ "$(spread a1 http://198.19.128.41/)" = "a2 b1 " ] || fail "ClusterIP from a1: $(spread a1 http://198.19.128.41/)"
if from_cl "NodePort from the client"; then
	[ "$(spread cl http://198.19.0.1:30041/)" = "a2 b1 " ] || fail "NodePort from cl: $(spread cl http://198.19.0.1:30041/)"
fi

# bpf: a pod's connected UDP socket whose endpoint is removed is no longer
# answered from it. (Not yet a check of SYS_ADMIN and SYS_PTRACE, which the
# agent needs to walk pods' sockets in their namespaces: it skips a namespace
# it cannot enter without a word, and the socket's next send fails either way.
# Without either, this test passes; SYS_ADMIN also covers BPF and PERFMON.)
if in_mode bpf; then
	go=$T_ROOT/go uout=$T_ROOT/udpconn.out
	inns $R a2 python3 "$TOP/tests/integration/udpconn.py" 198.19.128.42 7 "$go" >"$uout" 2>&1 &
	client=$!
	T_PIDS+=($client)
	wait_until 5 grep -q '^first ' "$uout" || fail "the connected UDP socket got no answer: $(cat "$uout")"
	case $(awk '$1 == "first" {print $2}' "$uout") in
	a1) gone=198.18.1.10 live=a3 ;;
	a3) gone=198.18.1.12 live=a1 ;;
	*) fail "connected UDP socket answered by: $(cat "$uout")" ;;
	esac
	apictl $R node1 "{\"op\":\"apply\",\"kind\":\"endpointslices\",\"object\":$(udp_slice $([ $live = a1 ] && echo 198.18.1.10 || echo 198.18.1.12))}"
	wait_until 10 model_lacks $R 1 "\"$gone\",\"port\":8080" || fail "UDP endpoint $gone never left the model"
	sleep 1	# the sockets are walked after the sync that removed it
	touch "$go"
	wait "$client" || fail "udpconn.py: $(cat "$uout")"
	grep -q '^old-send ok' "$uout" && fail "the pod's socket to removed $gone was not disconnected: $(cat "$uout") $(clog 5)"
	grep -qx "reconnect $live" "$uout" || fail "UDP reconnect did not reach $live: $(cat "$uout")"
fi
# No error or warning from the agent in all this (a refused operation).
errs=$(eng logs "$C" 2>&1 | grep -E '^[^ ]+ (error|warn)') && fail "the agent logged: $errs"

# 4. svcplanectl from the image in the running container (kubectl exec).
out=$(eng exec "$C" svcplanectl dump 2>&1) || fail "svcplanectl dump in the container: $out"
grep -q '^t/web:http ' <<<"$out" || fail "dump in the container lacks t/web: $out"

# 5. SIGTERM (podman stop; the kubelet's) ends it cleanly, rules left.
t0=$(date +%s)
eng stop -t 20 "$C" >/dev/null || fail "podman stop"
rc=$(eng inspect --format '{{.State.ExitCode}}' "$C") || fail "inspect $C"
[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM: $(clog)"
[ $(($(date +%s) - t0)) -lt 15 ] || fail "the agent took $(($(date +%s) - t0)) s to stop"
[ "$(spread a1 http://198.19.128.41/)" = "a2 b1 " ] || fail "after stop, ClusterIP from a1: $(spread a1 http://198.19.128.41/)"
# svcplanectl dump from the image in a container of its own (the manifest's
# security context and mounts, svcplanectl for command).
args=$(run_args "$DS") || fail "podspec.py"
mapfile -t args <<<"$args"
for i in "${!args[@]}"; do [ "${args[$i]}" = "$IMG" ] && break; done
CTRS+=("$C-dump")
out=$(eng run --rm --pull=never --name "$C-dump" --cgroup-parent=$CG_PARENT "${args[@]:0:$i}" \
	--entrypoint=/usr/local/bin/svcplanectl "$IMG" dump 2>&1) || fail "svcplanectl dump from the image: $out"
grep -q '^t/web:http ' <<<"$out" || fail "dump after stop lacks t/web: $out"
if in_mode bpf; then
	[ -n "$(ls -A "$PIN/svcplane" 2>/dev/null)" ] || fail "nothing pinned in node1's bpffs ($PIN/svcplane)"
fi
eng rm "$C" >/dev/null || fail "podman rm $C"

# 6. A manifest without the capabilities NEEDS that the mode cannot start
# without: the agent never becomes healthy (the test sees what a cluster would).
bad=$(t_tmpdir)/ds.yaml
python3 - "$DS" $NEEDS >"$bad" <<'P' || fail "manifest copy"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] == "DaemonSet":
        caps = d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]
        for c in sys.argv[2:]:
            caps["add"].remove(c)
yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
P
start "$C-bad" "$bad"
sleep 3
healthy() { inns $R node1 curl -sf -o /dev/null http://127.0.0.1:10256/healthz; }
running=$(eng inspect --format '{{.State.Running}}' "$C-bad")
if [ "$running" = true ] && wait_until 5 healthy; then
	fail "the agent without $NEEDS became healthy"
fi
note "without $NEEDS: $(eng logs "$C-bad" 2>&1 | grep -m1 -iE 'permitted|denied|cannot' || echo "not healthy")"
eng rm -f -t 0 "$C-bad" >/dev/null || fail "podman rm $C-bad"
mode_done
