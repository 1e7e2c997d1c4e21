/* hmap.c - chained hash map with FNV-1a hashing, doubling at load factor 1. */
#include "hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *next;
	uint64_t hash;
	void *value;
	char key[];
};

struct sp_hmap {
	struct node **buckets;
	size_t nbuckets;	/* power of two */
	size_t len;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct sp_hmap *sp_hmap_new(void)
{
	struct sp_hmap *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nbuckets = 16;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	if (!h->buckets) {
		free(h);
		return NULL;
	}
	return h;
}

void sp_hmap_free(struct sp_hmap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct node *n = h->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(h->buckets);
	free(h);
}

static struct node **find(const struct sp_hmap *h, const char *key, uint64_t hash)
{
	struct node **pp = &h->buckets[hash & (h->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && !strcmp((*pp)->key, key))
			return pp;
	return pp;
}

void *sp_hmap_get(const struct sp_hmap *h, const char *key)
{
	struct node **pp = find(h, key, fnv1a(key));

	return *pp ? (*pp)->value : NULL;
}

static void grow(struct sp_hmap *h)
{
	size_t nb = h->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;	/* keep the old table: slower, still correct */
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct node *n = h->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

int sp_hmap_put(struct sp_hmap *h, const char *key, void *value, void **old)
{
	uint64_t hash = fnv1a(key);
	struct node **pp = find(h, key, hash);
	size_t klen;

	if (old)
		*old = NULL;
	if (*pp) {
		if (old)
			*old = (*pp)->value;
		(*pp)->value = value;
		return 0;
	}
	klen = strlen(key);
	*pp = malloc(sizeof(**pp) + klen + 1);
	if (!*pp)
		return -ENOMEM;
	(*pp)->next = NULL;
	(*pp)->hash = hash;
	(*pp)->value = value;
	memcpy((*pp)->key, key, klen + 1);
	if (++h->len > h->nbuckets)
		grow(h);
	return 0;
}

void *sp_hmap_del(struct sp_hmap *h, const char *key)
{
	struct node **pp = find(h, key, fnv1a(key));
	struct node *n = *pp;
	void *v;

	if (!n)
		return NULL;
	*pp = n->next;
	v = n->value;
	free(n);
	h->len--;
	return v;
}

size_t sp_hmap_len(const struct sp_hmap *h)
{
	return h->len;
}

int sp_hmap_next(const struct sp_hmap *h, struct sp_hmap_iter *it)
{
	struct node *n = it->node ? it->next : NULL;

	if (!it->node)
		it->bucket = 0;
	else if (!n)
		it->bucket++;
	while (!n && it->bucket < h->nbuckets) {
		n = h->buckets[it->bucket];
		if (!n)
			it->bucket++;
	}
	if (!n)
		return 0;
	it->node = n;
	it->next = n->next;
	it->key = n->key;
	it->value = n->value;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **sp_hmap_sorted_keys(const struct sp_hmap *h, size_t *n)
{
	const char **keys = malloc((h->len ? h->len : 1) * sizeof(*keys));
	struct sp_hmap_iter it = {0};
	size_t i = 0;

	if (!keys)
		return NULL;
	while (sp_hmap_next(h, &it))
		keys[i++] = it.key;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*n = i;
	return keys;
}
