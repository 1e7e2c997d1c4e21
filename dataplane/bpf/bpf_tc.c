/* bpf_tc.c - the tc programs on the node's devices (see bpf_tc.h). */
#include "bpf_tc.h"
#include "bpf_loader.h"
#include "../../common/addr.h"
#include "../../common/log.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

/* Our filters: one handle and priority on every hook, so that a restarted
 * agent finds and replaces them ("SP"). */
#define TC_HANDLE 0x5350
#define TC_PRIORITY 0x5350

static bool has(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void add(int *v, int *n, int x)
{
	if (!has(v, *n, x) && *n < SP_BPF_MAX_DEVS)
		v[(*n)++] = x;
}

static bool addr_of(const struct sockaddr *sa, struct sp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		a->prefix_len = 32;
		a->v4 = ((const struct sockaddr_in *)sa)->sin_addr;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		a->prefix_len = 128;
		a->v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		return true;
	}
	return false;
}

int sp_bpf_tc_devices(const struct sp_addr *node_addrs, size_t n, const struct sp_cidrs *cluster,
		      struct sp_bpf_devs *out)
{
	struct ifaddrs *ifs, *i;

	memset(out, 0, sizeof(*out));
	if (getifaddrs(&ifs))
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		struct sp_addr a;
		int idx;

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !addr_of(i->ifa_addr, &a))
			continue;
		if (!(idx = (int)if_nametoindex(i->ifa_name)))
			continue;
		for (size_t k = 0; k < n; k++)
			if (!sp_addr_cmp(&node_addrs[k], &a))
				add(out->outside, &out->n_outside, idx);
		for (int k = 0; k < cluster->n; k++)
			if (!has(out->outside, out->n_outside, idx) &&
			    sp_cidr_contains(&cluster->v[k], &a))
				add(out->pod, &out->n_pod, idx);
	}
	freeifaddrs(ifs);
	return 0;
}

static int attach(int ifindex, enum bpf_tc_attach_point at, int prog_fd, char *err, size_t errsz)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	char name[IF_NAMESIZE] = "?";
	int e;

	libbpf_print_fn_t print = libbpf_set_print(NULL); /* (EEXIST is expected) */

	e = bpf_tc_hook_create(&hook);
	libbpf_set_print(print);
	if (e && e != -EEXIST)
		goto fail;
	if (!(e = bpf_tc_attach(&hook, &opts)))
		return 0;
fail:
	if_indextoname((unsigned)ifindex, name);
	snprintf(err, errsz, "bpf: tc %s hook on %s: %s", at == BPF_TC_INGRESS ? "ingress" : "egress",
		 name, strerror(-e));
	return e;
}

static void detach(int ifindex, enum bpf_tc_attach_point at)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);

	bpf_tc_detach(&hook, &opts); /* (-ENOENT: not ours to take) */
}

/* Take ours off every hook of this namespace that @keep (NULL: none) does
 * not use: outside devices have both, pod-facing ones ingress only. */
static void detach_others(const struct sp_bpf_devs *keep)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	libbpf_print_fn_t print;

	if (!ifs)
		return;
	/* Devices without a clsact hook, or with none of ours, make libbpf
	 * print the kernel's refusal: expected here, so not printed. */
	print = libbpf_set_print(NULL);
	for (i = ifs; i->if_index; i++) {
		int idx = (int)i->if_index;
		bool out = keep && has(keep->outside, keep->n_outside, idx);
		bool pod = keep && has(keep->pod, keep->n_pod, idx);

		if (!out && !pod)
			detach(idx, BPF_TC_INGRESS);
		if (!out)
			detach(idx, BPF_TC_EGRESS);
	}
	libbpf_set_print(print);
	if_freenameindex(ifs);
}

int sp_bpf_tc_attach(const struct sp_bpf_kernel *k, const struct sp_bpf_devs *d,
		     const struct sp_log *log, char *err, size_t errsz)
{
	int in = sp_bpf_kernel_tc_prog(k, "sp_tc_outside_in");
	int out = sp_bpf_kernel_tc_prog(k, "sp_tc_outside_out");
	int pod = sp_bpf_kernel_tc_prog(k, "sp_tc_pod_in");
	int e;

	if (in < 0 || out < 0 || pod < 0) {
		snprintf(err, errsz, "bpf: the tc programs are not loaded");
		return -ENOENT;
	}
	for (int i = 0; i < d->n_outside; i++)
		if ((e = attach(d->outside[i], BPF_TC_INGRESS, in, err, errsz)) ||
		    (e = attach(d->outside[i], BPF_TC_EGRESS, out, err, errsz)))
			return e;
	for (int i = 0; i < d->n_pod; i++)
		if ((e = attach(d->pod[i], BPF_TC_INGRESS, pod, err, errsz)))
			return e;
	detach_others(d);
	sp_log_debug(log, "bpf: tc programs on %d outside and %d pod-facing devices", d->n_outside,
		     d->n_pod);
	return 0;
}

void sp_bpf_tc_detach_all(const struct sp_log *log)
{
	detach_others(NULL);
	sp_log_debug(log, "bpf: tc programs taken off every device");
}
