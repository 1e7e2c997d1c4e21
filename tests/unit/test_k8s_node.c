/* test_k8s_node.c - Node parsing: zone, addresses, being deleted. */
#include "helpers.h"
#include "../../control/k8s.h"

#include <cjson/cJSON.h>

START_TEST(test_node_parse_zone_and_deleting)
{
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"topology.kubernetes.io/zone\":\"z1\"}},"
			       "\"spec\":{\"taints\":[{\"key\":\"ToBeDeletedByClusterAutoscaler\"}]},"
			       "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.1.1.1\"},"
			       "{\"type\":\"InternalIP\",\"address\":\"fd00::1\"},{\"type\":\"Hostname\",\"address\":\"n1\"}]}}");
	struct sp_node *n;
	struct sp_perr err;

	ck_assert_int_eq(sp_node_parse(o, &n, &err), 0);
	ck_assert_str_eq(n->zone, "z1");
	ck_assert_uint_eq(n->internal_ips.n, 2);
	ck_assert(n->deleting);
	sp_node_free(n);
	cJSON_Delete(o);
}
END_TEST

Suite *suite_k8s_node(void)
{
	Suite *s = suite_create("k8s_node");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_node_parse_zone_and_deleting);
	suite_add_tcase(s, tc);
	return s;
}
