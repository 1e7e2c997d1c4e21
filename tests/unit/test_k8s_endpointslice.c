/* test_k8s_endpointslice.c - EndpointSlice parsing: conditions and their defaults. */
#include "helpers.h"
#include "../../control/k8s.h"

#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int slice(const char *json, struct sp_slice **out, struct sp_perr *err)
{
	cJSON *o = cJSON_Parse(json);
	int e;

	ck_assert_ptr_nonnull(o);
	memset(err, 0, sizeof(*err));
	e = sp_slice_parse(o, out, err);
	cJSON_Delete(o);
	return e;
}

START_TEST(test_slice_parse_conditions_defaults)
{
	struct sp_slice *s;
	struct sp_perr err;

	ck_assert_int_eq(slice("{\"metadata\":{\"name\":\"s\",\"namespace\":\"n\",\"labels\":"
			       "{\"kubernetes.io/service-name\":\"svc\"},\"annotations\":{"
			       "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2026-01-02T03:04:05.5+01:00\"}},"
			       "\"addressType\":\"IPv4\",\"endpoints\":["
			       "{\"addresses\":[\"10.0.0.1\",\"10.0.0.9\"]},"
			       "{\"addresses\":[\"10.0.0.2\"],\"conditions\":{\"ready\":false}},"
			       "{\"addresses\":[\"10.0.0.3\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true},"
			       "\"hints\":{\"forZones\":[{\"name\":\"z\"}],\"forNodes\":[{\"name\":\"n1\"}]}}],"
			       "\"ports\":[{\"name\":\"http\",\"port\":8080}]}", &s, &err), 0);
	ck_assert_str_eq(s->service_key, "n/svc");
	ck_assert(s->trigger_time == 1767319445.5);
	ck_assert(s->endpoints[0].ready && s->endpoints[0].serving && !s->endpoints[0].terminating);
	ck_assert(!s->endpoints[1].ready && !s->endpoints[1].serving);
	ck_assert(s->endpoints[2].serving && s->endpoints[2].terminating);
	ck_assert_str_eq(s->endpoints[2].for_zones.v[0], "z");
	ck_assert_str_eq(s->endpoints[2].for_nodes.v[0], "n1");
	ck_assert_int_eq(s->ports[0].protocol, IPPROTO_TCP);
	sp_slice_free(s);
}
END_TEST

START_TEST(test_slice_parse_fqdn_ignored)
{
	struct sp_slice *s;
	struct sp_perr err;

	ck_assert_int_eq(slice("{\"metadata\":{\"name\":\"s\",\"labels\":{\"kubernetes.io/service-name\":\"x\"}},"
			       "\"addressType\":\"FQDN\",\"endpoints\":[{\"addresses\":[\"example.com\"]}]}",
			       &s, &err), 0);
	ck_assert_int_eq(s->family, 0);
	ck_assert_uint_eq(s->n_endpoints, 0);
	sp_slice_free(s);
}
END_TEST

Suite *suite_k8s_endpointslice(void)
{
	Suite *s = suite_create("k8s_endpointslice");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_slice_parse_conditions_defaults);
	tcase_add_test(tc, test_slice_parse_fqdn_ignored);
	suite_add_tcase(s, tc);
	return s;
}
