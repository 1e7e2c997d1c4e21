#!/usr/bin/env bash
# --mode userspace against hostile peers. node1's agent runs with
# RLIMIT_NOFILE 512 (it cannot raise the hard limit here), so it takes at
# most (512 - 128 - 2) / 2 = 191 connections (two descriptors each, 128
# kept for the rest of the agent, one for each of its two listeners). Four cases, each with /healthz polled all
# along (it must answer, within 1 s, every time), the agent's RSS bounded
# and its CPU time low while it waits (no spin):
#  1. a flood of half-open connections: 600 clients connect and send
#     nothing; the agent holds 191, accepting pauses (the kernel's backlog
#     keeps the rest), and resumes as soon as they go: a new connection works.
#  2. clients that send and close at once: 300 that send 64 KiB and close,
#     300 that send and reset; every byte of the first reaches the endpoint,
#     and no connection, pipe or buffer is left behind.
#  3. an endpoint that accepts and hangs (never reads): 100 clients push
#     what they can; the agent holds at most one pipe or buffer each (the
#     direction that waits for the endpoint): pipes while it has
#     descriptors to spare, then buffers (none is reset for want of a
#     pipe). Those connections stay until the endpoint reads or closes (the
#     client's FIN waits behind its bytes, as a NAT's conntrack entry would
#     stay), within the limit.
#  4. at the end the echo service still works.
# (A client that never reads is 0052's firehose case.)
. "$(dirname "$0")/lib.sh"
MODE=userspace
rig2_test t54
PAYLOAD="python3 $TOP/tests/integration/payload.py"
HOSTILE="python3 $TOP/tests/integration/hostile.py"
svc_yaml() { # name clusterIP port ip...
	local n=$1 vip=$2 port=$3 ip; shift 3
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\nspec:\n  clusterIP: %s\n  ports: [{name: p, port: %s}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, namespace: t, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{name: p, port: %s}]\nendpoints:\n' "$n" "$vip" "$port" "$n" "$n" "$port"
	for ip in "$@"; do printf -- '- {addresses: [%s]}\n' "$ip"; done
}
svc_yaml echo 198.19.128.54 9000 198.18.2.10 | put "$dir/echo.yaml"
svc_yaml hang 198.19.128.55 9200 198.18.2.11 | put "$dir/hang.yaml"
inns $R b1 $PAYLOAD serve 9000 >/dev/null 2>&1 &
T_PIDS+=($!)
inns $R b2 $HOSTILE hang 9200 >/dev/null 2>&1 &
T_PIDS+=($!)
# node1's agent under a descriptor limit it cannot raise; node2's as usual.
AGENT_LOG_DIR=$(t_tmpdir)
flags=$(node_flags $R node1)
"$SVCPLANECTL" rig exec $R node1 -- prlimit --nofile=512:512 "$SVCPLANE" --mode userspace $flags \
	--hostname-override node1 --cluster-cidr 198.18.0.0/16 --min-sync-period 100ms --v 2 \
	--manifests "$dir" >>"$AGENT_LOG_DIR/agent1.log" 2>&1 &
AGENT_PID[1]=$!
T_PIDS+=($!)
agent_start $R 2 "$dir"
for n in 1 2; do
	wait_until 10 inns $R node$n curl -sf http://127.0.0.1:10256/healthz ||
		fail "agent on node$n never healthy: $(tail -3 "$AGENT_LOG_DIR/agent$n.log")"
