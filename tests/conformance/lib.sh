# lib.sh - shared by the conformance scenarios (sourced). A scenario runs
# against the rig and agents run.sh set up: CF_RIG (rig name), CF_MANIFESTS
# (the directory both agents watch), CF_STATE (agent PIDs and logs), CF_MODE.
# It exits 0 (pass), 77 (skip; prints "SKIP <reason>" first) or else (fail,
# after one "FAIL <why>" line). Manifests it writes are removed by run.sh.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
trap t_cleanup EXIT	# the rig is run.sh's: never taken down here
R=$CF_RIG
T_NAME=$(basename "$0" .sh)
fail() { echo "FAIL $*"; exit 1; }
skip() { echo "SKIP $*"; exit 77; }

# --- steps from outside the nodes ----------------------------------------------
# A step that sends from the client cl (outside every node, through the fabric)
# is written `from_cl CMD...`. In nftables mode it runs. In bpf mode it does
# not run: part 1 serves connections made inside a node (its own processes and
# its pods', under the cgroup hooks); traffic arriving from outside is part 2,
# so the step is recorded in CF_NOTYET (run.sh reports the scenario as
# "pass, cl: not-yet (part 2)" when everything else passed) and never passes.
# Any other use of cl (inns, hits, udp_flow ... with member cl) is refused and
# recorded in CF_UNMARKED, which fails the scenario in every mode, except
# where the step talks to a node's own listener, not to a service
# (`cl_direct CMD...`: a health check node port), which works in every mode.
PART2_MODES=" "
: "${CF_NOTYET:=/dev/null}" "${CF_UNMARKED:=/dev/stderr}"
part2() { [[ "$PART2_MODES" == *" $CF_MODE "* ]]; }
from_cl() {
	if part2; then
		echo "NOTYET $*"
		echo "$*" >>"$CF_NOTYET"
		return 0
	fi
	CF_FROM_CL=1 "$@"
}
cl_direct() { CF_CL_DIRECT=1 "$@"; }
inns() {
	local r=$1 m=$2; shift 2
	if [ "$m" = cl ] && { [ -z "${CF_FROM_CL:-}${CF_CL_DIRECT:-}" ] || { [ -z "${CF_CL_DIRECT:-}" ] && part2; }; }; then
		echo "$T_NAME: a step from cl not written as from_cl: $*" >>"$CF_UNMARKED"
		echo "FAIL a step from cl not written as from_cl: $*" >&2
		return 1
	fi
	"$SVCPLANECTL" rig exec "$r" "$m" -- "$@"
}

# apply NAME: the YAML on stdin becomes manifest NAME (written whole).
apply() { put "$CF_MANIFESTS/$1.yaml"; }
remove() { rm -f "$CF_MANIFESTS/$1.yaml"; }

# programmed TEXT: both agents' models contain TEXT (waits up to 10 s).
programmed() {
	wait_until 10 model_has "$R" 1 "$1" && wait_until 10 model_has "$R" 2 "$1" ||
		fail "not in both agents' models within 10 s: $1"
}
# gone TEXT: both agents' models answer and neither contains TEXT.
gone() {
	local n
	for n in 1 2; do
		wait_until 10 model_lacks "$R" "$n" "$1" ||
			fail "still in node$n's model after 10 s: $1"
	done
}

# no_answer MEMBER URL [SECONDS]: a request from MEMBER to URL gets no answer:
# curl ran and could not connect (7: refused or unreachable) or timed out
# (28). Anything else fails: an answer, and also curl or the namespace not
# working (which `curl ... && fail` would take for "no answer").
no_answer() {
	local rc
	inns "$R" "$1" curl -s -m "${3:-1}" -o /dev/null "$2"
	rc=$?
	[ "$rc" = 7 ] || [ "$rc" = 28 ] || { echo "curl $2 from $1: exit $rc" >&2; return 1; }
}

