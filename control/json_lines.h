/* json_lines.h - a watch stream cut into events: one JSON document per line,
 * split across reads at any byte, each line bounded (an oversize event is
 * reported and skipped to its newline, so memory stays bounded). */
#ifndef SP_CONTROL_JSON_LINES_H
#define SP_CONTROL_JSON_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct sp_json_lines {
	char *buf;
	size_t len, cap, max;
	bool skipping;		/* inside an oversize line: drop bytes to its newline */
};

/* A complete line (NUL-terminated in place, without its newline; may be
 * modified). A non-zero return stops feeding and is returned by feed. */
typedef int (*sp_line_fn)(void *ctx, char *line, size_t len);
/* A line longer than max bytes was dropped. */
typedef void (*sp_oversize_fn)(void *ctx, size_t max);

void sp_json_lines_init(struct sp_json_lines *l, size_t max);
void sp_json_lines_fini(struct sp_json_lines *l);
/* Forget a partial line (a new stream starts). */
void sp_json_lines_reset(struct sp_json_lines *l);
/* Feed @n bytes. Returns 0, -ENOMEM, or @line's non-zero return. */
int sp_json_lines_feed(struct sp_json_lines *l, const char *data, size_t n, sp_line_fn line,
		       sp_oversize_fn oversize, void *ctx);
/* Bytes of an unfinished line held now. */
size_t sp_json_lines_pending(const struct sp_json_lines *l);

#endif
