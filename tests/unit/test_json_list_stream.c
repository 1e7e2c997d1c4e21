/* test_json_list_stream.c - list responses cut into items as they arrive:
 * any split gives the same items, strings and keys do not confuse it, bad
 * JSON and non-lists are refused, one item and the nesting are bounded. */
#include "helpers.h"
#include "../../control/json_list_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What came out of one document: items and metadata, concatenated with '|'. */
struct got {
	char items[1024];
	char md[256];
	int n;
	bool count_only;
};

static int got_part(void *ctx, enum sp_json_list_part part, char *json, size_t len)
{
	struct got *g = ctx;

	ck_assert_uint_eq(strlen(json), len);
	if (part == SP_JSON_LIST_METADATA) {
		snprintf(g->md, sizeof(g->md), "%s", json);
		return 0;
	}
	if (g->count_only) {
		g->n++;
		return 0;
	}
	ck_assert_uint_lt(strlen(g->items) + len + 1, sizeof(g->items));
	if (g->n++)
		strcat(g->items, "|");
	strcat(g->items, json);
	return 0;
}

/* @doc fed in pieces of @step bytes (0: random sizes from @seed). Returns
 * the error (feed or finish); *@g what came out. */
static int run(const char *doc, size_t max, size_t step, unsigned seed, struct got *g)
{
	struct sp_json_list_stream s;
	size_t n = strlen(doc), at = 0;
	int e = 0;

	memset(g, 0, sizeof(*g));
	sp_json_list_stream_init(&s, max);
	while (at < n && !e) {
		size_t k = step ? step : 1 + (size_t)rand_r(&seed) % 17;

		if (k > n - at)
			k = n - at;
		e = sp_json_list_stream_feed(&s, doc + at, k, got_part, g);
		at += k;
	}
	if (!e)
		e = sp_json_list_stream_finish(&s);
	sp_json_list_stream_fini(&s);
	return e;
}

static const char tricky[] =
	"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":["
	"{\"metadata\":{\"name\":\"a]}\\\"{[\"},\"x\":[1,-2.5e+3,0,true,false,null,\"\\u00e9\\\\\"]},"
	" {\"s\":\"}}]]\",\"n\":{\"items\":[{\"deep\":[[[]]]}]}} ,\n\t\"plain\" , 42 ,null],"
	"\"other\":{\"items\":[1,2],\"metadata\":{}},"
	"\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"c]\\\"\"}}\n";
static const char tricky_items[] =
	"{\"metadata\":{\"name\":\"a]}\\\"{[\"},\"x\":[1,-2.5e+3,0,true,false,null,\"\\u00e9\\\\\"]}|"
	"{\"s\":\"}}]]\",\"n\":{\"items\":[{\"deep\":[[[]]]}]}}|\"plain\"|42|null";
static const char tricky_md[] = "{\"resourceVersion\":\"7\",\"continue\":\"c]\\\"\"}";

START_TEST(test_json_list_stream_split_anywhere)
{
	size_t n = strlen(tricky);
	struct got g;

	/* whole, byte by byte, in random pieces: the same items */
	ck_assert_int_eq(run(tricky, 4096, n, 0, &g), 0);
	ck_assert_str_eq(g.items, tricky_items);
	ck_assert_str_eq(g.md, tricky_md);
	ck_assert_int_eq(run(tricky, 4096, 1, 0, &g), 0);
	ck_assert_str_eq(g.items, tricky_items);
	ck_assert_str_eq(g.md, tricky_md);
	for (unsigned seed = 1; seed < 200; seed++) {
		ck_assert_int_eq(run(tricky, 4096, 0, seed, &g), 0);
		ck_assert_str_eq(g.items, tricky_items);
		ck_assert_str_eq(g.md, tricky_md);
	}
	/* cut in two at every byte */
	for (size_t cut = 0; cut <= n; cut++) {
		struct sp_json_list_stream s;

		memset(&g, 0, sizeof(g));
		sp_json_list_stream_init(&s, 4096);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, tricky, cut, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, tricky + cut, n - cut, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_finish(&s), 0);
		ck_assert_str_eq(g.items, tricky_items);
		sp_json_list_stream_fini(&s);
	}
}
END_TEST

