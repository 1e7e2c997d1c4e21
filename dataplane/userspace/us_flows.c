/* us_flows.c - a chained hash table sized once for its maximum, with an
 * intrusive doubly linked LRU list (touch and delete are O(1), the idle
 * sweep reads only the oldest flows). */
#include "us_flows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct us_flows {
	struct us_flow **b; /* buckets */
	size_t nb;	    /* power of two */
	size_t len, max;
	struct us_flow *oldest, *newest;
};

static uint64_t key_hash(const struct us_flow_key *k)
{
	const uint8_t *p = k->client.bytes;
	uint64_t h = 1469598103934665603ULL;

	h = (h ^ k->lis) * 1099511628211ULL;
	h = (h ^ k->cport) * 1099511628211ULL;
	for (int i = 0; i < 16; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static bool key_equal(const struct us_flow_key *a, const struct us_flow_key *b)
{
	return a->lis == b->lis && a->cport == b->cport && !sp_addr_cmp(&a->client, &b->client);
}

struct us_flows *us_flows_new(size_t max)
{
	struct us_flows *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max;
	for (t->nb = 64; t->nb < max; t->nb *= 2)
		;
	if (!(t->b = calloc(t->nb, sizeof(*t->b)))) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void us_flows_free(struct us_flows *t)
{
	if (!t)
		return;
	while (t->oldest)
		us_flows_del(t, t->oldest);
	free(t->b);
	free(t);
}

struct us_flow *us_flows_get(struct us_flows *t, const struct us_flow_key *k)
{
	uint64_t h = key_hash(k);

	for (struct us_flow *f = t->b[h & (t->nb - 1)]; f; f = f->hnext)
		if (f->hash == h && key_equal(&f->key, k))
			return f;
	return NULL;
}

static void lru_unlink(struct us_flows *t, struct us_flow *f)
{
	if (f->older)
		f->older->newer = f->newer;
	else
		t->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		t->newest = f->older;
	f->older = f->newer = NULL;
}

static void lru_push(struct us_flows *t, struct us_flow *f)
{
	f->older = t->newest;
	f->newer = NULL;
	if (t->newest)
		t->newest->newer = f;
	else
		t->oldest = f;
	t->newest = f;
}

struct us_flow *us_flows_add(struct us_flows *t, const struct us_flow_key *k, double now)
{
	struct us_flow *f;
	size_t i;

	if (t->len >= t->max) {
		errno = ENOSPC;
		return NULL;
	}
	if (!(f = calloc(1, sizeof(*f)))) {
		errno = ENOMEM;
		return NULL;
	}
	f->key = *k;
	f->fd = -1;
	f->last = now;
	f->hash = key_hash(k);
	i = f->hash & (t->nb - 1);
	f->hnext = t->b[i];
	t->b[i] = f;
	lru_push(t, f);
	t->len++;
	return f;
}

void us_flows_touch(struct us_flows *t, struct us_flow *f, double now)
{
	f->last = now;
	if (t->newest != f) {
		lru_unlink(t, f);
		lru_push(t, f);
	}
}

void us_flows_del(struct us_flows *t, struct us_flow *f)
{
	struct us_flow **pp = &t->b[f->hash & (t->nb - 1)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->len--;
	free(f);
}

struct us_flow *us_flows_oldest(const struct us_flows *t)
{
	return t->oldest;
}

size_t us_flows_len(const struct us_flows *t)
{
	return t->len;
}
