/* cmd_dump.c - svcplanectl dump: what is programmed in this network namespace
 * now (by whichever backend has state here), as the operator's table or JSON. */
#include "svcplanectl.h"
#include "ctl_backend.h"
#include "model_print.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: svcplanectl dump [--json]\n"
			    "  reads svcplane's state in the current network namespace\n"
			    "  (run it on the node, or with ip netns exec / svcplanectl rig exec);\n"
			    "  exit 3 when there is none\n";

int ctl_read_back(struct sp_model *m)
{
	struct ctl_backend c;
	int e = ctl_backend_open(&c);

	if (e)
		return e;
	if ((e = c.be.ops->read_back(&c.be, m, NULL, NULL)))
		fprintf(stderr, "svcplanectl: reading the %s backend's state: %s\n", c.be.ops->name,
			strerror(-e));
	ctl_backend_close(&c);
	return e ? 1 : 0;
}

int cmd_dump(int argc, char **argv)
{
	struct sp_model m;
	bool json = false;
	int e;

	if ((e = ctl_json_flag(argc, argv, usage, &json)) >= 0)
		return e;
	if (sp_model_init(&m))
		return 1;
	e = ctl_read_back(&m);
	if (!e) {
		if (json) {
			char *txt = sp_model_to_text(&m, true);

			if (txt)
				printf("%s\n", txt);
			e = txt ? 0 : 1;
			free(txt);
		} else {
			sp_model_print(stdout, &m);
		}
	}
	sp_model_fini(&m);
	return e;
}
