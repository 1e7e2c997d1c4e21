#!/usr/bin/env bash
# supervise.sh RIG NODE-NUMBER MODE MANIFESTS STATE-DIR: run the agent on a
# rig node and start it again whenever it exits (as the kubelet restarts a
# DaemonSet pod), until STATE-DIR/stop exists. The agent's PID is kept in
# STATE-DIR/agentN.pid; its output goes to STATE-DIR/agentN.log. The agent
# runs in the node's namespace and cgroup (`rig exec`) with the node's cgroup
# and pin dir as --cgroup-path and --bpf-pin-path.
rig=$1 n=$2 mode=$3 dir=$4 state=$5
top=$(cd "$(dirname "$0")/../.." && pwd)
ctl=$top/svcplanectl
cg=$("$ctl" rig path "$rig" "node$n" cgroup) && pin=$("$ctl" rig path "$rig" "node$n" bpf-pin) ||
	{ echo "supervise: no cgroup or pin dir for node$n of rig $rig" >>"$state/agent$n.log"; exit 1; }
child=""
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
while [ ! -e "$state/stop" ]; do
	"$ctl" rig exec "$rig" "node$n" -- "$top/svcplane" --mode "$mode" --manifests "$dir" \
		--cgroup-path "$cg" --bpf-pin-path "$pin" \
		--hostname-override "node$n" --cluster-cidr 198.18.0.0/16,fd00:10::/48 \
		--min-sync-period 100ms --v 2 >>"$state/agent$n.log" 2>&1 &
	child=$!
	echo "$child" >"$state/agent$n.pid"
	# A deliberate kill (scenario 18's kill -9) is noted in the agent's log,
	# not as bash's "Killed" line among the results.
	wait "$child" 2>/dev/null
	rc=$?
	[ $rc -gt 128 ] && echo "supervise: the agent was killed by signal $((rc - 128)); restarting" >>"$state/agent$n.log"
	child=""
	[ -e "$state/stop" ] || sleep 0.3
done
