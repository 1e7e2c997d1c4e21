/* nft_readtext.c - svcplane's own tables from `nft list ruleset` text, as a
 * source for the readback (nft_readsrc.h): each set's elements turned back
 * into the bytes the kernel holds (the layout's field list says how), the
 * affinity chains' dnat targets and timeouts, and the masquerade rule. Tokens
 * come from common/nft_lex.c. No nft and no namespace are needed; other tables
 * in the dump are skipped. */
#define _GNU_SOURCE
#include "nft_readback.h"
#include "nft_codec.h"
#include "nft_layout.h"
#include "nft_readsrc.h"
#include "../../common/hmap.h"
#include "../../common/nft_lex.h"

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

/* --- tokens ------------------------------------------------------------------ */

/* The longest element svcplane writes is 19 tokens (five key fields, their
 * dots, comment, timeout, expires, ":" and an address . port). */
#define ELEM_TOKS 32

/* The next token of @lx, while there is one (not at the end, nor an error). */
static bool more(struct sp_nft_lex *lx, struct sp_nft_tok *t)
{
	enum sp_nft_tok_kind k = sp_nft_lex_next(lx, t);

	return k != SP_NFT_END && k != SP_NFT_ERROR;
}

/* From the current token @t to the line's end (the newline, the end or an
 * error is left current): the braces opened minus those closed. */
static int to_line_end(struct sp_nft_lex *lx, struct sp_nft_tok *t)
{
	int d = 0;

	while (t->kind != SP_NFT_NL && t->kind != SP_NFT_END && t->kind != SP_NFT_ERROR) {
		d += (t->kind == SP_NFT_LBRACE) - (t->kind == SP_NFT_RBRACE);
		sp_nft_lex_next(lx, t);
	}
	return d;
}

