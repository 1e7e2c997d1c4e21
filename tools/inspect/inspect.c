/* inspect.c - the inspection result: model, per-port masquerade facts, findings. */
#include "inspect.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sp_inspect_init(struct sp_inspect *in)
{
	memset(in, 0, sizeof(*in));
	in->extra = sp_hmap_new();
	if (!in->extra || sp_model_init(&in->m)) {
		sp_hmap_free(in->extra);
		return -ENOMEM;
	}
	return 0;
}

void sp_inspect_fini(struct sp_inspect *in)
{
	struct sp_hmap_iter it = {0};

	while (in->extra && sp_hmap_next(in->extra, &it))
		free(it.value);
	sp_hmap_free(in->extra);
	for (size_t i = 0; i < in->nfindings; i++)
		free(in->findings[i]);
	free(in->findings);
	sp_model_fini(&in->m);
	memset(in, 0, sizeof(*in));
}

void sp_inspect_finding(struct sp_inspect *in, const char *fmt, ...)
{
	char buf[512], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v = realloc(in->findings, (in->nfindings + 1) * sizeof(*v));
	if (!v)
		return;
	in->findings = v;
	if ((v[in->nfindings] = strdup(buf)))
		in->nfindings++;
}

struct sp_inspect_port *sp_inspect_port_extra(struct sp_inspect *in, const char *key)
{
	struct sp_inspect_port *x = sp_hmap_get(in->extra, key);

	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x || sp_hmap_put(in->extra, key, x, NULL)) {
		free(x);
		return NULL;
	}
	return x;
}
