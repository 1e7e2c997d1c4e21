#!/usr/bin/env bash
# Test 0010 (service_types) in nftables mode; the checks are shared/0010_service_types.sh, run once per mode.
MODE=nftables
. "$(dirname "$0")/shared/0010_service_types.sh"
