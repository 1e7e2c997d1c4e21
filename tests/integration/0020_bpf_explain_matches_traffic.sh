#!/usr/bin/env bash
# Test 0020 (explain_matches_traffic) in bpf mode; the checks are shared/0020_explain_matches_traffic.sh, run once per mode.
MODE=bpf
. "$(dirname "$0")/shared/0020_explain_matches_traffic.sh"
