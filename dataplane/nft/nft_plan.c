/* nft_plan.c - model and change list → the operations of one sync (see
 * nft_plan.h): renders ports, diffs old against new, counts shared elements
 * in the mirror, and decides which chains come and go. */
#include "nft_plan.h"
#include "nft_layout.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>

/* --- the plan's strings ------------------------------------------------------- */

struct nft_pool_chunk {
	struct nft_pool_chunk *next;
	size_t used, cap;
	char data[];
};

/* A copy of @s that lives as long as the plan; NULL for NULL, or out of memory. */
static const char *pool_str(struct nft_plan *pl, const char *s, int *err)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (!pl->pool || pl->pool->cap - pl->pool->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct nft_pool_chunk *c = malloc(sizeof(*c) + cap);

		if (!c) {
			*err = -ENOMEM;
			return NULL;
		}
		c->next = pl->pool;
		c->used = 0;
		c->cap = cap;
		pl->pool = c;
	}
	p = pl->pool->data + pl->pool->used;
	memcpy(p, s, n);
	pl->pool->used += n;
	return p;
}

/* --- growable arrays ------------------------------------------------------------ */

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *nv;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* An operation on @e, its strings copied into the plan (a deletion keeps
 * them too, so that a deletion and an addition of the same element cancel). */
static int push_op(struct nft_plan *pl, struct nft_elems *l, const struct nft_elem *e)
{
	struct nft_elem c = *e;
	int err = 0;

	c.chain = pool_str(pl, e->chain, &err);
	c.comment = pool_str(pl, e->comment, &err);
	return err ? err : nft_elems_push(l, &c);
}

static struct nft_chain_op *chain_op(struct nft_plan *pl, struct nft_fam_plan *fp,
				     enum nft_chain_op_kind kind, const char *name)
{
	struct nft_chain_op *op;
	int err = 0;

	if (grow((void **)&fp->chains, &fp->capchains, fp->nchains, sizeof(*fp->chains)))
		return NULL;
	op = &fp->chains[fp->nchains];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->name = pool_str(pl, name, &err);
	if (err)
		return NULL;
	fp->nchains++;
	return op;
}

static int del_set(struct nft_plan *pl, struct nft_fam_plan *fp, const char *name)
{
	int err = 0;

	if (grow((void **)&fp->del_sets, &fp->capdel_sets, fp->ndel_sets, sizeof(*fp->del_sets)))
		return -ENOMEM;
	fp->del_sets[fp->ndel_sets] = pool_str(pl, name, &err);
	if (err)
		return err;
	fp->ndel_sets++;
	return 0;
}

/* --- a port's elements ------------------------------------------------------------ */

static int fam_index(int family)
{
	return family == NFPROTO_IPV6;
}

/* --- chains --------------------------------------------------------------------- */

/* A chain this sync concerns, with the affinity lists the port that owns it
 * had before and has now (copies). */
struct touch {
	struct nft_affinity old, new;
	bool has_old, has_new;
};

static void touch_free(struct touch *t)
{
	if (!t)
		return;
	nft_affinity_fini(&t->old);
	nft_affinity_fini(&t->new);
	free(t);
}

static void touched_free(struct sp_hmap *touched)
{
	struct sp_hmap_iter it = {0};

	while (touched && sp_hmap_next(touched, &it))
		touch_free(sp_hmap_del(touched, it.key));
	sp_hmap_free(touched);
}

static bool is_fixed_chain(const char *name)
{
	for (size_t i = 0; i < nft_fixed_chain_count(); i++)
		if (!strcmp(nft_fixed_chain_name(i), name))
			return true;
	return false;
}

static struct touch *touch(struct sp_hmap *touched, const char *name)
{
	struct touch *t = sp_hmap_get(touched, name);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (t && sp_hmap_put(touched, name, t, NULL)) {
		free(t);
		return NULL;
	}
	return t;
}

