/* test_model.c - the model built from the fixture cluster equals a hand-checked
 * table; endpoint merging and fields. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../control/source_dir.h"

#include <stdlib.h>
#include <string.h>

/* Hand-checked against tests/fixtures/valid: service port → endpoints, in the
 * model's order (address, then port). */
static const char *const expected_table[] = {
	"default/echo:tcp/TCP/IPv4 -> 10.244.0.7:7007",
	"default/echo:tcp/TCP/IPv6 -> fd00:10:244::7:7007",
	"default/kubernetes:https/TCP/IPv4 -> 172.18.0.2:6443,172.18.0.3:6443",
	"kube-system/kube-dns:dns-tcp/TCP/IPv4 -> 10.244.0.3:53,10.244.1.4:53",
	"kube-system/kube-dns:dns/UDP/IPv4 -> 10.244.0.3:53,10.244.1.4:53",
	"kube-system/kube-dns:metrics/TCP/IPv4 -> 10.244.0.3:9153,10.244.1.4:9153",
	"shop/api:/TCP/IPv4 -> 10.244.0.50:8080,10.244.1.51:8080,10.244.1.52:8080",
	"shop/checkout:https/TCP/IPv4 -> 10.244.0.30:8443,10.244.1.31:8443",
	"shop/web:http/TCP/IPv4 -> 10.244.0.20:8080,10.244.1.21:8080,10.244.1.22:8080",
	"telco/signalling:sctp/SCTP/IPv4 -> 10.244.2.7:3868",
};

START_TEST(test_model_fixtures_equal_expected_table)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m;
	const struct sp_svc_port **ports;
	size_t n, errors;

	captured_log_open(&lg);
	errors = load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	ck_assert_msg(errors == 0, "fixture errors: %s", captured_log_text(&lg));
	ports = sp_model_sorted_ports(&m, &n);
	ck_assert_uint_eq(n, sizeof(expected_table) / sizeof(expected_table[0]));
	for (size_t i = 0; i < n; i++) {
		char *d = describe_port(ports[i]);

		ck_assert_str_eq(d, expected_table[i]);
		free(d);
	}
	free(ports);
	captured_log_close(&lg);
	sp_model_fini(&m);
	sp_store_fini(&st);
}
END_TEST

START_TEST(test_model_fixture_fields)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m;
	const struct sp_svc_port *web, *checkout, *api;
	char buf[SP_ADDRSTRLEN];

	captured_log_open(&lg);
	load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	web = sp_hmap_get(m.ports, "shop/web:http/TCP/IPv4");
	checkout = sp_hmap_get(m.ports, "shop/checkout:https/TCP/IPv4");
	api = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	ck_assert_ptr_nonnull(web);
	ck_assert_ptr_nonnull(checkout);
	ck_assert_ptr_nonnull(api);
	ck_assert_int_eq(web->node_port, 30080);
	ck_assert(web->affinity_client_ip);
	ck_assert_int_eq(web->affinity_timeout, 300);
	ck_assert_int_eq(web->etp, SP_POLICY_LOCAL);
	ck_assert(web->eps[0].local && web->eps[0].ready);
	ck_assert(!web->eps[1].ready && web->eps[1].serving && web->eps[1].terminating);
	ck_assert(!web->eps[2].ready && !web->eps[2].serving);
	/* LB ingress: the hostname-only and ipMode Proxy entries are skipped. */
	ck_assert_uint_eq(checkout->lb_ips.n, 1);
	ck_assert_str_eq(sp_addr_str(&checkout->lb_ips.v[0], buf), "192.0.2.10");
	ck_assert_uint_eq(checkout->lb_source_ranges.n, 2);
	ck_assert_int_eq(checkout->health_check_node_port, 31999);
	ck_assert_str_eq(checkout->eps[0].for_zones.v[0], "zone-a");
	/* 10.244.1.51 is in both slices, not ready in one: merged once, ready. */
	ck_assert_uint_eq(api->n_eps, 3);
	ck_assert(api->eps[1].ready);
	ck_assert_str_eq(api->traffic_distribution, "PreferClose");
	ck_assert_str_eq(m.node.zone, "zone-a");
	captured_log_close(&lg);
	sp_model_fini(&m);
	sp_store_fini(&st);
}
END_TEST

