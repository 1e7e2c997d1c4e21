/* bpf_maglev.c - Maglev tables into sp_maglev (see bpf_maglev.h). */
#include "bpf_maglev.h"
#include "../../control/maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

int sp_bpf_maglev_write(const struct sp_bpf_kernel *k, uint32_t set_id,
			const struct sp_endpoint *const *eps, const uint32_t *ids, size_t n, uint32_t m)
{
	struct sp_maglev_endpoint *me = calloc(n ? n : 1, sizeof(*me));
	uint32_t *table = malloc((size_t)m * sizeof(*table)), *keys = NULL;
	uint32_t count = m;
	int fd = -1, e;

	if (!me || !table) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		me[i].family = eps[i]->addr.family;
		memcpy(me[i].addr, eps[i]->addr.bytes, 16);
		me[i].port_be = htons(eps[i]->port);
	}
	if ((e = sp_maglev_build(me, n, m, table, NULL)))
		goto out;
	if (!(keys = malloc((size_t)m * sizeof(*keys)))) {
		e = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < m; i++) {
		keys[i] = i;
		table[i] = table[i] == SP_MAGLEV_NO_ENDPOINT ? 0 : ids[table[i]];
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sp_maglev_tbl", 4, 4, m, NULL);
	if (fd < 0) {
		e = -errno;
		goto out;
	}
	if (bpf_map_update_batch(fd, keys, table, &count, NULL)) {
		/* (an older kernel: one by one) */
		for (uint32_t i = 0; i < m; i++)
			if (bpf_map_update_elem(fd, &keys[i], &table[i], BPF_ANY)) {
				e = -errno;
				goto out;
			}
	}
	e = bpf_map_update_elem(k->map_fd[SPM_MAGLEV], &set_id, &fd, BPF_ANY) ? -errno : 0;
out:
	if (fd >= 0)
		close(fd); /* the outer map holds it now */
	free(me);
	free(table);
	free(keys);
	return e;
}

void sp_bpf_maglev_delete(const struct sp_bpf_kernel *k, uint32_t set_id)
{
	bpf_map_delete_elem(k->map_fd[SPM_MAGLEV], &set_id);
}
