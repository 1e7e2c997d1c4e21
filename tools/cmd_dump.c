/* cmd_dump.c - svcplanectl dump: what is programmed in this network namespace
 * now (svcplane's nftables tables), as the operator's table or JSON. */
#include "svcplanectl.h"
#include "model_print.h"
#include "../common/log.h"
#include "../control/model_json.h"
#include "../dataplane/nft/nft_readback.h"
#include "../dataplane/nft/nft_tx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

static const char usage[] = "usage: svcplanectl dump [--json]\n"
			    "  reads svcplane's tables in the current network namespace\n"
			    "  (run it on the node, or with ip netns exec / svcplanectl rig exec)\n";

/* Read what is programmed into @m. Returns 0 or -errno (message printed). */
int sp_dump_read(struct sp_model *m)
{
	struct sp_log lg = { .out = stderr, .level = SP_LOG_WARN };
	struct mnl_socket *nl = nft_socket_open();
	int e;

	if (!nl) {
		e = -errno;
		fprintf(stderr, "svcplanectl: netlink (nf_tables): %s\n", strerror(errno));
		return e;
	}
	e = sp_nft_read(nl, m, &lg);
	mnl_socket_close(nl);
	return e;
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
	e = sp_dump_read(&m);
	if (!e) {
		if (json) {
			char *txt = sp_model_to_text(&m, true);

			if (txt)
				printf("%s\n", txt);
			free(txt);
		} else {
			sp_model_print(stdout, &m);
		}
	}
	sp_model_fini(&m);
	return e ? 1 : 0;
}
