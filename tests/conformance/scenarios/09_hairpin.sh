#!/usr/bin/env bash
# scenario: 9. should allow pods to hairpin back to themselves through services
. "$(dirname "$0")/../lib.sh"
{ svc hp 198.19.128.109; slice hp a1; } | apply hp
programmed '"cf/hp"'
expect_pods a1 10 http://198.19.128.109/ "a1"
{ svc hp 198.19.128.109; slice hp b1; } | apply hp
expect_pods b1 10 http://198.19.128.109/ "b1"
