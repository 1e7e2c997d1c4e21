/* test_maglev.c - Maglev tables (control/maglev.c) and the flow hash that
 * indexes them (bpf/flow_hash.h): few flows move when an endpoint goes, the
 * table ignores the order endpoints are listed in, sizes are checked, and
 * golden values pin the hashes so a change to either is noticed. */
#include "helpers.h"
#include "../../bpf/flow_hash.h"
#include "../../control/maglev.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define N_FLOWS 100000

static struct sp_maglev_endpoint ep(const char *ip, uint16_t port)
{
	struct sp_maglev_endpoint e;

	memset(&e, 0, sizeof(e));
	e.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(e.family, ip, e.addr), 1);
	e.port_be = htons(port);
	return e;
}

/* Endpoints 10.244.<i>.<10 + i>:8080, or fd00:244::<i + 1> port 8080. */
static void endpoints(struct sp_maglev_endpoint *v, size_t n, bool v6)
{
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		if (v6)
			snprintf(buf, sizeof(buf), "fd00:244::%zx", i + 1);
		else
			snprintf(buf, sizeof(buf), "10.244.%zu.%zu", i % 256, 10 + i / 256);
		v[i] = ep(buf, 8080);
	}
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Flow @i of a fixed series: clients anywhere, ports ≥ 1024, to one service. */
static struct sp_flow_key flow(uint64_t *state, bool v6)
{
	struct sp_flow_key k;
	uint64_t r = splitmix64(state), r2 = splitmix64(state);

	memset(&k, 0, sizeof(k));
	k.family = v6 ? 6 : 4;
	k.proto = IPPROTO_TCP;
	memcpy(k.saddr, &r, 8);
	if (v6) {
		memcpy(&k.saddr[8], &r2, 8);
		ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::10", k.daddr), 1);
	} else {
		memset(&k.saddr[4], 0, 12);
		ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.10", k.daddr), 1);
	}
	k.sport = htons((uint16_t)(1024 + r2 % (65536 - 1024)));
	k.dport = htons(443);
	return k;
}

static bool same_endpoint(const struct sp_maglev_endpoint *a, const struct sp_maglev_endpoint *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       a->port_be == b->port_be;
}

/* Maglev's promise: turns alternate, so every endpoint holds ⌊M/n⌋ or ⌈M/n⌉ slots. */
static void assert_even_shares(const uint32_t *table, uint32_t m, size_t n)
{
	uint32_t *count = calloc(n, sizeof(*count));

	ck_assert_ptr_nonnull(count);
	for (uint32_t s = 0; s < m; s++) {
		ck_assert_uint_lt(table[s], n);
		count[table[s]]++;
	}
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_ge(count[i], m / n);
		ck_assert_uint_le(count[i], (m + n - 1) / n);
	}
	free(count);
}

static uint32_t *build(const struct sp_maglev_endpoint *eps, size_t n, uint32_t m)
{
	uint32_t *table = malloc(m * sizeof(*table));
	char err[SP_MAGLEV_ERRLEN] = "";

	ck_assert_ptr_nonnull(table);
	ck_assert_msg(sp_maglev_build(eps, n, m, table, err) == 0, "build: %s", err);
	return table;
}

START_TEST(test_maglev_build_remove_one_moves_few)
{
	const uint32_t m = SP_MAGLEV_SIZE_DEFAULT;
	const size_t gone = 3;
	struct sp_maglev_endpoint all[10], rest[9];
	uint32_t *before, *after;
	size_t on_gone = 0, gone_moved = 0, others = 0, others_moved = 0;
	uint64_t state = 1;

	endpoints(all, 10, false);
	for (size_t i = 0, j = 0; i < 10; i++)
		if (i != gone)
			rest[j++] = all[i];
	before = build(all, 10, m);
	after = build(rest, 9, m);
	assert_even_shares(before, m, 10);
	assert_even_shares(after, m, 9);
	for (int i = 0; i < N_FLOWS; i++) {
		struct sp_flow_key k = flow(&state, false);
		uint32_t slot = sp_flow_slot(&k, m);
		const struct sp_maglev_endpoint *was = &all[before[slot]],
						*now = &rest[after[slot]];

		if (before[slot] == gone) {
			on_gone++;
			gone_moved += !same_endpoint(was, now);
		} else {
			others++;
			others_moved += !same_endpoint(was, now);
		}
	}
	printf("maglev M=%u, 10 endpoints, one removed: %zu of %zu flows on it moved; "
	       "%zu of %zu others moved (%.2f %%)\n",
	       m, gone_moved, on_gone, others_moved, others, 100.0 * others_moved / others);
	ck_assert_uint_gt(on_gone, N_FLOWS / 20); /* about a tenth: not vacuous */
	ck_assert_uint_eq(gone_moved, on_gone);
	ck_assert_uint_le(others_moved * 100, others * 2);
	free(before);
	free(after);
}
END_TEST

