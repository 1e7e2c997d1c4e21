/* log.c - formats log events; the only writer of the log stream. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* @msg with line breaks as spaces (one event, one line) and every other
 * control byte as \xNN, so that names from manifests or the API server cannot
 * move a terminal's cursor or forge a line. JSON output is escaped by cJSON. */
static const char *escape(const char *msg, char *out, size_t sz)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < sz; p++) {
		if (*p == '\n' || *p == '\r')
			out[o++] = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, sz - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
	return out;
}

void sp_log(const struct sp_log *lg, enum sp_log_level lvl, const char *fmt, ...)
{
	char msg[2048], ts[64];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (!lg || lvl > lg->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(now.tv_nsec / 1000000) % 1000);

	if (lg->format == SP_LOG_JSON) {
		cJSON *o = cJSON_CreateObject();
		char *line;

		cJSON_AddStringToObject(o, "ts", ts);
		cJSON_AddStringToObject(o, "level", level_names[lvl]);
		cJSON_AddStringToObject(o, "msg", msg);
		line = cJSON_PrintUnformatted(o);
		if (line)
			fprintf(lg->out, "%s\n", line);
		free(line);
		cJSON_Delete(o);
	} else {
		char safe[4 * sizeof(msg)];

		fprintf(lg->out, "%s %s %s\n", ts, level_names[lvl], escape(msg, safe, sizeof(safe)));
	}
	fflush(lg->out);
}
