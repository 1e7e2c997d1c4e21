/* test_kube_events.c - list pages applied as they arrive: a page refused
 * part-way (an item over the bound, cut off, garbage after it, JSON the
 * parser refuses) puts nothing in the store and is one error line; a whole
 * page stores its good objects, logs its bad ones, hands back its continue
 * token, and the last page's resourceVersion is the list's. */
#include "helpers.h"
#include "../../control/kube_events.h"
#include "../../control/store.h"

#include <stdlib.h>
#include <string.h>

#define SVC(name) "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"n\",\"resourceVersion\":\"3\"}," \
		  "\"spec\":{\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80}]}}"

/* Feed @doc to a page of @ev in pieces of @step bytes; the page_end result. */
static int feed_page(struct sp_kube_events *ev, const char *doc, size_t step, char **cont)
{
	size_t n = strlen(doc);
	int e = 0;

	sp_kube_page_begin(ev);
	for (size_t at = 0; at < n && !e; at += step)
		e = sp_kube_page_feed(ev, doc + at, at + step > n ? n - at : step);
	return e ? e : sp_kube_page_end(ev, cont);
}

START_TEST(test_kube_list_page_streamed_all_or_nothing)
{
	struct captured_log cl;
	struct sp_kube_events ev;
	struct sp_store st;
	char *cont = NULL;

	captured_log_open(&cl);
	ck_assert_int_eq(sp_store_init(&st, "node1"), 0);
	sp_kube_events_init(&ev, SP_KUBE_SERVICES, &st, &cl.log, "node1");
	ev.max_item = 512;
	ck_assert_int_eq(sp_kube_list_begin(&ev), 0);

	/* a good item, then one over the bound: the page is refused, nothing stored */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("a") ",{\"metadata\":{\"name\":\"big\",\"x\":\""
				   "                                                                        "
				   "                                                                        "
				   "                                                                        "
				   "                                                                        "
				   "                                                                        "
				   "                                                                        "
				   "                                                                        "
				   "\"}}]}", 7, &cont), -E2BIG);
	ck_assert_ptr_null(cont);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&cl), "list services: an item larger than 512 bytes"));
	/* cut off after a good item: nothing stored, one line */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("a") ",", 5, &cont), -EINVAL);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 2);
	/* garbage after a good item */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("a") "]}}", 3, &cont), -EINVAL);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 3);
	/* JSON cJSON refuses (a lone UTF-16 surrogate): the page is refused, the
	 * item not skipped (its key is unknown: skipping would remove it) */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("a") ",{\"s\":\"\\ud800\"}]}", 64, &cont), -EBADMSG);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 4);

	/* a whole page, metadata first, with a bad object beside good ones: the
	 * good ones stored, the bad one logged, the continue token handed back */
	ck_assert_int_eq(feed_page(&ev, "{\"metadata\":{\"resourceVersion\":\"9\",\"continue\":\"next\"},"
				   "\"items\":[" SVC("a") ",{\"metadata\":{\"name\":\"bad\",\"namespace\":\"n\"},"
				   "\"spec\":{\"ports\":[{\"port\":0}]}}," SVC("b") "]}", 1, &cont), 0);
	ck_assert_str_eq(cont, "next");
	free(cont);
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/a"));
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/b"));
	ck_assert_int_eq(captured_log_lines(&cl), 5);
	ck_assert_ptr_null(ev.rv);	/* not the last page: no list version yet */
	/* the last page: its resourceVersion is the list's */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("c") "],\"metadata\":{\"resourceVersion\":\"10\"}}",
				   4096, &cont), 0);
	ck_assert_ptr_null(cont);
	ck_assert_str_eq(ev.rv, "10");
	sp_kube_list_end(&ev);
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/c"));
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/a"));

	/* the whole-body form gives the same */
	ck_assert_int_eq(sp_kube_list_begin(&ev), 0);
	ck_assert_int_eq(sp_kube_list_page(&ev, "{\"items\":[" SVC("c") "]}", strlen("{\"items\":[" SVC("c") "]}"),
					   &cont), 0);
	sp_kube_list_end(&ev);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));	/* not listed again: gone */
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/c"));

	sp_kube_events_fini(&ev);
	sp_store_fini(&st);
	captured_log_close(&cl);
}
END_TEST

/* An item of more values than the bound refuses the page before it is
 * parsed, with one line naming the kind and the bound. */
START_TEST(test_kube_list_page_values_bounded)
{
	struct captured_log cl;
	struct sp_kube_events ev;
	struct sp_store st;
	char *cont = NULL, doc[1024], *p = doc;

	captured_log_open(&cl);
	ck_assert_int_eq(sp_store_init(&st, "node1"), 0);
	sp_kube_events_init(&ev, SP_KUBE_SERVICES, &st, &cl.log, "node1");
	ck_assert_uint_eq(ev.max_values, SP_KUBE_MAX_VALUES);
	ev.max_values = 64;
	ck_assert_int_eq(sp_kube_list_begin(&ev), 0);
	p += sprintf(p, "{\"items\":[" SVC("a") ",{\"metadata\":{\"name\":\"many\",\"namespace\":\"n\"},\"x\":[0");
	for (int i = 0; i < 64; i++)
		p += sprintf(p, ",0");
	sprintf(p, "]}]}");
	ck_assert_int_eq(feed_page(&ev, doc, 13, &cont), -E2BIG);
	ck_assert_ptr_null(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 1);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&cl),
				     "list services: an item of more than 64 JSON values (from byte "));
	ck_assert_ptr_nonnull(strstr(captured_log_text(&cl), "the page is refused"));
	/* a page within the bound is stored */
	ck_assert_int_eq(feed_page(&ev, "{\"items\":[" SVC("a") "]}", 13, &cont), 0);
	ck_assert_ptr_nonnull(sp_store_service(&st, "n/a"));
	ck_assert_int_eq(captured_log_lines(&cl), 1);
	sp_kube_events_fini(&ev);
	sp_store_fini(&st);
	captured_log_close(&cl);
}
END_TEST

Suite *suite_kube_events(void)
{
	Suite *s = suite_create("kube_events");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_kube_list_page_streamed_all_or_nothing);
	tcase_add_test(tc, test_kube_list_page_values_bounded);
	suite_add_tcase(s, tc);
	return s;
}
