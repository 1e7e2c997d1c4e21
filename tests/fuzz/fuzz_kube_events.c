/* fuzz_kube_events.c - libFuzzer entry for what the API server sends: a watch
 * stream cut into events (json_lines) applied to a store, and the same bytes
 * as a list page, for each resource kind. */
#include "../../control/json_lines.h"
#include "../../control/kube_events.h"
#include "../../control/store.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_VALUES 256

struct feed {
	struct sp_kube_events *ev;
};

/* Values in @j: its nodes. */
static size_t nodes(const cJSON *j)
{
	size_t n = 1;

	for (const cJSON *c = j->child; c; c = c->next)
		n += nodes(c);
	return n;
}

static int line(void *ctx, char *l, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(l, len);

	if (j && nodes(j) > MAX_VALUES)
		abort();	/* a line handed out is within the bound, as cJSON counts */
	cJSON_Delete(j);
	sp_kube_watch_event(((struct feed *)ctx)->ev, l, len);
	return 0;
}

static void oversize(void *ctx, enum sp_json_lines_limit what, size_t max)
{
	(void)ctx;
	(void)what;
	(void)max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_store st;

	if (sp_store_init(&st, "node1"))
		return 0;
	for (int k = 0; k < SP_KUBE_KINDS; k++) {
		struct sp_kube_events ev;
		struct sp_json_lines l;
		struct feed f = { &ev };
		char *cont = NULL;
		size_t cut = size ? data[0] % (size + 1) : 0;

		sp_kube_events_init(&ev, (enum sp_kube_kind)k, &st, NULL, "node1");
		sp_json_lines_init(&l, 4096);
		l.max_values = MAX_VALUES;	/* (as the byte bound: small, so that it is met) */
		ev.max_values = MAX_VALUES;
		/* in two reads, split where the first byte says */
		sp_json_lines_feed(&l, (const char *)data, cut, line, oversize, &f);
		sp_json_lines_feed(&l, (const char *)data + cut, size - cut, line, oversize, &f);
		sp_json_lines_fini(&l);
		sp_kube_list_begin(&ev);
		sp_kube_list_page(&ev, (const char *)data, size, &cont);
		sp_kube_list_end(&ev);
		free(cont);
		sp_kube_events_fini(&ev);
	}
	sp_store_fini(&st);
	return 0;
}
