/* json_lines.h - a watch stream cut into events: one JSON document per line,
 * split across reads at any byte, each line bounded in bytes and in JSON
 * values (an event over either is reported and skipped to its newline, so
 * memory stays bounded, and so does what parsing the line would take). */
#ifndef SP_CONTROL_JSON_LINES_H
#define SP_CONTROL_JSON_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* Which bound a line passed. */
enum sp_json_lines_limit {
	SP_JSON_LINES_BYTES,
	SP_JSON_LINES_VALUES,
};

struct sp_json_lines {
	char *buf;
	size_t len, cap, max;
	size_t max_values;	/* most JSON values in a line; 0 (init): no bound */
	size_t values;		/* of the line arriving, counted so far, less one */
	bool skipping;		/* inside an oversize line: drop bytes to its newline */
	bool in_str, esc;	/* the value count's place: in a string, after '\' */
	bool after_open;	/* after '[' or '{' and white space only */
};

/* A complete line (NUL-terminated in place, without its newline; may be
 * modified). A non-zero return stops feeding and is returned by feed. */
typedef int (*sp_line_fn)(void *ctx, char *line, size_t len);
/* A line over a bound (@what: bytes, or values) was dropped; @max is the bound. */
typedef void (*sp_oversize_fn)(void *ctx, enum sp_json_lines_limit what, size_t max);

void sp_json_lines_init(struct sp_json_lines *l, size_t max);
void sp_json_lines_fini(struct sp_json_lines *l);
/* Forget a partial line (a new stream starts); the bounds stay. */
void sp_json_lines_reset(struct sp_json_lines *l);
/* Feed @n bytes. Returns 0, -ENOMEM, or @line's non-zero return. Values are
 * counted as the bytes arrive (outside strings: one for the line, one more
 * for each ',', and for each '[' or '{' not closed at once), which is exact
 * for valid JSON; a line that is not JSON is the parser's to refuse. */
int sp_json_lines_feed(struct sp_json_lines *l, const char *data, size_t n, sp_line_fn line,
		       sp_oversize_fn oversize, void *ctx);
/* Bytes of an unfinished line held now. */
size_t sp_json_lines_pending(const struct sp_json_lines *l);

#endif
