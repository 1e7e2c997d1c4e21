/* log.h - one line per event, as text or JSON, to a stream chosen at start. */
#ifndef SP_COMMON_LOG_H
#define SP_COMMON_LOG_H

#include <stdio.h>

enum sp_log_level { SP_LOG_ERR, SP_LOG_WARN, SP_LOG_INFO, SP_LOG_DEBUG };
enum sp_log_format { SP_LOG_TEXT, SP_LOG_JSON };

/* Owned by the program's top level (agent/main.c, svcplanectl) and passed down. */
struct sp_log {
	FILE *out;			/* stderr unless a test says otherwise */
	enum sp_log_format format;
	enum sp_log_level level;	/* events above this level are dropped */
};

/* Write one event. Text: "2026-01-02T03:04:05.678Z level msg". JSON: {"ts","level","msg"}.
 * Newlines in the message become spaces, so every event stays one line; other
 * control bytes are written as \xNN (text) or \u00NN (JSON), never raw. */
void sp_log(const struct sp_log *lg, enum sp_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define sp_log_err(lg, ...)   sp_log(lg, SP_LOG_ERR, __VA_ARGS__)
#define sp_log_warn(lg, ...)  sp_log(lg, SP_LOG_WARN, __VA_ARGS__)
#define sp_log_info(lg, ...)  sp_log(lg, SP_LOG_INFO, __VA_ARGS__)
#define sp_log_debug(lg, ...) sp_log(lg, SP_LOG_DEBUG, __VA_ARGS__)

#endif
