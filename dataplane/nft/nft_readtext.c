/* nft_readtext.c - svcplane's own tables from `nft list ruleset` text, as a
 * source for the readback (nft_readsrc.h): each set's elements turned back
 * into the bytes the kernel holds (the layout's field list says how), the
 * affinity chains' dnat targets and timeouts, and the masquerade rule. No nft
 * and no namespace are needed; other tables in the dump are skipped. */
#define _GNU_SOURCE
#include "nft_readback.h"
#include "nft_codec.h"
#include "nft_layout.h"
#include "nft_readsrc.h"
#include "../../common/hmap.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

struct telem {
	uint8_t key[40], end[40], data[20];
	uint8_t klen, dlen;
	bool has_end;
	int verdict;
	char *chain, *comment;
};

struct tset {
	struct telem *v;
	size_t n, cap;
};

/* One family's table svcplane. */
struct ttable {
	struct sp_hmap *sets;		/* name → struct tset */
	struct sp_hmap *chains;		/* "services", "affinity-*" → struct tset of rule lines (chain = text) */
};

struct sp_nft_text {
	struct ttable t[2];		/* ip, ip6 */
	bool any;			/* a table svcplane was seen */
};

/* --- words ------------------------------------------------------------------- */

/* Next word of @s from *@i: a quoted string (without quotes), or a run of
 * non-blank bytes; NULL at the end. The word is copied into @w. */
static const char *word(const char *s, size_t len, size_t *i, char *w, size_t wsz)
{
	size_t n = 0;

	while (*i < len && isspace((unsigned char)s[*i]))
		(*i)++;
	if (*i >= len)
		return NULL;
	if (s[*i] == '"') {
		for ((*i)++; *i < len && s[*i] != '"'; (*i)++)
			if (n + 1 < wsz)
				w[n++] = s[*i];
		if (*i < len)
			(*i)++;
	} else {
		for (; *i < len && !isspace((unsigned char)s[*i]); (*i)++)
			if (n + 1 < wsz)
				w[n++] = s[*i];
	}
	w[n] = '\0';
	return w;
}

/* One field @w of kind @f at @out (and, in an interval set, its range end
 * at @end), through the codec. Returns the bytes written, or -1. */
static int field(enum nft_field f, int family, const char *w, uint8_t *out, uint8_t *end)
{
	struct nft_value v;

	if (nft_field_parse(f, family, w, &v))
		return -1;
	return (int)nft_field_encode(f, family, &v, out, end);
}

static const struct nft_set_def *set_def(const char *name)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (!strcmp(sp_nft_sets[i].name, name))
			return &sp_nft_sets[i];
	return NULL;
}

/* One element "k1 . k2 [comment "c"] [: verdict | a . p]". */
static int element(const struct nft_set_def *d, int family, const char *s, size_t len, struct telem *e)
{
	char w[320];
	size_t i = 0;
	int f = 0, n;
	uint32_t alen = nft_field_len(F_ADDR, family);

	memset(e, 0, sizeof(*e));
	while (word(s, len, &i, w, sizeof(w))) {
		if (!strcmp(w, "."))
			continue;
		if (!strcmp(w, "comment")) {
			free(e->comment);
			if (!word(s, len, &i, w, sizeof(w)) || !(e->comment = strdup(w)))
				return -1;
			continue;
		}
		if (!strcmp(w, ":"))
			break;
		if (!strcmp(w, "timeout") || !strcmp(w, "expires")) {
			word(s, len, &i, w, sizeof(w));
			continue;
		}
		if (f >= 5 || !d->key[f] || (size_t)e->klen + 16 > sizeof(e->key))
			return -1;
		n = field(d->key[f], family, w, e->key + e->klen, d->interval ? e->end + e->klen : NULL);
		if (n < 0)
			return -1;
		e->klen = (uint8_t)(e->klen + n);
		f++;
	}
	e->has_end = d->interval;
	if (!word(s, len, &i, w, sizeof(w)))
		return 0;	/* a set, no data */
	if (!nft_verdict_parse(w, &e->verdict)) {
		if (nft_verdict_has_chain(e->verdict) &&
		    (!word(s, len, &i, w, sizeof(w)) || !(e->chain = strdup(w))))
			return -1;
	} else if (d->data == D_ENDPOINT) {
		if (field(F_ADDR, family, w, e->data, NULL) < 0 || !word(s, len, &i, w, sizeof(w)) ||
		    strcmp(w, ".") || !word(s, len, &i, w, sizeof(w)) ||
		    field(F_PORT, family, w, e->data + alen, NULL) < 0)
			return -1;
		e->dlen = (uint8_t)(alen + 4);
	}
	return 0;
}

