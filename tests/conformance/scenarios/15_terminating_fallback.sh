#!/usr/bin/env bash
# scenario: 15. should fallback to terminating endpoints when there are no ready endpoints with internalTrafficPolicy=Cluster
. "$(dirname "$0")/../lib.sh"
{ svc term 198.19.128.115; slice term a1:terminating b1:terminating; } | apply term
programmed '"cf/term"'
from_cl expect_pods cl 30 http://198.19.128.115/ "a1 b1"
expect_pods b2 30 http://198.19.128.115/ "a1 b1"
# A ready endpoint beside them takes all new connections.
{ svc term 198.19.128.115; slice term a1:terminating b1:terminating a2; } | apply term
from_cl expect_pods cl 20 http://198.19.128.115/ "a2"
expect_pods b2 20 http://198.19.128.115/ "a2"
