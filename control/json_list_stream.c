/* json_list_stream.c - a list response cut into its items as the bytes
 * arrive: a JSON push scanner (strings, escapes, numbers, literals, nesting)
 * that copies out only the list's "metadata" and each element of its "items",
 * so that a page of any size costs one element's memory. */
#include "json_list_stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_KEEP (1u << 20)	/* a larger element buffer is freed at reset */

enum state {
	S_VALUE,	/* a value: the list's object at depth 0 */
	S_FIRST,	/* after '[': a value or ']' */
	S_KEY_OR_END,	/* after '{': a member name or '}' */
	S_KEY,		/* after ',' in an object: a member name */
	S_COLON,
	S_NEXT,		/* after a value in a container: ',' or the container's close */
	S_STR,		/* inside a string */
	S_ESC,		/* after a backslash in a string */
	S_HEX,		/* inside \uXXXX: sub digits read */
	S_NUM,		/* inside a number: sub is enum num */
	S_LIT,		/* inside true/false/null: sub bytes read */
	S_END,		/* after the list: white space only */
};

/* Where a number is: what may follow. */
enum num { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

/* The list's members that matter, as bits in seen. */
enum { KEY_OTHER, KEY_ITEMS, KEY_METADATA };

static const char *const lits[] = { "true", "false", "null" };

/* Depth at which a part's value sits: items in the array in the list's object. */
static unsigned part_depth(unsigned capture)
{
	return capture - 1 == SP_JSON_LIST_ITEM ? 2 : 1;
}

void sp_json_list_stream_init(struct sp_json_list_stream *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void sp_json_list_stream_fini(struct sp_json_list_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

void sp_json_list_stream_reset(struct sp_json_list_stream *s)
{
	char *buf = s->buf;
	size_t cap = s->cap, max = s->max, max_values = s->max_values;

	if (cap > BUF_KEEP) {
		free(buf);
		buf = NULL;
		cap = 0;
	}
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->cap = cap;
	s->max = max;
	s->max_values = max_values;
}

const char *sp_json_list_stream_error(const struct sp_json_list_stream *s)
{
	return s->err ? s->why : "";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct sp_json_list_stream *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->err = err;
	return err;
}

static int unexpected(struct sp_json_list_stream *s, unsigned char c, size_t at)
{
	if (c >= 0x20 && c < 0x7f)
		return fail(s, -EINVAL, "not JSON: '%c' at byte %zu", c, at);
	return fail(s, -EINVAL, "not JSON: byte 0x%02x at byte %zu", c, at);
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_array(const struct sp_json_list_stream *s)
{
	unsigned d = s->depth - 1;

	return s->arr[d / 8] & (1u << (d % 8));
}

/* The element being copied has passed the bound. */
static int too_big(struct sp_json_list_stream *s)
{
	return fail(s, -E2BIG, "%s larger than %zu bytes (from byte %zu)",
		    s->capture - 1 == SP_JSON_LIST_ITEM ? "an item" : "the list's metadata", s->max,
		    s->start);
}

/* Copy @n more bytes of the element being captured. */
static int append(struct sp_json_list_stream *s, const char *p, size_t n)
{
	if (n > s->max - s->len)
		return too_big(s);
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;	/* (an element of the bound and its NUL, no more) */
		if (!(b = realloc(s->buf, cap)))
			return fail(s, -ENOMEM, "out of memory");
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static int push(struct sp_json_list_stream *s, bool array, size_t at)
{
	unsigned d = s->depth;

	if (d == SP_JSON_LIST_MAX_DEPTH)
		return fail(s, -ELOOP, "nested deeper than %d levels at byte %zu", SP_JSON_LIST_MAX_DEPTH,
			    at);
	if (array)
		s->arr[d / 8] |= (uint8_t)(1u << (d % 8));
	else
		s->arr[d / 8] &= (uint8_t)~(1u << (d % 8));
	if (array && d == 1 && s->key == KEY_ITEMS)
		s->in_items = true;
	s->depth++;
	s->st = array ? S_FIRST : S_KEY_OR_END;
	return 0;
}

/* The container closed by @c ('}' or ']') at byte @at. */
static int pop(struct sp_json_list_stream *s, unsigned char c, size_t at)
{
	if (!s->depth || is_array(s) != (c == ']'))
		return unexpected(s, c, at);
	s->depth--;
	if (s->depth == 1)
		s->in_items = false;	/* (whichever member's value closed) */
	if (!s->depth && !(s->seen & (1u << KEY_ITEMS)))
		return fail(s, -EINVAL, "not a list: no \"items\"");
	return 0;
}

/* A value starts with @c at @data[@i]: check what the list's members must
 * be, start copying an item or the metadata, and count the values in the
 * element being copied. */
static int value_start(struct sp_json_list_stream *s, unsigned char c, size_t i, size_t *run)
{
	if (s->capture) {
		if (s->max_values && ++s->values > s->max_values)
			return fail(s, -E2BIG, "%s of more than %zu JSON values (from byte %zu)",
				    s->capture - 1 == SP_JSON_LIST_ITEM ? "an item" : "the list's metadata",
				    s->max_values, s->start);
		return 0;
	}
	if (!s->depth && c != '{')
		return fail(s, -EINVAL, "not a list: the response is not a JSON object");
	if (s->depth == 1 && s->key == KEY_ITEMS && c != '[' && c != 'n')
		return fail(s, -EINVAL, "not a list: \"items\" is not an array");
	if (s->depth == 1 && s->key == KEY_METADATA && c != '{' && c != 'n')
		return fail(s, -EINVAL, "not a list: \"metadata\" is not an object");
	if (s->depth == 1 && s->key == KEY_METADATA && c == '{')
		s->capture = 1 + SP_JSON_LIST_METADATA;
	else if (s->depth == 2 && s->in_items)
		s->capture = 1 + SP_JSON_LIST_ITEM;
	else
		return 0;
	s->len = 0;
	s->values = 1;
	s->start = s->off + i;
	*run = i;
	return 0;
}

/* A value ended just before @data[@end]: the next state, and an element
 * copied whole is handed out. */
static int value_end(struct sp_json_list_stream *s, const char *data, size_t end, size_t *run,
		     sp_json_list_fn fn, void *ctx)
{
	enum sp_json_list_part part;
	int e;

	if (!s->depth) {
		s->st = S_END;
		s->done = true;
		return 0;
	}
	s->st = S_NEXT;
	if (!s->capture || s->depth != part_depth(s->capture))
		return 0;
	if ((e = append(s, data + *run, end - *run)))
		return e;
	part = (enum sp_json_list_part)(s->capture - 1);
	s->capture = 0;
	s->buf[s->len] = '\0';
	if ((e = fn(ctx, part, s->buf, s->len)))
		s->err = e;
	s->len = 0;
	return e;
}

/* A member name of the list's object ended: which one it was. */
static int key_end(struct sp_json_list_stream *s)
{
	unsigned k = KEY_OTHER;

	s->in_key = false;
	s->st = S_COLON;
	if (s->depth != 1)
		return 0;
	if (s->name_len == 5 && !memcmp(s->name, "items", 5))
		k = KEY_ITEMS;
	else if (s->name_len == 8 && !memcmp(s->name, "metadata", 8))
		k = KEY_METADATA;
	if (k != KEY_OTHER && (s->seen & (1u << k)))
		return fail(s, -EINVAL, "not a list: \"%s\" twice", k == KEY_ITEMS ? "items" : "metadata");
	s->seen |= (uint8_t)(1u << k);
	s->key = (uint8_t)k;
	return 0;
}

/* Bytes of the list's member name being read (an escape, or a name longer
 * than the buffer, makes it one that does not matter). */
static void name_add(struct sp_json_list_stream *s, const char *p, size_t n)
{
	if (s->name_len + n > sizeof(s->name)) {
		s->name_len = sizeof(s->name) + 1;	/* matches no name */
		return;
	}
	memcpy(s->name + s->name_len, p, n);
	s->name_len += n;
}

/* One byte in a number: 1 taken, 0 the number ended before it (only where
 * a number may end), <0 error. */
static int num_byte(struct sp_json_list_stream *s, unsigned char c, size_t at)
{
	bool digit = c >= '0' && c <= '9';

	switch (s->sub) {
	case N_MINUS:
		if (!digit)
			return unexpected(s, c, at);
		s->sub = c == '0' ? N_ZERO : N_INT;
		return 1;
	case N_INT:
		if (digit)
			return 1;
		/* fall through */
	case N_ZERO:
		if (c == '.')
			s->sub = N_DOT;
		else if (c == 'e' || c == 'E')
			s->sub = N_E;
		else
			return 0;
		return 1;
	case N_DOT:
		if (!digit)
			return unexpected(s, c, at);
		s->sub = N_FRAC;
		return 1;
	case N_FRAC:
		if (digit)
			return 1;
		if (c != 'e' && c != 'E')
			return 0;
		s->sub = N_E;
		return 1;
	case N_E:
		if (c == '+' || c == '-') {
			s->sub = N_ESIGN;
			return 1;
		}
		/* fall through */
	case N_ESIGN:
		if (!digit)
			return unexpected(s, c, at);
		s->sub = N_EXP;
		return 1;
	default:	/* N_EXP */
		return digit ? 1 : 0;
	}
}

int sp_json_list_stream_feed(struct sp_json_list_stream *s, const char *data, size_t n,
			     sp_json_list_fn fn, void *ctx)
{
	size_t i = 0, run = 0;	/* run: where this feed's bytes of a captured element begin */
	int e = 0;

	if (s->err)
		return s->err;
	while (i < n && !e) {
		unsigned char c = (unsigned char)data[i];
		size_t at = s->off + i, lim = n;	/* lim: how far a run of string or space may go */

		/* An element is refused at the byte that passes the bound, however
		 * the input is split (so the error never depends on the split). */
		if (s->capture) {
			size_t room = s->max - s->len;

			if (i - run > room) {
				e = too_big(s);
				break;
			}
			if (n - run > room + 1)
				lim = run + room + 1;
		}

		switch (s->st) {
		case S_STR: {
			size_t from = i;

			while (i < lim && (c = (unsigned char)data[i]) != '"' && c != '\\' && c >= 0x20)
				i++;
			if (s->in_key && s->depth == 1)
				name_add(s, data + from, i - from);
			if (i == lim)
				break;
			if (c < 0x20) {
				e = fail(s, -EINVAL, "not JSON: control byte 0x%02x in a string at byte %zu",
					 c, s->off + i);
			} else if (c == '\\') {
				if (s->in_key && s->depth == 1)
					s->name_len = sizeof(s->name) + 1;	/* escaped: no name of ours */
				s->st = S_ESC;
				i++;
			} else if (s->in_key) {
				i++;
				e = key_end(s);
			} else {
				i++;
				e = value_end(s, data, i, &run, fn, ctx);
			}
			break;
		}
		case S_ESC:
			if (c == 'u') {
				s->st = S_HEX;
				s->sub = 0;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				s->st = S_STR;
			} else {
				e = unexpected(s, c, at);
			}
			i++;
			break;
		case S_HEX:
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
				e = unexpected(s, c, at);
				break;
			}
			if (++s->sub == 4)
				s->st = S_STR;
			i++;
			break;
		case S_NUM:
			if ((e = num_byte(s, c, at)) > 0) {
				e = 0;
				i++;
			} else if (!e) {	/* ended before c: c is read again in the next state */
				e = value_end(s, data, i, &run, fn, ctx);
			}
			break;
		case S_LIT:
			if (c != (unsigned char)lits[s->lit][s->sub]) {
				e = unexpected(s, c, at);
				break;
			}
			i++;
			if (!lits[s->lit][++s->sub])
				e = value_end(s, data, i, &run, fn, ctx);
			break;
		default:	/* between tokens */
			if (is_ws(c)) {
				while (++i < lim && is_ws((unsigned char)data[i]))
					;
				break;
			}
			switch (s->st) {
			case S_FIRST:
				if (c == ']') {
					if (!(e = pop(s, c, at)))
						e = value_end(s, data, i + 1, &run, fn, ctx);
					i++;
					break;
				}
				s->st = S_VALUE;
				/* fall through */
			case S_VALUE:
				if ((e = value_start(s, c, i, &run)))
					break;
				if (c == '{' || c == '[') {
					e = push(s, c == '[', at);
				} else if (c == '"') {
					s->st = S_STR;
				} else if (c == '-' || (c >= '0' && c <= '9')) {
					s->st = S_NUM;
					s->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
				} else if (c == 't' || c == 'f' || c == 'n') {
					s->st = S_LIT;
					s->lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
					s->sub = 1;
				} else {
					e = unexpected(s, c, at);
				}
				i++;
				break;
			case S_KEY_OR_END:
				if (c == '}') {
					if (!(e = pop(s, c, at)))
						e = value_end(s, data, i + 1, &run, fn, ctx);
					i++;
					break;
				}
				/* fall through */
			case S_KEY:
				if (c != '"') {
					e = unexpected(s, c, at);
					break;
				}
				s->st = S_STR;
				s->in_key = true;
				s->name_len = 0;
				i++;
				break;
			case S_COLON:
				if (c != ':')
					e = unexpected(s, c, at);
				s->st = S_VALUE;
				i++;
				break;
			case S_NEXT:
				if (c == ',') {
					s->st = is_array(s) ? S_VALUE : S_KEY;
				} else if (c == '}' || c == ']') {
					if (!(e = pop(s, c, at)))
						e = value_end(s, data, i + 1, &run, fn, ctx);
				} else {
					e = unexpected(s, c, at);
				}
				i++;
				break;
			default:	/* S_END */
				e = fail(s, -EINVAL, "not JSON: data after the list at byte %zu", at);
				break;
			}
		}
	}
	if (!e && s->capture)
		e = append(s, data + run, n - run);
	s->off += n;
	return e;
}

int sp_json_list_stream_finish(struct sp_json_list_stream *s)
{
	if (s->err)
		return s->err;
	if (!s->done)
		return fail(s, -EINVAL, "not JSON: cut off at byte %zu", s->off);
	return 0;
}
