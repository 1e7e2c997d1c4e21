# lib.sh - shared helpers for integration tests (sourced). Each test is a
# script that exits 0 (pass), 77 (skip, with a printed reason) or else (fail),
# and cleans up everything it made in a trap, on any exit.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SVCPLANE=$TOP/svcplane
SVCPLANECTL=$TOP/svcplanectl
T_PIDS=()
T_NAME=$(basename "$0" .sh)
# Everything a test writes lives under one directory, removed on exit
# (t_tmpdir runs in $(...) subshells, so it cannot record what it makes).
T_ROOT=$(mktemp -d /tmp/svcplane-it-XXXXXX)

t_cleanup() {
	local pid
	for pid in "${T_PIDS[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$T_ROOT"
}
trap t_cleanup EXIT

fail() { echo "FAIL $T_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP $T_NAME: $*"; exit 77; }
note() { echo "  $T_NAME: $*"; }

t_tmpdir() { mktemp -d "$T_ROOT/XXXXXX"; }

# A TCP port on 127.0.0.1 nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds or the
# deadline passes (a correctness bound, not a speed measure).
wait_until() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# out_lacks TEXT CMD...: CMD succeeds and its output does not contain TEXT (a
# fixed string). A CMD that fails is a failure, not an absence: never write
# `! CMD | grep -q TEXT`, which passes when CMD itself is broken.
out_lacks() {
	local text=$1 out; shift
	out=$("$@") || return 1
	! grep -qF -- "$text" <<<"$out"
}

# file_lacks FILE TEXT...: FILE can be read and contains none of the TEXTs
# (fixed strings); an unreadable FILE is a failure.
file_lacks() {
	local f=$1 t args=(); shift
	for t in "$@"; do args+=(-e "$t"); done
	grep -qF "${args[@]}" -- "$f"
	[ $? -eq 1 ]
}

# agent_bin: the ASan+UBSan build of the agent when built (make
# build/svcplane_asan), else the plain one, for tests that run it on loopback.
agent_bin() {
	if [ -x "$TOP/build/svcplane_asan" ]; then echo "$TOP/build/svcplane_asan"
	else note "no build/svcplane_asan: the plain build" >&2; echo "$SVCPLANE"; fi
}

# stop_agent_clean PID LOG: SIGTERM stops the agent within 10 s, it exits 0,
# and its log holds no sanitizer report.
stop_agent_clean() {
	local pid=$1 log=$2 rc
	kill -TERM "$pid"
	wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "SIGTERM did not stop the agent"
	wait "$pid"; rc=$?
	[ $rc -eq 0 ] || fail "agent exit $rc: $(tail -20 "$log")"
	file_lacks "$log" "ERROR: AddressSanitizer" "runtime error:" "LeakSanitizer" ||
		fail "sanitizer report: $(grep -A20 Sanitizer "$log" | head -40)"
}

# rig_up FILE: bring a rig up and remember to take it down on exit.
T_RIGS=()
rig_up() {
	local name
	name=$(awk '/^name:/{print $2; exit}' "$1")
	T_RIGS+=("$name")
	"$SVCPLANECTL" rig up "$1" >/dev/null || fail "rig up $1"
}
rig_cleanup() {
	local r
	for r in "${T_RIGS[@]:-}"; do
		[ -n "$r" ] && "$SVCPLANECTL" rig down "$r" >/dev/null 2>&1
	done
	t_cleanup
}
trap rig_cleanup EXIT

# inns RIG MEMBER CMD...: run a command in a rig member's namespace and cgroup
# (a pod's: its node's; clients and the fabric: the rig's "clients" cgroup), so
# it is under the node's socket hooks as the node's processes are. As fast as
# `ip netns exec` (about 2.5 ms a call).
inns() { local r=$1 m=$2; shift 2; "$SVCPLANECTL" rig exec "$r" "$m" -- "$@"; }

