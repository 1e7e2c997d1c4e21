/* test_nft_codec.c - every set field kind, both families: value → bytes →
 * text → bytes → value, without a kernel; and the readback's sources: an
 * error from a source is the read's error, never an empty model. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../dataplane/nft/nft_codec.h"
#include "../../dataplane/nft/nft_readsrc.h"
#include "../../dataplane/nft/nft_render.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static struct nft_value addr_value(const char *text)
{
	struct nft_value v = {0};

	ck_assert_int_eq(sp_cidr_parse(text, false, &v.addr), 0);
	return v;
}

/* @v through bytes, text, bytes again: the same bytes, the same value, and
 * the text @want when given. */
static void round_trip(enum nft_field f, int family, const struct nft_value *v, const char *want)
{
	uint8_t b1[16], e1[16], b2[16], e2[16];
	struct nft_value d1, d2, p;
	uint32_t n = nft_field_encode(f, family, v, b1, e1);
	char text[128];

	ck_assert_uint_eq(n, nft_field_len(f, family));
	ck_assert_uint_ge(n, nft_field_bytes(f, family));
	memset(&d1, 0, sizeof(d1));
	nft_field_decode(f, family, b1, e1, &d1);
	nft_field_print(f, family, &d1, text, sizeof(text));
	if (want)
		ck_assert_str_eq(text, want);
	ck_assert_msg(!nft_field_parse(f, family, text, &p), "field %d: '%s' does not parse back",
		      f, text);
	ck_assert_uint_eq(nft_field_encode(f, family, &p, b2, e2), n);
	ck_assert_msg(!memcmp(b1, b2, n) && !memcmp(e1, e2, n),
		      "field %d: '%s' encodes differently", f, text);
	memset(&d2, 0, sizeof(d2));
	nft_field_decode(f, family, b2, e2, &d2);
	ck_assert(!memcmp(&d1, &d2, sizeof(d1)));
	if (f == F_ADDR || f == F_RANGE)
		ck_assert_int_eq(sp_addr_cmp(&d2.addr, &v->addr), 0);
	else
		ck_assert_uint_eq(d2.num, v->num);
}

START_TEST(test_nft_codec_every_field_both_families)
{
	static const struct {
		const char *v4, *v6;
	} addrs[] = {{"198.19.128.10", "fd00:198:19::a"},
		     {"0.0.0.0", "::"},
		     {"255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}};
	static const struct {
		const char *v4, *v6;
	} ranges[] = {{"10.0.0.0/8", "fd00::/8"},
		      {"198.51.100.7", "2001:db8::7"},
		      {"0.0.0.0/0", "::/0"},
		      {"10.1.2.0/23", "2001:db8:0:2::/63"}};
	static const struct {
		enum nft_field f;
		uint32_t num;
		const char *text;
	} nums[] = {
	    {F_PROTO, IPPROTO_TCP, "tcp"},
	    {F_PROTO, IPPROTO_UDP, "udp"},
	    {F_PROTO, IPPROTO_SCTP, "sctp"},
	    {F_PROTO, 47, "47"},
	    {F_PORT, 80, "80"},
	    {F_PORT, 0, "0"},
	    {F_PORT, 65535, "65535"},
	    {F_SLOT, 0, "0"},
	    {F_SLOT, 7, "7"},
	    {F_SLOT, 0xffffffffu, "4294967295"},
	    {F_ID, 1, "1"},
	    {F_ID, 123456, "123456"},
	};

	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? NFPROTO_IPV6 : NFPROTO_IPV4;

		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			const char *t = fam ? addrs[i].v6 : addrs[i].v4;
			struct nft_value v = addr_value(t);

			round_trip(F_ADDR, family, &v, t);
		}
		for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
			const char *t = fam ? ranges[i].v6 : ranges[i].v4;
			struct nft_value v = addr_value(t);

			round_trip(F_RANGE, family, &v, t);
		}
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			struct nft_value v = {.num = nums[i].num};

			round_trip(nums[i].f, family, &v, nums[i].text);
		}
	}
}
END_TEST

/* Byte order as the kernel holds it: addresses and ports network order,
 * slots and ids host order, every field padded to 4 bytes. */
START_TEST(test_nft_codec_kernel_bytes)
{
	struct nft_value v[4] = {
	    addr_value("198.19.128.10"), {.num = IPPROTO_UDP}, {.num = 53}, {.num = 3}};
	const enum nft_field key[] = {F_ADDR, F_PROTO, F_PORT, F_SLOT, 0};
	const uint8_t want[] = {198, 19, 128, 10, IPPROTO_UDP, 0, 0, 0, 0, 53, 0, 0};
	struct nft_value back[4];
	uint8_t b[32];
	uint32_t slot = 3;
	char text[128];

	ck_assert_uint_eq(nft_fields_encode(key, NFPROTO_IPV4, v, b, NULL), 16);
	ck_assert(!memcmp(b, want, sizeof(want)));
	ck_assert(!memcmp(b + 12, &slot, 4));
	ck_assert_int_eq(nft_fields_decode(key, NFPROTO_IPV4, b, NULL, 16, back), 0);
	nft_fields_print(key, NFPROTO_IPV4, back, text, sizeof(text));
	ck_assert_str_eq(text, "198.19.128.10 . udp . 53 . 3");
	/* A key of another length is not this concatenation. */
	ck_assert_int_eq(nft_fields_decode(key, NFPROTO_IPV4, b, NULL, 12, back), -EINVAL);
	ck_assert_int_eq(nft_fields_decode(key, NFPROTO_IPV6, b, NULL, 16, back), -EINVAL);
}
END_TEST

