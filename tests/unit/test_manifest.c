/* test_manifest.c - splitting manifests into objects: YAML documents, JSON,
 * List and typed lists, unknown kinds, and per-object errors. */
#include "helpers.h"
#include "../../control/manifest.h"

#include <string.h>

struct seen {
	int services, slices, nodes, errors;
	char last_key[320];
};

static int collect(void *ctx, struct sp_manifest_item *it)
{
	struct seen *s = ctx;

	if (it->err) {
		s->errors++;
		return 0;
	}
	snprintf(s->last_key, sizeof(s->last_key), "%s", it->key);
	s->services += it->kind == SP_KIND_SERVICE;
	s->slices += it->kind == SP_KIND_SLICE;
	s->nodes += it->kind == SP_KIND_NODE;
	sp_manifest_item_free(it);
	return 0;
}

static int decode(const char *text, struct seen *s)
{
	struct sp_perr err = {0};

	memset(s, 0, sizeof(*s));
	return sp_manifest_decode(text, strlen(text), collect, s, &err);
}

#define SVC(n) "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" n "\"},\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":1}]}}"

START_TEST(test_manifest_decode_json_list_and_array)
{
	struct seen s;

	ck_assert_int_eq(decode("{\"kind\":\"List\",\"items\":[" SVC("a") "," SVC("b") "]}", &s), 0);
	ck_assert_int_eq(s.services, 2);
	ck_assert_int_eq(decode("[" SVC("a") "," SVC("b") "]", &s), 0);
	ck_assert_int_eq(s.services, 2);
	ck_assert_int_eq(decode("  " SVC("c") "\n", &s), 0);
	ck_assert_str_eq(s.last_key, "default/c");
}
END_TEST

START_TEST(test_manifest_decode_typed_list_items_without_kind)
{
	struct seen s;

	ck_assert_int_eq(decode("apiVersion: v1\nkind: ServiceList\nitems:\n"
				"- metadata: {name: x}\n  spec: {clusterIP: 10.0.0.1, ports: [{port: 1}]}\n",
				&s), 0);
	ck_assert_int_eq(s.services, 1);
	ck_assert_int_eq(s.errors, 0);
}
END_TEST

START_TEST(test_manifest_decode_skips_other_kinds_reports_bad_ones)
{
	struct seen s;

	ck_assert_int_eq(decode("kind: Deployment\nmetadata: {name: d}\n---\n"
				"kind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.1, ports: [{port: 0}]}\n"
				"---\n- just\n- a list\n", &s), 0);
	ck_assert_int_eq(s.services, 0);
	ck_assert_int_eq(s.errors, 2);
}
END_TEST

START_TEST(test_manifest_decode_rejects_trailing_json)
{
	struct seen s;

	ck_assert_int_eq(decode(SVC("a") " garbage", &s), -EINVAL);
	ck_assert_int_eq(decode("{\"kind\":", &s), -EINVAL);
}
END_TEST

Suite *suite_manifest(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_manifest_decode_json_list_and_array);
	tcase_add_test(tc, test_manifest_decode_typed_list_items_without_kind);
	tcase_add_test(tc, test_manifest_decode_skips_other_kinds_reports_bad_ones);
	tcase_add_test(tc, test_manifest_decode_rejects_trailing_json);
	suite_add_tcase(s, tc);
	return s;
}
