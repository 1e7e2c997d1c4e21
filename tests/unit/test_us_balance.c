/* test_us_balance.c - the userspace forwarder's endpoint choice: round-robin
 * over the pool, the cursor kept across a pool change, tried endpoints
 * skipped, least connections (counts kept across a pool change, ties taken
 * in turn), ClientIP affinity (kept, expired, dropped with its endpoint). */
#include "helpers.h"
#include "../../dataplane/userspace/us_balance.h"

#include <string.h>
#include <sys/socket.h>

static struct us_ep ep(const char *ip, uint16_t port)
{
	struct us_ep e;

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(sp_addr_parse(ip, &e.addr), 0);
	e.port = port;
	return e;
}

static struct sp_addr ip(const char *s)
{
	struct sp_addr a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	return a;
}

/* A pool of 10.0.0.1..n:80. */
static void pool3(struct us_pool *p, size_t n)
{
	struct us_ep v[8];

	for (size_t i = 0; i < n; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "10.0.0.%zu", i + 1);
		v[i] = ep(buf, 80);
	}
	ck_assert_int_eq(us_pool_set(p, v, n), 0);
}

static int last_octet(const struct us_ep *e)
{
	return e->addr.bytes[3];
}

START_TEST(test_us_pick_round_robin_even)
{
	struct us_pool p = {0};
	struct us_ep out;
	int hits[4] = {0};

	pool3(&p, 3);
	for (int i = 0; i < 300; i++) {
		ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, NULL, 0, &out), 0);
		hits[last_octet(&out)]++;
	}
	ck_assert_int_eq(hits[1], 100);
	ck_assert_int_eq(hits[2], 100);
	ck_assert_int_eq(hits[3], 100);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_pick_empty_pool_enoent)
{
	struct us_pool p = {0};
	struct us_ep out;

	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, NULL, 0, &out), -ENOENT);
	pool3(&p, 0);
	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, NULL, 0, &out), -ENOENT);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_pick_skips_tried)
{
	struct us_pool p = {0};
	struct us_ep out, tried[2];

	pool3(&p, 3);
	tried[0] = ep("10.0.0.1", 80);
	tried[1] = ep("10.0.0.2", 80);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, tried, 2, &out), 0);
		ck_assert_int_eq(last_octet(&out), 3);
	}
	/* Same address, other port: not the one tried. */
	tried[0] = ep("10.0.0.1", 81);
	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, tried, 2, &out), 0);
	ck_assert_int_ne(last_octet(&out), 2);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_pick_all_tried_enoent)
{
	struct us_pool p = {0};
	struct us_ep out, tried[2] = {ep("10.0.0.1", 80), ep("10.0.0.2", 80)};

	pool3(&p, 2);
	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, tried, 2, &out), -ENOENT);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_pool_set_keeps_cursor)
{
	struct us_pool p = {0};
	struct us_ep out;

	pool3(&p, 4);
	us_pick(&p, NULL, NULL, 0, NULL, 0, &out);
	us_pick(&p, NULL, NULL, 0, NULL, 0, &out);
	ck_assert_int_eq(last_octet(&out), 2);
	pool3(&p, 3); /* a sync: the next is the third, not the first again */
	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, NULL, 0, &out), 0);
	ck_assert_int_eq(last_octet(&out), 3);
	pool3(&p, 2); /* shrunk under the cursor: wraps */
	ck_assert_int_eq(us_pick(&p, NULL, NULL, 0, NULL, 0, &out), 0);
	ck_assert_int_eq(last_octet(&out), 1);
	us_pool_fini(&p);
}
END_TEST

/* The last octet of the endpoint @p gives next (none of @skip), which must exist. */
static int pick_octet(struct us_pool *p, const struct us_ep *skip, size_t nskip)
{
	struct us_ep out;

	ck_assert_int_eq(us_pick(p, NULL, NULL, 0, skip, nskip, &out), 0);
	return last_octet(&out);
}

START_TEST(test_us_pick_least_conns_fewest)
{
	struct us_pool p = {.least_conns = true};
	struct us_ep e1 = ep("10.0.0.1", 80), e2 = ep("10.0.0.2", 80), e3 = ep("10.0.0.3", 80);

	pool3(&p, 3);
	/* 1 holds two connections, 2 one, 3 none: 3 first */
	us_pool_count(&p, &e1, 1);
	us_pool_count(&p, &e1, 1);
	us_pool_count(&p, &e2, 1);
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 3);
	us_pool_count(&p, &e3, 1);
	/* 2 and 3 tie at one: the cursor (past 3) takes 2 */
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 2);
	/* a sync keeps the counts of endpoints that stay: 1 two, 2 none */
	pool3(&p, 2);
	us_pool_count(&p, &e2, -1);
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 2);
	/* tried endpoints are skipped even when least loaded */
	ck_assert_int_eq(pick_octet(&p, &e2, 1), 1);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_pool_count_never_negative)
{
	struct us_pool p = {.least_conns = true};
	struct us_ep e1 = ep("10.0.0.1", 80), gone = ep("10.0.0.9", 80);

	pool3(&p, 2);
	us_pool_count(&p, &e1, -1);  /* a connection from before a re-add */
	us_pool_count(&p, &gone, 1); /* not in the pool: ignored */
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 1);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_affinity_sticks_until_timeout)
{
	struct us_pool p = {0};
	struct us_affinity *a = us_affinity_new(10);
	struct sp_addr c1 = ip("198.19.0.100"), c2 = ip("198.19.0.101");
	struct us_ep out, first;

	pool3(&p, 3);
	ck_assert_int_eq(us_pick(&p, a, &c1, 100, NULL, 0, &first), 0);
	ck_assert_int_eq(us_affinity_put(a, &c1, &first, 100), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(us_pick(&p, a, &c1, 100 + i, NULL, 0, &out), 0);
		ck_assert(us_ep_equal(&out, &first));
		us_affinity_put(a, &c1, &out, 100 + i); /* each use refreshes it */
	}
	/* Another client is balanced on. */
	ck_assert_int_eq(us_pick(&p, a, &c2, 110, NULL, 0, &out), 0);
	ck_assert(!us_ep_equal(&out, &first));
	/* 10 s after the last use (109): expired, round-robin again. */
	ck_assert_int_eq(us_pick(&p, a, &c1, 119.5, NULL, 0, &out), 0);
	ck_assert(!us_ep_equal(&out, &first));
	ck_assert_uint_eq(us_affinity_len(a, 200), 0);
	us_affinity_free(a);
	us_pool_fini(&p);
}
END_TEST

