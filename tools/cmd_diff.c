/* cmd_diff.c - svcplanectl diff: the desired state (manifests) against what is
 * programmed here; exit 1 on drift. */
#include "svcplanectl.h"
#include "../common/hmap.h"
#include "../common/log.h"
#include "../control/model.h"
#include "../control/source_dir.h"
#include "../control/store.h"
#include "ctl_backend.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: svcplanectl diff --manifests DIR [--hostname-override NODE]\n"
	"  compares what DIR asks for with svcplane's tables in this network namespace;\n"
	"  exit 0 when they agree, 1 on drift (each difference printed), 2 on bad input,\n"
	"  3 when no svcplane state is here\n";


/* Every difference between @want and @have, one line each; returns the count. */
static int report(const struct sp_model *want, const struct sp_model *have)
{
	size_t nw, nh;
	const struct sp_svc_port **w = sp_model_sorted_ports(want, &nw);
	const struct sp_svc_port **h = sp_model_sorted_ports(have, &nh);
	int drift = 0;

	if (!w || !h) {
		free(w);
		free(h);
		return -ENOMEM;
	}
	for (size_t i = 0, j = 0; w && h && (i < nw || j < nh);) {
		int c = i == nw ? 1 : j == nh ? -1 : strcmp(w[i]->key, h[j]->key);

		if (c < 0) {
			printf("missing  %s (not programmed)\n", w[i++]->key);
			drift++;
		} else if (c > 0) {
			printf("extra    %s (programmed, not wanted)\n", h[j++]->key);
			drift++;
		} else {
			const char *d = sp_svc_port_diff(w[i], h[j]);

			if (d) {
				printf("differs  %s: %s differ\n", w[i]->key, d);
				drift++;
			}
			i++;
			j++;
		}
	}
	free(w);
	free(h);
	return drift;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifests", required_argument, NULL, 'm' },
		{ "hostname-override", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sp_log lg = { .out = stderr, .level = SP_LOG_WARN };
	char host[256] = "";
	const char *dir = NULL;
	struct sp_store st;
	struct sp_model desired, want, have;
	struct sp_dir_source *src;
	struct ctl_backend c;
	int opt, rc = 2, drift, e;

	optind = 1;
	gethostname(host, sizeof(host) - 1);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'm') {
			dir = optarg;
		} else if (opt == 'n') {
			snprintf(host, sizeof(host), "%s", optarg);
		} else {
			fputs(usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!dir || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (sp_store_init(&st, host) || sp_model_init(&desired) || sp_model_init(&want) ||
	    sp_model_init(&have))
		return 1;
	src = sp_dir_source_new(dir, &st, &lg);
	if (!src) {
		perror(dir);
		goto out;
	}
	if (sp_dir_source_load_all(src) || sp_model_build(&desired, &st))
		goto out_src;
	if ((rc = ctl_backend_open(&c)))
		goto out_src;
	e = c.be.ops->project ? c.be.ops->project(&c.be, &desired, &want) : -EOPNOTSUPP;
	if (e || (e = c.be.ops->read_back(&c.be, &have, NULL, NULL))) {
		fprintf(stderr, "svcplanectl: %s backend: %s\n", c.be.ops->name, strerror(-e));
		ctl_backend_close(&c);
		rc = 1;
		goto out_src;
	}
	ctl_backend_close(&c);
	if ((drift = report(&want, &have)) < 0) {
		fprintf(stderr, "svcplanectl diff: out of memory\n");
		rc = 1;
		goto out_src;
	}
	if (!drift)
		printf("no drift: %zu service ports programmed as wanted\n", sp_hmap_len(want.ports));
	rc = drift ? 1 : 0;
out_src:
	sp_dir_source_free(src);
out:
	sp_model_fini(&desired);
	sp_model_fini(&want);
	sp_model_fini(&have);
	sp_store_fini(&st);
	return rc;
}
