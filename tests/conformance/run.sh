#!/usr/bin/env bash
# run.sh [MODE...]: kube-proxy's sig-network Service scenarios on a two-node
# rig with an agent per node, once per mode (default: every mode built;
# CF_ONLY="05 23" runs just the scenarios with those numbers).
# Prints scenario × mode → pass / fail / skip (with its reason), writes the
# table to tests/conformance/results.md, exits 1 if any scenario failed.
# Modes without traffic from outside the nodes yet (bpf, part 1) do not run a
# scenario's steps from the client cl (`from_cl` in lib.sh): those are listed
# as not-yet, and a scenario whose other steps all pass is
# "pass, cl: not-yet (part 2)", counted apart from full passes (CF_COUNTS
# gets "PASS FAIL SKIP NOTYET"). A scenario whose premise is kernel NAT
# (userspace mode: `nat_premise` in lib.sh) checks the mode's equivalent
# and reads "pass: kernel NAT premise (WHAT)".
# The rig is built once per mode and reused; everything is removed on exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$TOP/tests/integration/lib.sh"
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(nftables bpf userspace)
need_netns
R=cf
# What the run must leave as it found it on this machine: namespaces, links,
# ruleset, the cgroup tree under every cgroup2 mount, bpffs and cgroup2 mounts,
# loaded BPF programs and links (ids), the host namespace's qdiscs. A tool that
# fails prints its name, so a broken check differs from the state it checks.
host_state() {
	local mp out
	echo "# netns"; ip netns list | sort
	echo "# links"; ip -o link | sed 's/^[0-9]*: //' | awk '{print $1}' | sort
	echo "# ruleset"; nft list ruleset | sha256sum
	echo "# mounts"; awk '$3 == "bpf" || $3 == "cgroup2" {print $1, $2, $3}' /proc/mounts | sort
	for mp in $(awk '$3 == "cgroup2" {print $2}' /proc/mounts); do
		echo "# cgroups under $mp"; (cd "$mp" && find . -type d | sort)
	done
	for mp in prog link; do
		echo "# bpf ${mp}s"
		out=$(bpftool "$mp" list) && awk -F: '/^[0-9]+:/{print $1}' <<<"$out" | sort -n ||
			echo "bpftool $mp list failed"
	done
	echo "# qdiscs"; tc qdisc show || echo "tc qdisc show failed"
}
# Programs and links of a test run just before may still be on their way
# out (the kernel frees them a little after their last reference goes): the
# snapshot is the first that a reading a second later agrees with (10 s at
# most), so their going is not counted as this run's change.
host_before=$(host_state)
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	host_again=$(host_state)
	[ "$host_again" = "$host_before" ] && break
	host_before=$host_again
done
STATE=$(t_tmpdir)
SUP_PIDS=()
stop_agents() {
	local p
	touch "$STATE/stop"
	for p in "${SUP_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	SUP_PIDS=()
}
# userspace mode keeps a state file per node in the machine's /run (named
# after the node's namespace): --cleanup each node before the rig goes.
node_state_cleanup() {
	local n
	[ "${mode:-}" = userspace ] || return 0
	for n in 1 2; do
		"$SVCPLANECTL" rig exec $R node$n -- "$TOP/svcplane" --mode userspace \
			$(node_flags $R node$n 2>/dev/null) --cleanup >/dev/null 2>&1
	done
}
trap 'stop_agents; node_state_cleanup; rig_cleanup' EXIT

declare -A RESULT=() REASON=() NOTYET=()
scenarios=()
for s in "$HERE"/scenarios/[0-9]*.sh; do	# CF_ONLY="05 23": just those
	[ -z "${CF_ONLY:-}" ] || [[ " $CF_ONLY " == *" $(basename "$s" | cut -c1-2) "* ]] || continue
	scenarios+=("$s")
done
for mode in "${modes[@]}"; do
	echo "== conformance: mode $mode"
	rm -f "$STATE/stop"
	f=$(t_tmpdir)/rig.yaml
	cat >"$f" <<Y
name: $R
nodes:
  - name: node1
    pods: [{name: a1, ports: [8080, 8081]}, {name: a2, ports: [8080, 8081]}, {name: a3, ports: [8080, 8081]}]
  - name: node2
    pods: [{name: b1, ports: [8080, 8081]}, {name: b2, ports: [8080, 8081]}, {name: b3, ports: [8080, 8081]}]
