/* test_hmap.c - the string-keyed hash map. */
#include "helpers.h"
#include "../../common/hmap.h"

#include <stdint.h>
#include <stdlib.h>

START_TEST(test_hmap_put_get_del_grow)
{
	struct sp_hmap *h = sp_hmap_new();
	char key[32];
	void *old;

	for (intptr_t i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", (long)i);
		ck_assert_int_eq(sp_hmap_put(h, key, (void *)(i + 1), NULL), 0);
	}
	ck_assert_uint_eq(sp_hmap_len(h), 5000);
	ck_assert_ptr_eq(sp_hmap_get(h, "k4999"), (void *)5000);
	ck_assert_int_eq(sp_hmap_put(h, "k7", (void *)99, &old), 0);
	ck_assert_ptr_eq(old, (void *)8);
	ck_assert_uint_eq(sp_hmap_len(h), 5000);
	ck_assert_ptr_eq(sp_hmap_del(h, "k7"), (void *)99);
	ck_assert_ptr_null(sp_hmap_get(h, "k7"));
	ck_assert_ptr_null(sp_hmap_del(h, "k7"));
	ck_assert_uint_eq(sp_hmap_len(h), 4999);
	sp_hmap_free(h);
}
END_TEST

START_TEST(test_hmap_iterate_and_delete_current)
{
	struct sp_hmap *h = sp_hmap_new();
	struct sp_hmap_iter it = {0};
	const char **keys;
	size_t n, seen = 0;

	sp_hmap_put(h, "b", (void *)2, NULL);
	sp_hmap_put(h, "a", (void *)1, NULL);
	sp_hmap_put(h, "c", (void *)3, NULL);
	keys = sp_hmap_sorted_keys(h, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(keys[0], "a");
	ck_assert_str_eq(keys[2], "c");
	free(keys);
	while (sp_hmap_next(h, &it)) {
		seen++;
		sp_hmap_del(h, it.key);
	}
	ck_assert_uint_eq(seen, 3);
	ck_assert_uint_eq(sp_hmap_len(h), 0);
	sp_hmap_free(h);
}
END_TEST

Suite *suite_hmap(void)
{
	Suite *s = suite_create("hmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hmap_put_get_del_grow);
	tcase_add_test(tc, test_hmap_iterate_and_delete_current);
	suite_add_tcase(s, tc);
	return s;
}