START_TEST(test_us_affinity_endpoint_gone)
{
	struct us_pool p = {0};
	struct us_affinity *a = us_affinity_new(10800);
	struct sp_addr c1 = ip("fd00:19::100");
	struct us_ep out, first, rest[2];

	pool3(&p, 3);
	ck_assert_int_eq(us_pick(&p, a, &c1, 1, NULL, 0, &first), 0);
	us_affinity_put(a, &c1, &first, 1);
	/* Its endpoint leaves the pool: the client goes elsewhere. */
	rest[0] = ep("10.0.0.2", 80);
	rest[1] = ep("10.0.0.3", 80);
	ck_assert_int_eq(us_pool_set(&p, rest, 2), 0);
	ck_assert_int_eq(us_pick(&p, a, &c1, 2, NULL, 0, &out), 0);
	ck_assert(!us_ep_equal(&out, &first));
	/* Its endpoint failed a connect: skipped although remembered. */
	us_affinity_put(a, &c1, &rest[0], 3);
	ck_assert_int_eq(us_pick(&p, a, &c1, 3, rest, 1, &out), 0);
	ck_assert(us_ep_equal(&out, &rest[1]));
	us_affinity_free(a);
	us_pool_fini(&p);
}
END_TEST

/* explain's view: the next pick, without moving the cursor; the client's
 * affinity entry with the time it has left. */
START_TEST(test_us_pick_peek_moves_nothing)
{
	struct us_pool p = {0};
	struct us_affinity *a = us_affinity_new(10);
	struct sp_addr c1 = ip("198.19.0.100"), c2 = ip("198.19.0.101");
	struct us_ep e2 = ep("10.0.0.2", 80), e3 = ep("10.0.0.3", 80), out;
	double left = 0;

	pool3(&p, 3);
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(us_pick_peek(&p, NULL, NULL, 0, &out), 0);
		ck_assert_int_eq(last_octet(&out), 2);
	}
	ck_assert_int_eq(pick_octet(&p, NULL, 0), 2);
	/* least connections: the fewest, cursor unmoved */
	p.least_conns = true;
	us_pool_count(&p, &e3, 1);
	ck_assert_int_eq(us_pick_peek(&p, NULL, NULL, 0, &out), 0);
	ck_assert_int_eq(last_octet(&out), 1);
	ck_assert_uint_eq(p.next, 2);
	/* affinity: the client's endpoint, others balanced */
	ck_assert(!us_affinity_get(a, &c1, 100, &out, &left));
	ck_assert_int_eq(us_affinity_put(a, &c1, &e2, 100), 0);
	ck_assert(us_affinity_get(a, &c1, 104, &out, &left));
	ck_assert(us_ep_equal(&out, &e2));
	ck_assert(left > 5.9 && left < 6.1);
	ck_assert_int_eq(us_pick_peek(&p, a, &c1, 104, &out), 0);
	ck_assert(us_ep_equal(&out, &e2));
	ck_assert_int_eq(us_pick_peek(&p, a, &c2, 104, &out), 0);
	ck_assert_int_eq(last_octet(&out), 1);
	ck_assert(!us_affinity_get(a, &c1, 110, &out, &left)); /* expired */
	ck_assert_int_eq(us_pick_peek(&(struct us_pool){0}, NULL, NULL, 0, &out), -ENOENT);
	us_affinity_free(a);
	us_pool_fini(&p);
}
END_TEST

Suite *suite_us_balance(void)
{
	Suite *s = suite_create("us_balance");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_us_pick_round_robin_even);
	tcase_add_test(tc, test_us_pick_empty_pool_enoent);
	tcase_add_test(tc, test_us_pick_skips_tried);
	tcase_add_test(tc, test_us_pick_all_tried_enoent);
	tcase_add_test(tc, test_us_pool_set_keeps_cursor);
	tcase_add_test(tc, test_us_pick_least_conns_fewest);
	tcase_add_test(tc, test_us_pool_count_never_negative);
	tcase_add_test(tc, test_us_affinity_sticks_until_timeout);
	tcase_add_test(tc, test_us_affinity_endpoint_gone);
	tcase_add_test(tc, test_us_pick_peek_moves_nothing);
	suite_add_tcase(s, tc);
	return s;
}
