#!/usr/bin/env bash
# supervise.sh RIG NODE-NUMBER MODE MANIFESTS STATE-DIR: run the agent on a
# rig node and start it again whenever it exits (as the kubelet restarts a
# DaemonSet pod), until STATE-DIR/stop exists. The agent's PID is kept in
# STATE-DIR/agentN.pid; its output goes to STATE-DIR/agentN.log.
rig=$1 n=$2 mode=$3 dir=$4 state=$5
top=$(cd "$(dirname "$0")/../.." && pwd)
child=""
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
while [ ! -e "$state/stop" ]; do
	ip netns exec "sp-$rig-node$n" "$top/svcplane" --mode "$mode" --manifests "$dir" \
		--hostname-override "node$n" --cluster-cidr 198.18.0.0/16,fd00:10::/48 \
		--min-sync-period 100ms --v 2 >>"$state/agent$n.log" 2>&1 &
	child=$!
	echo "$child" >"$state/agent$n.pid"
	wait "$child"
	child=""
	[ -e "$state/stop" ] || sleep 0.3
done
