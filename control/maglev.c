/* maglev.c - builds one service port's Maglev lookup table from its endpoints
 * (the derivation is spelled out in maglev.h). Pure: no I/O, no state kept. */
#include "maglev.h"
#include "../bpf/jhash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define KEY_LEN 20 /* family, 16 address bytes, 2 port bytes, 1 zero */

/* One endpoint while the table is filled. */
struct perm {
	uint8_t key[KEY_LEN]; /* sort key and hash input, the same bytes on every machine */
	uint32_t index;	      /* into the caller's array */
	uint32_t next;	      /* the next slot of its permutation to try */
	uint32_t skip;
};

bool sp_maglev_is_prime(uint32_t m)
{
	if (m < 2)
		return false;
	if (m % 2 == 0)
		return m == 2;
	for (uint32_t d = 3; d <= m / d; d += 2)
		if (m % d == 0)
			return false;
	return true;
}

static void set_err(char *err, const char *fmt, unsigned long a, unsigned long b)
{
	if (err)
		snprintf(err, SP_MAGLEV_ERRLEN, fmt, a, b);
}

int sp_maglev_check_size(uint32_t m, size_t n, char err[SP_MAGLEV_ERRLEN])
{
	if (!sp_maglev_is_prime(m)) {
		set_err(err, "maglev table size %lu is not a prime", m, 0);
		return -EINVAL;
	}
	if (m > SP_MAGLEV_SIZE_MAX) {
		set_err(err, "maglev table size %lu is above the largest, %lu", m,
			SP_MAGLEV_SIZE_MAX);
		return -EINVAL;
	}
	/* Divide rather than multiply: @n may be anything. */
	if (n && m / SP_MAGLEV_SLOTS_PER_ENDPOINT < n) {
		if (err)
			snprintf(err, SP_MAGLEV_ERRLEN,
				 "maglev table size %lu is below %d × %zu endpoints",
				 (unsigned long)m, SP_MAGLEV_SLOTS_PER_ENDPOINT, n);
		return -EINVAL;
	}
	return 0;
}

/* @ep's canonical bytes into @key. Returns 0 or -EINVAL for an unknown family. */
static int endpoint_key(const struct sp_maglev_endpoint *ep, uint8_t key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	if (ep->family == AF_INET) {
		key[0] = 4;
		memcpy(&key[1], ep->addr, 4);
	} else if (ep->family == AF_INET6) {
		key[0] = 6;
		memcpy(&key[1], ep->addr, 16);
	} else {
		return -EINVAL;
	}
	memcpy(&key[17], &ep->port_be, 2); /* network order: bytes as they are */
	return 0;
}

/* Offset and skip from the key's five words (see maglev.h for the layout). */
static void permutation_start(struct perm *p, uint32_t m)
{
	const uint8_t *k = p->key;
	uint32_t w[5];

	for (int i = 0; i < 4; i++)
		w[i] = sp_be32_word(&k[1 + 4 * i]);
	w[4] = (uint32_t)k[17] << 24 | (uint32_t)k[18] << 16 | k[0];
	p->next = sp_jhash_words(w, 5, SP_MAGLEV_SEED_OFFSET) % m;
	p->skip = sp_jhash_words(w, 5, SP_MAGLEV_SEED_SKIP) % (m - 1) + 1;
}

/* By endpoint bytes; equal endpoints by caller index, so the first is kept. */
static int perm_cmp(const void *a, const void *b)
{
	const struct perm *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Endpoints take turns, each claiming the next free slot of its permutation,
 * until every slot is taken. A prime @m makes each permutation visit every
 * slot, so a turn always ends. */
static void fill(struct perm *perms, size_t n, uint32_t m, uint32_t *table)
{
	uint32_t filled = 0;

	for (uint32_t s = 0; s < m; s++)
		table[s] = SP_MAGLEV_NO_ENDPOINT;
	while (filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			struct perm *p = &perms[i];
			uint32_t c = p->next;

			while (table[c] != SP_MAGLEV_NO_ENDPOINT) {
				c += p->skip;
				if (c >= m)
					c -= m;
			}
			table[c] = p->index;
			p->next = c + p->skip >= m ? c + p->skip - m : c + p->skip;
			filled++;
		}
	}
}

int sp_maglev_build(const struct sp_maglev_endpoint *eps, size_t n, uint32_t m, uint32_t *table,
		    char err[SP_MAGLEV_ERRLEN])
{
	struct perm *perms;
	size_t kept = 0;
	int e;

	if ((e = sp_maglev_check_size(m, n, err)))
		return e;
	if (!n) {
		for (uint32_t s = 0; s < m; s++)
			table[s] = SP_MAGLEV_NO_ENDPOINT;
		return 0;
	}
	perms = calloc(n, sizeof(*perms));
	if (!perms)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (endpoint_key(&eps[i], perms[i].key)) {
			set_err(err,
				"maglev endpoint %lu: address family %lu is neither IPv4 nor IPv6",
				i, eps[i].family);
			free(perms);
			return -EINVAL;
		}
		perms[i].index = (uint32_t)i;
	}
	qsort(perms, n, sizeof(*perms), perm_cmp);
	for (size_t i = 0; i < n; i++) {
		if (kept && !memcmp(perms[kept - 1].key, perms[i].key, KEY_LEN))
			continue; /* listed twice: once is enough */
		perms[kept] = perms[i];
		permutation_start(&perms[kept], m);
		kept++;
	}
	fill(perms, kept, m, table);
	free(perms);
	return 0;
}