done
metric() { inns $R node1 curl -sf http://127.0.0.1:10249/metrics | awk -v m="$1" '$1 == m {print $2}'; }
max=$(metric svcplane_userspace_connections_max)
[ "$max" = 191 ] || fail "connections_max with RLIMIT_NOFILE 512 and two listeners: $max, want 191"
wait_until 10 inns $R cl python3 -c 'import socket; socket.create_connection(("198.19.128.54", 9000), 1)' ||
	fail "the echo service never answered"

# /healthz polled all along: a line per failure or answer slower than 1 s.
( while :; do inns $R node1 curl -sf -m 1 -o /dev/null http://127.0.0.1:10256/healthz || echo "fail $(date +%T.%N)"; sleep 0.2; done ) >"$dir/hz" 2>&1 &
T_PIDS+=($!)
rss() { awk '/VmRSS/{print $2}' "/proc/${AGENT_PID[1]}/status"; }
cpu() { awk '{print $14 + $15}' "/proc/${AGENT_PID[1]}/stat"; }	# clock ticks
hz=$(getconf CLK_TCK)
rss0=$(rss)
# bounded RSS: at most 16 MiB above the start, whatever the case did.
rss_ok() { local r; r=$(rss); [ $((r - rss0)) -lt 16384 ] || fail "$1: agent RSS $rss0 → $r KiB"; echo "$r"; }
# idle_cpu WHAT: over 2 s of waiting the agent uses under 0.2 s of CPU.
idle_cpu() {
	local c0 c1
	c0=$(cpu); sleep 2; c1=$(cpu)
	[ $(( (c1 - c0) * 1000 / hz )) -lt 200 ] || fail "$1: the agent used $(( (c1 - c0) * 1000 / hz )) ms of CPU in 2 s (spinning?)"
}
series_key='service_port="t/echo:p/TCP/IPv4"'
pm() { inns $R node1 curl -sf http://127.0.0.1:10249/metrics | awk -v m="$1{$series_key}" '$1 == m {print $2}'; }

# --- 1. a flood of half-open connections ---
inns $R cl $HOSTILE hold 198.19.128.54 9000 600 6 >"$dir/hold" &
hold=$!
active_is() { [ "$(pm svcplane_userspace_connections_active)" = "$1" ]; }
wait_until 10 active_is 191 || fail "half-open flood: $(pm svcplane_userspace_connections_active) connections active, want the limit 191"
sleep 1
active_is 191 || fail "half-open flood: $(pm svcplane_userspace_connections_active) active after 1 s more, want 191 (the limit)"
idle_cpu "half-open flood, accepting paused"
r=$(rss_ok "half-open flood")
wait $hold
connected=$(cat "$dir/hold")
note "1. half-open flood: 600 clients, $connected connects completed (backlog), 191 held by the agent, RSS ${r} KiB"
wait_until 5 active_is 0 ||
	fail "half-open flood: connections still active after the clients left: $(pm svcplane_userspace_connections_active)"
out=$(inns $R cl $PAYLOAD run 198.19.128.54 9000 20 65536) || fail "after the flood: $out"

# --- 2. clients that send and close at once ---
in0=$(pm svcplane_userspace_bytes_received_total)
fin=$(inns $R cl $HOSTILE burst 198.19.128.54 9000 300 65536 fin) || fail "burst fin"
rst=$(inns $R cl $HOSTILE burst 198.19.128.54 9000 300 65536 rst) || fail "burst rst"
[ "$fin" = 300 ] && [ "$rst" = 300 ] || fail "send-and-close clients: $fin and $rst of 300 sent everything"
idle() { [ "$(pm svcplane_userspace_connections_active)" = 0 ] && [ "$(metric svcplane_userspace_pipes_in_use)" = 0 ] &&
	[ "$(metric svcplane_userspace_buffers_in_use)" = 0 ]; }
wait_until 10 idle || fail "send-and-close: active $(pm svcplane_userspace_connections_active), pipes $(metric svcplane_userspace_pipes_in_use), buffers $(metric svcplane_userspace_buffers_in_use) left behind"
in1=$(pm svcplane_userspace_bytes_received_total)
[ $((in1 - in0)) -ge $((300 * 65536)) ] || fail "send-and-close (fin): $((in1 - in0)) bytes reached the endpoint, want at least $((300 * 65536))"
r=$(rss_ok "send-and-close")
note "2. 300 send-and-close + 300 send-and-reset: $((in1 - in0)) bytes relayed, nothing left open, RSS ${r} KiB"

# --- 3. an endpoint that accepts and hangs ---
inns $R cl $HOSTILE push 198.19.128.55 9200 100 16777216 6 >"$dir/push" &
push=$!
sleep 4
pipes=$(metric svcplane_userspace_pipes_in_use)
bufs=$(metric svcplane_userspace_buffers_in_use)
held=$(( ${pipes:-999} + ${bufs:-999} ))
# Every path is full by now (the endpoint reads nothing): each connection
# holds the one pipe or buffer of the direction that waits, never more;
# 100 pipes do not fit beside 100 connections in 512 descriptors, so some
# wait in buffers.
[ "$held" -le 100 ] || fail "hanging endpoint: $pipes pipes and $bufs buffers for 100 connections (one each at most)"
[ "$held" -ge 50 ] || fail "hanging endpoint: $pipes pipes and $bufs buffers: the paths never filled (the case tested nothing)"
[ "${bufs:-0}" -ge 1 ] || fail "hanging endpoint: no buffers in use: the descriptors never ran short (the fallback untested)"
hang_active=$(inns $R node1 curl -sf http://127.0.0.1:10249/metrics |
	awk '$1 == "svcplane_userspace_connections_active{service_port=\"t/hang:p/TCP/IPv4\"}" {print $2}')
[ "$hang_active" = 100 ] || fail "hanging endpoint: $hang_active of 100 connections open (reset for want of a pipe?)"
idle_cpu "hanging endpoint"
r=$(rss_ok "hanging endpoint")
wait $push
note "3. hanging endpoint: 100 clients pushed $(cat "$dir/push") bytes, $pipes pipes and $bufs buffers held, RSS ${r} KiB"

# --- 4. responsive all along; the service still works ---
out=$(inns $R cl $PAYLOAD run 198.19.128.54 9000 20 65536) || fail "at the end: $out"
[ ! -s "$dir/hz" ] || fail "/healthz failed or was slow: $(head -3 "$dir/hz")"
note "/healthz answered within 1 s throughout"
exit 0
