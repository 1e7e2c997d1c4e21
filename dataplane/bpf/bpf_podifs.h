/* bpf_podifs.h - sp_pod_ifs from the pod-facing bridges' neighbours (see
 * maps.h): written at each full sync and refreshed on a short timer by the
 * backend; entries no longer behind a bridge port go. */
#ifndef SP_DATAPLANE_BPF_PODIFS_H
#define SP_DATAPLANE_BPF_PODIFS_H

#include "bpf_loader.h"
#include "bpf_tc.h"

/* Make sp_pod_ifs hold the neighbours behind @d's pod-facing devices.
 * Returns their number, or -errno. */
int sp_bpf_pod_ifs_write(const struct sp_bpf_kernel *k, const struct sp_bpf_devs *d);

#endif