/* Chain @name gains (@delta 1) or loses (-1) an element that jumps to it. */
static int chain_ref(struct nft_mirror *mir, struct sp_hmap *touched, const char *name, int delta)
{
	struct nft_chain_rec *c;

	if (!name || is_fixed_chain(name))
		return 0;
	if (!(c = nft_mirror_chain(mir, name, delta > 0)) || !touch(touched, name))
		return delta > 0 ? -ENOMEM : 0;
	c->refs = (uint32_t)((int64_t)c->refs + delta);
	return 0;
}

/* Note the affinity lists of @r as the port's old (@now false) or new ones. */
static int note_affinity(struct sp_hmap *touched, const struct nft_render *r, bool now)
{
	for (int a = 0; r && a < r->naff; a++) {
		struct touch *t = touch(touched, r->aff[a].name);
		struct nft_affinity *dst;

		if (!t)
			return -ENOMEM;
		dst = now ? &t->new : &t->old;
		nft_affinity_fini(dst);
		if (nft_affinity_copy(dst, &r->aff[a]))
			return -ENOMEM;
		*(now ? &t->has_new : &t->has_old) = true;
	}
	return 0;
}

static bool has_set(const struct nft_affinity *a, const char *name)
{
	char buf[256];

	for (uint32_t i = 0; i < a->n; i++) {
		nft_affinity_set_name(a, i, buf, sizeof(buf));
		if (!strcmp(buf, name))
			return true;
	}
	return false;
}

/* The client sets of @old that @new (NULL: none) no longer has, for deletion. */
static int drop_sets(struct nft_plan *pl, struct nft_fam_plan *fp, const struct nft_affinity *old,
		     const struct nft_affinity *new)
{
	char name[256];
	int e = 0;

	for (uint32_t i = 0; i < old->n && !e; i++) {
		nft_affinity_set_name(old, i, name, sizeof(name));
		if (!new || !has_set(new, name))
			e = del_set(pl, fp, name);
	}
	return e;
}

static int write_chain(struct nft_plan *pl, struct nft_fam_plan *fp, const char *name,
		       const struct touch *t)
{
	struct nft_chain_op *op = chain_op(pl, fp, NFT_CHAIN_WRITE, name);

	if (!op)
		return -ENOMEM;
	if (strncmp(name, "affinity-", 9))
		return 0;
	op->affinity = true;
	if (!t || !t->has_new)
		return 0;	/* (cannot be: an affinity chain is jumped to from its port) */
	if (nft_affinity_copy(&op->aff, &t->new))
		return -ENOMEM;
	return t->has_old ? drop_sets(pl, fp, &t->old, &t->new) : 0;
}

/* Write, rewrite or delete the chains this sync concerns. A dnat group no
 * element uses stays until the next full sync (or for good, when pinned), so
 * that a service moving between groups is element operations only. */
static int settle_chains(struct nft_plan *pl, struct nft_mirror *mir, struct nft_fam_plan *fp,
			 struct sp_hmap *touched, bool full)
{
	size_t n;
	const char **names = sp_hmap_sorted_keys(touched, &n);
	int e = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n && !e; i++) {
		const struct touch *t = sp_hmap_get(touched, names[i]);
		struct nft_chain_rec *c = nft_mirror_chain(mir, names[i], false);
		bool affinity = !strncmp(names[i], "affinity-", 9);

		if (c && (c->refs || c->pinned)) {
			bool moved = affinity && t->has_old && t->has_new &&
				     !nft_affinity_equal(&t->old, &t->new);

			if (full || !c->present || moved)
				e = write_chain(pl, fp, names[i], t);
			c->present = true;
			continue;
		}
		if (c && c->present && !affinity && !full)
			continue;	/* an unused group: kept until the next full sync */
		if (c && c->present) {
			e = chain_op(pl, fp, NFT_CHAIN_DELETE, names[i]) ? 0 : -ENOMEM;
			if (!e && t->has_old)
				e = drop_sets(pl, fp, &t->old, NULL);
		}
		nft_mirror_chain_forget(mir, names[i]);
	}
	free(names);
	return e;
}

