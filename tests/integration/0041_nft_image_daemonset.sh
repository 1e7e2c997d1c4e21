#!/usr/bin/env bash
# Test 0041 (image_daemonset) in nftables mode; the checks are shared/0041_image_daemonset.sh, run once per mode.
MODE=nftables
. "$(dirname "$0")/shared/0041_image_daemonset.sh"
