/* backend.c - the table of dataplanes built into this binary. */
#include "backend.h"

#include <string.h>

#include "dryrun/dryrun_backend.h"
#include "nft/nft_backend.h"

static const struct sp_backend_ops *const backends[] = {
	&sp_nft_ops,
	&sp_dryrun_ops,
};

const struct sp_backend_ops *sp_backend_find(const char *mode)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, mode))
			return backends[i];
	return NULL;
}

const char *sp_backend_names(void)
{
	return "nftables, dry-run";
}
