/* nft_mirror.c - element reference counts and chain records of one family
 * (see nft_mirror.h): an open-addressing table of hashes, no element copies. */
#include "nft_mirror.h"
#include "nft_layout.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- the table --------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finaliser: spreads FNV's weak low bits over the word */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t fnv64(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct nft_count *slot(const struct nft_counts *t, uint64_t key)
{
	size_t mask = t->cap - 1;

	for (size_t i = (size_t)key & mask;; i = (i + 1) & mask)
		if (t->v[i].key == key || !t->v[i].key)
			return &t->v[i];
}

static struct nft_count *find(const struct nft_counts *t, uint64_t key)
{
	struct nft_count *c;

	if (!t->cap)
		return NULL;
	c = slot(t, key);
	return c->key ? c : NULL;
}

/* Room for one more entry: grow at 3/4 full. Returns 0 or -ENOMEM. */
static int reserve(struct nft_counts *t)
{
	struct nft_counts g;

	if ((t->n + 1) * 4 <= t->cap * 3)
		return 0;
	g.cap = t->cap ? t->cap * 2 : 1024;
	g.n = t->n;
	g.v = calloc(g.cap, sizeof(*g.v));
	if (!g.v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].key)
			*slot(&g, t->v[i].key) = t->v[i];
	free(t->v);
	*t = g;
	return 0;
}

/* Remove entry @c: later entries of its probe run move back (no tombstones). */
static void erase(struct nft_counts *t, struct nft_count *c)
{
	size_t mask = t->cap - 1, hole = (size_t)(c - t->v);

	for (size_t i = (hole + 1) & mask; t->v[i].key; i = (i + 1) & mask) {
		size_t home = (size_t)t->v[i].key & mask;

		/* Move it when its home is not in (hole, i] (cyclically). */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			t->v[hole] = t->v[i];
			hole = i;
		}
	}
	t->v[hole].key = 0;
	t->n--;
}

static void counts_fini(struct nft_counts *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* --- elements ------------------------------------------------------------------ */

uint64_t nft_elem_key_hash(const struct nft_elem *e)
{
	uint8_t head[2] = { e->set, e->klen };
	uint32_t n = e->klen * (sp_nft_sets[e->set].interval ? 2u : 1u);
	uint64_t h = mix64(fnv64(fnv64(0xcbf29ce484222325ull, head, 2), e->key, n));

	return h ? h : 1;
}

static uint32_t val_hash(const struct nft_elem *e)
{
	uint8_t head[2] = { e->verdict, e->dlen };
	uint64_t h = fnv64(0xcbf29ce484222325ull, head, 2);

	h = fnv64(h, (const uint8_t *)&e->vhash, sizeof(e->vhash));
	return (uint32_t)mix64(fnv64(h, e->data, e->dlen));
}

static uint64_t lost_key(uint32_t id, uint64_t key)
{
	uint64_t h = mix64(key ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull));

	return h ? h : 1;
}

int nft_mirror_claim(struct nft_mirror *m, uint32_t id, const char *port, const struct nft_elem *e)
{
	uint64_t key = nft_elem_key_hash(e);
	uint32_t val = val_hash(e);
	struct nft_count *c = find(&m->elems, key);

	if (c && c->val == val) {
		c->refs++;
		return 0;
	}
	if (c) {
		char what[256];

		if (reserve(&m->lost))
			return -ENOMEM;
		c = slot(&m->lost, lost_key(id, key));
		if (!c->key) {
			c->key = lost_key(id, key);
			m->lost.n++;
		}
		c->refs++;
		nft_elem_describe(e, m->family, what, sizeof(what));
		sp_log_warn(m->log, "nftables: %s: %s claims it too; the first claim stays", what,
			    port);
		return 0;
	}
	if (reserve(&m->elems))
		return -ENOMEM;
	c = slot(&m->elems, key);
	*c = (struct nft_count){ .key = key, .refs = 1, .val = val };
	m->elems.n++;
	return 1;
}

int nft_mirror_release(struct nft_mirror *m, uint32_t id, const struct nft_elem *e)
{
	uint64_t key = nft_elem_key_hash(e);
	struct nft_count *c = find(&m->lost, lost_key(id, key));

	if (c) {	/* this port's claim had lost: the kernel never had its value */
		if (!--c->refs)
			erase(&m->lost, c);
		return 0;
	}
	c = find(&m->elems, key);
	if (!c || c->val != val_hash(e))
		return 0;
	if (--c->refs)
		return 0;
	erase(&m->elems, c);
	return 1;
}

uint32_t nft_mirror_holders(const struct nft_mirror *m, const struct nft_elem *e)
{
	const struct nft_count *c = find(&m->elems, nft_elem_key_hash(e));

	return c ? c->refs : 0;
}

/* --- chains ------------------------------------------------------------------- */

struct nft_chain_rec *nft_mirror_chain(struct nft_mirror *m, const char *name, bool create)
{
	struct nft_chain_rec *c = sp_hmap_get(m->chains, name);

	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (c && sp_hmap_put(m->chains, name, c, NULL)) {
		free(c);
		return NULL;
	}
	return c;
}

void nft_mirror_chain_forget(struct nft_mirror *m, const char *name)
{
	free(sp_hmap_del(m->chains, name));
}

/* --- lifecycle -------------------------------------------------------------------- */

int nft_mirror_init(struct nft_mirror *m, int family, const struct sp_log *log)
{
	memset(m, 0, sizeof(*m));
	m->family = family;
	m->log = log;
	m->chains = sp_hmap_new();
	return m->chains ? 0 : -ENOMEM;
}

void nft_mirror_clear(struct nft_mirror *m)
{
	struct sp_hmap_iter it = {0};

	counts_fini(&m->elems);
	counts_fini(&m->lost);
	while (m->chains && sp_hmap_next(m->chains, &it))
		free(sp_hmap_del(m->chains, it.key));
}

void nft_mirror_fini(struct nft_mirror *m)
{
	nft_mirror_clear(m);
	sp_hmap_free(m->chains);
	memset(m, 0, sizeof(*m));
}

size_t nft_mirror_bytes(const struct nft_mirror *m)
{
	return (m->elems.cap + m->lost.cap) * sizeof(struct nft_count) +
	       (m->chains ? sp_hmap_len(m->chains) : 0) * (sizeof(struct nft_chain_rec) + 64);
}