static void telem_fini(struct telem *e)
{
	free(e->chain);
	free(e->comment);
}

static int tset_add(struct tset *t, const struct telem *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct telem *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *e;
	return 0;
}

static struct tset *tset_get(struct sp_hmap *h, const char *name)
{
	struct tset *t = sp_hmap_get(h, name);

	if (t || !(t = calloc(1, sizeof(*t))))
		return t;
	if (sp_hmap_put(h, name, t, NULL)) {
		free(t);
		return NULL;
	}
	return t;
}

/* The elements between "elements = {" and its "}", split at commas outside quotes. */
static int elements(struct sp_nft_text *x, int fi, const char *set, const char *s, size_t len, unsigned line,
		    char *err, size_t errsz)
{
	const struct nft_set_def *d = set_def(set);
	struct tset *t;
	size_t start = 0;
	bool q = false;

	if (!d)
		return 0;	/* affinity sets and the like: the rules say what matters */
	if (!(t = tset_get(x->t[fi].sets, set)))
		return -ENOMEM;
	for (size_t i = 0; i <= len; i++) {
		struct telem e;

		if (i < len && s[i] == '"')
			q = !q;
		if (i < len && (q || s[i] != ','))
			continue;
		if (element(d, fi ? NFPROTO_IPV6 : NFPROTO_IPV4, s + start, i - start, &e)) {
			size_t a = start, b = i;

			while (a < b && isspace((unsigned char)s[a]))
				a++;
			while (b > a && isspace((unsigned char)s[b - 1]))
				b--;
			telem_fini(&e);
			snprintf(err, errsz, "line %u: set %s: element \"%.*s\" is not one svcplane writes", line, set,
				 (int)((b - a) < 80 ? (b - a) : 80), s + a);
			return -EINVAL;
		}
		if (e.klen && tset_add(t, &e)) {
			telem_fini(&e);
			return -ENOMEM;
		}
		if (!e.klen)
			telem_fini(&e);
		start = i + 1;
	}
	return 0;
}

/* Braces opened minus closed in @s, outside quotes. */
static int brace_delta(const char *s, size_t len)
{
	int d = 0;
	bool q = false;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == '{')
			d++;
		else if (!q && s[i] == '}')
			d--;
	}
	return d;
}

void sp_nft_text_free(struct sp_nft_text *x)
{
	if (!x)
		return;
	for (int f = 0; f < 2; f++) {
		struct sp_hmap *hs[2] = { x->t[f].sets, x->t[f].chains };

		for (int k = 0; k < 2; k++) {
			struct sp_hmap_iter it = {0};

			while (hs[k] && sp_hmap_next(hs[k], &it)) {
				struct tset *t = it.value;

				for (size_t i = 0; i < t->n; i++)
					telem_fini(&t->v[i]);
				free(t->v);
				free(t);
			}
			sp_hmap_free(hs[k]);
		}
	}
	free(x);
}

/* A rule line of a chain the readback needs, kept as text. */
static int keep_rule(struct sp_nft_text *x, int fi, const char *chain, const char *s, size_t len)
{
	struct tset *t;
	struct telem e = {0};

	if (strcmp(chain, "services") && strncmp(chain, "affinity-", 9))
		return 0;
	if (!(t = tset_get(x->t[fi].chains, chain)) || !(e.chain = strndup(s, len)))
		return -ENOMEM;
	if (tset_add(t, &e)) {
		free(e.chain);
		return -ENOMEM;
	}
	return 0;
}

struct sp_nft_text *sp_nft_text_parse(const char *buf, size_t len, char *err, size_t errsz)
{
	struct sp_nft_text *x = calloc(1, sizeof(*x));
	enum { TOP, SKIP, TABLE, SET, CHAIN, ELEMS } st = TOP;
	char name[256] = "", w[256];
	int fi = 0, depth = 0, e = 0;
	size_t pos = 0;
	unsigned line = 0, el_line = 0;
	struct { char *v; size_t n, cap; } el = {0};

