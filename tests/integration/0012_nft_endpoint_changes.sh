#!/usr/bin/env bash
# Test 0012 (endpoint_changes) in nftables mode; the checks are shared/0012_endpoint_changes.sh, run once per mode.
MODE=nftables
. "$(dirname "$0")/shared/0012_endpoint_changes.sh"