clients: [cl]
Y
	rig_up "$f"
	man=$(t_tmpdir)
	for n in 1 2; do
		bash "$HERE/supervise.sh" $R $n "$mode" "$man" "$STATE" &
		SUP_PIDS+=($!)
	done
	for n in 1 2; do
		wait_until 15 inns $R node$n curl -sf http://127.0.0.1:10256/healthz ||
			fail "agent on node$n never healthy: $(tail -3 "$STATE/agent$n.log")"
	done
	start=$(date +%s)
	for s in "${scenarios[@]}"; do
		id=$(basename "$s" .sh)
		rm -f "$man"/*.yaml
		for n in 1 2; do	# every scenario starts from an empty model
			wait_until 10 sh -c "$SVCPLANECTL rig exec $R node$n -- curl -sf http://127.0.0.1:10249/model | grep -q '\"servicePorts\":\[\]'" ||
				echo "  (node$n's model not empty before $id)"
		done
		rm -f "$STATE/notyet" "$STATE/unmarked" "$STATE/premise"
		out=$(CF_RIG=$R CF_MANIFESTS=$man CF_STATE=$STATE CF_MODE=$mode CF_NOTYET=$STATE/notyet \
			CF_UNMARKED=$STATE/unmarked CF_PREMISE=$STATE/premise timeout 120 bash "$s" 2>&1)
		rc=$?
		if [ -s "$STATE/unmarked" ]; then	# a cl step not written as from_cl: never a pass
			rc=1; out="FAIL $(head -1 "$STATE/unmarked")"
		fi
		case $rc in
		0) RESULT[$id,$mode]=pass
		   if [ -s "$STATE/notyet" ]; then
			NOTYET[$id,$mode]=$(awk '!seen[$0]++' "$STATE/notyet" | sed 's/^/    not-yet: /')
			REASON[$id,$mode]="cl: not-yet (part 2)"
		   fi
		   [ ! -s "$STATE/premise" ] || REASON[$id,$mode]="kernel NAT premise ($(head -1 "$STATE/premise"))" ;;
		77) RESULT[$id,$mode]=skip; REASON[$id,$mode]=$(grep -m1 '^SKIP' <<<"$out" | sed 's/^SKIP //') ;;
		*) RESULT[$id,$mode]=fail; REASON[$id,$mode]=$(grep -m1 '^FAIL' <<<"$out" | sed 's/^FAIL //')
		   [ -n "${REASON[$id,$mode]}" ] || REASON[$id,$mode]="exit $rc: $(tail -1 <<<"$out")" ;;
		esac
		printf '%-4s %-70s %s\n' "${RESULT[$id,$mode]}" "$(sed -n 's/^# scenario: //p' "$s")" "${REASON[$id,$mode]:-}"
		[ -z "${NOTYET[$id,$mode]:-}" ] || echo "${NOTYET[$id,$mode]}"
	done
	echo "  ($mode: $(( $(date +%s) - start )) s for ${#scenarios[@]} scenarios)"
	stop_agents
	node_state_cleanup
	rig_cleanup_one() { "$SVCPLANECTL" rig down $R >/dev/null 2>&1; }
	rig_cleanup_one
done

stop_agents
rig_cleanup >/dev/null 2>&1
trap t_cleanup EXIT
# A deleted namespace is torn down by the kernel after `ip netns del`
# returns: programs its devices held go a moment later. Wait (bounded).
for _ in $(seq 50); do
	host_after=$(host_state)
	[ "$host_after" = "$host_before" ] && break
	sleep 0.2
done
if [ "$host_after" != "$host_before" ]; then
	echo "FAIL conformance: the run changed this machine's namespaces, links, ruleset, cgroups, mounts, BPF programs or qdiscs:"
	diff <(echo "$host_before") <(echo "$host_after") | head -20
	RESULT[host-state,${modes[0]}]=fail
fi

out=$HERE/results.md
{
	printf '| scenario |'; printf ' %s |' "${modes[@]}"; echo
	printf '|---|'; for m in "${modes[@]}"; do printf -- '---|'; done; echo
	for s in "${scenarios[@]}"; do
		id=$(basename "$s" .sh)
		printf '| %s |' "$(sed -n 's/^# scenario: //p' "$s")"
		for m in "${modes[@]}"; do
			r=${RESULT[$id,$m]:-not run}
			if [ -n "${NOTYET[$id,$m]:-}" ]; then r="$r, ${REASON[$id,$m]}"
			elif [ -n "${REASON[$id,$m]:-}" ]; then r="$r: ${REASON[$id,$m]}"; fi
			printf ' %s |' "$r"
		done
		echo
	done
	if [ ${#NOTYET[@]} -gt 0 ]; then
		echo
		echo "Steps not run (not-yet, part 2: traffic from outside the nodes), by mode and scenario:"
		echo
		for m in "${modes[@]}"; do
			for s in "${scenarios[@]}"; do
				id=$(basename "$s" .sh)
				[ -n "${NOTYET[$id,$m]:-}" ] || continue
				sed "s/^    not-yet: /- $m, ${id%%_*}: \`/; s/\$/\`/" <<<"${NOTYET[$id,$m]}"
			done
		done
	fi
} >"$out"
passed=0 failed=0 skipped=0 notyet=0
for k in "${!RESULT[@]}"; do
	case ${RESULT[$k]} in
	pass) if [ -n "${NOTYET[$k]:-}" ]; then notyet=$((notyet + 1)); else passed=$((passed + 1)); fi ;;
	fail) failed=$((failed + 1)) ;;
	skip) skipped=$((skipped + 1)) ;;
	esac
done
[ -n "${CF_COUNTS:-}" ] && echo "$passed $failed $skipped $notyet" >"$CF_COUNTS"
echo "conformance: $passed pass, $failed fail, $skipped skip, $notyet pass with cl steps not-yet (part 2) (table in tests/conformance/results.md)"
[ $failed -eq 0 ]
