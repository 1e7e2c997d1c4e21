/* health.c - the healthz rule and its JSON. */
#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

void sp_health_init(struct sp_health_state *h, double sync_period)
{
	h->timeout = 2 * sync_period;
	h->last_updated = 0;
	h->oldest_pending = 0;
	h->node_eligible = true;
	h->backend_ok = true;
}

void sp_health_queued(struct sp_health_state *h, double now)
{
	if (h->oldest_pending == 0)
		h->oldest_pending = now;
}

void sp_health_updated(struct sp_health_state *h, double now)
{
	h->last_updated = now;
	h->oldest_pending = 0;
}

bool sp_health_ok(const struct sp_health_state *h, double now)
{
	if (h->last_updated == 0 || !h->backend_ok)
		return false;
	return h->oldest_pending == 0 || now - h->oldest_pending <= h->timeout;
}

/* RFC 3339 with nanoseconds, UTC, as Go marshals a time.Time. */
static void rfc3339(double t, char *buf, size_t sz)
{
	time_t s = (time_t)t;
	struct tm tm;
	long ns = (long)((t - (double)s) * 1e9);
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, ".%09ldZ", ns < 0 ? 0 : ns);
}

char *sp_health_body(const struct sp_health_state *h, double now, bool livez, int *code)
{
	cJSON *o = cJSON_CreateObject(), *status, *fam;
	char last[48], cur[48], *txt;
	bool healthy = sp_health_ok(h, now);
	const char *const families[] = { "IPv4", "IPv6" };

	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	rfc3339(h->last_updated, last, sizeof(last));
	rfc3339(now, cur, sizeof(cur));
	cJSON_AddStringToObject(o, "lastUpdated", last);
	cJSON_AddStringToObject(o, "currentTime", cur);
	if (!livez)
		cJSON_AddBoolToObject(o, "nodeEligible", h->node_eligible);
	cJSON_AddBoolToObject(o, "healthy", healthy);
	if (h->backend_detail[0])	/* the dataplane's words: why not, or what it does not serve */
		cJSON_AddStringToObject(o, "detail", h->backend_detail);
	status = cJSON_AddObjectToObject(o, "status");
	for (int i = 0; i < 2; i++) {
		fam = cJSON_AddObjectToObject(status, families[i]);
		cJSON_AddStringToObject(fam, "lastUpdated", last);
		cJSON_AddBoolToObject(fam, "healthy", healthy);
	}
	txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		errno = ENOMEM;
	*code = healthy && (livez || h->node_eligible) ? 200 : 503;
	return txt;
}
