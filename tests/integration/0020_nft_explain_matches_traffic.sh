#!/usr/bin/env bash
# Test 0020 (explain_matches_traffic) in nftables mode; the checks are shared/0020_explain_matches_traffic.sh, run once per mode.
MODE=nftables
. "$(dirname "$0")/shared/0020_explain_matches_traffic.sh"
