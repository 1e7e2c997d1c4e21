/* ctl_backend.h - the dataplane svcplanectl reads: the backend whose state is
 * present in this network namespace, opened read-only through backend.h. */
#ifndef SP_TOOLS_CTL_BACKEND_H
#define SP_TOOLS_CTL_BACKEND_H

#include "../dataplane/backend.h"

/* Exit code of dump, diff and explain when no backend has state here. */
#define CTL_EXIT_NO_STATE 3

struct ctl_backend {
	struct sp_backend be;
	struct sp_backend_cfg cfg;
	struct sp_log log;
};

/* Open the backend whose state is present here. Returns 0 with @c open, or
 * the exit code to return after one line on stderr: CTL_EXIT_NO_STATE when
 * no backend has state here, 1 when one could not be read (EPERM …). */
int ctl_backend_open(struct ctl_backend *c);
/* Open backend @name read-only over a saved dump of its state. Returns 0, or
 * -errno with a one-line reason in @err. */
int ctl_backend_open_dump(struct ctl_backend *c, const char *name, const char *buf, size_t len,
			  char *err, size_t errsz);
void ctl_backend_close(struct ctl_backend *c);

#endif
