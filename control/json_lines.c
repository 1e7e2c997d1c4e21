/* json_lines.c - newline-delimited JSON events with a bound per event, in
 * bytes and in values. */
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

/* A new line begins: nothing of it counted. */
static void line_begin(struct sp_json_lines *l)
{
	l->len = 0;
	l->values = 0;
	l->skipping = l->in_str = l->esc = l->after_open = false;
}

void sp_json_lines_reset(struct sp_json_lines *l)
{
	line_begin(l);
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

/* Count the values that begin in @p (@n bytes of the line). A value is the
 * line's own, or follows a ',' or a '[' / '{'; a container closed at once
 * ("[]", "{ }") takes back the one its opening counted. Inside strings
 * (escapes included) nothing counts. */
static void count(struct sp_json_lines *l, const char *p, size_t n)
{
	for (const char *end = p + n; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (l->in_str) {
			if (l->esc)
				l->esc = false;
			else if (c == '\\')
				l->esc = true;
			else if (c == '"')
				l->in_str = false;
			continue;
		}
		switch (c) {
		case ' ':
		case '\t':
		case '\r':
			continue;	/* (after_open stays) */
		case '"':
			l->in_str = true;
			break;
		case ',':
			l->values++;
			break;
		case '[':
		case '{':
			l->values++;
			l->after_open = true;
			continue;
		case ']':
		case '}':
			if (l->after_open && l->values)
				l->values--;
			break;
		}
		l->after_open = false;
	}
}

int sp_json_lines_feed(struct sp_json_lines *l, const char *data, size_t n, sp_line_fn line,
		       sp_oversize_fn oversize, void *ctx)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int e;

		if (!l->skipping && l->len + take > l->max) {
			oversize(ctx, SP_JSON_LINES_BYTES, l->max);
			l->skipping = true;
			l->len = 0;
		}
		if (!l->skipping && l->max_values) {
			count(l, data, take);
			if (l->values >= l->max_values) {	/* (values + 1 for the line's own) */
				oversize(ctx, SP_JSON_LINES_VALUES, l->max_values);
				l->skipping = true;
				l->len = 0;
			}
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
			line_begin(l);
			continue;
		}
		if (l->len) {
			size_t len = l->len;

			l->buf[len] = '\0';
			line_begin(l);
			if ((e = line(ctx, l->buf, len)))
				return e;
		} else {
			line_begin(l);
		}
	}
	return 0;
}
