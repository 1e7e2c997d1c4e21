/* id_pool.c - ids given back and handed out again, oldest first: a ring. */
#include "id_pool.h"

#include <errno.h>
#include <stdlib.h>

int sp_id_pool_put(struct sp_id_pool *p, uint32_t id)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		uint32_t *v = malloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < p->n; i++)
			v[i] = p->v[(p->head + i) % p->cap];
		free(p->v);
		p->v = v;
		p->head = 0;
		p->cap = cap;
	}
	p->v[(p->head + p->n++) % p->cap] = id;
	return 0;
}

bool sp_id_pool_take(struct sp_id_pool *p, uint32_t *id)
{
	if (!p->n)
		return false;
	*id = p->v[p->head];
	p->head = (p->head + 1) % p->cap;
	p->n--;
	return true;
}

void sp_id_pool_fini(struct sp_id_pool *p)
{
	free(p->v);
	*p = (struct sp_id_pool){0};
}
