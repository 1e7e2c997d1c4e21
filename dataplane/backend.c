/* backend.c - the table of dataplanes built into this binary, and finding the
 * one whose state is present on this node. */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "bpf/bpf_backend.h"
#include "dryrun/dryrun_backend.h"
#include "nft/nft_backend.h"
#include "userspace/us_backend.h"

/* Order matters to tools: the first backend with state here is the one read. */
static const struct sp_backend_ops *const backends[] = {
	&sp_nft_ops,
	&sp_bpf_ops,
	&sp_userspace_ops,
	&sp_dryrun_ops,
	NULL,
};

const struct sp_backend_ops *sp_backend_find(const char *mode)
{
	for (size_t i = 0; backends[i]; i++)
		if (!strcmp(backends[i]->name, mode))
			return backends[i];
	return NULL;
}

const struct sp_backend_ops *const *sp_backend_all(void)
{
	return backends;
}

const char *sp_backend_names(void)
{
	return "nftables, bpf, userspace, dry-run";
}

int sp_backend_open_present(struct sp_backend *be, const struct sp_backend_cfg *cfg,
			    const char **failed)
{
	for (size_t i = 0; backends[i]; i++) {
		int e;

		if (!backends[i]->state)
			continue;	/* leaves nothing to find */
		be->ops = backends[i];
		be->cfg = cfg;
		be->priv = NULL;
		if ((e = be->ops->open(be, cfg, SP_OPEN_READ)) == 0) {
			e = be->ops->present(be);
			if (e == 1)
				return 1;
			be->ops->close(be);
		}
		if (e < 0) {
			*failed = backends[i]->name;
			return e;
		}
	}
	return 0;
}

void sp_relay_answer_fini(struct sp_relay_answer *a)
{
	free(a->eps);
	a->eps = NULL;
	a->n_eps = 0;
}