# node_flags RIG NODE: the agent flags naming NODE's cgroup and pin dir in the
# rig (`--cgroup-path DIR --bpf-pin-path DIR`, for an unquoted expansion: the
# rig's paths have no spaces). Every agent a test runs gets them, so bpf mode
# never looks at the machine's cgroup root or /sys/fs/bpf.
node_flags() {
	local cg pin
	cg=$("$SVCPLANECTL" rig path "$1" "$2" cgroup) || fail "rig path $1 $2 cgroup"
	pin=$("$SVCPLANECTL" rig path "$1" "$2" bpf-pin) || fail "rig path $1 $2 bpf-pin"
	echo "--cgroup-path $cg --bpf-pin-path $pin"
}

# Rig tests need root and netns support.
need_netns() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	ip netns add sp-probe-$$ 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del sp-probe-$$
}

# --- modes -------------------------------------------------------------------------
# A test whose checks hold for more than one dataplane lives in shared/ and
# is run by a thin wrapper per mode (NNNN_nft_*.sh, NNNN_bpf_*.sh), which sets
# MODE and sources it: check.sh counts each mode's run as its own pass/fail.
# Without MODE (tests of one mode) agents get no --mode flag.

# mode_test MODE: this run's dataplane (nftables | bpf | userspace); bpf
# needs bpftool (the tests read links and maps with it).
mode_test() {
	MODE=$1
	case $MODE in
	nftables) ;;
	bpf) command -v bpftool >/dev/null || skip "bpf mode: needs bpftool" ;;
	userspace) ;;
	*) fail "unknown mode '$MODE'" ;;
	esac
	note "mode $MODE"
}

# in_mode MODE...: this run's mode is one of MODEs (for checks and
# expectations of one dataplane: nftables' ruleset, bpf's maps).
in_mode() { local m; for m; do [ "${MODE:-}" = "$m" ] && return 0; done; return 1; }

# from_cl WHAT: checks sending from the client namespace (traffic arriving
# from outside the node) apply in this mode. A mode listed in CL_NOT_YET_MODES
# does not serve that yet: the check is skipped with a "not-yet" line and
# counted in NOT_YET, never as a pass. Every mode serves it today (bpf since
# its tc programs, part 2). Use: `if from_cl "WHAT"; then ...checks...; fi`.
NOT_YET=0
CL_NOT_YET_MODES=" "
from_cl() {
	[[ "$CL_NOT_YET_MODES" == *" ${MODE:-} "* ]] || return 0
	NOT_YET=$((NOT_YET + 1))
	echo "  $T_NAME: not-yet: $*"
	return 1
}
# bpf_lacks WHAT: in bpf mode, WHAT is a feature the socket balancer does not
# have yet: say so and return 1 (its checks are not run, never counted as
# passing); in other modes return 0.
bpf_lacks() {
	in_mode bpf || return 0
	NOT_YET=$((NOT_YET + 1))
	echo "  $T_NAME: not-yet (bpf): $*"
	return 1
}
# mode_done: the closing line of a shared test (how many checks were not run).
mode_done() {
	[ "$NOT_YET" -eq 0 ] || note "$NOT_YET group(s) of checks not run in mode $MODE (not-yet, named above)"
	exit 0
}

# --- two-node rig with an agent per node --------------------------------------------

# rig2_up NAME: nodes node1/node2 with pods a1..a3 / b1..b3 and client "cl".
rig2_up() {
	local f
	f=$(t_tmpdir)/rig.yaml
	cat >"$f" <<Y
name: $1
nodes:
  - name: node1
    pods: [a1, a2, a3]
  - name: node2
    pods: [b1, b2, b3]
clients: [cl]
Y
	rig_up "$f"
}

# rig2_test NAME: a test on the two-node rig NAME (as $R; with MODE set,
# NAME and the mode's initial) with an empty manifest directory in $dir.
rig2_test() {
	need_netns
	R=$1${MODE:+${MODE:0:1}}	# each mode its own rig name (t10n, t10b, t10u)
	rig2_up "$R"
	! in_mode userspace || trap us_rig_cleanup EXIT
	dir=$(t_tmpdir)/m
	mkdir "$dir"
}

