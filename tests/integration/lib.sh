# lib.sh - shared helpers for integration tests (sourced). Each test is a
# script that exits 0 (pass), 77 (skip, with a printed reason) or else (fail),
# and cleans up everything it made in a trap, on any exit.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SVCPLANE=$TOP/svcplane
SVCPLANECTL=$TOP/svcplanectl
T_PIDS=()
T_DIRS=()
T_NAME=$(basename "$0" .sh)

t_cleanup() {
	local pid
	for pid in "${T_PIDS[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for d in "${T_DIRS[@]:-}"; do
		[ -n "$d" ] && rm -rf "$d"
	done
}
trap t_cleanup EXIT

fail() { echo "FAIL $T_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP $T_NAME: $*"; exit 77; }
note() { echo "  $T_NAME: $*"; }

t_tmpdir() { local d; d=$(mktemp -d /tmp/svcplane-it-XXXXXX); T_DIRS+=("$d"); echo "$d"; }

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

# inns RIG MEMBER CMD...: run a command in a rig member's namespace.
inns() { local r=$1 m=$2; shift 2; ip netns exec "sp-$r-$m" "$@"; }

# Rig tests need root and netns support.
need_netns() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
	ip netns add sp-probe-$$ 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del sp-probe-$$
}
