/* test_us_fwd.c - the forwarder's per-client decisions, without sockets:
 * which pool a client draws from (ClusterIP: internal; external addresses:
 * external, or with externalTrafficPolicy Local the cluster list for the
 * node's own pods and processes), and loadBalancerSourceRanges on LB IPs;
 * and its descriptor accounting (two per connection, idle pipes given back
 * for room). */
#define _GNU_SOURCE
#include "helpers.h"
#include "../../dataplane/userspace/us_fwd.h"
#include "../../dataplane/userspace/us_relay.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static struct sp_addr ip(const char *s)
{
	struct sp_addr a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	return a;
}

static struct sp_addr cidr(const char *s)
{
	struct sp_addr a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(sp_cidr_parse(s, true, &a), 0);
	return a;
}

START_TEST(test_us_client_pool_local_shortcut)
{
	struct sp_cidrs cc = {.n = 1};
	struct us_fwd f = {.cluster_cidrs = &cc};
	struct us_svc s = {.ext_local = true};
	struct us_lis np = {.fwd = &f, .svc = &s, .external = true, .addr = ip("198.19.0.1")};
	struct us_lis cip = {.fwd = &f, .svc = &s, .external = false, .addr = ip("198.19.128.1")};
	struct sp_addr pod = ip("198.18.1.5"), node = ip("198.19.0.1"),
		       outside = ip("198.19.0.100");

	cc.v[0] = cidr("198.18.0.0/16");
	ck_assert_ptr_eq(us_client_pool(&cip, &outside), &s.internal);
	ck_assert_ptr_eq(us_client_pool(&np, &outside), &s.external);
	ck_assert_ptr_eq(us_client_pool(&np, &pod), &s.shortcut);
	ck_assert_ptr_eq(us_client_pool(&np, &node), &s.shortcut);
	s.ext_local = false; /* Cluster policy: one list for everyone */
	ck_assert_ptr_eq(us_client_pool(&np, &pod), &s.external);
}
END_TEST

START_TEST(test_us_lis_endpoints_local_without_local_endpoints)
{
	struct us_ep e = {.addr = ip("198.18.2.10"), .port = 80};
	struct us_svc s = {.ext_local = true};
	struct us_lis np = {.svc = &s, .external = true};

	ck_assert_int_eq(us_pool_set(&s.shortcut, &e, 1), 0);
	/* no local endpoint, but the node's pods may still use it: listening */
	ck_assert_uint_eq(us_lis_endpoints(&np), 1);
	s.ext_local = false;
	ck_assert_uint_eq(us_lis_endpoints(&np), 0);
	us_pool_fini(&s.shortcut);
}
END_TEST

START_TEST(test_us_client_allowed_source_ranges)
{
	struct sp_addr r[2] = {cidr("198.19.0.100/32"), cidr("fd00:19::/64")};
	struct us_svc s = {.ranges = r, .nranges = 2};
	struct us_lis lb = {.svc = &s, .external = true, .lb = true};
	struct us_lis ext = {.svc = &s, .external = true, .lb = false};
	struct sp_addr in = ip("198.19.0.100"), out = ip("198.18.1.12"), in6 = ip("fd00:19::5");

	ck_assert(us_client_allowed(&lb, &in));
	ck_assert(us_client_allowed(&lb, &in6));
	ck_assert(!us_client_allowed(&lb, &out));
	ck_assert(us_client_allowed(&ext, &out)); /* ranges apply to LB IPs only */
	s.nranges = 0;
	ck_assert(us_client_allowed(&lb, &out)); /* no ranges: everyone */
}
END_TEST

/* Two descriptors a connection, US_FDS_OWN kept: at RLIMIT_NOFILE 20000
 * (this machine's hard limit) 9936 connections, not (20000 - 1024) / 8. */
START_TEST(test_us_fwd_max_conns_two_fds_each)
{
	ck_assert_uint_eq(us_fwd_max_conns(20000), (20000 - US_FDS_OWN) / 2);
	ck_assert_uint_eq(us_fwd_max_conns(20000), 9936);
	ck_assert_uint_eq(us_fwd_max_conns(2048), 960);
	ck_assert_uint_eq(us_fwd_max_conns(1 << 20), US_MAX_CONNS_CAP);
	ck_assert_uint_eq(us_fwd_max_conns(100), 1); /* never none */
}
END_TEST

/* Room counts connections, listeners and pipes against the limit, and
 * closes idle pipes to make it. */
START_TEST(test_us_fwd_room_counts_and_frees_idle_pipes)
{
	struct us_fwd f = {.nofile = US_FDS_OWN + 20, .n_conns = 8, .nlis = 2};

	ck_assert_uint_eq(us_fwd_fds(&f), 18);
	ck_assert(us_fwd_room(&f, 2));
	ck_assert(!us_fwd_room(&f, 3));
	f.max_conns = 100;
	ck_assert_uint_eq(us_fwd_conns_max_now(&f), 9); /* (20 - 2 listeners) / 2 */
	f.max_conns = 5;
	ck_assert_uint_eq(us_fwd_conns_max_now(&f), 5);
	f.pipes_in_use = 1; /* a pipe in flight: two descriptors */
	ck_assert(!us_fwd_room(&f, 1));
	f.pipes_in_use = 0;
	f.nlis = 0;
	ck_assert_int_eq(pipe2(f.pipes[0], O_CLOEXEC), 0);
	f.npipes = 1;
	ck_assert_uint_eq(us_fwd_fds(&f), 18);
	ck_assert(us_fwd_room(&f, 2)); /* fits beside the idle pipe */
	ck_assert_uint_eq(f.npipes, 1);
	ck_assert(us_fwd_room(&f, 4)); /* only without it: closed */
	ck_assert_uint_eq(f.npipes, 0);
	ck_assert_int_eq(fcntl(f.pipes[0][0], F_GETFD), -1);
	ck_assert(!us_fwd_room(&f, 5));
}
END_TEST

/* A new pipe leaves room for US_PIPE_HEADROOM more connections, or for as
 * many as the limit still allows. */
START_TEST(test_us_fwd_pipe_room_leaves_connections_room)
{
	struct us_fwd f = {.nofile = US_FDS_OWN + 2 + 2 * US_PIPE_HEADROOM, .max_conns = 1000};

	ck_assert(us_fwd_pipe_room(&f));
	f.nlis = 1;
	ck_assert(!us_fwd_pipe_room(&f));
	ck_assert(us_fwd_room(&f, 2)); /* a connection still fits */
	f.max_conns = 10;	       /* ten more at most: room for them is enough */
	ck_assert(us_fwd_pipe_room(&f));
	f.n_conns = 10; /* at the limit: any descriptor to spare */
	f.nofile = US_FDS_OWN + 20 + 1 + 2;
	ck_assert(us_fwd_pipe_room(&f));
	f.nlis = 2;
	ck_assert(!us_fwd_pipe_room(&f));
}
END_TEST

Suite *suite_us_fwd(void)
{
	Suite *s = suite_create("us_fwd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_us_client_pool_local_shortcut);
	tcase_add_test(tc, test_us_lis_endpoints_local_without_local_endpoints);
	tcase_add_test(tc, test_us_client_allowed_source_ranges);
	tcase_add_test(tc, test_us_fwd_max_conns_two_fds_each);
	tcase_add_test(tc, test_us_fwd_room_counts_and_frees_idle_pipes);
	tcase_add_test(tc, test_us_fwd_pipe_room_leaves_connections_room);
	suite_add_tcase(s, tc);
	return s;
}
