/* test_health.c - the healthz / livez rule and bodies. */
#include "helpers.h"
#include "../../agent/health.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_health_rule)
{
	struct sp_health_state h;
	int code;
	char *body;
	cJSON *j;

	sp_health_init(&h, 30);
	ck_assert(!sp_health_ok(&h, 1000));	/* before the first sync */
	sp_health_updated(&h, 1000);
	ck_assert(sp_health_ok(&h, 1000));
	sp_health_queued(&h, 1001);
	ck_assert(sp_health_ok(&h, 1060));
	ck_assert(!sp_health_ok(&h, 1062));	/* waited > 2 × sync-period */
	body = sp_health_body(&h, 1062, false, &code);
	ck_assert_int_eq(code, 503);
	j = cJSON_Parse(body);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "lastUpdated"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "currentTime"));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "nodeEligible")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "healthy")));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "IPv4"));
	cJSON_Delete(j);
	free(body);
	sp_health_updated(&h, 1063);
	h.node_eligible = false;
	body = sp_health_body(&h, 1063, false, &code);
	ck_assert_int_eq(code, 503);		/* healthz: node being deleted */
	free(body);
	body = sp_health_body(&h, 1063, true, &code);
	ck_assert_int_eq(code, 200);		/* livez ignores eligibility */
	ck_assert_ptr_null(strstr(body, "nodeEligible"));
	free(body);
}
END_TEST

Suite *suite_health(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_health_rule);
	suite_add_tcase(s, tc);
	return s;
}
