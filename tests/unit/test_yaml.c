/* test_yaml.c - libyaml → cJSON: typing, documents, limits, errors. */
#include "helpers.h"
#include "../../control/k8s.h"
#include "../../control/yaml.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cJSON *load(const char *text, struct sp_perr *err)
{
	memset(err, 0, sizeof(*err));
	return sp_yaml_load(text, strlen(text), err);
}

START_TEST(test_yaml_load_scalars_typed_as_kubernetes_reads_them)
{
	struct sp_perr err;
	cJSON *d = load("a: 80\nb: \"80\"\nc: true\nd: ~\ne: 1.5\nf: 0x1F\ng: text\nh: 'true'\ni:\n", &err);
	cJSON *o = cJSON_GetArrayItem(d, 0);

	ck_assert_ptr_nonnull(d);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "a")));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "a")->valueint, 80);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "b")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "c")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "d")));
	ck_assert(cJSON_GetObjectItem(o, "e")->valuedouble == 1.5);
	ck_assert_int_eq(cJSON_GetObjectItem(o, "f")->valueint, 31);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "g")->valuestring, "text");
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "h")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "i")));
	cJSON_Delete(d);
}
END_TEST

START_TEST(test_yaml_load_multi_document_skips_empty)
{
	struct sp_perr err;
	cJSON *d = load("---\na: 1\n---\n---\nb: [1, 2]\n...\n", &err);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(cJSON_GetArraySize(d), 2);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "b")), 2);
	cJSON_Delete(d);
}
END_TEST

START_TEST(test_yaml_load_aliases_expand)
{
	struct sp_perr err;
	cJSON *d = load("base: &b {port: 80}\ncopy: *b\n", &err);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "copy"),
					     "port")->valueint, 80);
	cJSON_Delete(d);
}
END_TEST

START_TEST(test_yaml_load_billion_laughs_refused)
{
	struct sp_perr err;
	const char *bomb =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";

	ck_assert_ptr_null(load(bomb, &err));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "nodes"));
}
END_TEST

START_TEST(test_yaml_load_syntax_error_names_line)
{
	struct sp_perr err;

	ck_assert_ptr_null(load("a: 1\nb: [1, 2\nc: 3\n", &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "line "));
	ck_assert_ptr_null(load("a: 1\n\tb: 2\n", &err));
	ck_assert_ptr_null(sp_yaml_load("a\0b", 3, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "binary"));
}
END_TEST

START_TEST(test_yaml_load_deep_nesting_refused)
{
	struct sp_perr err;
	char buf[1024] = "";

	for (int i = 0; i < 200; i++)
		strcat(buf, "[");
	for (int i = 0; i < 200; i++)
		strcat(buf, "]");
	ck_assert_ptr_null(load(buf, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "nested"));
}
END_TEST

Suite *suite_yaml(void)
{
	Suite *s = suite_create("yaml");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_yaml_load_scalars_typed_as_kubernetes_reads_them);
	tcase_add_test(tc, test_yaml_load_multi_document_skips_empty);
	tcase_add_test(tc, test_yaml_load_aliases_expand);
	tcase_add_test(tc, test_yaml_load_billion_laughs_refused);
	tcase_add_test(tc, test_yaml_load_syntax_error_names_line);
	tcase_add_test(tc, test_yaml_load_deep_nesting_refused);
	suite_add_tcase(s, tc);
	return s;
}
