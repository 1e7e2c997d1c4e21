#!/usr/bin/env bash
# Test 0014 (restart_cleanup) in userspace mode; the checks are shared/0014_restart_cleanup.sh, run once per mode.
MODE=userspace
. "$(dirname "$0")/shared/0014_restart_cleanup.sh"
