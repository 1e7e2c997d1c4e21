/* backend.h - the one interface every dataplane implements (nftables, bpf,
 * userspace, dry-run), and the table that finds one by --mode name. */
#ifndef SP_DATAPLANE_BACKEND_H
#define SP_DATAPLANE_BACKEND_H

#include <stdbool.h>

#include "../common/config.h"
#include "../control/model.h"

struct sp_backend;

struct sp_health {
	bool ok;
	char detail[256];	/* why not, when !ok */
};

struct sp_backend_ops {
	const char *name;
	/* Set up private state in be->priv; touch nothing in the kernel that a
	 * failed start would have to undo. Returns 0 or -errno (logged by caller). */
	int (*init)(struct sp_backend *be, const struct sp_config *cfg);
	/* Make the kernel match @m. Only services in @dirty changed, unless @full.
	 * All or nothing: on error the previous state stays in force. */
	int (*sync)(struct sp_backend *be, const struct sp_model *m, const struct sp_dirty *dirty,
		    bool full);
	/* Read what is programmed now back into @out (svcplanectl dump, diff). */
	int (*read_back)(struct sp_backend *be, struct sp_model *out);
	/* Remove everything svcplane ever installed with this backend. */
	int (*cleanup)(struct sp_backend *be);
	int (*health)(struct sp_backend *be, struct sp_health *out);
	void (*fini)(struct sp_backend *be);
};

struct sp_backend {
	const struct sp_backend_ops *ops;
	const struct sp_config *cfg;	/* borrowed */
	void *priv;			/* the backend's own state */
};

/* The backend for @mode, or NULL when no backend of that name is built into
 * this binary (the agent refuses to start then). */
const struct sp_backend_ops *sp_backend_find(const char *mode);

/* Names of the built backends, for error messages: "dry-run, nftables". */
const char *sp_backend_names(void);

#endif