# nodeport_svc NAME CLUSTER-IP PORT TARGET-PORT NODEPORT ADDRESS@NODE...:
# Service t/NAME (NodePort, TCP port "http" PORT → TARGET-PORT) and its
# EndpointSlice, as YAML.
nodeport_svc() {
	local name=$1 ip=$2 port=$3 tp=$4 np=$5 e; shift 5
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\nspec:\n  type: NodePort\n  clusterIP: %s\n  ports: [{name: http, port: %s, targetPort: %s, nodePort: %s}]\n' "$name" "$ip" "$port" "$tp" "$np"
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, namespace: t, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{name: http, port: %s}]\nendpoints:\n' "$name" "$name" "$tp"
	for e in "$@"; do
		printf -- '- {addresses: [%s], nodeName: %s}\n' "${e%@*}" "${e#*@}"
	done
}
# web_nodeport CLUSTER-IP NODEPORT ADDRESS@NODE...: Service t/web (NodePort,
# port 80 → 8080) and its EndpointSlice, as YAML.
web_nodeport() { local ip=$1 np=$2; shift 2; nodeport_svc web "$ip" 80 8080 "$np" "$@"; }

# us_rig_cleanup: userspace mode keeps a state file per node in the
# machine's /run (named after the node's namespace): stop the agents and
# --cleanup each node before the rig goes, on any exit.
us_rig_cleanup() {
	local n
	for n in 1 2; do
		[ -n "${AGENT_PID[$n]:-}" ] && kill "${AGENT_PID[$n]}" 2>/dev/null && wait "${AGENT_PID[$n]}" 2>/dev/null
		inns "$R" node$n "$SVCPLANE" $(node_flags "$R" node$n) --cleanup >/dev/null 2>&1
	done
	rig_cleanup
}

AGENT_LOG_DIR=""
# agents_up RIG MANIFESTS [flags...]: an agent per node, healthy before returning.
agents_up() {
	local rig=$1 dir=$2 n; shift 2
	AGENT_LOG_DIR=${AGENT_LOG_DIR:-$(t_tmpdir)}
	for n in 1 2; do
		agent_start "$rig" "$n" "$dir" "$@"
	done
	for n in 1 2; do
		wait_until 10 inns "$rig" node$n curl -sf http://127.0.0.1:10256/healthz ||
			fail "agent on node$n never healthy: $(tail -5 "$AGENT_LOG_DIR/agent$n.log")"
	done
}

declare -A AGENT_PID
# agent_exec RIG NODE-NUMBER FLAGS...: an agent on node N (FLAGS name its source)
# with the rig's cluster CIDRs, in the background (PID in AGENT_PID[N]).
agent_exec() {
	local rig=$1 n=$2; shift 2
	AGENT_LOG_DIR=${AGENT_LOG_DIR:-$(t_tmpdir)}
	local flags
	flags=$(node_flags "$rig" "node$n") || exit 1
	# rig exec, not inns: a function in the background would be a subshell
	# and $! not the agent. (Unquoted $flags: two flags, paths without spaces.)
	"$SVCPLANECTL" rig exec "$rig" "node$n" -- "$SVCPLANE" ${MODE:+--mode $MODE} $flags --hostname-override "node$n" \
		--cluster-cidr 198.18.0.0/16,fd00:10::/48 --min-sync-period 100ms --v 2 "$@" \
		>>"$AGENT_LOG_DIR/agent$n.log" 2>&1 &
	AGENT_PID[$n]=$!
	T_PIDS+=($!)
}
agent_start() { local rig=$1 n=$2 dir=$3; shift 3; agent_exec "$rig" "$n" --manifests "$dir" "$@"; }