START_TEST(test_json_list_stream_keys_any_order)
{
	struct got g;

	ck_assert_int_eq(run("{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"a\":1}],\"kind\":\"L\"}",
			     4096, 0, 3, &g), 0);
	ck_assert_str_eq(g.md, "{\"resourceVersion\":\"1\"}");
	ck_assert_str_eq(g.items, "{\"a\":1}");
	ck_assert_int_eq(run("{\"items\":[{\"a\":1},{\"b\":2}],\"metadata\":{\"continue\":\"x\"}}", 4096, 1, 0,
			     &g), 0);
	ck_assert_str_eq(g.md, "{\"continue\":\"x\"}");
	ck_assert_str_eq(g.items, "{\"a\":1}|{\"b\":2}");
	/* "items" deeper than the list's own members is not the list's */
	ck_assert_int_eq(run("{\"spec\":{\"items\":[{\"no\":1}]},\"items\":[]}", 4096, 1, 0, &g), 0);
	ck_assert_int_eq(g.n, 0);
	/* a name written with escapes, or longer, is another member */
	ck_assert_int_eq(run("{\"it\\u0065ms\":[{\"no\":1}],\"itemsX\":[2],\"items\":[3]}", 4096, 1, 0, &g), 0);
	ck_assert_str_eq(g.items, "3");
	/* no metadata at all */
	ck_assert_int_eq(run("{\"items\":[{}]}", 4096, 2, 0, &g), 0);
	ck_assert_str_eq(g.md, "");
	ck_assert_str_eq(g.items, "{}");
}
END_TEST

START_TEST(test_json_list_stream_empty_null_absent_items)
{
	struct got g;

	ck_assert_int_eq(run("{\"items\":[]}", 4096, 1, 0, &g), 0);
	ck_assert_int_eq(g.n, 0);
	ck_assert_int_eq(run(" {\"items\" : [ ] , \"metadata\" : null } ", 4096, 1, 0, &g), 0);
	ck_assert_int_eq(g.n, 0);
	ck_assert_int_eq(run("{\"items\":null}", 4096, 1, 0, &g), 0);	/* Go's nil slice */
	ck_assert_int_eq(g.n, 0);
	/* no "items": not a list (an empty one would remove every object) */
	ck_assert_int_eq(run("{\"kind\":\"Status\",\"metadata\":{}}", 4096, 1, 0, &g), -EINVAL);
	ck_assert_int_eq(run("{}", 4096, 1, 0, &g), -EINVAL);
}
END_TEST

START_TEST(test_json_list_stream_malformed)
{
	static const char *const bad[] = {
		"", "   ", "{", "{\"items\":[{\"a\":1}", "{\"items\":[{\"a\":1}]", "{\"items\":[\"ab",
		"{\"items\":[}]}", "{\"items\":[{]}}", "{\"items\":[{\"a\":1]]}", "{\"items\":[]]",
		"{\"items\":[]} x", "{\"items\":[]}{}", "{\"items\":[]},", "[1]", "\"items\"", "null",
		"{\"items\":{}}", "{\"items\":1}", "{\"items\":\"[]\"}", "{\"metadata\":[],\"items\":[]}",
		"{\"items\":[],\"items\":[]}", "{\"items\":[],\"metadata\":{},\"metadata\":{}}",
		"{\"items\":[1 2]}", "{\"items\":[1,]}", "{\"items\":[,1]}", "{\"items\":[01]}",
		"{\"items\":[-]}", "{\"items\":[1.]}", "{\"items\":[1e]}", "{\"items\":[1e+]}",
		"{\"items\":[.5]}", "{\"items\":[+1]}", "{\"items\":[tru]}", "{\"items\":[nul]}",
		"{\"items\":[True]}", "{\"items\":[\"\x01\"]}", "{\"items\":[\"\\q\"]}",
		"{\"items\":[\"\\u12g4\"]}", "{\"items\":['a']}", "{\"a\" 1,\"items\":[]}",
		"{,\"items\":[]}", "{\"items\":[],}", "{\"a\":1 \"items\":[]}", "{items:[]}",
		"{\"items\":[{\"a\"}]}", "{\"items\":[{1:2}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct got g;

		for (size_t step = 1; step <= 3; step++) {
			int e = run(bad[i], 4096, step, 0, &g);

			if (e != -EINVAL)
				ck_abort_msg("%s: %d, want -EINVAL", bad[i], e);
		}
	}
	/* an embedded NUL ends nothing: it is a byte that is not JSON */
	{
		struct sp_json_list_stream s;
		struct got g = {0};

		sp_json_list_stream_init(&s, 4096);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "{\"items\":[]}\0", 13, got_part, &g), -EINVAL);
		ck_assert_ptr_nonnull(strstr(sp_json_list_stream_error(&s), "at byte 12"));
		/* sticky: later input is not read */
		ck_assert_int_eq(sp_json_list_stream_feed(&s, " ", 1, got_part, &g), -EINVAL);
		ck_assert_int_eq(sp_json_list_stream_finish(&s), -EINVAL);
		/* reset: a new document */
		sp_json_list_stream_reset(&s);
		ck_assert_str_eq(sp_json_list_stream_error(&s), "");
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "{\"items\":[1]}", 13, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_finish(&s), 0);
		ck_assert_str_eq(g.items, "1");
		sp_json_list_stream_fini(&s);
	}
}
END_TEST

