/* fuzz_us_explain.c - libFuzzer entry for the userspace control socket's
 * two parsers: a query (what the agent reads from any local process that
 * can reach its socket) and an answer (what svcplanectl reads back); each
 * accepted one is written again and read back the same. */

#include "../../dataplane/userspace/us_explain.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct us_explain_query q, q2;
	struct sp_relay_answer a, b;
	char *txt;

	if (!us_explain_query_parse((const char *)data, size, &q) &&
	    (txt = us_explain_query_fmt(&q))) {
		if (us_explain_query_parse(txt, strlen(txt), &q2) || q2.port != q.port ||
		    q2.proto != q.proto || sp_addr_cmp(&q2.dst, &q.dst) ||
		    sp_addr_cmp(&q2.src, &q.src))
			abort(); /* a query that does not come back as it went */
		free(txt);
	}
	if (!us_explain_answer_parse((const char *)data, size, &a) &&
	    (txt = us_explain_answer_fmt(&a))) {
		if (us_explain_answer_parse(txt, strlen(txt), &b) || b.n_eps != a.n_eps ||
		    b.verdict != a.verdict || b.n_total != a.n_total)
			abort();
		sp_relay_answer_fini(&b);
		free(txt);
	}
	sp_relay_answer_fini(&a);
	return 0;
}
