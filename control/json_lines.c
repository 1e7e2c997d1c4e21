/* json_lines.c - newline-delimited JSON events with a bound per event. */
#include "json_lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sp_json_lines_init(struct sp_json_lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void sp_json_lines_fini(struct sp_json_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

void sp_json_lines_reset(struct sp_json_lines *l)
{
	l->len = 0;
	l->skipping = false;
	if (l->cap > (1u << 20)) {	/* give back what one big event took */
		free(l->buf);
		l->buf = NULL;
		l->cap = 0;
	}
}

size_t sp_json_lines_pending(const struct sp_json_lines *l)
{
	return l->len;
}

static int append(struct sp_json_lines *l, const char *p, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *b;

		while (cap < l->len + n + 1)
			cap *= 2;
		if (!(b = realloc(l->buf, cap)))
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

int sp_json_lines_feed(struct sp_json_lines *l, const char *data, size_t n, sp_line_fn line,
		       sp_oversize_fn oversize, void *ctx)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int e;

		if (!l->skipping && l->len + take > l->max) {
			oversize(ctx, l->max);
			l->skipping = true;
			l->len = 0;
		}
		if (!l->skipping && (e = append(l, data, take)))
			return e;
		data += take;
		n -= take;
		if (!nl)
			break;
		data++;	/* the newline */
		n--;
		if (l->skipping) {
			l->skipping = false;
			continue;
		}
		if (l->len) {
			size_t len = l->len;

			l->buf[len] = '\0';
			l->len = 0;
			if ((e = line(ctx, l->buf, len)))
				return e;
		}
	}
	return 0;
}
