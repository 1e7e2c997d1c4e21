/* bpf_udp.h - connected UDP sockets whose endpoint went away are disconnected
 * (Cilium's stale-UDP-socket problem): the iter/udp program with the
 * bpf_sock_destroy kfunc, read once in each network namespace that has a
 * process under the socket hooks' cgroup. */
#ifndef SP_DATAPLANE_BPF_UDP_H
#define SP_DATAPLANE_BPF_UDP_H

#include <stddef.h>

#include "../../control/model.h"

struct sp_log;
struct sp_bpf_udp;

/* Load the iterator. NULL + errno when this kernel cannot (the caller logs
 * once: UDP clients then keep a dead endpoint until they reconnect). */
struct sp_bpf_udp *sp_bpf_udp_new(const char *cgroup_path, const struct sp_log *log);
void sp_bpf_udp_free(struct sp_bpf_udp *u);

/* The UDP endpoints @old served and @new (may be NULL) no longer does, added
 * to the pending list. Returns 0 or -ENOMEM. */
int sp_bpf_udp_note(struct sp_bpf_udp *u, const struct sp_svc_port *old,
		    const struct sp_svc_port *new);

/* Disconnect the sockets connected to the pending endpoints, then clear the
 * list. Returns the number of namespaces visited, or -errno. */
int sp_bpf_udp_flush(struct sp_bpf_udp *u);

#endif
