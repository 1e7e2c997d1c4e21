/* gunzip.c - zlib's inflate over a gzip stream fed in pieces. */
#include "gunzip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct sp_gunzip {
	z_stream z;
	bool begun;   /* a member has begun (it is not at a boundary) */
	int err;      /* 0, or the sticky error */
	char why[64]; /* zlib's message, for -EBADMSG */
	char out[SP_GUNZIP_OUT];
};

struct sp_gunzip *sp_gunzip_new(void)
{
	struct sp_gunzip *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	/* 16 + MAX_WBITS: a gzip header and trailer, nothing else (zlib, raw). */
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	return g;
}

void sp_gunzip_free(struct sp_gunzip *g)
{
	if (!g)
		return;
	inflateEnd(&g->z);
	free(g);
}

void sp_gunzip_reset(struct sp_gunzip *g)
{
	inflateReset(&g->z);
	g->begun = false;
	g->err = 0;
	g->why[0] = '\0';
}

bool sp_gunzip_ended(const struct sp_gunzip *g)
{
	return !g->err && !g->begun;
}

const char *sp_gunzip_error(const struct sp_gunzip *g)
{
	return g->err ? g->why : "";
}

static int corrupt(struct sp_gunzip *g, const char *msg)
{
	snprintf(g->why, sizeof(g->why), "%s", msg && *msg ? msg : "corrupt data");
	return g->err = -EBADMSG;
}

int sp_gunzip_feed(struct sp_gunzip *g, const char *in, size_t n, sp_gunzip_fn fn, void *ctx)
{
	z_stream *z = &g->z;
	int e;

	if (g->err)
		return g->err;
	/* (avail_in is 32 bits: a larger piece goes in parts) */
	while (n) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;

		z->next_in = (Bytef *)in;
		z->avail_in = take;
		in += take;
		n -= take;
		/* Until this input is used up and zlib holds nothing more for it
		 * (it filled less than the whole output buffer). */
		for (;;) {
			size_t got;
			int ret;

			z->next_out = (Bytef *)g->out;
			z->avail_out = sizeof(g->out);
			ret = inflate(z, Z_NO_FLUSH);
			got = sizeof(g->out) - z->avail_out;
			if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_STREAM_ERROR)
				return corrupt(g, z->msg);
			if (ret == Z_MEM_ERROR)
				return g->err = -ENOMEM;
			if (got || ret == Z_OK)
				g->begun = true;
			if (got && (e = fn(ctx, g->out, got)))
				return g->err = e;
			if (ret == Z_STREAM_END) {
				/* A member ended whole; what follows must be another. */
				g->begun = false;
				inflateReset(z);
				if (!z->avail_in)
					break;
				continue;
			}
			if (ret == Z_BUF_ERROR || (!z->avail_in && z->avail_out))
				break; /* (Z_BUF_ERROR: no progress without more input) */
		}
	}
	return 0;
}
