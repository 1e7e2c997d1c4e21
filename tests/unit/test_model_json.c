/* test_model_json.c - the model's JSON form round-trips; a bad field is named. */
#include "helpers.h"
#include "../../common/hmap.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

START_TEST(test_model_json_round_trip)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m, back;
	struct sp_perr err;
	char why[256];
	char *txt;
	cJSON *j;

	captured_log_open(&lg);
	load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	txt = sp_model_to_text(&m, false);
	ck_assert_ptr_nonnull(txt);
	j = cJSON_Parse(txt);
	ck_assert_int_eq(sp_model_init(&back), 0);
	ck_assert_int_eq(sp_model_from_json(&back, j, &err), 0);
	ck_assert_msg(sp_model_equal(&m, &back, why, sizeof(why)), "%s", why);
	/* One change is noticed and named. */
	((struct sp_svc_port *)sp_hmap_get(back.ports, "shop/web:http/TCP/IPv4"))->eps[0].port = 1;
	ck_assert(!sp_model_equal(&m, &back, why, sizeof(why)));
	ck_assert_str_eq(why, "shop/web:http/TCP/IPv4: endpoints differ");
	cJSON_Delete(j);
	free(txt);
	sp_model_fini(&back);
	sp_model_fini(&m);
	sp_store_fini(&st);
	captured_log_close(&lg);
}
END_TEST

START_TEST(test_model_from_json_bad_field_named)
{
	struct sp_model m;
	struct sp_perr err = {0};
	cJSON *j = cJSON_Parse("{\"servicePorts\":[{\"service\":\"a/b\",\"port\":80,"
			       "\"endpoints\":[{\"ip\":\"10.0.0.300\",\"port\":1}]}]}");

	ck_assert_int_eq(sp_model_init(&m), 0);
	ck_assert_int_eq(sp_model_from_json(&m, j, &err), -EINVAL);
	ck_assert_str_eq(err.field, "servicePorts[0].endpoints[0].ip");
	cJSON_Delete(j);
	sp_model_fini(&m);
}
END_TEST

Suite *suite_model_json(void)
{
	Suite *s = suite_create("model_json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_model_json_round_trip);
	tcase_add_test(tc, test_model_from_json_bad_field_named);
	suite_add_tcase(s, tc);
	return s;
}
