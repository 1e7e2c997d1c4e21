/* us_ctl.h - the control socket of a userspace-mode agent, where svcplanectl
 * asks what the agent does with one connection now (explain): a unix
 * datagram socket beside the state file (us_state.h: net-<inode>.sock,
 * root's only), one query datagram in, one answer datagram back to the
 * asker's own (autobound) address. The agent side never blocks: it answers
 * what is queued when the loop says so and drops an answer the asker cannot
 * take. Only the transport is here; what is asked and answered is the
 * caller's (us_explain.h). */
#ifndef SP_DATAPLANE_US_CTL_H
#define SP_DATAPLANE_US_CTL_H

#include <stddef.h>

#include "../backend.h"

/* The answer to @len bytes of @query, as text the caller frees; NULL: no
 * answer (the asker times out). */
typedef char *(*us_ctl_fn)(void *ctx, const char *query, size_t len);

struct us_ctl {
	int fd; /* -1: closed */
	const struct sp_loop_hooks *loop;
	us_ctl_fn fn;
	void *ctx;
	size_t max_query; /* longer queries are dropped */
};

/* The agent (holding the state lock): bind this namespace's socket,
 * replacing one an earlier agent left, and answer queries of at most
 * @max_query bytes with @fn on @loop. Returns 0 or -errno (@c closed). */
int us_ctl_open(struct us_ctl *c, const struct sp_loop_hooks *loop, size_t max_query, us_ctl_fn fn,
		void *ctx);
/* Stop answering, remove the socket file. */
void us_ctl_close(struct us_ctl *c);

/* svcplanectl: send @query to the agent of this network namespace and wait
 * up to @timeout seconds for its answer of at most @max bytes, into *@out
 * (NUL-terminated, caller frees) and *@len. Returns 0, -ENOENT or
 * -ECONNREFUSED when no agent listens, -ETIMEDOUT, or -errno. */
int us_ctl_ask(const char *query, size_t qlen, size_t max, double timeout, char **out, size_t *len);

#endif