/* The tables name the caller's indices; what they name must not depend on order. */
START_TEST(test_maglev_build_order_and_ids_irrelevant)
{
	const uint32_t m = SP_MAGLEV_SIZE_DEFAULT;
	struct sp_maglev_endpoint fwd[10], shuffled[10];
	static const size_t order[10] = {7, 2, 9, 0, 5, 3, 8, 1, 6, 4};
	/* Two callers' own ids for the same endpoints (different numbering). */
	uint32_t ids_fwd[10], ids_shuffled[10];
	struct sp_maglev_endpoint *named_fwd, *named_shuffled;
	uint32_t *t_fwd, *t_shuffled;

	endpoints(fwd, 10, false);
	for (size_t i = 0; i < 10; i++) {
		shuffled[i] = fwd[order[i]];
		ids_fwd[i] = 100 + (uint32_t)i;
		ids_shuffled[i] = 9000 - (uint32_t)i;
	}
	t_fwd = build(fwd, 10, m);
	t_shuffled = build(shuffled, 10, m);
	named_fwd = calloc(m, sizeof(*named_fwd));
	named_shuffled = calloc(m, sizeof(*named_shuffled));
	ck_assert(named_fwd && named_shuffled);
	for (uint32_t s = 0; s < m; s++) {
		/* caller index → caller id → endpoint, as each caller would read it */
		uint32_t id_a = ids_fwd[t_fwd[s]], id_b = ids_shuffled[t_shuffled[s]];

		named_fwd[s] = fwd[id_a - 100];
		named_shuffled[s] = shuffled[9000 - id_b];
	}
	ck_assert_int_eq(memcmp(named_fwd, named_shuffled, m * sizeof(*named_fwd)), 0);
	free(named_fwd);
	free(named_shuffled);
	free(t_fwd);
	free(t_shuffled);
}
END_TEST

START_TEST(test_maglev_build_refuses_bad_size)
{
	struct sp_maglev_endpoint eps[11];
	char err[SP_MAGLEV_ERRLEN];
	uint32_t *table = malloc(SP_MAGLEV_SIZE_MAX * sizeof(*table));

	ck_assert_ptr_nonnull(table);
	endpoints(eps, 11, false);
	ck_assert_int_eq(sp_maglev_build(eps, 10, 16380, table, err), -EINVAL);
	ck_assert_str_eq(err, "maglev table size 16380 is not a prime");
	ck_assert_int_eq(sp_maglev_build(eps, 10, 1, table, err), -EINVAL);
	ck_assert_int_eq(sp_maglev_build(eps, 0, 0, table, err), -EINVAL);
	/* 1009 is prime: enough for 10 endpoints, not for 11 */
	ck_assert_int_eq(sp_maglev_build(eps, 10, 1009, table, err), 0);
	ck_assert_int_eq(sp_maglev_build(eps, 11, 1009, table, err), -EINVAL);
	ck_assert_str_eq(err, "maglev table size 1009 is below 100 × 11 endpoints");
	ck_assert_int_eq(sp_maglev_build(eps, 10, 131101, table, err), -EINVAL); /* prime */
	ck_assert_ptr_nonnull(strstr(err, "131101"));
	ck_assert_int_eq(sp_maglev_check_size(SP_MAGLEV_SIZE_MAX, 0, NULL), 0);
	eps[4].family = 7;
	ck_assert_int_eq(sp_maglev_build(eps, 10, 1009, table, err), -EINVAL);
	ck_assert_str_eq(err, "maglev endpoint 4: address family 7 is neither IPv4 nor IPv6");
	ck_assert(sp_maglev_is_prime(2) && sp_maglev_is_prime(16381) && sp_maglev_is_prime(65521));
	ck_assert(!sp_maglev_is_prime(0) && !sp_maglev_is_prime(1) && !sp_maglev_is_prime(65535));
	ck_assert(!sp_maglev_is_prime(251 * 257));
	free(table);
}
END_TEST

START_TEST(test_maglev_build_zero_and_one_endpoint)
{
	const uint32_t m = SP_MAGLEV_SIZE_DEFAULT;
	struct sp_maglev_endpoint one = ep("10.244.0.10", 8080);
	uint32_t *table = malloc(m * sizeof(*table));

	ck_assert_ptr_nonnull(table);
	ck_assert_int_eq(sp_maglev_build(NULL, 0, m, table, NULL), 0);
	for (uint32_t s = 0; s < m; s++)
		ck_assert_uint_eq(table[s], SP_MAGLEV_NO_ENDPOINT);
	ck_assert_int_eq(sp_maglev_build(&one, 1, m, table, NULL), 0);
	for (uint32_t s = 0; s < m; s++)
		ck_assert_uint_eq(table[s], 0);
	free(table);
}
END_TEST

