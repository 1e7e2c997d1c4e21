/* conntrack.h - removes stale UDP conntrack entries over ctnetlink, as
 * kube-proxy does: flows NATed to an endpoint that went away (so clients move to
 * a live one), and flows to a service address that were created while it had
 * no endpoint (so they get NATed now that it has one). */
#ifndef SP_DATAPLANE_CONNTRACK_H
#define SP_DATAPLANE_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/addr.h"

struct sp_log;

struct sp_ct_match {
	uint8_t proto;		/* IPPROTO_UDP (or SCTP) */
	struct sp_addr addr;
	uint16_t port;
	bool endpoint;		/* true: NATed flows whose reply source is addr:port;
				 * false: un-NATed flows to service address addr:port */
};

/* Delete every entry matching any of @m (one dump per family). Returns the
 * number deleted, or -errno. */
int sp_ct_flush(const struct sp_ct_match *m, size_t n, const struct sp_log *lg);

#endif
