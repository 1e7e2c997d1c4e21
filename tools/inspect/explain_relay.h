/* explain_relay.h - explain's text for a relaying backend (the userspace
 * forwarder), from the answer of the agent serving the node now: the same
 * lines, in the same order, as for the NAT backends (verdict, one line per
 * candidate with its share and masquerade answer, path, masquerade), with
 * what only a relay has (the listener, the balancing and each endpoint's
 * open connections). */
#ifndef SP_TOOLS_INSPECT_EXPLAIN_RELAY_H
#define SP_TOOLS_INSPECT_EXPLAIN_RELAY_H

#include <stdio.h>

#include "explain.h"
#include "../../dataplane/backend.h"

/* Print to @f what @a says of a new connection from @src to @dst:@port/@proto,
 * which reaches port @p (read back from the same agent) via @via. */
void sp_explain_relay_print(FILE *f, const struct sp_svc_port *p, enum sp_explain_via via,
			    const struct sp_addr *src, const struct sp_addr *dst, uint16_t port,
			    uint8_t proto, const struct sp_relay_answer *a);

#endif
