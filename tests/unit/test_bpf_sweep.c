/* test_bpf_sweep.c - a full sync's sweep of one map, on real BPF maps
 * (skipped where this process may not create one): more keys than one batch,
 * exactly those the predicate keeps are left (a hash map, an LPM trie). */
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
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sp_sweep_hash", 4, 4, N_KEYS, NULL);

	if (fd < 0) {
		fprintf(stderr, "  (test_bpf_sweep: skipped: no BPF map here: %s)\n",
			strerror(errno));
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

struct lpm_key {
	uint32_t prefixlen, data;
};

static bool keep_data_multiple(const void *key, void *of)
{
	return ((const struct lpm_key *)key)->data % *(const uint32_t *)of == 0;
}

/* An LPM trie (as sp_src_ranges): keys of another shape, swept the same; a
 * key size that is not the map's is refused. (This kernel has batch
 * operations on every map type the agent sweeps, so the key-by-key
 * fallbacks for older kernels are not reached here.) */
START_TEST(test_bpf_sweep_key_by_key_on_a_trie)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	uint32_t three = 3, v = 1, left = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "sp_sweep_trie", sizeof(struct lpm_key), 4,
				N_KEYS, &o);

	if (fd < 0) {
		fprintf(stderr, "  (test_bpf_sweep: skipped: no BPF map here: %s)\n",
			strerror(errno));
		return;
	}
	for (uint32_t k = 1; k <= N_KEYS; k++) {
		struct lpm_key lk = {.prefixlen = 32, .data = k};

		ck_assert_int_eq(bpf_map_update_elem(fd, &lk, &v, BPF_ANY), 0);
	}
	ck_assert_int_eq(sp_bpf_sweep(fd, sizeof(struct lpm_key), keep_data_multiple, &three), 0);
	for (uint32_t k = 1; k <= N_KEYS; k++) {
		struct lpm_key lk = {.prefixlen = 32, .data = k};
		bool there = !bpf_map_lookup_elem(fd, &lk, &v);

		ck_assert_msg(there == (k % 3 == 0), "trie key %u %s", k,
			      there ? "left in the map" : "swept away");
		left += there;
	}
	ck_assert_uint_eq(left, N_KEYS / 3);
	ck_assert_int_eq(sp_bpf_sweep(fd, 4, NULL, NULL), -EINVAL); /* not its key size */
	close(fd);
}
END_TEST

Suite *suite_bpf_sweep(void);

Suite *suite_bpf_sweep(void)
{
	Suite *s = suite_create("bpf_sweep");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bpf_sweep_keeps_exactly_what_the_predicate_keeps);
	tcase_add_test(tc, test_bpf_sweep_key_by_key_on_a_trie);
	suite_add_tcase(s, tc);
	return s;
}
