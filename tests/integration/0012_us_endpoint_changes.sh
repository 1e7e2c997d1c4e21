#!/usr/bin/env bash
# Test 0012 (endpoint_changes) in userspace mode; the checks are shared/0012_endpoint_changes.sh, run once per mode.
MODE=userspace
. "$(dirname "$0")/shared/0012_endpoint_changes.sh"
