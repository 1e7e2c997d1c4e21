/* test_bpf_addrs.c - the sp_addrs map kept from the writer's references, on
 * a real BPF hash map of its layout (skipped where this process may not
 * create one): an address is in the map while an entry or the node uses it,
 * with the flags of what uses it, and a full sync never takes a node
 * address's NodePort flag away while it counts the services again. */
/* (Not helpers.h: the model's enums and maps.h's share names.) */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../bpf/maps.h"
#include "../../dataplane/bpf/bpf_addrs.h"

#include <bpf/bpf.h>

/* The flags the map holds for @s, 0 when absent. */
static int flags(int fd, const char *s)
{
	struct sp_addr a;
	struct sp_addr_key k = {0};
	uint8_t v = 0;

	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	memcpy(k.addr, a.bytes, a.family == AF_INET6 ? 16 : 4);
	k.family = a.family == AF_INET6 ? 6 : 4;
	return bpf_map_lookup_elem(fd, &k, &v) ? 0 : v;
}

static struct sp_addr addr(const char *s)
{
	struct sp_addr a;

	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	return a;
}

static int new_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_HASH, "sp_addrs_test", sizeof(struct sp_addr_key), 1, 64,
			      NULL);
}

START_TEST(test_bpf_addrs_refs_and_full_sync)
{
	struct sp_log lg = {.out = stderr, .level = SP_LOG_ERR};
	struct sp_addr node[] = {addr("192.0.2.1"), addr("fd00::1")}, a;
	struct sp_bpf_addrs *s;
	int fd = new_map();

	if (fd < 0) {
		fprintf(stderr, "  (test_bpf_addrs: skipped: no BPF map here: %s)\n", strerror(errno));
		return;
	}
	s = sp_bpf_addrs_new(fd, &lg);
	ck_assert_ptr_nonnull(s);
	/* A full sync: two ports of one ClusterIP, the node's address also an
	 * external IP. */
	sp_bpf_addrs_begin_full(s);
	a = addr("198.19.128.1");
	ck_assert_int_eq(sp_bpf_addrs_service(s, &a, +1), 0);
	ck_assert_int_eq(sp_bpf_addrs_service(s, &a, +1), 0);
	ck_assert_int_eq(sp_bpf_addrs_service(s, &node[0], +1), 0);
	ck_assert_int_eq(sp_bpf_addrs_end_full(s, node, 2), 0);
	ck_assert_int_eq(flags(fd, "198.19.128.1"), SP_ADDR_SERVICE);
	ck_assert_int_eq(flags(fd, "192.0.2.1"), SP_ADDR_SERVICE | SP_ADDR_NODE);
	ck_assert_int_eq(flags(fd, "fd00::1"), SP_ADDR_NODE);
	/* The next full sync: while the services are counted again, the node's
	 * address keeps its NodePort flag. */
	sp_bpf_addrs_begin_full(s);
	ck_assert_int_eq(sp_bpf_addrs_service(s, &node[0], +1), 0);
	ck_assert_int_eq(flags(fd, "192.0.2.1"), SP_ADDR_SERVICE | SP_ADDR_NODE);
	ck_assert_int_eq(sp_bpf_addrs_service(s, &a, +1), 0);
	ck_assert_int_eq(sp_bpf_addrs_end_full(s, node, 1), 0); /* fd00::1 is no longer the node's */
	ck_assert_int_eq(flags(fd, "fd00::1"), 0);
	ck_assert_int_eq(flags(fd, "198.19.128.1"), SP_ADDR_SERVICE);
	/* Changes: the address leaves with its last entry; the node's stays. */
	ck_assert_int_eq(sp_bpf_addrs_service(s, &a, -1), 0);
	ck_assert_int_eq(flags(fd, "198.19.128.1"), 0);
	ck_assert_int_eq(sp_bpf_addrs_service(s, &node[0], -1), 0);
	ck_assert_int_eq(flags(fd, "192.0.2.1"), SP_ADDR_NODE);
	sp_bpf_addrs_free(s);
	/* A new writer (an agent restarted) removes what nothing uses now. */
	s = sp_bpf_addrs_new(fd, &lg);
	a = addr("198.19.128.9");
	ck_assert_int_eq(sp_bpf_addrs_service(s, &a, +1), 0);
	sp_bpf_addrs_free(s);
	s = sp_bpf_addrs_new(fd, &lg);
	sp_bpf_addrs_begin_full(s);
	ck_assert_int_eq(sp_bpf_addrs_end_full(s, node, 1), 0);
	ck_assert_int_eq(flags(fd, "198.19.128.9"), 0);
	ck_assert_int_eq(flags(fd, "192.0.2.1"), SP_ADDR_NODE);
	sp_bpf_addrs_free(s);
	close(fd);
}
END_TEST

Suite *suite_bpf_addrs(void);

Suite *suite_bpf_addrs(void)
{
	Suite *s = suite_create("bpf_addrs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bpf_addrs_refs_and_full_sync);
	suite_add_tcase(s, tc);
	return s;
}
