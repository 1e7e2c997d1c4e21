/* bpf_tc.h - the tc programs on the node's devices: which devices (those
 * holding a NodePort address face outside; those holding an address inside
 * the cluster CIDR face the pods), a clsact hook where there is none, our
 * filters attached under a fixed handle and priority and replaced in place
 * when found (tc filters are not bpf links and cannot be pinned: a restarted
 * agent adopts them by handle, so a packet never meets a missing program),
 * and taken off devices that are neither any more. */
#ifndef SP_DATAPLANE_BPF_TC_H
#define SP_DATAPLANE_BPF_TC_H

#include <stddef.h>

#include "../../common/lists.h"

struct sp_log;
struct sp_bpf_kernel;

#define SP_BPF_MAX_DEVS 16

struct sp_bpf_devs {
	int outside[SP_BPF_MAX_DEVS]; /* ifindexes */
	int n_outside;
	int pod[SP_BPF_MAX_DEVS];
	int n_pod;
};

/* The devices of this network namespace for @node_addrs and @cluster.
 * Returns 0 or -errno. */
int sp_bpf_tc_devices(const struct sp_addr *node_addrs, size_t n, const struct sp_cidrs *cluster,
		      struct sp_bpf_devs *out);

/* Attach (or replace in place) the programs of @k on @d's devices and take
 * ours off every other device. Returns 0 or -errno with a one-line reason
 * in @err naming the device. */
int sp_bpf_tc_attach(const struct sp_bpf_kernel *k, const struct sp_bpf_devs *d,
		     const struct sp_log *log, char *err, size_t errsz);

/* Take our filters off every device of this network namespace (--cleanup). */
void sp_bpf_tc_detach_all(const struct sp_log *log);

#endif
