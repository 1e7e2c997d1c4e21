/* test_yaml.c - libyaml → cJSON: typing, documents, limits, errors. */
#include "helpers.h"
#include "../../control/k8s.h"
#include "../../control/yaml.h"
#include "../../common/clock.h"

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
	ck_assert_ptr_nonnull(strstr(err.msg, "bytes"));
}
END_TEST

/* 100 KB leaves referenced 10,000 times: few nodes, a gigabyte of text. */
START_TEST(test_yaml_load_alias_bomb_large_leaves_refused_by_bytes)
{
	struct sp_perr err;
	size_t leaf = 100000, refs = 10000, n = 0;
	char *buf = malloc(leaf + refs * 4 + 64);
	double t0 = sp_now_mono();

	n += sprintf(buf + n, "a: &a ");
	memset(buf + n, 'x', leaf);
	n += leaf;
	n += sprintf(buf + n, "\nb: [");
	for (size_t i = 0; i < refs; i++)
		n += sprintf(buf + n, "*a,");
	n += sprintf(buf + n, "*a]\n");
	ck_assert_ptr_null(sp_yaml_load(buf, n, &err));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(err.msg, "aliases expand to more than"), "%s", err.msg);
	ck_assert_msg(sp_now_mono() - t0 < 5, "took %.1f s", sp_now_mono() - t0);
	free(buf);
}
END_TEST

/* An anchor inside a value that a repeated key replaces stays usable. */
START_TEST(test_yaml_load_alias_into_replaced_value)
{
	struct sp_perr err;
	cJSON *d = load("a: {x: &x [1, 2]}\na: 3\nb: *x\n", &err);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "b")), 2);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "a")->valueint, 3);
	cJSON_Delete(d);
	ck_assert_ptr_null(load("a: *nope\n", &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown"));
	ck_assert_ptr_null(load("a: &r [1, *r]\n", &err));
}
END_TEST

/* Deep nesting of each kind, 1 MiB of it, is refused at once: the limit holds
 * on the event stream (libyaml's composer took minutes on such a file). */
START_TEST(test_yaml_load_deep_nesting_1mib_refused_fast)
{
	static const char *const opens[] = { "[", "{a: ", "- ", "a:\n" };
	size_t max = 1u << 20;
	char *buf = malloc(max + 16);

	for (size_t k = 0; k < sizeof(opens) / sizeof(opens[0]); k++) {
		struct sp_perr err = {0};
		size_t n = 0, l = strlen(opens[k]);
		double t0;

		for (int depth = 0; n + l + depth < max; depth++) {
			if (opens[k][0] == 'a' && opens[k][1] == ':') {
				memset(buf + n, ' ', (size_t)depth);	/* block mapping: indent */
				n += (size_t)depth;
			}
			memcpy(buf + n, opens[k], l);
			n += l;
		}
		buf[n++] = 'x';
		t0 = sp_now_mono();
		ck_assert_ptr_null(sp_yaml_load(buf, n, &err));
		ck_assert_msg(sp_now_mono() - t0 < 2, "%s: took %.2f s", opens[k], sp_now_mono() - t0);
		ck_assert_msg(strstr(err.msg, "nested"), "%s: %s", opens[k], err.msg);
	}
	free(buf);
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
	tcase_add_test(tc, test_yaml_load_alias_bomb_large_leaves_refused_by_bytes);
	tcase_add_test(tc, test_yaml_load_alias_into_replaced_value);
	tcase_add_test(tc, test_yaml_load_deep_nesting_1mib_refused_fast);
	suite_add_tcase(s, tc);
	return s;
}
