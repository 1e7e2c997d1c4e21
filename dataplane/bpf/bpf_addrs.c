/* bpf_addrs.c - the sp_addrs map from the writer's references: a count of
 * service entries per address and a mark for this node's addresses, each
 * address written when its flags change and deleted when it has none. */
#include "bpf_addrs.h"
#include "bpf_sweep.h"
#include "../../bpf/maps.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

struct addr_rec {
	struct sp_addr_key key;
	uint32_t refs;	 /* service entries using it */
	bool node;	 /* one of this node's addresses */
	uint8_t written; /* the flags in the map now; 0: none */
};

struct sp_bpf_addrs {
	int fd;
	const struct sp_log *log;
	struct sp_hmap *recs; /* sp_addr_str → struct addr_rec */
};

struct sp_bpf_addrs *sp_bpf_addrs_new(int map_fd, const struct sp_log *log)
{
	struct sp_bpf_addrs *s = calloc(1, sizeof(*s));

	if (!s || !(s->recs = sp_hmap_new())) {
		free(s);
		return NULL;
	}
	s->fd = map_fd;
	s->log = log;
	return s;
}

void sp_bpf_addrs_free(struct sp_bpf_addrs *s)
{
	struct sp_hmap_iter it = {0};

	if (!s)
		return;
	while (sp_hmap_next(s->recs, &it))
		free(it.value);
	sp_hmap_free(s->recs);
	free(s);
}

static struct addr_rec *rec_of(struct sp_bpf_addrs *s, const struct sp_addr *a)
{
	char name[SP_ADDRSTRLEN];
	struct addr_rec *r;

	sp_addr_str(a, name);
	if ((r = sp_hmap_get(s->recs, name)))
		return r;
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	memcpy(r->key.addr, a->bytes, a->family == AF_INET6 ? 16 : 4);
	r->key.family = a->family == AF_INET6 ? 6 : 4;
	if (sp_hmap_put(s->recs, name, r, NULL)) {
		free(r);
		return NULL;
	}
	return r;
}

static uint8_t flags_of(const struct addr_rec *r)
{
	return (uint8_t)((r->refs ? SP_ADDR_SERVICE : 0) | (r->node ? SP_ADDR_NODE : 0));
}

/* The map as @r says (@name: its key in recs); @r is freed when it has
 * nothing left. */
static int sync_rec(struct sp_bpf_addrs *s, const char *name, struct addr_rec *r)
{
	uint8_t f = flags_of(r);

	if (f && f != r->written) {
		if (bpf_map_update_elem(s->fd, &r->key, &f, BPF_ANY)) {
			int e = -errno;

			sp_log_err(s->log, "bpf: sp_addrs: address %s left out: %s", name,
				   strerror(-e));
			return e;
		}
		r->written = f;
	}
	if (f)
		return 0;
	if (r->written)
		bpf_map_delete_elem(s->fd, &r->key);
	free(sp_hmap_del(s->recs, name));
	return 0;
}

int sp_bpf_addrs_service(struct sp_bpf_addrs *s, const struct sp_addr *a, int delta)
{
	char name[SP_ADDRSTRLEN];
	struct addr_rec *r = rec_of(s, a);

	if (!r)
		return -ENOMEM;
	if (delta > 0)
		r->refs++;
	else if (r->refs)
		r->refs--;
	sp_addr_str(a, name);
	return sync_rec(s, name, r);
}

void sp_bpf_addrs_begin_full(struct sp_bpf_addrs *s)
{
	struct sp_hmap_iter it = {0};

	/* (Node marks stay until end_full: an address that is the node's and a
	 * service's keeps its NodePorts while the services are counted.) */
	while (sp_hmap_next(s->recs, &it))
		((struct addr_rec *)it.value)->refs = 0;
}

/* Is @key (an sp_addr_key) an address @set's recs hold? */
static bool known(const void *key, void *set)
{
	const struct sp_addr_key *k = key;
	const struct sp_bpf_addrs *s = set;
	struct sp_addr a = {.family = k->family == 6 ? AF_INET6 : AF_INET};
	char name[SP_ADDRSTRLEN];

	a.prefix_len = k->family == 6 ? 128 : 32;
	memcpy(a.bytes, k->addr, 16);
	sp_addr_str(&a, name);
	return sp_hmap_get(s->recs, name) != NULL;
}

int sp_bpf_addrs_end_full(struct sp_bpf_addrs *s, const struct sp_addr *node, size_t n)
{
	struct sp_hmap_iter it = {0};
	int e;

	while (sp_hmap_next(s->recs, &it))
		((struct addr_rec *)it.value)->node = false;
	for (size_t i = 0; i < n; i++) {
		struct addr_rec *r = rec_of(s, &node[i]);

		if (!r)
			return -ENOMEM;
		r->node = true;
	}
	/* First what an earlier agent wrote and nothing uses now (room for
	 * what follows); then every address as it is now, also when the sweep
	 * failed (the first error is returned). */
	e = sp_bpf_sweep(s->fd, sizeof(struct sp_addr_key), known, s);
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(s->recs, &it)) {
		int e2 = sync_rec(s, it.key, it.value);

		e = e ? e : e2;
	}
	return e;
}
