/* test_gunzip.c - gzip bodies decoded as they arrive: split anywhere, several
 * members, refusals, and a callback that stops the stream. */
#include "helpers.h"
#include "../../control/gunzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* @n bytes of @in as one gzip member into @out (room for @cap); its length. */
static size_t gz(const char *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream z = {0};
	size_t len;

	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	len = cap - z.avail_out;
	deflateEnd(&z);
	return len;
}

struct out {
	char *p;
	size_t len, cap, pieces, largest;
	size_t stop_after; /* return 7 once this many bytes came out (0: never) */
};

static int got(void *ctx, const char *data, size_t n)
{
	struct out *o = ctx;

	ck_assert_uint_gt(n, 0);
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
		ck_assert_ptr_nonnull(o->p);
	}
	memcpy(o->p + o->len, data, n);
	o->len += n;
	o->pieces++;
	if (n > o->largest)
		o->largest = n;
	return o->stop_after && o->len >= o->stop_after ? 7 : 0;
}

START_TEST(test_gunzip_split_anywhere)
{
	static const char text[] =
	    "{\"kind\":\"ServiceList\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}";
	unsigned char z[256];
	size_t zn = gz(text, strlen(text), z, sizeof(z));
	struct sp_gunzip *g = sp_gunzip_new();

	ck_assert_ptr_nonnull(g);
	for (size_t cut = 0; cut <= zn; cut++) {
		struct out o = {0};

		sp_gunzip_reset(g);
		ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, cut, got, &o), 0);
		ck_assert(!sp_gunzip_ended(g) == (cut > 0 && cut < zn));
		ck_assert_int_eq(sp_gunzip_feed(g, (char *)z + cut, zn - cut, got, &o), 0);
		ck_assert(sp_gunzip_ended(g));
		ck_assert_uint_eq(o.len, strlen(text));
		ck_assert_int_eq(memcmp(o.p, text, o.len), 0);
		free(o.p);
	}
	sp_gunzip_free(g);
}
END_TEST

/* A bomb: 64 MiB of spaces from ~64 KiB, handed out in pieces of at most
 * SP_GUNZIP_OUT, and nothing more held. */
START_TEST(test_gunzip_bomb_pieces_bounded)
{
	size_t n = 64u << 20, zcap = 256u << 10, zn;
	char *text = malloc(n);
	unsigned char *z = malloc(zcap);
	struct sp_gunzip *g = sp_gunzip_new();
	struct out o = {0};

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(z);
	memset(text, ' ', n);
	zn = gz(text, n, z, zcap);
	ck_assert_uint_lt(zn, n / 500);
	o.cap = n;
	o.p = text; /* (reused as the output) */
	memset(text, 0, n);
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), 0);
	ck_assert(sp_gunzip_ended(g));
	ck_assert_uint_eq(o.len, n);
	ck_assert_uint_le(o.largest, SP_GUNZIP_OUT);
	ck_assert_uint_ge(o.pieces, n / SP_GUNZIP_OUT);
	for (size_t i = 0; i < n; i += 4093)
		ck_assert_int_eq(text[i], ' ');
	sp_gunzip_free(g);
	free(z);
	free(text);
}
END_TEST

/* Two members one after the other are one stream, as gzip -d reads them. */
START_TEST(test_gunzip_members_concatenated)
{
	unsigned char z[256];
	size_t zn = gz("{\"a\":", 5, z, sizeof(z));
	struct sp_gunzip *g = sp_gunzip_new();
	struct out o = {0};

	zn += gz("1}", 2, z + zn, sizeof(z) - zn);
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), 0);
	ck_assert(sp_gunzip_ended(g));
	ck_assert_uint_eq(o.len, 7);
	ck_assert_int_eq(memcmp(o.p, "{\"a\":1}", 7), 0);
	free(o.p);
	sp_gunzip_free(g);
}
END_TEST

START_TEST(test_gunzip_not_gzip_or_corrupt)
{
	unsigned char z[256];
	size_t zn = gz("hello, world", 12, z, sizeof(z));
	struct sp_gunzip *g = sp_gunzip_new();
	struct out o = {0};

	/* Not gzip at all: refused with zlib's word for it, and sticky. */
	ck_assert_int_eq(sp_gunzip_feed(g, "{\"items\":[]}", 12, got, &o), -EBADMSG);
	ck_assert_str_ne(sp_gunzip_error(g), "");
	ck_assert(!sp_gunzip_ended(g));
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), -EBADMSG);
	/* A bad CRC in the trailer. */
	sp_gunzip_reset(g);
	ck_assert_str_eq(sp_gunzip_error(g), "");
	z[zn - 8] ^= 1;
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), -EBADMSG);
	z[zn - 8] ^= 1;
	/* Data after the member that is not another one. */
	sp_gunzip_reset(g);
	memcpy(z + zn, "junk", 4);
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn + 4, got, &o), -EBADMSG);
	/* Cut off: no error, but not ended. */
	sp_gunzip_reset(g);
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn - 3, got, &o), 0);
	ck_assert(!sp_gunzip_ended(g));
	free(o.p);
	sp_gunzip_free(g);
}
END_TEST

/* The callback's non-zero return stops decoding at once, and is sticky. */
START_TEST(test_gunzip_callback_stops)
{
	size_t n = 1u << 20, zn;
	char *text = malloc(n);
	unsigned char z[8192];
	struct sp_gunzip *g = sp_gunzip_new();
	struct out o = {.stop_after = 1};

	memset(text, 'x', n);
	zn = gz(text, n, z, sizeof(z));
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), 7);
	ck_assert_uint_eq(o.pieces, 1);
	ck_assert_int_eq(sp_gunzip_feed(g, (char *)z, zn, got, &o), 7);
	ck_assert_uint_eq(o.pieces, 1);
	free(o.p);
	free(text);
	sp_gunzip_free(g);
}
END_TEST

Suite *suite_gunzip(void)
{
	Suite *s = suite_create("gunzip");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_gunzip_split_anywhere);
	tcase_add_test(tc, test_gunzip_bomb_pieces_bounded);
	tcase_add_test(tc, test_gunzip_members_concatenated);
	tcase_add_test(tc, test_gunzip_not_gzip_or_corrupt);
	tcase_add_test(tc, test_gunzip_callback_stops);
	suite_add_tcase(s, tc);
	return s;
}
