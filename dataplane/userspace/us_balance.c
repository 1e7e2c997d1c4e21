/* us_balance.c - round robin or least connections over a pool, ClientIP
 * affinity (a hash map of client address → endpoint and last use), skipping
 * tried endpoints. */
#include "us_balance.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct aff_entry {
	struct us_ep ep;
	double last; /* last use, caller's clock (seconds) */
};

struct us_affinity {
	struct sp_hmap *m; /* client address text → struct aff_entry */
	uint32_t timeout;
	double swept; /* when expired entries were last removed */
};

bool us_ep_equal(const struct us_ep *a, const struct us_ep *b)
{
	return a->port == b->port && !sp_addr_cmp(&a->addr, &b->addr);
}

/* Index of @e in @p, or -1. */
static long pool_find(const struct us_pool *p, const struct us_ep *e)
{
	for (size_t i = 0; i < p->n; i++)
		if (us_ep_equal(&p->v[i], e))
			return (long)i;
	return -1;
}

int us_pool_set(struct us_pool *p, const struct us_ep *v, size_t n)
{
	struct us_ep *c = NULL;
	uint32_t *k = NULL;

	if (n && (!(c = malloc(n * sizeof(*c))) || !(k = calloc(n, sizeof(*k))))) {
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		long j = pool_find(p, &v[i]);

		c[i] = v[i];
		k[i] = j >= 0 ? p->conns[j] : 0;
	}
	free(p->v);
	free(p->conns);
	p->v = c;
	p->conns = k;
	p->n = n;
	p->next = n ? p->next % n : 0;
	return 0;
}

void us_pool_fini(struct us_pool *p)
{
	free(p->v);
	free(p->conns);
	*p = (struct us_pool){0};
}

bool us_pool_has(const struct us_pool *p, const struct us_ep *e)
{
	return pool_find(p, e) >= 0;
}

void us_pool_count(struct us_pool *p, const struct us_ep *e, int delta)
{
	long i = pool_find(p, e);

	if (i < 0 || (delta < 0 && !p->conns[i]))
		return;
	p->conns[i] += (uint32_t)delta;
}

struct us_affinity *us_affinity_new(uint32_t timeout)
{
	struct us_affinity *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (!(a->m = sp_hmap_new())) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->timeout = timeout;
	return a;
}

void us_affinity_free(struct us_affinity *a)
{
	struct sp_hmap_iter it = {0};

	if (!a)
		return;
	while (sp_hmap_next(a->m, &it))
		free(it.value);
	sp_hmap_free(a->m);
	free(a);
}

void us_affinity_set_timeout(struct us_affinity *a, uint32_t timeout)
{
	a->timeout = timeout;
}

uint32_t us_affinity_timeout(const struct us_affinity *a)
{
	return a->timeout;
}

/* Remove expired entries, at most once a second: a sweep walks them all. */
static void sweep(struct us_affinity *a, double now)
{
	struct sp_hmap_iter it = {0};

	if (now - a->swept < 1.0)
		return;
	a->swept = now;
	while (sp_hmap_next(a->m, &it)) {
		struct aff_entry *e = it.value;

		if (now - e->last >= a->timeout) {
			sp_hmap_del(a->m, it.key);
			free(e);
		}
	}
}

int us_affinity_put(struct us_affinity *a, const struct sp_addr *client, const struct us_ep *ep,
		    double now)
{
	char key[SP_ADDRSTRLEN];
	struct aff_entry *e;

	sweep(a, now);
	sp_addr_str(client, key);
	if (!(e = sp_hmap_get(a->m, key))) {
		if (!(e = malloc(sizeof(*e))))
			return -ENOMEM;
		if (sp_hmap_put(a->m, key, e, NULL)) {
			free(e);
			return -ENOMEM;
		}
	}
	e->ep = *ep;
	e->last = now;
	return 0;
}

size_t us_affinity_len(struct us_affinity *a, double now)
{
	sweep(a, now);
	return sp_hmap_len(a->m);
}

bool us_affinity_get(const struct us_affinity *a, const struct sp_addr *client, double now,
		     struct us_ep *ep, double *left)
{
	char key[SP_ADDRSTRLEN];
	const struct aff_entry *e = sp_hmap_get(a->m, sp_addr_str(client, key));

	if (!e || now - e->last >= a->timeout)
		return false;
	*ep = e->ep;
	*left = a->timeout - (now - e->last);
	return true;
}

static bool skipped(const struct us_ep *e, const struct us_ep *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (us_ep_equal(e, &skip[i]))
			return true;
	return false;
}

int us_pick(struct us_pool *p, struct us_affinity *aff, const struct sp_addr *client, double now,
	    const struct us_ep *skip, size_t nskip, struct us_ep *out)
{
	if (aff && client) {
		char key[SP_ADDRSTRLEN];
		struct aff_entry *e = sp_hmap_get(aff->m, sp_addr_str(client, key));

		if (e && now - e->last < aff->timeout && us_pool_has(p, &e->ep) &&
		    !skipped(&e->ep, skip, nskip)) {
			*out = e->ep;
			return 0;
		}
	}
	if (p->least_conns) {
		size_t best = p->n;

		for (size_t k = 0; k < p->n; k++) {
			size_t i = (p->next + k) % p->n;

			if (!skipped(&p->v[i], skip, nskip) &&
			    (best == p->n || p->conns[i] < p->conns[best]))
				best = i;
		}
		if (best == p->n)
			return -ENOENT;
		p->next = (best + 1) % p->n;
		*out = p->v[best];
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct us_ep *e = &p->v[p->next];

		p->next = (p->next + 1) % p->n;
		if (!skipped(e, skip, nskip)) {
			*out = *e;
			return 0;
		}
	}
	return -ENOENT;
}

int us_pick_peek(const struct us_pool *p, struct us_affinity *aff, const struct sp_addr *client,
		 double now, struct us_ep *out)
{
	struct us_pool copy = *p; /* us_pick moves only the copy's cursor */

	return us_pick(&copy, aff, client, now, NULL, 0, out);
}
