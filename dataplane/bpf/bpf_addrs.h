/* bpf_addrs.h - the sp_addrs map: every address the socket hooks and tc
 * programs must look at twice (a service's ClusterIP, external IP or
 * load-balancer IP; an address of this node, for NodePorts), so that a
 * packet or a socket for any other address costs them one lookup. */
#ifndef SP_DATAPLANE_BPF_ADDRS_H
#define SP_DATAPLANE_BPF_ADDRS_H

#include <stddef.h>

#include "../../common/addr.h"
#include "../../common/log.h"

struct sp_bpf_addrs;

struct sp_bpf_addrs *sp_bpf_addrs_new(int map_fd, const struct sp_log *log);
void sp_bpf_addrs_free(struct sp_bpf_addrs *s);

/* One more (@delta +1) or one fewer (-1) service entry uses address @a:
 * written at the first, removed after the last. Add before the service
 * entries are written, remove after they are gone. 0 or -errno. */
int sp_bpf_addrs_service(struct sp_bpf_addrs *s, const struct sp_addr *a, int delta);

/* A full sync counts every reference again: begin forgets the counts (the
 * map is left alone), the writes count them, and end sets this node's
 * addresses, writes what changed and removes from the map every address
 * that nothing uses now (also ones an earlier agent left). 0 or -errno. */
void sp_bpf_addrs_begin_full(struct sp_bpf_addrs *s);
int sp_bpf_addrs_end_full(struct sp_bpf_addrs *s, const struct sp_addr *node, size_t n);

#endif
