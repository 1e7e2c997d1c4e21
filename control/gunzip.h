/* gunzip.h - a gzip body decoded as it arrives (zlib), in pieces of at most
 * SP_GUNZIP_OUT bytes handed to a callback: nothing decoded is held. The API
 * source decodes its responses with this rather than letting libcurl do it,
 * because a transfer libcurl decodes keeps decoding into its own buffer while
 * it is paused (kube_transfer.c pauses transfers to keep the agent's thread
 * free): one 16 KiB read of a gzip bomb is 16.5 MB. */
#ifndef SP_CONTROL_GUNZIP_H
#define SP_CONTROL_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>

#define SP_GUNZIP_OUT (16u << 10) /* largest piece handed out, as curl's writes */

struct sp_gunzip; /* opaque, defined in gunzip.c */

/* A decoded piece (@n bytes, 1..SP_GUNZIP_OUT). A non-zero return stops
 * decoding and is returned by feed. */
typedef int (*sp_gunzip_fn)(void *ctx, const char *data, size_t n);

/* NULL + errno on failure. */
struct sp_gunzip *sp_gunzip_new(void);
void sp_gunzip_free(struct sp_gunzip *g);
/* Start a new stream (a new response). */
void sp_gunzip_reset(struct sp_gunzip *g);

/* Decode all of @in (@n bytes of the stream, split anywhere), handing out
 * what it yields. Several gzip members one after another are one stream, as
 * gzip -d reads them. Returns 0; -EBADMSG when the input is not gzip or is
 * corrupt (data after the last member included; see sp_gunzip_error), -ENOMEM,
 * or @fn's non-zero return. An error is sticky: later feeds return it. */
int sp_gunzip_feed(struct sp_gunzip *g, const char *in, size_t n, sp_gunzip_fn fn, void *ctx);
/* The stream so far ends at the end of a member (its CRC and length checked). */
bool sp_gunzip_ended(const struct sp_gunzip *g);
/* What was wrong (zlib's message), for an error line; "" without an error. */
const char *sp_gunzip_error(const struct sp_gunzip *g);

#endif
