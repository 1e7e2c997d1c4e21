/* us_metrics.h - the userspace forwarder's gauges for /metrics. */
#ifndef SP_DATAPLANE_US_METRICS_H
#define SP_DATAPLANE_US_METRICS_H

#include <stddef.h>

struct sp_gauge;
struct us_fwd;
struct us_ports;

/* Fill @out[0..@max) with per-port counters and the forwarder's totals.
 * Returns how many were written (label strings are borrowed from @t). */
int us_metrics_gauges(const struct us_ports *t, const struct us_fwd *f, struct sp_gauge *out,
		      size_t max);

#endif
