/* us_host.h - what the host lets the forwarder do, found once at start: how
 * many descriptors it may hold (RLIMIT_NOFILE, raised to what the
 * connections could use) and whether the kernel has SCTP sockets. */
#ifndef SP_DATAPLANE_US_HOST_H
#define SP_DATAPLANE_US_HOST_H

#include <stdbool.h>
#include <stddef.h>

struct sp_log;

/* Raise RLIMIT_NOFILE to what US_MAX_CONNS_CAP connections could use (the
 * hard limit too when the process may), else to the hard limit. Returns
 * the limit now (us_fwd_init's @nofile); logs what it allows once. */
size_t us_host_raise_nofile(const struct sp_log *lg);

/* Can this kernel make one-to-one SCTP sockets? Says once in the log what
 * the forwarder does about it. */
bool us_host_has_sctp(const struct sp_log *lg);

#endif
