/* dryrun_backend.c - prints {"sync":..,"full":..,"model":{...}} on stdout after
 * every sync (one line each) and remembers the last model for read_back. It
 * leaves no state on the node: tools never find it present. */
#include "dryrun_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct dryrun {
	unsigned long syncs;
	cJSON *last;	/* the last model synced, in its JSON form */
	FILE *out;
};

static int dryrun_open(struct sp_backend *be, const struct sp_backend_cfg *cfg,
		       enum sp_open_mode mode)
{
	struct dryrun *d = calloc(1, sizeof(*d));

	(void)cfg;
	(void)mode;
	if (!d)
		return -ENOMEM;
	d->out = stdout;
	be->priv = d;
	return 0;
}

static int dryrun_present(struct sp_backend *be)
{
	(void)be;
	return 0;
}

static int dryrun_sync(struct sp_backend *be, const struct sp_model *m,
		       const struct sp_change *chg, bool full)
{
	struct dryrun *d = be->priv;
	cJSON *model = sp_model_to_json(m), *line;
	char *txt;

	(void)chg;
	if (!model)
		return -ENOMEM;
	line = cJSON_CreateObject();
	if (!line) {
		cJSON_Delete(model);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(line, "sync", (double)++d->syncs);
	cJSON_AddBoolToObject(line, "full", full);
	cJSON_AddItemReferenceToObject(line, "model", model);
	txt = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	if (!txt) {
		cJSON_Delete(model);
		return -ENOMEM;
	}
	fprintf(d->out, "%s\n", txt);
	fflush(d->out);
	free(txt);
	cJSON_Delete(d->last);
	d->last = model;
	return 0;
}

static int dryrun_read_back(struct sp_backend *be, struct sp_model *out, sp_external_list_fn ext,
			    void *ctx)
{
	struct dryrun *d = be->priv;
	struct sp_perr err;

	(void)ext;
	(void)ctx;
	if (!d->last)
		return 0;
	return sp_model_from_json(out, d->last, &err);
}

static int dryrun_cleanup(struct sp_backend *be)
{
	(void)be;
	return 0;	/* dry-run never installed anything */
}

static int dryrun_health(struct sp_backend *be, struct sp_health *out)
{
	(void)be;
	out->ok = true;
	out->detail[0] = '\0';
	return 0;
}

static void dryrun_close(struct sp_backend *be)
{
	struct dryrun *d = be->priv;

	if (!d)
		return;
	cJSON_Delete(d->last);
	free(d);
	be->priv = NULL;
}

const struct sp_backend_ops sp_dryrun_ops = {
	.name = "dry-run",
	.open = dryrun_open,
	.present = dryrun_present,
	.sync = dryrun_sync,
	.read_back = dryrun_read_back,
	.cleanup = dryrun_cleanup,
	.health = dryrun_health,
	.close = dryrun_close,
};
