/* json_list_stream.h - a Kubernetes list response read as it arrives:
 * {"metadata": {...}, "items": [{...}, ...], ...} with its keys in any order.
 * Each element of the top-level "items" array, and the top-level "metadata"
 * object, is handed out whole as its own JSON text; everything else is checked
 * as JSON and dropped. Memory is one element (bounded), never the document.
 * Nesting is bounded too, well below cJSON's CJSON_NESTING_LIMIT (1000), so an
 * element handed out never makes the JSON parser recurse deeper than that;
 * and so are the values in an element (max_values), each of which is a node
 * of 64 bytes or more once parsed: 16 MiB of "[0,0,...]" is 8 million. */
#ifndef SP_CONTROL_JSON_LIST_STREAM_H
#define SP_CONTROL_JSON_LIST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Containers open at once, the list's own object counted (an item of a list
 * is at depth 2). Kubernetes objects nest about 15 deep (managedFields). */
#define SP_JSON_LIST_MAX_DEPTH 128

enum sp_json_list_part {
	SP_JSON_LIST_ITEM,	/* one element of "items" */
	SP_JSON_LIST_METADATA,	/* the list's "metadata" (resourceVersion, continue) */
};

/* A whole element: @json is NUL-terminated in place (@len bytes without the
 * NUL) and valid JSON; it is the stream's buffer, valid until the callback
 * returns. A non-zero return stops feeding and is returned by feed. */
typedef int (*sp_json_list_fn)(void *ctx, enum sp_json_list_part part, char *json, size_t len);

struct sp_json_list_stream {
	size_t max;		/* largest element handed out, in bytes */
	size_t max_values;	/* most values in one (itself and all it holds); 0: no bound */
	size_t values;		/* in the element being copied, so far */
	size_t off;		/* bytes fed so far */
	unsigned depth;		/* containers open */
	uint8_t arr[SP_JSON_LIST_MAX_DEPTH / 8];	/* bit per depth: an array (1) or object */
	uint8_t st;		/* what may come next (json_list_stream.c's enum state) */
	uint8_t sub;		/* inside a number, literal or \u escape: how far */
	uint8_t lit;		/* the literal being read (true, false, null) */
	uint8_t key;		/* the list's member whose value comes next: KEY_* */
	uint8_t seen;		/* the list's members met so far: bits of KEY_* */
	uint8_t capture;	/* 0, or 1 + the part being copied into buf */
	bool in_key;		/* the string being read is a member name */
	bool in_items;		/* depth 2 is the "items" array */
	bool done;		/* the list's object has closed */
	int err;		/* 0, or the error that stopped the stream (sticky) */
	char name[12];		/* the list's member name being read (only short ones matter) */
	size_t name_len;
	char *buf;		/* the element being copied */
	size_t len, cap;
	size_t start;		/* its first byte's offset in the input */
	char why[96];		/* what was wrong, when err is set */
};

/* Elements larger than @max bytes are refused (-E2BIG); so are elements of
 * more than max_values values once the caller sets it (init leaves it 0). */
void sp_json_list_stream_init(struct sp_json_list_stream *s, size_t max);
void sp_json_list_stream_fini(struct sp_json_list_stream *s);
/* Start a new document (the bounds stay); a buffer that one large element
 * grew is given back. */
void sp_json_list_stream_reset(struct sp_json_list_stream *s);

/* Feed the next @n bytes, split anywhere. Returns 0; -EINVAL when the input is
 * not JSON or not a list (a top-level object whose "items" is an array or
 * null), -E2BIG for an element over a bound (bytes or values; refused at the
 * byte that passes it, before the element is handed out), -ELOOP for nesting deeper than
 * SP_JSON_LIST_MAX_DEPTH, -ENOMEM; or @fn's non-zero return. An error is
 * sticky: later feeds return it again and read nothing. */
int sp_json_list_stream_feed(struct sp_json_list_stream *s, const char *data, size_t n,
			     sp_json_list_fn fn, void *ctx);
/* The input has ended. Returns 0 when it held one whole list (and nothing
 * after it but white space), else the stream's error or -EINVAL. */
int sp_json_list_stream_finish(struct sp_json_list_stream *s);
/* What was wrong ("an element larger than N bytes at byte M", ...), for an
 * error line; "" while there is no error. */
const char *sp_json_list_stream_error(const struct sp_json_list_stream *s);

#endif
