/* test_addr.c - address and prefix parsing, printing, containment. */
#include "helpers.h"
#include "../../common/addr.h"

#include <sys/socket.h>

START_TEST(test_addr_parse_v4_v6)
{
	struct sp_addr a;
	char buf[SP_ADDRSTRLEN];

	ck_assert_int_eq(sp_addr_parse("198.18.1.5", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_str_eq(sp_addr_str(&a, buf), "198.18.1.5");
	ck_assert_int_eq(sp_addr_parse("FD00:10:0:1::5", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_str_eq(sp_addr_str(&a, buf), "fd00:10:0:1::5");
}
END_TEST

START_TEST(test_addr_parse_rejects_garbage)
{
	struct sp_addr a;
	const char *bad[] = { "", "1.2.3", "1.2.3.256", "1.2.3.4 ", "::g", "1.2.3.4/24", "localhost" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sp_addr_parse(bad[i], &a) < 0, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_cidr_parse_strict_and_loose)
{
	struct sp_addr a, ip;
	char buf[SP_ADDRSTRLEN];

	ck_assert_int_eq(sp_cidr_parse("10.0.0.0/8", true, &a), 0);
	ck_assert_str_eq(sp_addr_str(&a, buf), "10.0.0.0/8");
	ck_assert_int_lt(sp_cidr_parse("10.1.0.0/8", true, &a), 0);
	ck_assert_int_eq(sp_cidr_parse("10.1.0.0/8", false, &a), 0);
	ck_assert_str_eq(sp_addr_str(&a, buf), "10.0.0.0/8");
	ck_assert_int_lt(sp_cidr_parse("10.0.0.0/33", false, &a), 0);
	ck_assert_int_lt(sp_cidr_parse("10.0.0.0/", false, &a), 0);
	ck_assert_int_lt(sp_cidr_parse("10.0.0.0/-1", false, &a), 0);
	ck_assert_int_eq(sp_cidr_parse("fd00:10::/48", true, &a), 0);
	ck_assert_int_eq(sp_addr_parse("fd00:10:0:7::1", &ip), 0);
	ck_assert(sp_cidr_contains(&a, &ip));
	ck_assert_int_eq(sp_addr_parse("fd00:11::1", &ip), 0);
	ck_assert(!sp_cidr_contains(&a, &ip));
	ck_assert_int_eq(sp_cidr_parse("198.51.100.7", false, &a), 0);
	ck_assert_str_eq(sp_cidr_str(&a, buf), "198.51.100.7/32");
}
END_TEST

START_TEST(test_addr_cmp_orders_family_then_bytes)
{
	struct sp_addr a, b, c;

	sp_addr_parse("10.0.0.2", &a);
	sp_addr_parse("10.0.0.10", &b);
	sp_addr_parse("::1", &c);
	ck_assert_int_lt(sp_addr_cmp(&a, &b), 0);
	ck_assert_int_lt(sp_addr_cmp(&b, &c), 0);
	ck_assert_int_eq(sp_addr_cmp(&a, &a), 0);
}
END_TEST

Suite *suite_addr(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_parse_v4_v6);
	tcase_add_test(tc, test_addr_parse_rejects_garbage);
	tcase_add_test(tc, test_cidr_parse_strict_and_loose);
	tcase_add_test(tc, test_addr_cmp_orders_family_then_bytes);
	suite_add_tcase(s, tc);
	return s;
}