/* A sync's change list: an untouched service is no change, an equal rebuild
 * keeps the very same port, a new port takes a recycled id. */
START_TEST(test_change_list_minimal_and_ids_recycled)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m;
	struct sp_change chg;
	struct sp_hmap *d;
	const struct sp_svc_port *before, *after;
	size_t nports;

	captured_log_open(&lg);
	load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	ck_assert_int_eq(sp_change_init(&chg), 0);
	nports = sp_hmap_len(m.ports);
	before = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	/* Full rebuild from an unchanged store: nothing changed. */
	ck_assert_int_eq(sp_store_mark_all(&st), 0);
	d = sp_store_take_dirty(&st);
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	sp_hmap_free(d);
	ck_assert_uint_eq(chg.n, 0);
	ck_assert(!chg.node_changed);
	after = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	ck_assert_ptr_eq(before, after);
	ck_assert_uint_eq(sp_hmap_len(m.ports), nports);
	/* Remove a service, sync, and a port added later reuses its id. */
	uint32_t gone = after->id;

	sp_store_del_service(&st, "shop/api");
	d = sp_store_take_dirty(&st);
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	sp_hmap_free(d);
	ck_assert_uint_ge(chg.n, 1);
	for (size_t i = 0; i < chg.n; i++)
		ck_assert_ptr_null(chg.v[i].new);
	sp_model_commit(&m, &chg);
	ck_assert_uint_ge(m.n_free_ids, 1);
	ck_assert(m.free_ids[0] == gone || m.free_ids[m.n_free_ids - 1] == gone);
	sp_change_fini(&chg);
	sp_model_fini(&m);
	sp_store_fini(&st);
	captured_log_close(&lg);
}
END_TEST

/* Removed and added again before a sync: one change, under the id the
 * backend knows, and no id recycled while the port lives. */
START_TEST(test_change_list_removed_then_readded_keeps_id)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m;
	struct sp_change chg;
	struct sp_dir_source *src;
	struct sp_hmap *d;
	const struct sp_svc_port *api;
	uint32_t id;
	size_t entries = 0;

	captured_log_open(&lg);
	load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	ck_assert_int_eq(sp_change_init(&chg), 0);
	id = ((const struct sp_svc_port *)sp_hmap_get(m.ports, "shop/api:/TCP/IPv4"))->id;
	sp_store_del_service(&st, "shop/api");
	d = sp_store_take_dirty(&st);
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	sp_hmap_free(d);
	src = sp_dir_source_new(FIXTURES "/valid", &st, &lg.log);
	ck_assert_ptr_nonnull(src);
	ck_assert_int_eq(sp_dir_source_load_all(src), 0);
	sp_dir_source_free(src);
	d = sp_store_take_dirty(&st);
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	sp_hmap_free(d);
	api = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	ck_assert_ptr_nonnull(api);
	ck_assert_uint_eq(api->id, id);
	for (size_t i = 0; i < chg.n; i++) {
		if (chg.v[i].id != id)
			continue;
		entries++;
		ck_assert_ptr_eq(chg.v[i].new, api);
		ck_assert_ptr_nonnull(chg.v[i].old);
	}
	ck_assert_uint_eq(entries, 1);
	sp_model_commit(&m, &chg);
	for (size_t i = 0; i < m.n_free_ids; i++)
		ck_assert_uint_ne(m.free_ids[i], id);
	sp_change_fini(&chg);
	sp_model_fini(&m);
	sp_store_fini(&st);
	captured_log_close(&lg);
}
END_TEST

Suite *suite_model(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_model_fixtures_equal_expected_table);
	tcase_add_test(tc, test_model_fixture_fields);
	tcase_add_test(tc, test_change_list_minimal_and_ids_recycled);
	tcase_add_test(tc, test_change_list_removed_then_readded_keeps_id);
	suite_add_tcase(s, tc);
	return s;
}