/* --- partial sync ------------------------------------------------------------------- */

/* A claim waiting for every release of the sync. */
struct pending {
	struct nft_elems v;
	uint32_t *ids;			/* [i]: port id of v.v[i] */
	const char **ports;		/* [i]: its key (in the pool), for conflict lines */
	size_t cap;
};

static int pending_push(struct nft_plan *pl, struct pending *p, const struct nft_elem *e,
			const struct sp_svc_port *port)
{
	int err = 0;

	if (p->v.n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		uint32_t *ids = realloc(p->ids, cap * sizeof(*ids));
		const char **ports = ids ? realloc(p->ports, cap * sizeof(*ports)) : NULL;

		if (ids)
			p->ids = ids;
		if (!ports)
			return -ENOMEM;
		p->ports = ports;
		p->cap = cap;
	}
	p->ids[p->v.n] = port->id;
	p->ports[p->v.n] = pool_str(pl, port->key, &err);
	return err ? err : push_op(pl, &p->v, e);
}

/* Old against new of one port: releases now (deletions for what nobody holds
 * any more), claims into @pend for later. */
static int diff_port(struct nft_plan *pl, struct nft_mirror *mir, struct sp_hmap *touched,
		     const struct sp_port_change *c, struct nft_elems *lo, struct nft_elems *ln,
		     struct pending *pend)
{
	const struct sp_svc_port *port = c->new ? c->new : c->old;
	struct nft_fam_plan *fp = &pl->fam[fam_index(mir->family)];
	struct nft_render ro = {0}, rn = {0};
	size_t i = 0, j = 0;
	int e;

	if ((c->old && (e = nft_render_port(c->old, &ro))) ||
	    (c->new && (e = nft_render_port(c->new, &rn))))
		goto out;
	if ((e = nft_render_elems(c->old ? &ro : NULL, lo)) ||
	    (e = nft_render_elems(c->new ? &rn : NULL, ln)) ||
	    (e = note_affinity(touched, &ro, false)) || (e = note_affinity(touched, &rn, true)))
		goto out;
	while (!e && (i < lo->n || j < ln->n)) {
		int d = i == lo->n ? 1 : j == ln->n ? -1 : nft_elem_cmp(&lo->v[i], &ln->v[j]);

		if (d > 0) {
			e = pending_push(pl, pend, &ln->v[j++], port);
			continue;
		}
		if (d == 0) {
			i++, j++;
			continue;
		}
		if (nft_mirror_release(mir, c->old->id, &lo->v[i]) == 1) {
			e = push_op(pl, &fp->del, &lo->v[i]);
			if (!e)
				e = chain_ref(mir, touched, lo->v[i].chain, -1);
		}
		i++;
	}
	if (!e && port->protocol != IPPROTO_TCP)
		nft_stale_port(&pl->stale, port->protocol, c->new, c->old ? &ro : NULL,
			       c->new ? &rn : NULL);
out:
	nft_render_fini(&ro);
	nft_render_fini(&rn);
	return e;
}

/* A deletion and an addition of the same element (it passed from one port to
 * another) are no change: drop both. Both lists are sorted here. */
static void cancel_pairs(struct nft_fam_plan *fp)
{
	size_t i = 0, j = 0, na = 0, nd = 0;

	nft_elems_sort(&fp->add);
	nft_elems_sort(&fp->del);
	while (i < fp->del.n || j < fp->add.n) {
		int d = i == fp->del.n	 ? 1
			: j == fp->add.n ? -1
					 : nft_elem_cmp(&fp->del.v[i], &fp->add.v[j]);

		if (d == 0) {
			i++, j++;
		} else if (d < 0) {
			fp->del.v[nd++] = fp->del.v[i++];
		} else {
			fp->add.v[na++] = fp->add.v[j++];
		}
	}
	fp->del.n = nd;
	fp->add.n = na;
}

