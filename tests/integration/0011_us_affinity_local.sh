#!/usr/bin/env bash
# Test 0011 (affinity_local) in userspace mode; the checks are shared/0011_affinity_local.sh, run once per mode.
MODE=userspace
. "$(dirname "$0")/shared/0011_affinity_local.sh"