	for (int f = 0; x && f < 2; f++)
		if (!(x->t[f].sets = sp_hmap_new()) || !(x->t[f].chains = sp_hmap_new()))
			e = -ENOMEM;
	if (!x || e)
		goto nomem;
	while (pos < len && !e) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos, i = 0;
		const char *w1;

		pos += n + 1;
		line++;
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)l[k] < 0x20 && l[k] != '\t' && l[k] != '\r') {
				snprintf(err, errsz, "line %u: unexpected byte 0x%02x", line, (unsigned char)l[k]);
				goto fail;
			}
		if (st == ELEMS) {	/* an element list over several lines */
			int d = brace_delta(l, n);
			size_t take = n;

			if (depth + d <= 0) {	/* its last line: up to the closing brace */
				const char *close = memrchr(l, '}', n);

				take = close ? (size_t)(close - l) : n;
			}
			if (el.n + take + 2 > el.cap) {
				char *v = realloc(el.v, el.cap = (el.n + take + 2) * 2);

				if (!v)
					goto nomem;
				el.v = v;
			}
			memcpy(el.v + el.n, l, take);
			el.n += take;
			el.v[el.n++] = ' ';
			depth += d;
			if (depth <= 0) {
				if ((e = elements(x, fi, name, el.v, el.n, el_line, err, errsz)))
					goto out;
				el.n = 0;
				st = SET;
			}
			continue;
		}
		w1 = word(l, n, &i, w, sizeof(w));
		if (!w1)
			continue;
		switch (st) {
		case TOP:
			if (strcmp(w, "table")) {
				snprintf(err, errsz, "line %u: expected table, found '%.40s'", line, w);
				goto fail;
			}
			word(l, n, &i, w, sizeof(w));
			fi = !strcmp(w, "ip6");
			if ((strcmp(w, "ip") && strcmp(w, "ip6")) || !word(l, n, &i, w, sizeof(w)) ||
			    strcmp(w, SP_NFT_TABLE)) {
				st = SKIP;
				depth = brace_delta(l, n);
				break;
			}
			x->any = true;
			st = TABLE;
			break;
		case SKIP:
			depth += brace_delta(l, n);
			if (depth <= 0)
				st = TOP;
			break;
		case TABLE:
			if (!strcmp(w, "}")) {
				st = TOP;
			} else if (!strcmp(w, "set") || !strcmp(w, "map") || !strcmp(w, "chain")) {
				bool chain = w[0] == 'c';

				if (!word(l, n, &i, name, sizeof(name))) {
					snprintf(err, errsz, "line %u: a %s without a name", line, chain ? "chain" : "set");
					goto fail;
				}
				st = chain ? CHAIN : SET;
			}
			break;
		case SET:
			if (!strcmp(w, "}")) {
				st = TABLE;
			} else if (!strcmp(w, "elements")) {
				const char *open = memchr(l, '{', n);

				if (!open) {
					snprintf(err, errsz, "line %u: elements without {", line);
					goto fail;
				}
				el_line = line;
				st = ELEMS;
				pos -= n + 1 - (size_t)(open + 1 - l);	/* read on from after the brace */
				line--;
				depth = 1;
			}
			break;
		case CHAIN:
			if (!strcmp(w, "}"))
				st = TABLE;
			else if (strcmp(w, "type") && strcmp(w, "policy") && strcmp(w, "comment"))
				e = keep_rule(x, fi, name, l, n);
			break;
		default:
			break;
		}
	}
	if (!e && st != TOP) {
		snprintf(err, errsz, "line %u: the dump ends inside a %s", line,
			 st == CHAIN ? "chain" : st == TABLE ? "table" : "set");
		goto fail;
	}
	if (!e && !x->any) {
		snprintf(err, errsz, "no table ip or ip6 svcplane in the dump");
		goto fail;
	}
out:
	free(el.v);
	if (e == -ENOMEM)
		goto nomem;
	if (e) {
		sp_nft_text_free(x);
		return NULL;
	}
	return x;
fail:
	free(el.v);
	sp_nft_text_free(x);
	errno = EINVAL;
	return NULL;
