/* test_json_lines.c - watch streams cut into events, each bounded in size. */
#include "helpers.h"
#include "../../control/json_lines.h"

#include <stdio.h>
#include <string.h>

struct got {
	char lines[8][64];
	int n, oversize;
};

static int got_line(void *ctx, char *line, size_t len)
{
	struct got *g = ctx;

	ck_assert_uint_eq(strlen(line), len);
	if (g->n < 8)
		snprintf(g->lines[g->n++], sizeof(g->lines[0]), "%s", line);
	return 0;
}

static void got_oversize(void *ctx, enum sp_json_lines_limit what, size_t max)
{
	(void)max;
	ck_assert_int_eq(what, SP_JSON_LINES_BYTES);
	((struct got *)ctx)->oversize++;
}

START_TEST(test_json_lines_split_anywhere_and_bounded)
{
	static const char stream[] = "{\"type\":\"ADDED\"}\n\n{\"type\":\"MODIFIED\"}\n{\"type\":\"DEL";
	size_t n = strlen(stream);

	/* Cut in two at every byte: the same events come out. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct sp_json_lines l;
		struct got g = {0};

		sp_json_lines_init(&l, 64);
		ck_assert_int_eq(sp_json_lines_feed(&l, stream, cut, got_line, got_oversize, &g), 0);
		ck_assert_int_eq(sp_json_lines_feed(&l, stream + cut, n - cut, got_line, got_oversize, &g), 0);
		ck_assert_int_eq(g.n, 2);
		ck_assert_str_eq(g.lines[0], "{\"type\":\"ADDED\"}");
		ck_assert_str_eq(g.lines[1], "{\"type\":\"MODIFIED\"}");
		ck_assert_uint_eq(sp_json_lines_pending(&l), strlen("{\"type\":\"DEL"));
		sp_json_lines_fini(&l);
	}
	/* An event over the bound is reported once and skipped; the next is read. */
	{
		struct sp_json_lines l;
		struct got g = {0};
		char big[300];

		memset(big, 'x', sizeof(big));
		sp_json_lines_init(&l, 64);
		for (int i = 0; i < 3; i++)	/* the big one arrives in pieces */
			sp_json_lines_feed(&l, big, sizeof(big), got_line, got_oversize, &g);
		ck_assert_uint_le(sp_json_lines_pending(&l), 64);
		sp_json_lines_feed(&l, "\n{\"ok\":1}\n", 10, got_line, got_oversize, &g);
		ck_assert_int_eq(g.oversize, 1);
		ck_assert_int_eq(g.n, 1);
		ck_assert_str_eq(g.lines[0], "{\"ok\":1}");
		sp_json_lines_reset(&l);
		ck_assert_uint_eq(sp_json_lines_pending(&l), 0);
		sp_json_lines_fini(&l);
	}
}
END_TEST

struct vgot {
	int n, over;
	char last[64];
};

static int v_line(void *ctx, char *line, size_t len)
{
	struct vgot *g = ctx;

	(void)len;
	g->n++;
	snprintf(g->last, sizeof(g->last), "%s", line);
	return 0;
}

static void v_over(void *ctx, enum sp_json_lines_limit what, size_t max)
{
	struct vgot *g = ctx;

	ck_assert_int_eq(what, SP_JSON_LINES_VALUES);
	ck_assert_uint_eq(max, 11);
	g->over++;
}

/* A line's values are counted as the bytes arrive, as cJSON would make
 * nodes of them (strings, escapes and empty containers included), and a line
 * of more than the bound is reported once and skipped; the next is read. */
START_TEST(test_json_lines_values_bounded)
{
	/* 11 values: the object, "type", the array, 0, [ ], { }, {"a":..}, [1,2], 1, 2, "s" */
	static const char ok[] = "{\"type\":\"X\",\"o\":[0,[ ],{\t},{\"a\":[1,2]},\"s,[{\\\"]}\"]}";
	static const char over[] = "{\"type\":\"X\",\"o\":[0,[ ],{\t},{\"a\":[1,2]},\"s,[{\\\"]}\",null]}";
	char stream[256];
	size_t n = (size_t)snprintf(stream, sizeof(stream), "%s\n%s\n%s\n", ok, over, "{\"next\":1}");

	for (size_t cut = 0; cut <= n; cut++) {
		struct sp_json_lines l;
		struct vgot g = {0};

		sp_json_lines_init(&l, 4096);
		l.max_values = 11;
		ck_assert_int_eq(sp_json_lines_feed(&l, stream, cut, v_line, v_over, &g), 0);
		ck_assert_int_eq(sp_json_lines_feed(&l, stream + cut, n - cut, v_line, v_over, &g), 0);
		ck_assert_int_eq(g.n, 2);	/* ok and next */
		ck_assert_int_eq(g.over, 1);
		ck_assert_str_eq(g.last, "{\"next\":1}");
		sp_json_lines_fini(&l);
	}
	/* A reset forgets the count of a partial line; the bound stays. */
	{
		struct sp_json_lines l;
		struct vgot g = {0};

		sp_json_lines_init(&l, 4096);
		l.max_values = 11;
		ck_assert_int_eq(sp_json_lines_feed(&l, "[0,0,0,0,0,0,0,0", 16, v_line, v_over, &g), 0);
		sp_json_lines_reset(&l);
		ck_assert_uint_eq(l.max_values, 11);
		ck_assert_int_eq(sp_json_lines_feed(&l, "[0,0,0,\"\n", 9, v_line, v_over, &g), 0);
		ck_assert_int_eq(g.n, 1);
		ck_assert_int_eq(g.over, 0);
		/* (a string left open at the newline does not carry over: 12 values) */
		ck_assert_int_eq(sp_json_lines_feed(&l, "[0,0,0,0,0,0,0,0,0,0,0]\n", 24, v_line, v_over, &g), 0);
		ck_assert_int_eq(g.n, 1);
		ck_assert_int_eq(g.over, 1);
		sp_json_lines_fini(&l);
	}
}
END_TEST

Suite *suite_json_lines(void)
{
	Suite *s = suite_create("json_lines");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_json_lines_split_anywhere_and_bounded);
	tcase_add_test(tc, test_json_lines_values_bounded);
	suite_add_tcase(s, tc);
	return s;
}
