/* cmd_model.c - svcplanectl model: the model a manifest directory gives, without
 * an agent (what `svcplane --mode dry-run` would print). */
#include "svcplanectl.h"
#include "model_print.h"
#include "../common/hmap.h"
#include "../common/log.h"
#include "../control/source_dir.h"
#include "../control/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: svcplanectl model --manifests DIR [--hostname-override NODE] [--json]\n";

int cmd_model(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifests", required_argument, NULL, 'm' },
		{ "hostname-override", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sp_log lg = { .out = stderr, .level = SP_LOG_WARN };
	const char *dir = NULL, *node = NULL;
	bool json = false;
	struct sp_store st;
	struct sp_model m;
	struct sp_dir_source *src;
	int opt, e, rc = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			dir = optarg;
			break;
		case 'n':
			node = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!dir || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (sp_store_init(&st, node) || sp_model_init(&m)) {
		fprintf(stderr, "svcplanectl model: out of memory\n");
		return 1;
	}
	src = sp_dir_source_new(dir, &st, &lg);
	if (!src) {
		perror(dir);
		rc = 2;
		goto out;
	}
	if ((e = sp_dir_source_load_all(src))) {
		fprintf(stderr, "%s: %s\n", dir, strerror(-e));
		goto out_src;
	}
	if (sp_model_build(&m, &st)) {
		fprintf(stderr, "svcplanectl model: out of memory\n");
		goto out_src;
	}
	if (json) {
		char *txt = sp_model_to_text(&m, true);

		if (!txt)
			goto out_src;
		printf("%s\n", txt);
		free(txt);
	} else {
		sp_model_print(stdout, &m);
	}
	/* Exit 1 when some input was refused, so scripts notice. */
	rc = sp_dir_source_errors(src) ? 1 : 0;
out_src:
	sp_dir_source_free(src);
out:
	sp_model_fini(&m);
	sp_store_fini(&st);
	return rc;
}
