#!/usr/bin/env bash
# Test 0010 (service_types) in userspace mode; the checks are shared/0010_service_types.sh, run once per mode.
MODE=userspace
. "$(dirname "$0")/shared/0010_service_types.sh"
