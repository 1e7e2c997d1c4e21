/* test_us_flows.c - the userspace forwarder's UDP flow table: one flow per
 * listener, client address and port; LRU order for the idle sweep; the
 * table's bound; deleting during a walk. */
#include "helpers.h"
#include "../../dataplane/userspace/us_flows.h"

#include <string.h>

static struct us_flow_key key(uint32_t lis, const char *ip, uint16_t port)
{
	struct us_flow_key k;

	memset(&k, 0, sizeof(k));
	k.lis = lis;
	k.cport = port;
	ck_assert_int_eq(sp_addr_parse(ip, &k.client), 0);
	return k;
}

START_TEST(test_us_flows_key_distinct)
{
	struct us_flows *t = us_flows_new(16);
	struct us_flow_key a = key(1, "198.19.0.100", 5000), b = key(1, "198.19.0.100", 5001),
			   c = key(2, "198.19.0.100", 5000), d = key(1, "fd00:19::100", 5000);
	struct us_flow *fa = us_flows_add(t, &a, 1);

	ck_assert_ptr_nonnull(fa);
	ck_assert_ptr_eq(us_flows_get(t, &a), fa);
	ck_assert_ptr_null(us_flows_get(t, &b));	/* other client port */
	ck_assert_ptr_null(us_flows_get(t, &c));	/* other listener */
	ck_assert_ptr_null(us_flows_get(t, &d));	/* other address */
	ck_assert_ptr_nonnull(us_flows_add(t, &b, 1));
	ck_assert_ptr_nonnull(us_flows_add(t, &c, 1));
	ck_assert_ptr_nonnull(us_flows_add(t, &d, 1));
	ck_assert_uint_eq(us_flows_len(t), 4);
	ck_assert_int_eq(us_flows_get(t, &d)->fd, -1);
	us_flows_free(t);
}
END_TEST

START_TEST(test_us_flows_lru_order)
{
	struct us_flows *t = us_flows_new(16);
	struct us_flow_key k[3] = { key(1, "10.0.0.1", 1), key(1, "10.0.0.2", 1), key(1, "10.0.0.3", 1) };
	struct us_flow *f[3];

	for (int i = 0; i < 3; i++)
		f[i] = us_flows_add(t, &k[i], i);
	ck_assert_ptr_eq(us_flows_oldest(t), f[0]);
	us_flows_touch(t, f[0], 10);	/* used again: now the newest */
	ck_assert_ptr_eq(us_flows_oldest(t), f[1]);
	ck_assert_ptr_eq(f[1]->newer, f[2]);
	ck_assert_ptr_eq(f[2]->newer, f[0]);
	ck_assert_ptr_null(f[0]->newer);
	ck_assert(f[0]->last == 10);
	us_flows_del(t, f[1]);
	ck_assert_ptr_eq(us_flows_oldest(t), f[2]);
	ck_assert_ptr_null(us_flows_get(t, &k[1]));
	ck_assert_ptr_eq(us_flows_get(t, &k[0]), f[0]);
	us_flows_free(t);
}
END_TEST

START_TEST(test_us_flows_full_enospc)
{
	struct us_flows *t = us_flows_new(2);
	struct us_flow_key k[3] = { key(1, "10.0.0.1", 1), key(1, "10.0.0.1", 2), key(1, "10.0.0.1", 3) };

	ck_assert_ptr_nonnull(us_flows_add(t, &k[0], 0));
	ck_assert_ptr_nonnull(us_flows_add(t, &k[1], 0));
	errno = 0;
	ck_assert_ptr_null(us_flows_add(t, &k[2], 0));
	ck_assert_int_eq(errno, ENOSPC);
	us_flows_del(t, us_flows_oldest(t));
	ck_assert_ptr_nonnull(us_flows_add(t, &k[2], 0));
	us_flows_free(t);
}
END_TEST

START_TEST(test_us_flows_walk_delete_many)
{
	struct us_flows *t = us_flows_new(5000);
	struct us_flow *f, *next;
	size_t kept = 0;

	for (int i = 0; i < 5000; i++) {
		struct us_flow_key k = key((uint32_t)(i % 3), "198.19.0.100", (uint16_t)(1000 + i));

		ck_assert_ptr_nonnull(us_flows_add(t, &k, i));
	}
	/* Drop listener 1's flows in one walk (as a listener closing does). */
	for (f = us_flows_oldest(t); f; f = next) {
		next = f->newer;
		if (f->key.lis == 1)
			us_flows_del(t, f);
	}
	for (f = us_flows_oldest(t); f; f = f->newer) {
		ck_assert_uint_ne(f->key.lis, 1);
		ck_assert_ptr_eq(us_flows_get(t, &f->key), f);
		kept++;
	}
	ck_assert_uint_eq(kept, us_flows_len(t));
	ck_assert_uint_eq(kept, 5000 - 1667);
	us_flows_free(t);
}
END_TEST

Suite *suite_us_flows(void)
{
	Suite *s = suite_create("us_flows");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_us_flows_key_distinct);
	tcase_add_test(tc, test_us_flows_lru_order);
	tcase_add_test(tc, test_us_flows_full_enospc);
	tcase_add_test(tc, test_us_flows_walk_delete_many);
	suite_add_tcase(s, tc);
	return s;
}
