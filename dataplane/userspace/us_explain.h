/* us_explain.h - the userspace forwarder's answer to svcplanectl explain:
 * what the agent's live tables do now with a new connection from one source
 * to one address, port and protocol (the listener that takes it, the list
 * the source draws from and how it balances, each endpoint's open
 * connections, the next pick), and the query and answer as JSON, the wire
 * form of the control socket (us_ctl.h). Pure: no sockets, no clock of its
 * own; unit-tested without root. */
#ifndef SP_DATAPLANE_US_EXPLAIN_H
#define SP_DATAPLANE_US_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../backend.h"

#define US_EXPLAIN_MAX_EPS 256	  /* endpoints an answer lists (n_total says all) */
#define US_EXPLAIN_MAX_QUERY 1024 /* bytes of a query datagram */
#define US_EXPLAIN_MAX_ANSWER (US_EXPLAIN_MAX_EPS * 160 + 4096) /* bytes of an answer */

struct us_ports;

/* One query. */
struct us_explain_query {
	struct sp_addr src, dst; /* plain addresses of one family */
	uint8_t proto;		 /* IPPROTO_TCP, _UDP, _SCTP */
	uint16_t port;
};

/* What @t does at @now with a new connection of @q, into @out (zeroed
 * first; pid and each endpoint's src are left to the caller). UDP lists
 * count flows per endpoint. Returns 0 or -ENOMEM. */
int us_explain(const struct us_ports *t, const struct us_explain_query *q, double now,
	       struct sp_relay_answer *out);

/* The query as JSON text (caller frees); NULL + errno. */
char *us_explain_query_fmt(const struct us_explain_query *q);
/* Read a query from @len bytes of @buf. Returns 0 or -EINVAL. */
int us_explain_query_parse(const char *buf, size_t len, struct us_explain_query *q);

/* The answer as JSON text (caller frees); NULL + errno. */
char *us_explain_answer_fmt(const struct sp_relay_answer *a);
/* Read an answer from @len bytes of @buf into @out (sp_relay_answer_fini
 * frees it, also after an error). Returns 0, -EINVAL or -ENOMEM. */
int us_explain_answer_parse(const char *buf, size_t len, struct sp_relay_answer *out);

#endif