/* The next token of this line into @w; false (nothing copied) at its end. */
static bool line_word(struct sp_nft_lex *lx, struct sp_nft_tok *t, char *w, size_t wsz)
{
	if (!more(lx, t) || t->kind == SP_NFT_NL)
		return false;
	sp_nft_tok_copy(t, w, wsz);
	return true;
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

/* One element "k1 . k2 [comment "c"] [: verdict | a . p]", as its @n tokens @v. */
static int element(const struct nft_set_def *d, int family, const struct sp_nft_tok *v, size_t n,
		   struct telem *e)
{
	char w[320];
	size_t i;
	int f = 0, k;
	uint32_t alen = nft_field_len(F_ADDR, family);

	memset(e, 0, sizeof(*e));
	for (i = 0; i < n && v[i].kind != SP_NFT_COLON; i++) {
		if (v[i].kind == SP_NFT_DOT)
			continue;
		if (sp_nft_tok_is(&v[i], "comment")) {
			free(e->comment);
			e->comment = NULL;
			if (++i >= n)
				return -1;
			sp_nft_tok_copy(&v[i], w, sizeof(w));
			if (!(e->comment = strdup(w)))
				return -1;
			continue;
		}
		if (sp_nft_tok_is(&v[i], "timeout") || sp_nft_tok_is(&v[i], "expires")) {
			i++;
			continue;
		}
		if (f >= 5 || !d->key[f] || (size_t)e->klen + 16 > sizeof(e->key))
			return -1;
		sp_nft_tok_copy(&v[i], w, sizeof(w));
		k = field(d->key[f], family, w, e->key + e->klen, d->interval ? e->end + e->klen : NULL);
		if (k < 0)
			return -1;
		e->klen = (uint8_t)(e->klen + k);
		f++;
	}
	e->has_end = d->interval;
	if (++i >= n)
		return 0;	/* a set, no data */
	sp_nft_tok_copy(&v[i], w, sizeof(w));
	if (!nft_verdict_parse(w, &e->verdict)) {
		if (!nft_verdict_has_chain(e->verdict))
			return 0;
		if (++i >= n)
			return -1;
		sp_nft_tok_copy(&v[i], w, sizeof(w));
		if (!(e->chain = strdup(w)))
			return -1;
	} else if (d->data == D_ENDPOINT) {
		if (field(F_ADDR, family, w, e->data, NULL) < 0 || i + 2 >= n || v[i + 1].kind != SP_NFT_DOT)
			return -1;
		sp_nft_tok_copy(&v[i + 2], w, sizeof(w));
		if (field(F_PORT, family, w, e->data + alen, NULL) < 0)
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

/* One element of set @set of the text, as its @n tokens @v (@n beyond
 * ELEM_TOKS: too many to be one svcplane writes); @line is where its list
 * starts. */
static int elements(struct sp_nft_text *x, int fi, const char *set, const struct sp_nft_tok *v,
		    size_t n, unsigned line, char *err, size_t errsz)
{
	const struct nft_set_def *d = set_def(set);
	struct tset *t;
	struct telem e = {0};

	if (!d || !n)
		return 0;	/* affinity sets and the like: the rules say what matters */
	if (!(t = tset_get(x->t[fi].sets, set)))
		return -ENOMEM;
	if (n > ELEM_TOKS || element(d, fi ? NFPROTO_IPV6 : NFPROTO_IPV4, v, n, &e)) {
		size_t len = (size_t)(v[(n < ELEM_TOKS ? n : ELEM_TOKS) - 1].end - v[0].start);

		telem_fini(&e);
		snprintf(err, errsz, "line %u: set %s: element \"%.*s\" is not one svcplane writes", line, set,
			 (int)(len < 80 ? len : 80), v[0].start);
		return -EINVAL;
	}
	if (e.klen && tset_add(t, &e)) {
		telem_fini(&e);
		return -ENOMEM;
	}
	if (!e.klen)
		telem_fini(&e);
	return 0;
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
	unsigned el_line = 0;
	struct sp_nft_lex lx;
	struct sp_nft_tok t, el[ELEM_TOKS];
	size_t nel = 0;

	for (int f = 0; x && f < 2; f++)
		if (!(x->t[f].sets = sp_hmap_new()) || !(x->t[f].chains = sp_hmap_new()))
			e = -ENOMEM;
	if (!x || e)
		goto nomem;
	sp_nft_lex_init(&lx, buf, len);
	while (!e && sp_nft_lex_next(&lx, &t) != SP_NFT_END) {
		if (t.kind == SP_NFT_ERROR) {
			snprintf(err, errsz, "line %u: %s", t.line, lx.what);
			goto fail;
		}
		if (t.kind == SP_NFT_NL)
			continue;
		if (st == ELEMS) {	/* an element list, over as many lines as it takes */
			if (t.kind == SP_NFT_LBRACE)
				depth++;
			if (t.kind == SP_NFT_COMMA || (t.kind == SP_NFT_RBRACE && --depth <= 0)) {
				e = elements(x, fi, name, el, nel, el_line, err, errsz);
				nel = 0;
				if (t.kind == SP_NFT_RBRACE) {
					st = SET;
					to_line_end(&lx, &t);
				}
			} else if (nel++ < ELEM_TOKS) {
				el[nel - 1] = t;
			}
			continue;
		}
		/* t is a line's first token */
		sp_nft_tok_copy(&t, w, sizeof(w));
		switch (st) {
		case TOP:
			if (!sp_nft_tok_is(&t, "table")) {
				snprintf(err, errsz, "line %u: expected table, found '%.40s'", t.line, w);
				goto fail;
			}
			line_word(&lx, &t, w, sizeof(w));
			fi = !strcmp(w, "ip6");
			if ((strcmp(w, "ip") && strcmp(w, "ip6")) || !line_word(&lx, &t, w, sizeof(w)) ||
			    strcmp(w, SP_NFT_TABLE)) {
				st = SKIP;
				depth = to_line_end(&lx, &t);
				break;
			}
			x->any = true;
			st = TABLE;
			break;
		case SKIP:
			depth += to_line_end(&lx, &t);
			if (depth <= 0)
				st = TOP;
			break;
		case TABLE:
			if (t.kind == SP_NFT_RBRACE) {
				st = TOP;
			} else if (!strcmp(w, "set") || !strcmp(w, "map") || !strcmp(w, "chain")) {
				bool chain = w[0] == 'c';

				if (!line_word(&lx, &t, name, sizeof(name))) {
					if (t.kind == SP_NFT_ERROR)
						break;	/* the lexer's error is the one to tell */
					snprintf(err, errsz, "line %u: a %s without a name", t.line,
						 chain ? "chain" : "set");
					goto fail;
				}
				st = chain ? CHAIN : SET;
			}
			break;
		case SET:
			if (t.kind == SP_NFT_RBRACE) {
				st = TABLE;
			} else if (!strcmp(w, "elements")) {
				el_line = t.line;
				while (t.kind != SP_NFT_LBRACE && more(&lx, &t) && t.kind != SP_NFT_NL)
					;
				if (t.kind == SP_NFT_ERROR)
					break;
				if (t.kind != SP_NFT_LBRACE) {
					snprintf(err, errsz, "line %u: elements without {", el_line);
					goto fail;
				}
				st = ELEMS;
				depth = 1;
				continue;	/* the list starts after the brace */
			}
			break;
		case CHAIN:
			if (t.kind == SP_NFT_RBRACE) {
				st = TABLE;
			} else if (strcmp(w, "type") && strcmp(w, "policy") && strcmp(w, "comment")) {
				const char *start = t.start, *end = t.end;

				for (; more(&lx, &t) && t.kind != SP_NFT_NL; end = t.end)
					;
				e = keep_rule(x, fi, name, start, (size_t)(end - start));
			}
			break;
		default:
			break;
		}
		to_line_end(&lx, &t);
	}
	if (!e && st != TOP) {
		unsigned last = lx.line - (len && buf[len - 1] == '\n');	/* the last line's number */

		snprintf(err, errsz, "line %u: the dump ends inside a %s", last,
			 st == CHAIN ? "chain" : st == TABLE ? "table" : "set");
		goto fail;
	}
	if (!e && !x->any) {
		snprintf(err, errsz, "no table ip or ip6 svcplane in the dump");
		goto fail;
	}
	if (e == -ENOMEM)
		goto nomem;
	if (e) {
		sp_nft_text_free(x);
		errno = -e;
		return NULL;
	}
	return x;
fail:
	sp_nft_text_free(x);
	errno = EINVAL;
	return NULL;
nomem:
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
			struct sp_nft_lex lx;
			struct sp_nft_tok tok, prev = { .kind = SP_NFT_END };
			char w[256];
			unsigned timeout;
			bool have_ep = false, have_timeout = false;

			sp_nft_lex_init(&lx, s, strlen(s));
			for (; more(&lx, &tok); prev = tok) {
				sp_nft_tok_copy(&tok, w, sizeof(w));
				if (sp_nft_tok_is(&prev, "to")) {
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
				} else if (sp_nft_tok_is(&prev, "comment")) {
					have_timeout = sscanf(w, NFT_AFFINITY_NOTE, &timeout) == 1;
				}
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
		struct sp_nft_lex lx;
		struct sp_nft_tok tok, prev = { .kind = SP_NFT_END };
		char w[256];

		if (!strstr(s, "@cluster-ips") || !strstr(s, "jump mark-for-masquerade"))
			continue;
		*masq = true;
		sp_nft_lex_init(&lx, s, strlen(s));
		for (; more(&lx, &tok); prev = tok) {
			sp_nft_tok_copy(&tok, w, sizeof(w));
			if (sp_nft_tok_is(&prev, "!=") && n < max && !sp_cidr_parse(w, false, &keep[n]))
				n++;
		}
	}
	return n;
}
