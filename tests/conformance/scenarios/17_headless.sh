#!/usr/bin/env bash
# scenario: 17. should implement service.kubernetes.io/headless
# A service labelled headless (and one with clusterIP None) gets no rules,
# while the marker service beside them answers.
. "$(dirname "$0")/../lib.sh"
{
	printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: hl\n  namespace: cf\n  labels: {service.kubernetes.io/headless: ""}\nspec:\n  clusterIP: 198.19.128.117\n  ports: [{name: http, port: 80, targetPort: 8080}]\n'
	slice hl a1
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: none, namespace: cf}\nspec:\n  clusterIP: None\n  ports: [{name: http, port: 80, targetPort: 8080}]\n'
	slice none a2
	svc marker 198.19.128.217; slice marker b1
} | apply hl
programmed '"cf/marker"'
for n in 1 2; do
	model_lacks $R $n '"cf/hl"' || fail "node$n programs a service labelled headless (or its /model did not answer)"
	model_lacks $R $n '"cf/none"' || fail "node$n programs a clusterIP: None service (or its /model did not answer)"
done
from_cl expect_pods cl 5 http://198.19.128.217/ "b1"
from_cl no_answer cl http://198.19.128.117/ || fail "the headless-labelled service answers (cl)"
for m in a3 b3; do
	expect_pods $m 5 http://198.19.128.217/ "b1"
	no_answer $m http://198.19.128.117/ || fail "the headless-labelled service answers ($m)"
done
