/* bpf_readback.h - what the eBPF maps hold, back into a model (svcplanectl
 * dump, diff, explain), and the projection of a desired model onto what the
 * maps can say, so the two compare. */
#ifndef SP_DATAPLANE_BPF_READBACK_H
#define SP_DATAPLANE_BPF_READBACK_H

#include "../backend.h"
#include "bpf_loader.h"

/* Read @k's maps into @out. Returns 0 or -errno (never an empty model for
 * an error). */
int sp_bpf_read(const struct sp_bpf_kernel *k, struct sp_model *out, sp_external_list_fn ext,
		void *ctx);

/* @in as the bpf backend programs it: per port its addresses, ports,
 * affinity, policies and the endpoints of its ClusterIP list (else its
 * external list), each ready. */
int sp_bpf_project(const struct sp_model *in, struct sp_model *out);

/* The endpoints a connection to @vip:@port/@proto (NodePort with @vip NULL)
 * gets now, into @p. Returns their number or -errno (-ENOENT: no entry). */
/* Traffic from outside to endpoint @ep:@port (see the backend op
 * explain_outside). Returns 0 or -errno (-ENOENT: no such endpoint). */
int sp_bpf_explain_outside(const struct sp_bpf_kernel *k, const struct sp_addr *src,
			   const struct sp_addr *ep, uint16_t port, bool *snat, char *path,
			   size_t pathsz, char *nat, size_t natsz);

int sp_bpf_dispatch(const struct sp_bpf_kernel *k, int family, const struct sp_addr *vip,
		    uint8_t proto, uint16_t port, struct sp_svc_port *p);

#endif
