#!/usr/bin/env bash
# Test 0020 (explain_matches_traffic) in userspace mode; the checks are shared/0020_explain_matches_traffic.sh, run once per mode.
MODE=userspace
. "$(dirname "$0")/shared/0020_explain_matches_traffic.sh"
