#!/usr/bin/env bash
# scenario: 10. should be rejected when no endpoints exist
# Refused at once, not left to time out: the client's connect fails with
# ECONNREFUSED within 2 s (the errno the client sees; curl's exit 7 would
# also be EPERM). From outside (a TCP reset or ICMP unreachable), from a pod
# on each node and from a node (in bpf mode: the connect hook's verdict).
. "$(dirname "$0")/../lib.sh"
{ svc noep 198.19.128.110; slice noep; } | apply noep
programmed '"cf/noep"'
must_refuse() { local out; out=$(refused $1 198.19.128.110 80) || fail "$1: $out, want ECONNREFUSED within 2 s"; }
from_cl must_refuse cl
for m in a1 b1 node2; do must_refuse $m; done
