/* test_k8s_service.c - Service parsing and validation. */
#include "helpers.h"
#include "../../control/k8s.h"

#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int svc(const char *json, struct sp_service **out, struct sp_perr *err)
{
	cJSON *o = cJSON_Parse(json);
	int e;

	ck_assert_ptr_nonnull(o);
	memset(err, 0, sizeof(*err));
	e = sp_service_parse(o, out, err);
	cJSON_Delete(o);
	return e;
}

START_TEST(test_svc_parse_defaults)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":\"10.0.0.1\","
			     "\"ports\":[{\"port\":80}]}}", &s, &err), 0);
	ck_assert_str_eq(s->key, "default/a");
	ck_assert_int_eq(s->type, SP_SVC_CLUSTER_IP);
	ck_assert_int_eq(s->ports[0].protocol, IPPROTO_TCP);
	ck_assert_int_eq(s->ports[0].target_port, 80);
	ck_assert_int_eq(s->affinity_client_ip, false);
	ck_assert_int_eq(s->affinity_timeout, 10800);
	ck_assert_int_eq(s->etp, SP_POLICY_CLUSTER);
	ck_assert_uint_eq(s->cluster_ips.n, 1);
	sp_service_free(s);
}
END_TEST

START_TEST(test_svc_parse_dual_stack_and_families)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":{"
			     "\"clusterIP\":\"fd00::1\",\"clusterIPs\":[\"fd00::1\",\"10.0.0.1\"],"
			     "\"ipFamilies\":[\"IPv6\",\"IPv4\"],\"ports\":[{\"port\":80}]}}", &s, &err), 0);
	ck_assert_uint_eq(s->cluster_ips.n, 2);
	ck_assert_int_eq(s->cluster_ips.v[0].family, AF_INET6);
	sp_service_free(s);
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIPs\":[\"10.0.0.1\",\"10.0.0.2\"],"
			     "\"ports\":[{\"port\":80}]}}", &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "spec.clusterIPs[1]");
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":\"10.0.0.1\","
			     "\"clusterIPs\":[\"10.0.0.2\"],\"ports\":[{\"port\":80}]}}", &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "spec.clusterIPs[0]");
}
END_TEST

START_TEST(test_svc_parse_headless_and_labels)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"clusterIP\":\"None\"}}", &s, &err), 0);
	ck_assert(s->headless);
	sp_service_free(s);
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"p\",\"labels\":{\"service.kubernetes.io/service-proxy-name\":\"x\"}},"
			     "\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":1}]}}", &s, &err), 0);
	ck_assert(s->ignored);
	sp_service_free(s);
}
END_TEST

START_TEST(test_svc_parse_target_port_forms)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"t\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":["
			     "{\"name\":\"a\",\"port\":80,\"targetPort\":\"http\"},"
			     "{\"name\":\"b\",\"port\":81,\"targetPort\":\"8081\"},"
			     "{\"name\":\"c\",\"port\":82,\"targetPort\":8082}]}}", &s, &err), 0);
	ck_assert_str_eq(s->ports[0].target_name, "http");
	ck_assert_int_eq(s->ports[1].target_port, 8081);
	ck_assert_int_eq(s->ports[2].target_port, 8082);
	sp_service_free(s);
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"t\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":["
			     "{\"port\":80,\"targetPort\":\"Not_A_Name\"}]}}", &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "spec.ports[0].targetPort");
}
END_TEST

START_TEST(test_svc_parse_duplicate_ports)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"d\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":["
			     "{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":80}]}}", &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "spec.ports[1]");
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"d\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":["
			     "{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":80,\"protocol\":\"UDP\"}]}}",
			     &s, &err), 0);
	sp_service_free(s);
}
END_TEST

START_TEST(test_svc_parse_bad_name)
{
	struct sp_service *s;
	struct sp_perr err;

	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{}}", &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "metadata.name");
	ck_assert_int_eq(svc("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80.5}]}}",
			     &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "spec.ports[0].port");
}
END_TEST

Suite *suite_k8s_service(void)
{
	Suite *s = suite_create("k8s_service");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_svc_parse_defaults);
	tcase_add_test(tc, test_svc_parse_dual_stack_and_families);
	tcase_add_test(tc, test_svc_parse_headless_and_labels);
	tcase_add_test(tc, test_svc_parse_target_port_forms);
	tcase_add_test(tc, test_svc_parse_duplicate_ports);
	tcase_add_test(tc, test_svc_parse_bad_name);
	suite_add_tcase(s, tc);
	return s;
}
