/* us_metrics.c - the forwarder's /metrics gauges: counters per service port
 * (label service_port) and the forwarder's totals. */
#include "us_metrics.h"
#include "us_addrs.h"
#include "us_fwd.h"
#include "us_port.h"
#include "../../common/hmap.h"

#include <stddef.h>

int us_metrics_gauges(const struct us_ports *t, const struct us_fwd *f, struct sp_gauge *out,
		      size_t max)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} per[] = {
	    {"svcplane_userspace_connections_active",
	     "TCP and SCTP connections open now, per service port",
	     offsetof(struct us_stats, active)},
	    {"svcplane_userspace_connections_total",
	     "TCP and SCTP connections accepted, per service port",
	     offsetof(struct us_stats, total)},
	    {"svcplane_userspace_udp_flows", "UDP flows now, per service port",
	     offsetof(struct us_stats, flows)},
	    {"svcplane_userspace_bytes_received_total",
	     "Bytes from clients to endpoints, per service port",
	     offsetof(struct us_stats, bytes_in)},
	    {"svcplane_userspace_bytes_sent_total",
	     "Bytes from endpoints to clients, per service port",
	     offsetof(struct us_stats, bytes_out)},
	    {"svcplane_userspace_connect_failures_total",
	     "Connects to endpoints refused or timed out, per service port",
	     offsetof(struct us_stats, connect_fail)},
	    {"svcplane_userspace_connect_retries_total",
	     "Connections retried on another endpoint, per service port",
	     offsetof(struct us_stats, retries)},
	    {"svcplane_userspace_connections_refused_total",
	     "Connections reset because no endpoint answered, per service port",
	     offsetof(struct us_stats, refused)},
	};
	struct sp_hmap_iter it = {0};
	size_t n = 0;

	while (sp_hmap_next(t->svcs, &it)) {
		const struct us_svc *s = it.value;

		for (size_t i = 0; i < sizeof(per) / sizeof(per[0]) && n < max; i++)
			out[n++] = (struct sp_gauge){
			    per[i].name, per[i].help, "service_port", s->key,
			    (double)*(const uint64_t *)((const char *)&s->st + per[i].off)};
	}
	if (n + 5 <= max) {
		out[n++] = (struct sp_gauge){"svcplane_userspace_connections_max",
					     "TCP connections the forwarder takes at most now: two "
					     "descriptors each, in what "
					     "its listeners, UDP flows and pipes leave",
					     NULL, NULL, (double)us_fwd_conns_max_now(f)};
		out[n++] = (struct sp_gauge){"svcplane_userspace_pipes_in_use",
					     "Pipes holding bytes in flight now", NULL, NULL,
					     (double)f->pipes_in_use};
		out[n++] = (struct sp_gauge){
		    "svcplane_userspace_buffers_in_use",
		    "Directions holding bytes in a buffer now, no descriptor to spare for a pipe",
		    NULL, NULL, (double)f->bufs_in_use};
		out[n++] =
		    (struct sp_gauge){"svcplane_userspace_udp_dropped_total",
				      "Datagrams dropped: flow table full or no endpoint socket",
				      NULL, NULL, (double)f->udp_dropped};
		out[n++] = (struct sp_gauge){"svcplane_userspace_addresses",
					     "Service addresses on " US_LINK_NAME, NULL, NULL,
					     t->link ? (double)us_link_count(t->link) : 0};
	}
	return (int)n;
}