START_TEST(test_json_list_stream_oversize_item)
{
	char doc[512], item[65];
	struct got g;

	/* an item of exactly the bound is read; one byte more refuses the page */
	memset(item, 'x', sizeof(item));
	snprintf(doc, sizeof(doc), "{\"items\":[\"%.62s\",{}]}", item);
	ck_assert_int_eq(run(doc, 64, 0, 9, &g), 0);
	ck_assert_int_eq(g.n, 2);
	snprintf(doc, sizeof(doc), "{\"items\":[{},\"%.63s\",{}]}", item);
	for (size_t step = 1; step < 80; step += 7) {
		struct sp_json_list_stream s;
		size_t n = strlen(doc), at = 0;
		int e = 0;

		memset(&g, 0, sizeof(g));
		sp_json_list_stream_init(&s, 64);
		for (; at < n && !e; at += step)
			e = sp_json_list_stream_feed(&s, doc + at, at + step > n ? n - at : step, got_part, &g);
		ck_assert_int_eq(e, -E2BIG);
		ck_assert_int_eq(g.n, 1);	/* the one before it */
		ck_assert_ptr_nonnull(strstr(sp_json_list_stream_error(&s), "an item larger than 64 bytes"));
		ck_assert_uint_le(s.cap, 4096);	/* never more than the bound (or the first allocation) */
		sp_json_list_stream_fini(&s);
	}
	/* metadata is bounded alike */
	snprintf(doc, sizeof(doc), "{\"metadata\":{\"continue\":\"%.63s\"},\"items\":[]}", item);
	ck_assert_int_eq(run(doc, 64, 5, 0, &g), -E2BIG);
	/* a page of any size is read with one item's memory: 1 MiB of items */
	{
		struct sp_json_list_stream s;

		memset(&g, 0, sizeof(g));
		g.count_only = true;
		sp_json_list_stream_init(&s, 64);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "{\"items\":[0", 11, got_part, &g), 0);
		for (int i = 0; i < 100000; i++)
			ck_assert_int_eq(sp_json_list_stream_feed(&s, ",{\"a\":[1]}", 10, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "]}", 2, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_finish(&s), 0);
		ck_assert_uint_le(s.cap, 4096);
		ck_assert_int_eq(g.n, 100001);
		sp_json_list_stream_fini(&s);
	}
}
END_TEST

/* @depth containers nested in the list's first item (the list and "items"
 * are two more). */
static int nested_item(size_t depth, bool closed)
{
	size_t n = 10 + 2 * depth + 3;
	char *doc = malloc(n + 1), *p = doc;
	struct got g;
	int e;

	p += sprintf(p, "{\"items\":[");
	memset(p, '[', depth);
	p += depth;
	if (closed) {
		memset(p, ']', depth);
		p += depth;
		p += sprintf(p, "]}");
	}
	*p = '\0';
	e = run(doc, 1u << 20, 1000, 0, &g);
	free(doc);
	return e;
}

START_TEST(test_json_list_stream_deep_nesting)
{
	struct sp_json_list_stream s;
	struct got g = {0};

	ck_assert_int_eq(nested_item(SP_JSON_LIST_MAX_DEPTH - 2, true), 0);
	ck_assert_int_eq(nested_item(SP_JSON_LIST_MAX_DEPTH - 1, true), -ELOOP);
	ck_assert_int_eq(nested_item(100000, false), -ELOOP);	/* refused as it opens */
	/* a member that is not copied is bounded alike, and early */
	sp_json_list_stream_init(&s, 64);
	ck_assert_int_eq(sp_json_list_stream_feed(&s, "{\"kind\":", 8, got_part, &g), 0);
	ck_assert_int_eq(sp_json_list_stream_feed(&s, "[", 1, got_part, &g), 0);
	for (int i = 0; i < SP_JSON_LIST_MAX_DEPTH - 2; i++)
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "[", 1, got_part, &g), 0);
	ck_assert_int_eq(sp_json_list_stream_feed(&s, "[", 1, got_part, &g), -ELOOP);
	ck_assert_ptr_nonnull(strstr(sp_json_list_stream_error(&s), "nested deeper than 128 levels"));
	sp_json_list_stream_fini(&s);
}
END_TEST

