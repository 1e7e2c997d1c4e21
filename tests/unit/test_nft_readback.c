/* test_nft_readback.c - projecting a model onto what nftables can hold (what a
 * readback of the programmed rules gives). */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../dataplane/nft/nft_readback.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_project_matches_what_is_programmed)
{
	struct sp_model in, out;
	struct sp_svc_port *p = svc_port_eps("ns/web", "10.96.0.10", 80, 3), *q;

	ck_assert_int_eq(sp_model_init(&in), 0);
	ck_assert_int_eq(sp_model_init(&out), 0);
	p->eps[1].ready = false;		/* not programmed */
	p->itp = SP_POLICY_LOCAL;		/* not readable back: reported Cluster */
	ck_assert_int_eq(sp_model_add_port(&in, p), 0);
	ck_assert_int_eq(sp_svc_port_decide(p, "n1", NULL), 0);
	ck_assert_int_eq(sp_nft_project(&in, &out), 0);
	q = sp_hmap_get(out.ports, "ns/web:http/TCP/IPv4");
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(q->n_eps, 2);			/* local ones (iTP Local) */
	ck_assert_int_eq(q->itp, SP_POLICY_CLUSTER);
	ck_assert(q->eps[0].ready && !q->eps[0].local && !q->eps[0].node_name);
	sp_model_fini(&in);
	sp_model_fini(&out);
}
END_TEST

Suite *suite_nft_readback(void)
{
	Suite *s = suite_create("nft_readback");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_project_matches_what_is_programmed);
	suite_add_tcase(s, tc);
	return s;
}