/* The endpoint maps' data, a range that is no prefix, and what does not parse. */
START_TEST(test_nft_codec_endpoint_range_and_bad_text)
{
	const char *eps[2] = {"198.18.1.10 . 8080", "fd00:198:18:1::10 . 8080"};
	struct nft_value v[2], r;
	uint8_t b[20], e[16];
	char text[128];

	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? NFPROTO_IPV6 : NFPROTO_IPV4;
		char addr[64];

		sscanf(eps[fam], "%63s", addr);
		ck_assert_int_eq(nft_field_parse(F_ADDR, family, addr, &v[0]), 0);
		ck_assert_int_eq(nft_field_parse(F_PORT, family, "8080", &v[1]), 0);
		ck_assert_uint_eq(nft_fields_encode(nft_endpoint_fields, family, v, b, NULL),
				  nft_data_len(D_ENDPOINT, family));
		ck_assert_int_eq(nft_fields_decode(nft_endpoint_fields, family, b, NULL,
						   nft_data_len(D_ENDPOINT, family), v),
				 0);
		nft_fields_print(nft_endpoint_fields, family, v, text, sizeof(text));
		ck_assert_str_eq(text, eps[fam]);
	}
	ck_assert_int_eq(nft_field_parse(F_RANGE, NFPROTO_IPV4, "10.0.0.1-10.0.0.5", &r), 0);
	nft_field_encode(F_RANGE, NFPROTO_IPV4, &r, b, e);
	ck_assert(!memcmp(e, (uint8_t[]){10, 0, 0, 5}, 4));
	memset(&r, 0, sizeof(r));
	nft_field_decode(F_RANGE, NFPROTO_IPV4, b, e, &r);
	nft_field_print(F_RANGE, NFPROTO_IPV4, &r, text, sizeof(text));
	ck_assert_str_eq(text, "10.0.0.1-10.0.0.5");
	ck_assert_int_eq(nft_field_parse(F_ADDR, NFPROTO_IPV4, "fd00::1", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_ADDR, NFPROTO_IPV6, "10.0.0.1", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_PORT, NFPROTO_IPV4, "65536", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_PORT, NFPROTO_IPV4, "80x", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_PROTO, NFPROTO_IPV4, "256", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_PROTO, NFPROTO_IPV4, "icmpv9", &r), -EINVAL);
	ck_assert_int_eq(nft_field_parse(F_SLOT, NFPROTO_IPV4, "0x10", &r), 0);
	ck_assert_uint_eq(r.num, 16);
	ck_assert_int_eq(nft_field_parse(F_RANGE, NFPROTO_IPV4, "10.0.0.0/33", &r), -EINVAL);
}
END_TEST

START_TEST(test_nft_codec_verdicts)
{
	static const struct {
		int code;
		const char *chain, *text;
	} cases[] = {{NFT_GOTO, "dnat-n2", "goto dnat-n2"},
		     {NFT_JUMP, "x", "jump x"},
		     {NF_DROP, NULL, "drop"},
		     {NF_ACCEPT, NULL, "accept"}};
	char text[64], word[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = 12345;

		nft_verdict_print(cases[i].code, cases[i].chain, text, sizeof(text));
		ck_assert_str_eq(text, cases[i].text);
		sscanf(text, "%15s", word);
		ck_assert_int_eq(nft_verdict_parse(word, &code), 0);
		ck_assert_int_eq(code, cases[i].code);
		ck_assert_int_eq(nft_verdict_has_chain(code), cases[i].chain != NULL);
	}
	ck_assert_int_eq(nft_verdict_from_elem(NFT_ELEM_GOTO), NFT_GOTO);
	ck_assert_int_eq(nft_verdict_from_elem(NFT_ELEM_DROP), NF_DROP);
	ck_assert_uint_eq(nft_verdict_to_elem(NFT_GOTO), NFT_ELEM_GOTO);
	ck_assert_uint_eq(nft_verdict_to_elem(NF_DROP), NFT_ELEM_DROP);
	ck_assert_int_eq(nft_verdict_parse("return", &(int){0}), -EINVAL);
}
END_TEST

/* Every element a rendered port writes, described through the codec, reads
 * back through the text reader's field parser to the same bytes. */