nomem:
	free(el.v);
	sp_nft_text_free(x);
	snprintf(err, errsz, "out of memory");
	errno = ENOMEM;
	return NULL;
}

/* --- the source ----------------------------------------------------------------- */

/* A set the dump does not show has no elements (nft omits empty ones). */
static int text_each(const struct nft_src *src, int family, const char *name, elem_fn fn, void *ctx)
{
	const struct tset *t = sp_hmap_get(src->text->t[family == NFPROTO_IPV6].sets, name);
	int err = 0;

	for (size_t i = 0; t && i < t->n && !err; i++) {
		const struct telem *e = &t->v[i];
		struct elem_view v = { .key = e->key, .klen = e->klen, .key_end = e->has_end ? e->end : NULL,
				       .data = e->dlen ? e->data : NULL, .dlen = e->dlen, .chain = e->chain,
				       .verdict = e->verdict };

		snprintf(v.comment, sizeof(v.comment), "%s", e->comment ? e->comment : "");
		err = fn(ctx, &v);
	}
	return err;
}

/* "... dnat [ip|ip6] to ADDR:PORT ... comment "ClientIP affinity, timeout Ns"" */
static int text_affinity(const struct nft_src *src, int family, struct sp_hmap *aff)
{
	struct sp_hmap_iter it = {0};
	const struct sp_hmap *chains = src->text->t[family == NFPROTO_IPV6].chains;
	int err = 0;

	while (!err && sp_hmap_next(chains, &it)) {
		const struct tset *t = it.value;

		if (strncmp(it.key, "affinity-", 9))
			continue;
		for (size_t r = 0; r < t->n && !err; r++) {
			const char *s = t->v[r].chain;
			struct sp_endpoint ep = { .ready = true, .serving = true };
			char w[256], prev[256] = "";
			size_t i = 0, len = strlen(s);
			unsigned timeout;
			bool have_ep = false, have_timeout = false;

			while (word(s, len, &i, w, sizeof(w))) {
				if (!strcmp(prev, "to")) {
					char *colon = strrchr(w, ':'), *addr = w;
					struct nft_value a, port;

					if (colon) {
						*colon = '\0';
						if (*addr == '[') {
							addr++;
							addr[strlen(addr) - 1] = '\0';
						}
						have_ep = !nft_field_parse(F_ADDR, family, addr, &a) &&
							  !nft_field_parse(F_PORT, family, colon + 1, &port) && port.num;
						ep.addr = a.addr;
						ep.port = (uint16_t)port.num;
					}
				} else if (!strcmp(prev, "comment")) {
					have_timeout = sscanf(w, NFT_AFFINITY_NOTE, &timeout) == 1;
				}
				snprintf(prev, sizeof(prev), "%s", w);
			}
			err = nft_affinity_record(aff, it.key, have_ep ? &ep : NULL,
						  have_timeout ? &timeout : NULL);
		}
	}
	return err;
}

void nft_text_source(struct nft_src *src, const struct sp_nft_text *t)
{
	*src = (struct nft_src){ .each = text_each, .affinity = text_affinity, .text = t };
}

int sp_nft_text_read(const struct sp_nft_text *t, struct sp_model *out, const struct sp_log *lg,
		     sp_external_list_fn ext, void *ctx)
{
	struct nft_src src;

	nft_text_source(&src, t);
	return nft_read_source(&src, out, lg, ext, ctx);
}

int sp_nft_text_masq(const struct sp_nft_text *x, int family, struct sp_addr *keep, int max, bool *masq)
{
	const struct tset *t = sp_hmap_get(x->t[family == NFPROTO_IPV6].chains, "services");
	int n = 0;

	*masq = false;
	for (size_t r = 0; t && r < t->n && !*masq; r++) {
		const char *s = t->v[r].chain;
		char w[256], prev[256] = "";
		size_t i = 0, len = strlen(s);

		if (!strstr(s, "@cluster-ips") || !strstr(s, "jump mark-for-masquerade"))
			continue;
		*masq = true;
		while (word(s, len, &i, w, sizeof(w))) {
			if (!strcmp(prev, "!=") && n < max && !sp_cidr_parse(w, false, &keep[n]))
				n++;
			snprintf(prev, sizeof(prev), "%s", w);
		}
	}
	return n;
}
