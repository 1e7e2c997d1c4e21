#!/usr/bin/env bash
# scenario: 14. should respect internalTrafficPolicy=Local Pod to Pod
. "$(dirname "$0")/../lib.sh"
{ svc itp 198.19.128.114 '  internalTrafficPolicy: Local' '  ports: [{name: http, port: 80, targetPort: 8080}]'; slice itp a1 b1; } | apply itp
programmed '"internalTrafficPolicy":"Local"'
expect_pods a2 20 http://198.19.128.114/ "a1"
expect_pods b2 20 http://198.19.128.114/ "b1"