START_TEST(test_nft_codec_render_describe_parse)
{
	struct sp_svc_port *p = sp_svc_port_new("ns/fw", "http", IPPROTO_TCP, AF_INET);
	struct nft_render r;
	struct sp_addr a;

	sp_addr_parse("198.19.201.77", &a);
	sp_addr_list_add(&p->lb_ips, &a);
	sp_cidr_parse("10.0.0.0/8", false, &a);
	sp_addr_list_add(&p->lb_source_ranges, &a);
	p->port = 80;
	ck_assert_int_eq(nft_render_port(p, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		const struct nft_elem *e = &r.v[i];
		const struct nft_set_def *d = &sp_nft_sets[e->set];
		const uint8_t *end = d->interval ? e->key + e->klen : NULL;
		struct nft_value v[5], w;
		uint8_t k[NFT_KEY_MAX], ke[NFT_KEY_MAX];
		char desc[256], *tok, *save;
		uint32_t n = 0;
		int f = 0;

		nft_elem_describe(e, NFPROTO_IPV4, desc, sizeof(desc));
		ck_assert_int_eq(nft_fields_decode(d->key, NFPROTO_IPV4, e->key, end, e->klen, v),
				 0);
		/* "set NAME element f1 . f2 ... (comment)" */
		strtok_r(desc, " ", &save);
		strtok_r(NULL, " ", &save);
		strtok_r(NULL, " ", &save);
		while ((tok = strtok_r(NULL, " ", &save)) && *tok != '(') {
			if (!strcmp(tok, "."))
				continue;
			ck_assert_int_eq(nft_field_parse(d->key[f], NFPROTO_IPV4, tok, &w), 0);
			n += nft_field_encode(d->key[f], NFPROTO_IPV4, &w, k + n, ke + n);
			f++;
		}
		ck_assert_uint_eq(n, e->klen);
		ck_assert(!memcmp(k, e->key, n));
		if (end)
			ck_assert(!memcmp(ke, end, n));
	}
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

/* A source that fails the way the kernel does without CAP_NET_ADMIN. */
static int failing_each(const struct nft_src *src, int family, const char *name, elem_fn fn,
			void *ctx)
{
	(void)src, (void)fn, (void)ctx;
	return family == NFPROTO_IPV6 && !strcmp(name, "service-nodeports") ? -EPERM : 0;
}

static int no_affinity(const struct nft_src *src, int family, struct sp_hmap *aff)
{
	(void)src, (void)family, (void)aff;
	return 0;
}

static int failing_affinity(const struct nft_src *src, int family, struct sp_hmap *aff)
{
	(void)src, (void)family, (void)aff;
	return -EIO;
}

START_TEST(test_nft_read_source_errors_are_errors)
{
	struct nft_src src = {.each = failing_each, .affinity = no_affinity};
	struct captured_log log;
	struct sp_model m;

	captured_log_open(&log);
	ck_assert_int_eq(sp_model_init(&m), 0);
	ck_assert_int_eq(nft_read_source(&src, &m, &log.log, NULL, NULL), -EPERM);
	ck_assert_ptr_nonnull(strstr(captured_log_text(&log), "Operation not permitted"));
	src.affinity = failing_affinity;
	ck_assert_int_eq(nft_read_source(&src, &m, &log.log, NULL, NULL), -EIO);
	sp_model_fini(&m);
	captured_log_close(&log);
}
END_TEST

/* The text source hands an element callback's error back. */
static int refuse(void *ctx, const struct elem_view *v)
{
	(void)v;
	++*(int *)ctx;
	return -ENOMEM;
}

START_TEST(test_nft_text_source_callback_error)
{
	static const char dump[] =
	    "table ip svcplane {\n\tmap service-ips {\n"
	    "\t\telements = { 198.19.0.1 . tcp . 80 comment \"a/b:http\" : goto dnat-n1,\n"
	    "\t\t\t     198.19.0.2 . tcp . 80 comment \"a/c:http\" : drop }\n\t}\n}\n";
	char err[128];
	struct sp_nft_text *t = sp_nft_text_parse(dump, strlen(dump), err, sizeof(err));
	struct nft_src src;
	struct sp_model m;
	int calls = 0;

	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_int_eq(sp_model_init(&m), 0);
	ck_assert_int_eq(sp_nft_text_read(t, &m, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(sp_hmap_len(m.ports), 2);
	sp_model_fini(&m);
	/* Through the source interface: the first error stops the walk. */
	nft_text_source(&src, t);
	ck_assert_int_eq(src.each(&src, NFPROTO_IPV4, "service-ips", refuse, &calls), -ENOMEM);
	ck_assert_int_eq(calls, 1);
	sp_nft_text_free(t);
}
END_TEST

Suite *suite_nft_codec(void)
{
	Suite *s = suite_create("nft_codec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_nft_codec_every_field_both_families);
	tcase_add_test(tc, test_nft_codec_kernel_bytes);
	tcase_add_test(tc, test_nft_codec_endpoint_range_and_bad_text);
	tcase_add_test(tc, test_nft_codec_verdicts);
	tcase_add_test(tc, test_nft_codec_render_describe_parse);
	tcase_add_test(tc, test_nft_read_source_errors_are_errors);
	tcase_add_test(tc, test_nft_text_source_callback_error);
	suite_add_tcase(s, tc);
	return s;
}
