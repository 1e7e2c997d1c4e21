#!/usr/bin/env bash
# scenario: 27. should check kube-proxy urls
. "$(dirname "$0")/../lib.sh"
for n in 1 2; do
	body=$(inns $R node$n curl -s -w '\n%{http_code}' http://198.19.0.$n:10256/healthz)
	[ "$(tail -1 <<<"$body")" = 200 ] || fail "node$n /healthz: $(tail -1 <<<"$body")"
	head -1 <<<"$body" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["lastUpdated"] and d["currentTime"]' ||
		fail "node$n /healthz body: $(head -1 <<<"$body")"
	mode=$(inns $R node$n curl -s http://127.0.0.1:10249/proxyMode)
	[ "$mode" = "$CF_MODE" ] || fail "node$n /proxyMode: '$mode', want $CF_MODE"
done