# model_has RIG NODE TEXT: the agent's /model contains TEXT.
model_has() { inns "$1" "node$2" curl -sf http://127.0.0.1:10249/model | grep -qF -- "$3"; }
# model_lacks RIG NODE TEXT: the agent's /model answers and does not contain TEXT.
model_lacks() { out_lacks "$3" inns "$1" "node$2" curl -sf http://127.0.0.1:10249/model; }

# hits RIG MEMBER COUNT 'SHELL COMMAND': run it COUNT times inside the member's
# namespace (one namespace entry for all), print "pod count" lines.
hits() {
	local rig=$1 m=$2 count=$3 cmd=$4
	inns "$rig" "$m" sh -c "for i in \$(seq $count); do $cmd 2>/dev/null; echo; done" |
		awk 'NF{print $1}' | sort | uniq -c | awk '{print $2, $1}'
}

# udp_hits RIG MEMBER COUNT HOST PORT: COUNT UDP requests, each a new flow.
udp_hits() {
	inns "$1" "$2" python3 "$TOP/tests/integration/udpask.py" "$3" "$4" "$5" |
		awk 'NF{print $1}' | sort | uniq -c | awk '{print $2, $1}'
}

# Write a file atomically (an editor's save), so the agent sees it whole.
put() { local f=$1; cat >"$f.tmp.$$" && mv "$f.tmp.$$" "$f"; }

# --- the fake API server (tests/fakeapi) -------------------------------------------

# lo_fakeapi_up [fakeapi flags...]: free loopback ports $api and $ctl for the
# fake API server (started, its log in $dir/fakeapi.log) and $hz, $mp for an
# agent's health and metrics; no rig. lo_apictl JSON: one control command.
lo_fakeapi_up() {
	api=$(free_port) ctl=$(free_port) hz=$(free_port) mp=$(free_port)
	python3 "$TOP/tests/fakeapi/fakeapi.py" --listen "127.0.0.1:$api" --control "127.0.0.1:$ctl" "$@" \
		>"$dir/fakeapi.log" 2>&1 &
	T_PIDS+=($!)
	wait_until 10 curl -sf "http://127.0.0.1:$ctl/control/stats" || fail "fake API server: $(cat "$dir/fakeapi.log")"
}
lo_apictl() { curl -sf -XPOST "http://127.0.0.1:$ctl/control" -d "$1" >/dev/null || fail "apictl $1"; }


FAKEAPI_DIR=""
# fakeapi_up RIG MEMBER STATE [fakeapi flags...]: certificates, a token file
# and the fake API server on 127.0.0.1:6443 (control :6444) inside MEMBER,
# taking that token or a client certificate signed by its CA.
fakeapi_up() {
	local rig=$1 m=$2 state=$3; shift 3
	FAKEAPI_DIR=$(t_tmpdir)
	bash "$TOP/tests/fakeapi/mkcerts.sh" "$FAKEAPI_DIR" || fail "mkcerts"
	printf 'token-%s' "$RANDOM$RANDOM" >"$FAKEAPI_DIR/token"
	"$SVCPLANECTL" rig exec "$rig" "$m" -- python3 "$TOP/tests/fakeapi/fakeapi.py" --cert "$FAKEAPI_DIR/server.crt" \
		--key "$FAKEAPI_DIR/server.key" --token-file "$FAKEAPI_DIR/token" --client-ca "$FAKEAPI_DIR/ca.crt" \
		--state "$state" "$@" >"$FAKEAPI_DIR/fakeapi.log" 2>&1 &
	FAKEAPI_PID=$!
	T_PIDS+=($!)
	wait_until 10 inns "$rig" "$m" curl -sf http://127.0.0.1:6444/control/stats ||
		fail "fake API server did not start: $(cat "$FAKEAPI_DIR/fakeapi.log")"
}

# apictl RIG MEMBER JSON: one control command to the fake API server.
apictl() { inns "$1" "$2" curl -sf -XPOST http://127.0.0.1:6444/control -d "$3" >/dev/null || fail "apictl $3"; }
# apistats RIG MEMBER PYTHON-EXPR: evaluate an expression over the server's
# stats (d: {"rv", "watches", "requests": [{"path", "token", "cert"}]}).
apistats() {
	inns "$1" "$2" curl -sf http://127.0.0.1:6444/control/stats |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$3"
}

# kubeconfig FILE [user yaml lines]: a kubeconfig for the fake server, with
# the CA file and a tokenFile unless other user lines are given.
kubeconfig() {
	local f=$1 user=${2:-"    tokenFile: $FAKEAPI_DIR/token"} cluster=${3:-"    certificate-authority: $FAKEAPI_DIR/ca.crt"}
	cat >"$f" <<Y
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:6443
$cluster
users:
- name: proxy
  user:
$user
contexts:
- name: fake
  context: {cluster: fake, user: proxy}
current-context: fake
Y
}

# kube_agent_start RIG NODE-NUMBER KUBECONFIG [flags...]: an agent on the API source.
kube_agent_start() { local rig=$1 n=$2 kc=$3; shift 3; agent_exec "$rig" "$n" --kubeconfig "$kc" "$@"; }
