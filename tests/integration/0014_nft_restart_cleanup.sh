#!/usr/bin/env bash
# Test 0014 (restart_cleanup) in nftables mode; the checks are shared/0014_restart_cleanup.sh, run once per mode.
MODE=nftables
. "$(dirname "$0")/shared/0014_restart_cleanup.sh"
