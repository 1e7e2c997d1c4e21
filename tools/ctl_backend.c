/* ctl_backend.c - svcplanectl's read-only way into a dataplane: find the
 * backend with state here, or read a backend's saved dump. */
#include "ctl_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a bpf-mode agent pinned its maps: SVCPLANE_BPF_PIN_PATH, as the
 * agent's --bpf-pin-path (default /sys/fs/bpf/svcplane). */
static void cfg_init(struct ctl_backend *c)
{
	memset(c, 0, sizeof(*c));
	c->log = (struct sp_log){.out = stderr, .level = SP_LOG_WARN};
	c->cfg.log = &c->log;
	c->cfg.bpf_pin_path = getenv("SVCPLANE_BPF_PIN_PATH");
}

/* On a node without svcplane's state, whose is here, if anyone's: the end
 * of the one line dump prints then. */
static void kube_proxy_note(void)
{
	char what[512];
	int e = sp_kube_proxy_find(what, sizeof(what));

	if (e > 0)
		fprintf(stderr, "; kube-proxy's state is here: %s\n", what);
	else if (e == 0)
		fprintf(stderr, "; no kube-proxy state either\n");
	else
		fprintf(stderr, "; kube-proxy's state could not be read (%s)\n", what);
}

int ctl_backend_open(struct ctl_backend *c)
{
	const char *failed = "?";
	int e;

	cfg_init(c);
	e = sp_backend_open_present(&c->be, &c->cfg, &failed);
	if (e == 1)
		return 0;
	if (e == 0) {
		const struct sp_backend_ops *const *all = sp_backend_all();

		fprintf(stderr,
			"svcplanectl: no svcplane state in this network namespace (looked for:");
		for (size_t i = 0, n = 0; all[i]; i++)
			if (all[i]->state)
				fprintf(stderr, "%s %s", n++ ? "," : "", all[i]->state);
		fprintf(stderr, ")");
		kube_proxy_note();
		return CTL_EXIT_NO_STATE;
	}
	fprintf(stderr, "svcplanectl: reading the %s backend's state: %s%s\n", failed, strerror(-e),
		e == -EPERM ? " (needs CAP_NET_ADMIN in this network namespace)" : "");
	return 1;
}

int ctl_backend_open_dump(struct ctl_backend *c, const char *name, const char *buf, size_t len,
			  char *err, size_t errsz)
{
	int e;

	cfg_init(c);
	c->be.ops = sp_backend_find(name);
	c->be.cfg = &c->cfg;
	if (!c->be.ops || !c->be.ops->load_dump) {
		snprintf(err, errsz, "the %s backend has no dump form", name);
		return -EOPNOTSUPP;
	}
	if ((e = c->be.ops->open(&c->be, &c->cfg, SP_OPEN_READ))) {
		snprintf(err, errsz, "%s backend: %s", name, strerror(-e));
		return e;
	}
	if ((e = c->be.ops->load_dump(&c->be, buf, len, err, errsz)))
		ctl_backend_close(c);
	return e;
}

void ctl_backend_close(struct ctl_backend *c)
{
	if (c->be.ops && c->be.priv)
		c->be.ops->close(&c->be);
	c->be.priv = NULL;
}
