/* fuzz_gunzip.c - libFuzzer entry for the gzip decoder: the input fed whole,
 * byte by byte, and in pieces whose sizes the input picks must give the same
 * output (a split never changes what is read; only how much of the piece that
 * failed came out may differ), pieces of at most SP_GUNZIP_OUT, and the same
 * end. Output is cut off at 1 MiB by the callback (its stop path). */
#include "../../control/gunzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CUT (1u << 20)

struct out {
	char *p;
	size_t len;
};

static int got(void *ctx, const char *data, size_t n)
{
	struct out *o = ctx;

	if (!n || n > SP_GUNZIP_OUT)
		abort();
	if (!(o->p = realloc(o->p, o->len + n)))
		abort();
	memcpy(o->p + o->len, data, n);
	o->len += n;
	return o->len >= CUT ? 1 : 0;
}

/* Feed @data in pieces: @step bytes each (0: sizes from @sizes, cycled).
 * Returns the result; *@ended whether the stream ended whole. */
static int run(const uint8_t *data, size_t size, size_t step, const uint8_t *sizes, size_t nsizes,
	       struct out *o, int *ended)
{
	struct sp_gunzip *g = sp_gunzip_new();
	size_t at = 0, k = 0;
	int e = 0;

	if (!g)
		abort();
	while (at < size && !e) {
		size_t n = step ? step : 1 + sizes[k++ % nsizes] % 64;

		if (n > size - at)
			n = size - at;
		e = sp_gunzip_feed(g, (const char *)data + at, n, got, o);
		at += n;
	}
	if (e && sp_gunzip_feed(g, "", 0, got, o) != e)
		abort(); /* sticky */
	if ((e == -EBADMSG) != (*sp_gunzip_error(g) != '\0'))
		abort(); /* a refusal says why, and only a refusal */
	*ended = sp_gunzip_ended(g);
	sp_gunzip_free(g);
	return e;
}

static int prefix_eq(const struct out *a, const struct out *b)
{
	size_t n = a->len < b->len ? a->len : b->len;

	return !n || !memcmp(a->p, b->p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out o[3] = {0};
	int e[3], ended[3];

	e[0] = run(data, size, size ? size : 1, NULL, 0, &o[0], &ended[0]);
	e[1] = run(data, size, 1, NULL, 0, &o[1], &ended[1]);
	e[2] = run(data, size, 0, data, size < 8 ? size : 8, &o[2], &ended[2]);
	for (int i = 1; i < 3; i++) {
		if (!prefix_eq(&o[0], &o[i]))
			abort();
		if ((!e[0] || !e[i]) &&
		    (e[0] != e[i] || ended[0] != ended[i] || o[0].len != o[i].len))
			abort(); /* read whole by one split: the same by all */
	}
	for (int i = 0; i < 3; i++)
		free(o[i].p);
	return 0;
}
