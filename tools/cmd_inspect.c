/* cmd_inspect.c - svcplanectl inspect FILE|-: a rule dump from any node read
 * into the Service → endpoints table, with findings. */
#include "svcplanectl.h"
#include "inspect/inspect.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DUMP (1u << 30)	/* a dump larger than 1 GiB is refused */

static const char usage[] =
	"usage: svcplanectl inspect [--json] FILE|-\n"
	"  FILE: `iptables-save` of a node running kube-proxy in iptables mode (or\n"
	"        its `nft list ruleset`, iptables-nft's tables), or `nft list ruleset`\n"
	"        or `nft -j list ruleset` of one running it in nftables mode, or\n"
	"        `nft list ruleset` of a node running svcplane; excerpts and cut-off\n"
	"        dumps are read as far as they go (marked partial)\n";

/* Read all of @path ("-": standard input), with one spare byte after it.
 * Returns 0 or -errno; message printed. */
int sp_read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0, r;
	char *b;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	b = malloc(cap);
	while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n == cap - 1) {
			char *nb = cap >= MAX_DUMP ? NULL : realloc(b, cap * 2);

			if (!nb) {
				fprintf(stderr, "%s: larger than %u MiB\n", path, MAX_DUMP >> 20);
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!b)
		return -EFBIG;
	*buf = b;
	*len = n;
	return 0;
}

/* Recognise the dump's format and inspect it. Returns 0, or -errno with a
 * one-line message printed naming @path. */
int sp_inspect_dump(const char *path, struct sp_inspect *in)
{
	char *buf, err[256] = "";
	size_t len;
	int e;

	if ((e = sp_read_all(path, &buf, &len)))
		return e;
	e = sp_inspect_buf(buf, len, in, err, sizeof(err));
	free(buf);
	if (e)
		fprintf(stderr, "%s: %s\n", path, e == -ENOMEM ? "out of memory" : err);
	return e;
}

int cmd_inspect(int argc, char **argv)
{
	struct sp_inspect in;
	bool json = false;
	int e;

	if ((e = ctl_json_flag(argc, argv, usage, &json)) >= 0)
		return e;
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (sp_inspect_init(&in))
		return 1;
	e = sp_inspect_dump(argv[optind], &in);
	if (!e && json) {
		cJSON *o = sp_inspect_to_json(&in);
		char *txt = o ? cJSON_Print(o) : NULL;

		if (txt)
			printf("%s\n", txt);
		free(txt);
		cJSON_Delete(o);
	} else if (!e) {
		sp_inspect_print(stdout, &in);
	}
	sp_inspect_fini(&in);
	return e ? 2 : 0;
}
