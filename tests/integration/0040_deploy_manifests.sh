#!/usr/bin/env bash
# The deploy manifests parse as Kubernetes objects that fit together, the
# agent accepts the ConfigMap's KubeProxyConfiguration, the image test's
# podspec.py runs both DaemonSets as they are, and the Dockerfile passes
# dockerfilelint.
. "$(dirname "$0")/lib.sh"
D=$TOP/agent/deploy
python3 "$TOP/tests/integration/deploy_check.py" "$D" "$D/bpf/daemonset.yaml" >/dev/null ||
	fail "structure (above)"
conf=$(t_tmpdir)/config.conf
python3 -c 'import sys,yaml; d=[x for x in yaml.safe_load_all(open(sys.argv[1])) if x["kind"]=="ConfigMap"][0]; print(d["data"]["config.conf"])' \
	"$D/daemonset.yaml" >"$conf"
# (--cleanup runs every backend's cleanup: in a namespace of its own, with a
# pin path of its own, so that nothing of this machine's is touched.)
out=$(unshare -n "$SVCPLANE" --config "$conf" --mode dry-run --cleanup \
	--bpf-pin-path "$(t_tmpdir)/bpf/svcplane" 2>&1) || fail "the agent refuses the ConfigMap's config: $out"
[ -z "$out" ] || fail "the agent warns about the ConfigMap's config: $out"
# A broken copy is caught (the check can fail).
bad=$(t_tmpdir)/bad
mkdir "$bad"
sed 's/maxUnavailable: 10%/maxUnavailable: 1/' "$D/daemonset.yaml" >"$bad/daemonset.yaml"
cp "$D/rbac.yaml" "$bad/"
python3 "$TOP/tests/integration/deploy_check.py" "$bad" >/dev/null 2>"$bad/check.err" &&
	fail "a DaemonSet with maxUnavailable 1 passed"
grep -q '^deploy manifests: DaemonSet.spec.updateStrategy: ' "$bad/check.err" ||
	fail "the broken DaemonSet was refused for another reason: $(cat "$bad/check.err")"
# A bpf DaemonSet that grants more than bpf mode needs is caught.
sed 's/add: \[NET_ADMIN, BPF, PERFMON, SYS_ADMIN, SYS_PTRACE\]/add: [NET_ADMIN, BPF, PERFMON, SYS_ADMIN, SYS_PTRACE, SYS_MODULE]/' \
	"$D/bpf/daemonset.yaml" >"$bad/bpf.yaml"
python3 "$TOP/tests/integration/deploy_check.py" "$D" "$bad/bpf.yaml" >/dev/null 2>"$bad/check.err" &&
	fail "a bpf DaemonSet adding SYS_MODULE passed"
grep -q '^deploy manifests: bpf DaemonSet: drop ALL, add exactly' "$bad/check.err" ||
	fail "the broken bpf DaemonSet was refused for another reason: $(cat "$bad/check.err")"
# The image test (0041) can run both DaemonSets as they are (podspec.py knows
# every field they use), and refuses a field it cannot honour.
for ds in "$D/daemonset.yaml" "$D/bpf/daemonset.yaml"; do
	pd=$(t_tmpdir)
	mkdir "$pd/bpf" "$pd/cg" "$pd/sa"
	python3 "$TOP/tests/integration/podspec.py" run "$ds" --node n1 --netns /run/netns/none \
		--config-dir "$pd/conf" --sa-dir "$pd/sa" --api 127.0.0.1:6443 \
		--host-path "/sys/fs/bpf=$pd/bpf" --host-path "/sys/fs/cgroup=$pd/cg" >"$pd/args" 2>&1 ||
		fail "podspec.py cannot run ${ds#"$D"/}: $(cat "$pd/args")"
	for a in --cap-drop=ALL --read-only --security-opt=no-new-privileges --hostname-override=n1; do
		grep -qxF -- "$a" "$pd/args" || fail "podspec.py run ${ds#"$D"/}: no $a in $(tr '\n' ' ' <"$pd/args")"
	done
done
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: true\n          seccompProfile: {type: Unconfined}/' \
	"$D/daemonset.yaml" >"$bad/seccomp.yaml"
python3 "$TOP/tests/integration/podspec.py" run "$bad/seccomp.yaml" --node n1 --netns /run/netns/none \
	--config-dir "$bad/conf" --sa-dir "$bad" --api 127.0.0.1:6443 >/dev/null 2>"$bad/podspec.err" &&
	fail "podspec.py ran a securityContext with a seccompProfile it does not know"
grep -q 'securityContext.seccompProfile: not known' "$bad/podspec.err" ||
	fail "podspec.py refused the seccomp manifest for another reason: $(cat "$bad/podspec.err")"
if command -v dockerfilelint >/dev/null; then
	dockerfilelint "$D/Dockerfile" >"$bad/lint.out" 2>&1 || fail "dockerfilelint: $(cat "$bad/lint.out")"
elif [ "${CI:-}" = true ]; then
	fail "dockerfilelint is not installed (make deps installs it from npm)"
else
	note "dockerfilelint is not installed; run make deps (Dockerfile not linted)"
fi
exit 0