/* The same endpoint listed twice holds slots once, under its first index. */
START_TEST(test_maglev_build_duplicate_counts_once)
{
	const uint32_t m = SP_MAGLEV_SIZE_DEFAULT;
	struct sp_maglev_endpoint three[3], dup[4];
	uint32_t *t3, *t4;

	endpoints(three, 3, false);
	dup[0] = three[0];
	dup[1] = three[1];
	dup[2] = three[2];
	dup[3] = three[1];
	t3 = build(three, 3, m);
	t4 = build(dup, 4, m);
	ck_assert_int_eq(memcmp(t3, t4, m * sizeof(*t3)), 0);
	free(t3);
	free(t4);
}
END_TEST

START_TEST(test_maglev_build_ipv6_even_shares)
{
	const uint32_t m = SP_MAGLEV_SIZE_DEFAULT;
	struct sp_maglev_endpoint eps[10];
	uint32_t hits[10] = {0}, *table;
	uint64_t state = 6;

	endpoints(eps, 10, true);
	table = build(eps, 10, m);
	assert_even_shares(table, m, 10);
	for (int i = 0; i < N_FLOWS; i++) {
		struct sp_flow_key k = flow(&state, true);

		hits[table[sp_flow_slot(&k, m)]]++;
	}
	for (size_t i = 0; i < 10; i++) /* a tenth each, give or take 5 % of it */
		ck_assert_msg(hits[i] > 9500 && hits[i] < 10500, "endpoint %zu: %u flows", i,
			      hits[i]);
	free(table);
}
END_TEST

START_TEST(test_maglev_build_size_65521)
{
	struct sp_maglev_endpoint eps[600];
	uint32_t *table;

	endpoints(eps, 600, false);
	table = build(eps, 10, 65521);
	assert_even_shares(table, 65521, 10);
	free(table);
	table = build(eps, 600, 65521); /* 65521 ≥ 100 × 600: allowed, still even */
	assert_even_shares(table, 65521, 600);
	free(table);
}
END_TEST

/* One flow, written out: @src:@sport → @dst:@dport over @proto. */
static struct sp_flow_key flow_key(uint8_t proto, const char *src, uint16_t sport, const char *dst,
				   uint16_t dport)
{
	struct sp_flow_key k;
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	memset(&k, 0, sizeof(k));
	k.family = af == AF_INET6 ? 6 : 4;
	k.proto = proto;
	ck_assert_int_eq(inet_pton(af, src, k.saddr), 1);
	ck_assert_int_eq(inet_pton(af, dst, k.daddr), 1);
	k.sport = htons(sport);
	k.dport = htons(dport);
	return k;
}

/* Pinned values: a change of hash, seed, key layout or byte order fails here
 * (and would make nodes running different versions disagree). */
START_TEST(test_maglev_build_golden)
{
	struct sp_maglev_endpoint eps[3] = {ep("10.244.1.10", 8080), ep("10.244.2.10", 8080),
					    ep("fd00:244::3", 443)};
	static const struct {
		uint32_t slot, index;
	} want[] = {
	    {3, 0}, {4, 1}, {5, 2}, {1000, 1}, {16380, 0},
	};
	struct sp_flow_key k4, k6;
	uint32_t *table = build(eps, 3, SP_MAGLEV_SIZE_DEFAULT);

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(table[want[i].slot] == want[i].index, "slot %u: %u", want[i].slot,
			      table[want[i].slot]);
	free(table);

	k4 = flow_key(IPPROTO_TCP, "198.51.100.7", 40000, "203.0.113.10", 443);
	k6 = flow_key(IPPROTO_UDP, "2001:db8::7", 5353, "2001:db8:1::10", 53);
	ck_assert_msg(sp_flow_hash(&k4) == 0x5a0233df, "v4 hash 0x%08x", sp_flow_hash(&k4));
	ck_assert_msg(sp_flow_hash(&k6) == 0x24578443, "v6 hash 0x%08x", sp_flow_hash(&k6));
	ck_assert_uint_eq(sp_flow_slot(&k4, SP_MAGLEV_SIZE_DEFAULT), 0x5a0233dfu % 16381);
	/* lookup3's own test value: hashword of nothing under seed 0 is 0xdeadbeef */
	ck_assert_uint_eq(sp_jhash_words(NULL, 0, 0), 0xdeadbeef);
}
END_TEST

Suite *suite_maglev(void)
{
	Suite *s = suite_create("maglev");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_maglev_build_remove_one_moves_few);
	tcase_add_test(tc, test_maglev_build_order_and_ids_irrelevant);
	tcase_add_test(tc, test_maglev_build_refuses_bad_size);
	tcase_add_test(tc, test_maglev_build_zero_and_one_endpoint);
	tcase_add_test(tc, test_maglev_build_duplicate_counts_once);
	tcase_add_test(tc, test_maglev_build_ipv6_even_shares);
	tcase_add_test(tc, test_maglev_build_size_65521);
	tcase_add_test(tc, test_maglev_build_golden);
	suite_add_tcase(s, tc);
	return s;
}