int nft_plan_partial(struct nft_plan *pl, struct nft_mirror mir[2], const struct sp_change *chg)
{
	struct sp_hmap *touched[2] = { sp_hmap_new(), sp_hmap_new() };
	struct nft_elems lo = {0}, ln = {0};
	struct pending pend[2] = {0};
	int e = touched[0] && touched[1] ? 0 : -ENOMEM;

	pl->full = false;
	for (size_t i = 0; i < chg->n && !e; i++) {
		const struct sp_port_change *c = &chg->v[i];
		const struct sp_svc_port *p = c->new ? c->new : c->old;
		int f = p ? fam_index(nft_family_of(p)) : 0;

		if (p)
			e = diff_port(pl, &mir[f], touched[f], c, &lo, &ln, &pend[f]);
	}
	for (int f = 0; f < 2 && !e; f++) {
		struct nft_fam_plan *fp = &pl->fam[f];

		for (size_t i = 0; i < pend[f].v.n && !e; i++) {
			const struct nft_elem *el = &pend[f].v.v[i];
			int r = nft_mirror_claim(&mir[f], pend[f].ids[i], pend[f].ports[i], el);

			if (r < 0)
				e = r;
			else if (r == 1 && !(e = nft_elems_push(&fp->add, el)))
				e = chain_ref(&mir[f], touched[f], el->chain, 1);
		}
		if (!e)
			e = settle_chains(pl, &mir[f], fp, touched[f], false);
		cancel_pairs(fp);
	}
	for (int f = 0; f < 2; f++) {
		free(pend[f].v.v);
		free(pend[f].ids);
		free(pend[f].ports);
		touched_free(touched[f]);
	}
	free(lo.v);
	free(ln.v);
	return e;
}

/* --- full sync ------------------------------------------------------------------------ */

/* Every element of port @p, claimed; new ones become additions. */
static int full_port(struct nft_plan *pl, struct nft_mirror *mir, struct sp_hmap *touched,
		     const struct sp_svc_port *p, struct nft_elems *l)
{
	struct nft_fam_plan *fp = &pl->fam[fam_index(mir->family)];
	struct nft_render r;
	int e = nft_render_port(p, &r);

	if (e)
		return e;
	if (!(e = nft_render_elems(&r, l)))
		e = note_affinity(touched, &r, true);
	for (size_t i = 0; i < l->n && !e; i++) {
		int c = nft_mirror_claim(mir, p->id, p->key, &l->v[i]);

		if (c < 0)
			e = c;
		else if (c == 1 && !(e = push_op(pl, &fp->add, &l->v[i])))
			e = chain_ref(mir, touched, l->v[i].chain, 1);
	}
	if (!e && p->protocol != IPPROTO_TCP)
		nft_stale_port(&pl->stale, p->protocol, p, NULL, &r);
	nft_render_fini(&r);
	return e;
}

/* Chains and client sets found in the kernel that the model no longer uses. */
static int drop_leftovers(struct nft_plan *pl, struct nft_mirror *mir, struct nft_fam_plan *fp,
			  const struct nft_plan_kernel *k)
{
	struct sp_hmap *keep = sp_hmap_new();
	struct sp_hmap_iter it = {0};
	char name[256];
	int e = keep ? 0 : -ENOMEM;

	for (size_t i = 0; i < fp->nchains && !e; i++)
		for (uint32_t s = 0; s < fp->chains[i].aff.n && !e; s++) {
			nft_affinity_set_name(&fp->chains[i].aff, s, name, sizeof(name));
			e = sp_hmap_put(keep, name, (void *)1, NULL);
		}
	while (!e && k->chains && sp_hmap_next(k->chains, &it))
		if (!is_fixed_chain(it.key) && !nft_mirror_chain(mir, it.key, false))
			e = chain_op(pl, fp, NFT_CHAIN_DELETE, it.key) ? 0 : -ENOMEM;
	memset(&it, 0, sizeof(it));
	/* Client sets from before are kept where still wanted: their clients
	 * stay sticky across a restart. */
	while (!e && k->sets && sp_hmap_next(k->sets, &it))
		if (!strncmp(it.key, "affinity-", 9) && !sp_hmap_get(keep, it.key))
			e = del_set(pl, fp, it.key);
	sp_hmap_free(keep);
	return e;
}

