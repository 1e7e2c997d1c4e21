/* fuzz_json_list_stream.c - libFuzzer entry for the list scanner: the input
 * fed whole, byte by byte, and in pieces whose sizes the input picks must give
 * the same items, metadata and result (a split never changes what is read),
 * no element over the bounds (bytes; values, as cJSON counts its nodes), and
 * nothing held past it. */
#include "../../control/json_list_stream.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX 256
#define MAX_VALUES 32

/* What came out: each part as its kind byte, its bytes and a NUL. */
struct out {
	char *p;
	size_t len, cap;
};

/* Values in @j: its nodes. */
static size_t nodes(const cJSON *j)
{
	size_t n = 1;

	for (const cJSON *c = j->child; c; c = c->next)
		n += nodes(c);
	return n;
}

static int part(void *ctx, enum sp_json_list_part kind, char *json, size_t len)
{
	struct out *o = ctx;
	cJSON *j;

	if (len > MAX || strlen(json) != len)
		abort();
	if ((j = cJSON_ParseWithLength(json, len)) && nodes(j) > MAX_VALUES)
		abort();
	cJSON_Delete(j);
	if (o->len + len + 2 > o->cap) {
		o->cap = (o->len + len + 2) * 2;
		if (!(o->p = realloc(o->p, o->cap)))
			abort();
	}
	o->p[o->len++] = (char)('0' + kind);
	memcpy(o->p + o->len, json, len + 1);
	o->len += len + 1;
	return 0;
}

/* Feed @data in pieces: @step bytes each (0: sizes from @sizes, cycled). */
static int run(const uint8_t *data, size_t size, size_t step, const uint8_t *sizes, size_t nsizes,
	       struct out *o)
{
	struct sp_json_list_stream s;
	size_t at = 0, k = 0;
	int e = 0;

	sp_json_list_stream_init(&s, MAX);
	s.max_values = MAX_VALUES;
	while (at < size && !e) {
		size_t n = step ? step : 1 + sizes[k++ % nsizes] % 64;

		if (n > size - at)
			n = size - at;
		e = sp_json_list_stream_feed(&s, (const char *)data + at, n, part, o);
		if (s.len > MAX)
			abort();
		at += n;
	}
	if (!e)
		e = sp_json_list_stream_finish(&s);
	if (e && !*sp_json_list_stream_error(&s))
		abort();	/* every refusal says why */
	sp_json_list_stream_fini(&s);
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = {0}, bytes = {0}, pieces = {0};
	int e1, e2, e3;

	e1 = run(data, size, size ? size : 1, NULL, 0, &whole);
	e2 = run(data, size, 1, NULL, 0, &bytes);
	e3 = run(data, size, 0, data, size < 8 ? size : 8, &pieces);
	if (e1 != e2 || e1 != e3 || whole.len != bytes.len || whole.len != pieces.len ||
	    (whole.len && (memcmp(whole.p, bytes.p, whole.len) || memcmp(whole.p, pieces.p, whole.len))))
		abort();
	free(whole.p);
	free(bytes.p);
	free(pieces.p);
	return 0;
}
