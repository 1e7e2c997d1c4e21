#!/usr/bin/env bash
# scenario: 1. should serve a basic endpoint from pods
# Endpoints are added and removed while clients (outside the nodes, a pod on
# the other node, and that node itself) poll the ClusterIP.
. "$(dirname "$0")/../lib.sh"
U=http://198.19.128.101/
{ svc basic 198.19.128.101; slice basic; } | apply basic
programmed '"cf/basic"'
{ svc basic 198.19.128.101; slice basic a1; } | apply basic
from_cl expect_pods cl 10 $U "a1"
expect_pods b2 10 $U "a1"
expect_pods node2 10 $U "a1"
{ svc basic 198.19.128.101; slice basic a1 b1; } | apply basic
from_cl expect_pods cl 30 $U "a1 b1"
expect_pods b2 30 $U "a1 b1"
{ svc basic 198.19.128.101; slice basic b1; } | apply basic
from_cl expect_pods cl 20 $U "b1"
expect_pods b2 20 $U "b1"
