/* test_id_pool.c - ids given back come out again oldest first, across the
 * ring's wrap and its growth. */
#include "helpers.h"
#include "../../common/id_pool.h"

START_TEST(test_id_pool_oldest_first_across_wrap_and_growth)
{
	struct sp_id_pool p = {0};
	uint32_t id;

	ck_assert(!sp_id_pool_take(&p, &id));
	/* the ring wraps (200 in, 150 out, 100 in) before it grows (300 more) */
	for (uint32_t i = 1; i <= 200; i++)
		ck_assert_int_eq(sp_id_pool_put(&p, i), 0);
	for (uint32_t i = 1; i <= 150; i++) {
		ck_assert(sp_id_pool_take(&p, &id));
		ck_assert_uint_eq(id, i);
	}
	for (uint32_t i = 201; i <= 600; i++)
		ck_assert_int_eq(sp_id_pool_put(&p, i), 0);
	for (uint32_t i = 151; i <= 600; i++) {
		ck_assert(sp_id_pool_take(&p, &id));
		ck_assert_uint_eq(id, i);
	}
	ck_assert(!sp_id_pool_take(&p, &id));
	sp_id_pool_fini(&p);
}
END_TEST

Suite *suite_id_pool(void)
{
	Suite *s = suite_create("id_pool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_id_pool_oldest_first_across_wrap_and_growth);
	suite_add_tcase(s, tc);
	return s;
}
