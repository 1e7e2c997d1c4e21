/* us_addrs.h - the link that makes Service addresses local to the node for
 * the userspace forwarder: a bridge with no ports named svcplane0 (this
 * kernel has no dummy link type; a portless bridge is up, forwards nothing
 * and is ours alone, so removing it removes every address we added), with
 * ClusterIPs, external IPs and LB IPs as /32 and /128 addresses (nodad,
 * noprefixroute). libnl-route-3, one request per address. */
#ifndef SP_DATAPLANE_US_ADDRS_H
#define SP_DATAPLANE_US_ADDRS_H

#include <stddef.h>

#include "../../common/addr.h"

#define US_LINK_NAME "svcplane0"

struct sp_log;
struct us_link;

/* Find the link, creating it (and bringing it up) when @create; read the
 * addresses it holds. NULL + errno (ENODEV: absent and !@create). */
struct us_link *us_link_open(bool create, const struct sp_log *lg);
void us_link_close(struct us_link *l);

/* Add the addresses of @want the link lacks. Returns 0 or the first -errno
 * (logged with the address); the others are still tried. */
int us_link_add(struct us_link *l, const struct sp_addr *want, size_t n);
/* Remove the link's addresses that are not in @keep. Returns 0 or -errno. */
int us_link_prune(struct us_link *l, const struct sp_addr *keep, size_t n);
/* Addresses the link holds now (as last added or read). */
size_t us_link_count(const struct us_link *l);
/* Still there (someone may delete it)? */
bool us_link_alive(const struct us_link *l);

/* Is the link there? 1, 0, or -errno. */
int us_link_exists(void);
/* Delete the link and with it every address on it. 0 when absent. */
int us_link_remove(void);

#endif
