/* bpf_podifs.c - local pods' veths into sp_pod_ifs (see bpf_podifs.h). */
#include "bpf_podifs.h"
#include "../netlink/bridge_ports.h"
#include "../../bpf/maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#define MAX_PODS 4096

static void key_of(const struct sp_addr *a, struct sp_pod_if_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family == AF_INET6 ? 6 : 4;
	memcpy(k->addr, a->bytes, a->family == AF_INET6 ? 16 : 4);
}

static bool listed(const struct sp_pod_if_key *k, const struct sp_bridge_nbr *v, int n)
{
	struct sp_pod_if_key x;

	for (int i = 0; i < n; i++) {
		key_of(&v[i].addr, &x);
		if (!memcmp(&x, k, sizeof(x)))
			return true;
	}
	return false;
}

int sp_bpf_pod_ifs_write(const struct sp_bpf_kernel *k, const struct sp_bpf_devs *d)
{
	struct sp_bridge_nbr *v = calloc(MAX_PODS, sizeof(*v));
	struct sp_pod_if_key key, next, *prev = NULL;
	int fd = k->map_fd[SPM_POD_IFS], n = 0, e = 0;

	if (!v)
		return -ENOMEM;
	for (int i = 0; i < d->n_pod; i++) {
		int got = sp_bridge_neighbours(d->pod[i], v + n, (size_t)(MAX_PODS - n));

		if (got > 0)
			n += got; /* (a pod-facing device that is no bridge has none) */
	}
	for (int i = 0; i < n && !e; i++) {
		struct sp_pod_if_val val = {.ifindex = (uint32_t)v[i].port_ifindex};

		memcpy(val.mac, v[i].mac, 6);
		key_of(&v[i].addr, &key);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
			e = -errno;
	}
	/* What is no longer behind a port goes (deleting while walking: the
	 * walk restarts after each delete, bounded by the map's size). */
	for (int guard = 0; !e && guard < 2 * MAX_PODS &&
			    !bpf_map_get_next_key(fd, prev, &next);
	     guard++) {
		key = next;
		if (!listed(&key, v, n)) {
			bpf_map_delete_elem(fd, &key);
			prev = NULL;
			continue;
		}
		prev = &key;
	}
	free(v);
	return e ? e : n;
}