/* @doc fed in pieces of @step bytes with at most @max_values values an element. */
static int run_values(const char *doc, size_t max_values, size_t step, struct got *g, char *why,
		      size_t whysz)
{
	struct sp_json_list_stream s;
	size_t n = strlen(doc), at = 0;
	int e = 0;

	memset(g, 0, sizeof(*g));
	sp_json_list_stream_init(&s, 4096);
	s.max_values = max_values;
	for (; at < n && !e; at += step)
		e = sp_json_list_stream_feed(&s, doc + at, at + step > n ? n - at : step, got_part, g);
	if (!e)
		e = sp_json_list_stream_finish(&s);
	snprintf(why, whysz, "%s", sp_json_list_stream_error(&s));
	sp_json_list_stream_fini(&s);
	return e;
}

/* An element's values are counted as cJSON would make nodes of them (the
 * element, and every value it holds; member names are not values), and an
 * element of more than the bound refuses the page, however it is split;
 * values outside the items and the metadata are not counted. */
START_TEST(test_json_list_stream_values_bounded)
{
	/* 11 values: the array, 0, [], {}, {"a":..}, [1,2], 1, 2, "s", true, null */
	static const char doc[] = "{\"kind\":\"L\",\"other\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
				  "\"items\":[[0, [ ] ,{},{\"a\":[1,2]},\"s,[{\\\"\",true,null],1,"
				  "{\"b\":{\"c\":[[],[]]}}],\"metadata\":{\"resourceVersion\":\"1\"}}";
	char why[128], want[128];
	struct got g;

	snprintf(want, sizeof(want), "an item of more than 10 JSON values (from byte %zu)",
		 (size_t)(strstr(doc, "\"items\":[") + 9 - doc));
	for (size_t step = 1; step <= sizeof(doc); step += 5) {
		ck_assert_int_eq(run_values(doc, 11, step, &g, why, sizeof(why)), 0);
		ck_assert_int_eq(g.n, 3);
		ck_assert_int_eq(run_values(doc, 10, step, &g, why, sizeof(why)), -E2BIG);
		ck_assert_int_eq(g.n, 0);
		ck_assert_str_eq(why, want);
	}
	/* the count starts again at each item: the third has 6 values */
	ck_assert_int_eq(run_values("{\"items\":[[1,2,3,4,5],[1,2,3,4,5],{\"b\":{\"c\":[[],[]]}}]}", 6, 3, &g,
				    why, sizeof(why)), 0);
	ck_assert_int_eq(g.n, 3);
	/* the metadata is bounded alike */
	ck_assert_int_eq(run_values("{\"metadata\":{\"a\":1,\"b\":2},\"items\":[]}", 2, 1, &g, why,
				    sizeof(why)), -E2BIG);
	ck_assert_str_eq(why, "the list's metadata of more than 2 JSON values (from byte 12)");
	/* a bomb of tiny values is refused at the value that passes the bound,
	 * long before its bytes would be */
	{
		struct sp_json_list_stream s;

		memset(&g, 0, sizeof(g));
		sp_json_list_stream_init(&s, 16u << 20);
		s.max_values = 1000;
		ck_assert_int_eq(sp_json_list_stream_feed(&s, "{\"items\":[[0", 12, got_part, &g), 0);
		for (int i = 2; i < 1000; i++)	/* (the array and 999 zeros: 1,000) */
			ck_assert_int_eq(sp_json_list_stream_feed(&s, ",0", 2, got_part, &g), 0);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, ",0", 2, got_part, &g), -E2BIG);
		ck_assert_int_eq(sp_json_list_stream_feed(&s, ",0", 2, got_part, &g), -E2BIG);	/* sticky */
		ck_assert_int_eq(g.n, 0);
		/* the bounds outlive a reset */
		sp_json_list_stream_reset(&s);
		ck_assert_uint_eq(s.max_values, 1000);
		ck_assert_uint_eq(s.max, 16u << 20);
		sp_json_list_stream_fini(&s);
	}
}
END_TEST

Suite *suite_json_list_stream(void)
{
	Suite *s = suite_create("json_list_stream");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_json_list_stream_split_anywhere);
	tcase_add_test(tc, test_json_list_stream_keys_any_order);
	tcase_add_test(tc, test_json_list_stream_empty_null_absent_items);
	tcase_add_test(tc, test_json_list_stream_malformed);
	tcase_add_test(tc, test_json_list_stream_oversize_item);
	tcase_add_test(tc, test_json_list_stream_deep_nesting);
	tcase_add_test(tc, test_json_list_stream_values_bounded);
	suite_add_tcase(s, tc);
	return s;
}