static int full_family(struct nft_plan *pl, struct nft_mirror *mir, const struct sp_model *m,
		       const struct nft_plan_kernel *k, struct nft_elems *l)
{
	struct nft_fam_plan *fp = &pl->fam[fam_index(mir->family)];
	struct sp_hmap *touched = sp_hmap_new();
	struct sp_hmap_iter it = {0};
	int e = touched ? 0 : -ENOMEM;

	nft_mirror_clear(mir);
	fp->skeleton = true;
	/* After a failed full sync (say, one of our sets was recreated by hand
	 * with another type), replace the whole table in the same transaction:
	 * still atomic for traffic, and nothing left over can fail us again. */
	fp->drop_table = k->rebuild && k->chains && sp_hmap_len(k->chains);
	while (!e && sp_hmap_next(m->ports, &it))
		if (nft_family_of(it.value) == mir->family)
			e = full_port(pl, mir, touched, it.value, l);
	for (uint32_t n = 1; n <= NFT_PINNED_GROUPS && !e; n++)
		for (int g = G_DNAT; g <= G_NODEPORT && !e; g++) {
			char name[64];
			struct nft_chain_rec *c;

			nft_group_chain_name((enum nft_group)g, n, name, sizeof(name));
			if (!(c = nft_mirror_chain(mir, name, true)) || !touch(touched, name))
				e = -ENOMEM;
			else
				c->pinned = true;
		}
	if (!e)
		e = settle_chains(pl, mir, fp, touched, true);
	if (!e && !fp->drop_table)
		e = drop_leftovers(pl, mir, fp, k);
	for (int i = 0; i < k->n_node_ips && !e; i++) {
		struct nft_elem el = { .set = NS_NODEPORT_IPS,
				       .klen = mir->family == NFPROTO_IPV6 ? 16 : 4 };

		memcpy(el.key, k->node_ips[i].bytes, el.klen);
		e = nft_elems_push(&fp->add, &el);
	}
	touched_free(touched);
	return e;
}

int nft_plan_full(struct nft_plan *pl, struct nft_mirror mir[2], const struct sp_model *m,
		  const struct nft_plan_kernel k[2])
{
	struct nft_elems l = {0};
	int e = 0;

	pl->full = true;
	for (int f = 0; f < 2 && !e; f++)
		e = full_family(pl, &mir[f], m, &k[f], &l);
	free(l.v);
	return e;
}

/* --- the plan -------------------------------------------------------------------------- */

void nft_plan_init(struct nft_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->fam[0].family = NFPROTO_IPV4;
	pl->fam[1].family = NFPROTO_IPV6;
}

bool nft_plan_empty(const struct nft_plan *pl)
{
	for (int f = 0; f < 2; f++) {
		const struct nft_fam_plan *fp = &pl->fam[f];

		if (fp->skeleton || fp->drop_table || fp->add.n || fp->del.n || fp->nchains ||
		    fp->ndel_sets)
			return false;
	}
	return true;
}

void nft_plan_fini(struct nft_plan *pl)
{
	for (int f = 0; f < 2; f++) {
		struct nft_fam_plan *fp = &pl->fam[f];

		free(fp->add.v);
		free(fp->del.v);
		for (size_t i = 0; i < fp->nchains; i++)
			nft_affinity_fini(&fp->chains[i].aff);
		free(fp->chains);
		free(fp->del_sets);
	}
	while (pl->pool) {
		struct nft_pool_chunk *c = pl->pool;

		pl->pool = c->next;
		free(c);
	}
	nft_stale_fini(&pl->stale);
	nft_plan_init(pl);
}
