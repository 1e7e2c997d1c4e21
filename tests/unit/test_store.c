/* test_store.c - dirty tracking: a changed slice marks its service; the model follows. */
#include "helpers.h"
#include "../../common/hmap.h"

START_TEST(test_store_dirty_tracks_services_of_changed_slices)
{
	struct captured_log lg;
	struct sp_store st;
	struct sp_model m;
	struct sp_change chg;
	struct sp_hmap *d;
	const struct sp_svc_port *api;
	uint32_t id;

	captured_log_open(&lg);
	load_dir_model(FIXTURES "/valid", "node1", &st, &m, &lg.log);
	ck_assert_int_eq(sp_change_init(&chg), 0);
	ck_assert_uint_eq(sp_hmap_len(st.dirty), 0);
	api = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	ck_assert_ptr_nonnull(api);
	id = api->id;
	ck_assert_uint_ne(id, 0);
	sp_store_del_slice(&st, "shop/api-b");
	sp_store_del_slice(&st, "shop/no-such-slice");
	d = sp_store_take_dirty(&st);
	ck_assert_uint_eq(sp_hmap_len(d), 1);
	ck_assert_ptr_nonnull(sp_hmap_get(d, "shop/api"));
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	api = sp_hmap_get(m.ports, "shop/api:/TCP/IPv4");
	ck_assert_uint_eq(api->n_eps, 2);
	/* One change: the same id, old and new. */
	ck_assert_uint_eq(chg.n, 1);
	ck_assert_uint_eq(chg.v[0].id, id);
	ck_assert_uint_eq(api->id, id);
	ck_assert_ptr_eq(chg.v[0].new, api);
	ck_assert_ptr_nonnull(chg.v[0].old);
	ck_assert_uint_gt(chg.v[0].old->n_eps, 2);
	sp_hmap_free(d);
	/* Deleting the service removes its ports: a removal of that id, merged
	 * with the unsynced change (old stays the first one). */
	sp_store_del_service(&st, "shop/api");
	d = sp_store_take_dirty(&st);
	ck_assert_int_eq(sp_model_update(&m, &st, d, &chg), 0);
	ck_assert_ptr_null(sp_hmap_get(m.ports, "shop/api:/TCP/IPv4"));
	ck_assert_uint_eq(chg.n, 1);
	ck_assert_uint_eq(chg.v[0].id, id);
	ck_assert_ptr_null(chg.v[0].new);
	ck_assert_uint_gt(chg.v[0].old->n_eps, 2);
	sp_hmap_free(d);
	sp_model_commit(&m, &chg);
	ck_assert_uint_eq(chg.n, 0);
	ck_assert_uint_eq(m.n_free_ids, 1);
	ck_assert_uint_eq(m.free_ids[0], id);
	sp_change_fini(&chg);
	sp_model_fini(&m);
	sp_store_fini(&st);
	captured_log_close(&lg);
}
END_TEST

Suite *suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_store_dirty_tracks_services_of_changed_slices);
	suite_add_tcase(s, tc);
	return s;
}