# svc NAME CLUSTER-IP [extra spec YAML lines...]: a Service with port http 80 → 8080.
svc() {
	local name=$1 ip=$2; shift 2
	{
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: cf}\nspec:\n  clusterIP: %s\n' "$name" "$ip"
		if [ $# -eq 0 ]; then
			printf '  ports: [{name: http, port: 80, targetPort: 8080}]\n'
		else
			printf '%s\n' "$@"
		fi
	}
}
# slice SVC [ENDPOINT...]: an EndpointSlice of SVC, port http 8080; an
# endpoint is POD (ready) or POD:notready or POD:terminating (serving).
declare -A POD_IP=([a1]=198.18.1.10 [a2]=198.18.1.11 [a3]=198.18.1.12 [b1]=198.18.2.10 [b2]=198.18.2.11 [b3]=198.18.2.12)
declare -A POD_NODE=([a1]=node1 [a2]=node1 [a3]=node1 [b1]=node2 [b2]=node2 [b3]=node2)
slice() {
	local svc=$1 e pod state; shift
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, namespace: cf, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{name: http, port: 8080}]\n' "$svc" "$svc"
	if [ $# -eq 0 ]; then
		echo 'endpoints: []'
		return
	fi
	echo 'endpoints:'
	for e in "$@"; do
		pod=${e%%:*}
		state=${e#"$pod"}
		case $state in
		"") printf -- '- {addresses: [%s], nodeName: %s}\n' "${POD_IP[$pod]}" "${POD_NODE[$pod]}" ;;
		:notready) printf -- '- {addresses: [%s], nodeName: %s, conditions: {ready: false, serving: false}}\n' "${POD_IP[$pod]}" "${POD_NODE[$pod]}" ;;
		:terminating) printf -- '- {addresses: [%s], nodeName: %s, conditions: {ready: false, serving: true, terminating: true}}\n' "${POD_IP[$pod]}" "${POD_NODE[$pod]}" ;;
		esac
	done
}

# udp_slice SVC IP NODE [READY]: SVC's slice with one UDP endpoint on 8080.
udp_slice() {
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, namespace: cf, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{name: udp, port: 8080, protocol: UDP}]\nendpoints:\n- {addresses: [%s], nodeName: %s, conditions: {ready: %s}}\n' \
		"$1" "$1" "$2" "$3" "${4:-true}"
}

# udp_flow MEMBER HOST PORT SECONDS: one UDP flow (one source port) sending
# every 0.1 s; prints each reply's first word, "-" for none.
udp_flow() { inns "$R" "$1" python3 "$TOP/tests/integration/flows.py" udp "$2" "$3" "$4"; }

# pods_seen MEMBER COUNT URL: the sorted set of pods that answered COUNT requests.
pods_seen() { hits "$R" "$1" "$2" "curl -s -m 2 $3" | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//'; }
# expect_pods MEMBER COUNT URL WANT: within 10 s, COUNT requests reach exactly WANT.
expect_pods() {
	local got
	for _ in $(seq 20); do
		got=$(pods_seen "$1" "$2" "$3")
		[ "$got" = "$4" ] && return 0
		sleep 0.5
	done
	fail "$1 → $3: reached [$got], want [$4]"
}

# refused MEMBER HOST PORT: a TCP connect from MEMBER to HOST:PORT fails within
# 2 s with ECONNREFUSED, the errno the client sees (not curl's exit 7, which
# is also EPERM, unreachable or a resolver error). Prints what it saw.
refused() {
	inns "$R" "$1" python3 -c '
import errno, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(5)
t = time.monotonic()
try:
    s.connect((host, port))
    print("connected (peer %s)" % (s.getpeername(),))
    sys.exit(1)
except ConnectionRefusedError:
    ms = (time.monotonic() - t) * 1000
    print("ECONNREFUSED after %d ms" % ms)
    sys.exit(0 if ms < 2000 else 1)
except OSError as e:
    print(errno.errorcode.get(e.errno, "no errno (%s)" % e) if e.errno else "timed out (%s)" % e)
    sys.exit(1)
' "$2" "$3"
}
