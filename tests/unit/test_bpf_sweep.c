/* test_bpf_sweep.c - a full sync's sweep of one map, on a real BPF hash map
 * (skipped where this process may not create one): more keys than one batch,
 * exactly those the predicate keeps are left. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../dataplane/bpf/bpf_sweep.h"

#include <bpf/bpf.h>

#define N_KEYS 10000u /* more than one batch of keys read and deleted */

static bool keep_multiple(const void *key, void *of)
{
	return *(const uint32_t *)key % *(const uint32_t *)of == 0;
}

/* Keys in map @fd (1 ..= N_KEYS): how many, and whether each is there as
 * @of says (none with @of 0). */
static uint32_t count_keys(int fd, uint32_t of)
{
	uint32_t n = 0, v;

	for (uint32_t k = 1; k <= N_KEYS; k++) {
		bool there = !bpf_map_lookup_elem(fd, &k, &v);

		ck_assert_msg(there == (of && k % of == 0), "key %u %s", k,
			      there ? "left in the map" : "swept away");
		n += there;
	}
	return n;
}

START_TEST(test_bpf_sweep_keeps_exactly_what_the_predicate_keeps)
{
	uint32_t three = 3, v = 1;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sp_sweep_test", 4, 4, N_KEYS, NULL);

	if (fd < 0) {
		fprintf(stderr, "  (test_bpf_sweep: skipped: no BPF map here: %s)\n", strerror(errno));
		return;
	}
	for (uint32_t k = 1; k <= N_KEYS; k++)
		ck_assert_int_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	ck_assert_int_eq(sp_bpf_sweep(fd, 4, keep_multiple, &three), 0);
	ck_assert_uint_eq(count_keys(fd, 3), N_KEYS / 3);
	ck_assert_int_eq(sp_bpf_sweep(fd, 4, NULL, NULL), 0);
	ck_assert_uint_eq(count_keys(fd, 0), 0);
	close(fd);
}
END_TEST

Suite *suite_bpf_sweep(void);

Suite *suite_bpf_sweep(void)
{
	Suite *s = suite_create("bpf_sweep");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bpf_sweep_keeps_exactly_what_the_predicate_keeps);
	suite_add_tcase(s, tc);
	return s;
}
