/* test_nft_plan.c - the nftables sync without a kernel: models and change
 * lists in, the exact element and chain operations out (nft_plan over
 * nft_mirror), and a simulated table that a run of partial syncs must leave
 * as a full sync would build it. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../dataplane/nft/nft_layout.h"
#include "../../dataplane/nft/nft_mirror.h"
#include "../../dataplane/nft/nft_plan.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* --- ports --------------------------------------------------------------------- */

struct spec {
	const char *svc, *name, *cip, *ext;	/* ext: an external IP, or NULL */
	uint16_t port;
	uint8_t proto;
	int neps, ep0;				/* endpoints 10.1.0.<ep0 + i> */
	bool affinity;
};

static struct sp_svc_port *mkport(const struct spec *s)
{
	struct sp_svc_port *p = sp_svc_port_new(s->svc, s->name, s->proto ? s->proto : IPPROTO_TCP,
						AF_INET);
	struct sp_addr a;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sp_addr_parse(s->cip, &a), 0);
	ck_assert_int_eq(sp_addr_list_add(&p->cluster_ips, &a), 0);
	if (s->ext) {
		ck_assert_int_eq(sp_addr_parse(s->ext, &a), 0);
		ck_assert_int_eq(sp_addr_list_add(&p->external_ips, &a), 0);
	}
	p->port = s->port;
	p->affinity_client_ip = s->affinity;
	p->affinity_timeout = 10800;
	p->eps = calloc((size_t)s->neps + 1, sizeof(*p->eps));
	for (int i = 0; i < s->neps; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.1.0.%d", s->ep0 + i);
		ck_assert_int_eq(sp_addr_parse(ip, &p->eps[i].addr), 0);
		p->eps[i].port = 8080;
		p->eps[i].ready = p->eps[i].serving = true;
		p->n_eps++;
	}
	ck_assert_int_eq(sp_svc_port_decide(p, "n1", NULL), 0);
	return p;
}

/* --- fixture: a model, the mirrors and a change list, as the agent keeps them -- */

struct fx {
	struct captured_log log;
	struct nft_mirror mir[2];
	struct sp_model m;
	struct sp_port_change v[64];
	size_t n;
	struct sp_svc_port *olds[64];	/* detached from the model, freed after the plan */
	size_t nolds;
	uint32_t next_id;
	struct nft_plan pl;
	char *text;			/* the last plan's operations, one a line */
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	captured_log_open(&f->log);
	ck_assert_int_eq(nft_mirror_init(&f->mir[0], NFPROTO_IPV4, &f->log.log), 0);
	ck_assert_int_eq(nft_mirror_init(&f->mir[1], NFPROTO_IPV6, &f->log.log), 0);
	ck_assert_int_eq(sp_model_init(&f->m), 0);
	nft_plan_init(&f->pl);
}

static void fx_fini(struct fx *f)
{
	nft_plan_fini(&f->pl);
	for (size_t i = 0; i < f->nolds; i++)
		sp_svc_port_free(f->olds[i]);
	sp_model_fini(&f->m);
	nft_mirror_fini(&f->mir[0]);
	nft_mirror_fini(&f->mir[1]);
	captured_log_close(&f->log);
	free(f->text);
}

/* Note port @key going from @old to @new as sp_model_update does: a port
 * changed twice before a sync is one entry from its first old to its last
 * new; added then removed is none. */
static void fx_note(struct fx *f, uint32_t id, struct sp_svc_port *old, struct sp_svc_port *new,
		    const char *key)
{
	if (old)
		f->olds[f->nolds++] = old;
	for (size_t i = 0; i < f->n; i++) {
		const struct sp_svc_port *p = f->v[i].new ? f->v[i].new : f->v[i].old;

		if (strcmp(p->key, key))
			continue;
		f->v[i].new = new;
		if (!f->v[i].old && !new)
			f->v[i] = f->v[--f->n];
		return;
	}
	f->v[f->n++] = (struct sp_port_change){ .id = id, .old = old, .new = new };
}

/* Port @s now (added or changed). */
static void fx_set(struct fx *f, const struct spec *s)
{
	struct sp_svc_port *p = mkport(s), *old = sp_hmap_del(f->m.ports, p->key);

	p->id = old ? old->id : ++f->next_id;
	ck_assert_int_eq(sp_model_add_port(&f->m, p), 0);
	fx_note(f, p->id, old, p, p->key);
}

/* Port @key removed. */
static void fx_del(struct fx *f, const char *key)
{
	struct sp_svc_port *old = sp_hmap_del(f->m.ports, key);

	ck_assert_ptr_nonnull(old);
	sp_hmap_del(sp_hmap_get(f->m.by_service, old->service), key);
	fx_note(f, old->id, old, NULL, old->key);
}

static void elem_line(FILE *out, char op, const struct nft_elem *e, int family)
{
	struct nft_elem k = *e;
	char d[512], a[INET6_ADDRSTRLEN];

	k.comment = NULL;
	nft_elem_describe(&k, family, d, sizeof(d));
	fprintf(out, "%c %s%s", op, family == NFPROTO_IPV6 ? "ip6 " : "", d + 4);
	if (e->verdict == NFT_ELEM_GOTO)
		fprintf(out, " -> %s", e->chain);
	else if (e->verdict == NFT_ELEM_DROP)
		fprintf(out, " -> drop");
	if (e->dlen) {
		int alen = family == NFPROTO_IPV6 ? 16 : 4;

		inet_ntop(family == NFPROTO_IPV6 ? AF_INET6 : AF_INET, e->data, a, sizeof(a));
		fprintf(out, " : %s . %u", a, e->data[alen] << 8 | e->data[alen + 1]);
	}
	if (op == '+' && e->comment)
		fprintf(out, " (%s)", e->comment);
	fputc('\n', out);
}

/* The plan's operations as text: "+ set element", "- ...", "write chain X",
 * "delete chain X", "delete set X". */
static char *plan_text(const struct nft_plan *pl)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	fputc('\n', out);
	for (int f = 0; f < 2; f++) {
		const struct nft_fam_plan *fp = &pl->fam[f];

		for (size_t i = 0; i < fp->nchains; i++)
			if (fp->chains[i].kind == NFT_CHAIN_WRITE)
				fprintf(out, "write chain %s\n", fp->chains[i].name);
		for (size_t i = 0; i < fp->del.n; i++)
			elem_line(out, '-', &fp->del.v[i], fp->family);
		for (size_t i = 0; i < fp->add.n; i++)
			elem_line(out, '+', &fp->add.v[i], fp->family);
		for (size_t i = 0; i < fp->nchains; i++)
			if (fp->chains[i].kind == NFT_CHAIN_DELETE)
				fprintf(out, "delete chain %s\n", fp->chains[i].name);
		for (size_t i = 0; i < fp->ndel_sets; i++)
			fprintf(out, "delete set %s\n", fp->del_sets[i]);
	}
	fclose(out);
	return buf;
}

static void fx_done(struct fx *f, int e)
{
	ck_assert_int_eq(e, 0);
	free(f->text);
	f->text = plan_text(&f->pl);
	for (size_t i = 0; i < f->nolds; i++)
		sp_svc_port_free(f->olds[i]);
	f->nolds = f->n = 0;
}

static void fx_partial(struct fx *f)
{
	struct sp_change chg = { .v = f->v, .n = f->n };

	nft_plan_fini(&f->pl);
	fx_done(f, nft_plan_partial(&f->pl, f->mir, &chg));
}

static void fx_full(struct fx *f, const struct nft_plan_kernel *k)
{
	struct nft_plan_kernel none[2] = {0};

	nft_plan_fini(&f->pl);
	fx_done(f, nft_plan_full(&f->pl, f->mir, &f->m, k ? k : none));
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; (p = strchr(p, '\n')) && p[1]; p++)
		n += !strncmp(p + 1, prefix, strlen(prefix));
	return n;
}

#define HAS(f, line)                                                                       \
	ck_assert_msg(strstr((f)->text, "\n" line "\n"), "missing \"%s\" in:%s", line, (f)->text)
#define HASNT(f, line)                                                                     \
	ck_assert_msg(!strstr((f)->text, "\n" line), "unexpected \"%s\" in:%s", line, (f)->text)
#define LINES(f, prefix, n) ck_assert_msg(count_lines((f)->text, prefix) == (n), \
	"%d lines \"%s\", not %d, in:%s", count_lines((f)->text, prefix), prefix, n, (f)->text)

static const struct spec web_http = { "ns/web", "http", "10.96.0.10", NULL, 80, 0, 2, 1, false };
static const struct spec web_https = { "ns/web", "https", "10.96.0.10", NULL, 443, 0, 2, 1, false };

/* --- the operations -------------------------------------------------------------- */

START_TEST(test_plan_full_then_no_change)
{
	struct fx f;

	fx_init(&f);
	fx_set(&f, &web_http);
	fx_full(&f, NULL);
	ck_assert(f.pl.fam[0].skeleton && f.pl.fam[1].skeleton);
	HAS(&f, "+ cluster-ips element 10.96.0.10");
	HAS(&f, "+ service-ips element 10.96.0.10 . tcp . 80 -> dnat-n2 (ns/web:http)");
	HAS(&f, "+ backends element 10.96.0.10 . tcp . 80 . 0 : 10.1.0.1 . 8080");
	HAS(&f, "+ backends element 10.96.0.10 . tcp . 80 . 1 : 10.1.0.2 . 8080");
	HAS(&f, "+ hairpin element 10.1.0.1 . 10.1.0.1");
	HAS(&f, "+ hairpin element 10.1.0.2 . 10.1.0.2");
	LINES(&f, "+ ", 6);
	/* dnat groups 1..8 always exist, in both families */
	HAS(&f, "write chain dnat-n1");
	HAS(&f, "write chain nodeport-dnat-n8");
	LINES(&f, "write chain ", 2 * 2 * NFT_PINNED_GROUPS);
	fx_partial(&f);
	ck_assert(nft_plan_empty(&f.pl));
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_shared_cluster_ip_stays_until_last_port)
{
	struct fx f;

	fx_init(&f);
	fx_set(&f, &web_http);
	fx_set(&f, &web_https);
	fx_full(&f, NULL);
	LINES(&f, "+ cluster-ips ", 1);
	LINES(&f, "+ hairpin ", 2);
	ck_assert_int_eq(nft_mirror_holders(&f.mir[0], &f.pl.fam[0].add.v[0]), 2);
	/* one port goes: its own elements go, the shared ones stay */
	fx_del(&f, "ns/web:https/TCP/IPv4");
	fx_partial(&f);
	HAS(&f, "- service-ips element 10.96.0.10 . tcp . 443 -> dnat-n2");
	HAS(&f, "- backends element 10.96.0.10 . tcp . 443 . 0 : 10.1.0.1 . 8080");
	HAS(&f, "- backends element 10.96.0.10 . tcp . 443 . 1 : 10.1.0.2 . 8080");
	LINES(&f, "- ", 3);
	LINES(&f, "+ ", 0);
	/* the other goes too: now the ClusterIP and the hairpin entries go */
	fx_del(&f, "ns/web:http/TCP/IPv4");
	fx_partial(&f);
	HAS(&f, "- cluster-ips element 10.96.0.10");
	HAS(&f, "- hairpin element 10.1.0.1 . 10.1.0.1");
	HAS(&f, "- hairpin element 10.1.0.2 . 10.1.0.2");
	LINES(&f, "- ", 6);
	LINES(&f, "write chain ", 0);
	LINES(&f, "delete chain ", 0);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_hairpin_shared_between_services)
{
	struct spec a = { "ns/a", "p", "10.96.0.1", NULL, 80, 0, 1, 7, false };
	struct spec b = { "ns/b", "p", "10.96.0.2", NULL, 80, 0, 1, 7, false };
	struct fx f;

	fx_init(&f);
	fx_set(&f, &a);
	fx_set(&f, &b);
	fx_full(&f, NULL);
	LINES(&f, "+ hairpin ", 1);
	fx_del(&f, "ns/a:p/TCP/IPv4");
	fx_partial(&f);
	HASNT(&f, "- hairpin");
	b.ep0 = 8;	/* b's endpoint moves: the old address loses its last holder */
	fx_set(&f, &b);
	fx_partial(&f);
	HAS(&f, "- hairpin element 10.1.0.7 . 10.1.0.7");
	HAS(&f, "+ hairpin element 10.1.0.8 . 10.1.0.8");
	HAS(&f, "- backends element 10.96.0.2 . tcp . 80 . 0 : 10.1.0.7 . 8080");
	HAS(&f, "+ backends element 10.96.0.2 . tcp . 80 . 0 : 10.1.0.8 . 8080");
	LINES(&f, "- ", 2);
	LINES(&f, "+ ", 2);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_port_moves_between_dnat_groups)
{
	struct spec s = web_http;
	struct sp_hmap *chains = sp_hmap_new();
	struct nft_plan_kernel k[2] = { { .chains = chains } };
	struct fx f;

	fx_init(&f);
	fx_set(&f, &s);
	fx_full(&f, NULL);
	/* 2 → 3 endpoints: one service-ips element replaced, one backend added */
	s.neps = 3;
	fx_set(&f, &s);
	fx_partial(&f);
	HAS(&f, "- service-ips element 10.96.0.10 . tcp . 80 -> dnat-n2");
	HAS(&f, "+ service-ips element 10.96.0.10 . tcp . 80 -> dnat-n3 (ns/web:http)");
	HAS(&f, "+ backends element 10.96.0.10 . tcp . 80 . 2 : 10.1.0.3 . 8080");
	HAS(&f, "+ hairpin element 10.1.0.3 . 10.1.0.3");
	LINES(&f, "- ", 1);
	LINES(&f, "+ ", 3);
	LINES(&f, "write chain ", 0);	/* dnat-n3 is pinned: there already */
	/* 3 → 10: a group beyond the pinned ones is created first */
	s.neps = 10;
	fx_set(&f, &s);
	fx_partial(&f);
	HAS(&f, "write chain dnat-n10");
	HAS(&f, "+ service-ips element 10.96.0.10 . tcp . 80 -> dnat-n10 (ns/web:http)");
	LINES(&f, "+ backends ", 7);
	/* 10 → 3: the unused group stays until the next full sync */
	s.neps = 3;
	fx_set(&f, &s);
	fx_partial(&f);
	LINES(&f, "- backends ", 7);
	LINES(&f, "delete chain ", 0);
	/* which deletes it, as a chain found in the kernel that nothing uses */
	sp_hmap_put(chains, "dnat-n10", (void *)1, NULL);
	sp_hmap_put(chains, "dnat-n3", (void *)1, NULL);
	sp_hmap_put(chains, "services", (void *)1, NULL);
	fx_full(&f, k);
	HAS(&f, "delete chain dnat-n10");
	LINES(&f, "delete chain ", 1);
	sp_hmap_free(chains);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_affinity_chain_comes_and_goes)
{
	struct spec s = { "ns/sticky", "http", "10.96.0.20", NULL, 80, 0, 2, 1, false };
	struct sp_svc_port *probe = mkport(&s);
	char chain[256], line[400];
	struct fx f;

	nft_affinity_name(probe, false, chain, sizeof(chain));
	sp_svc_port_free(probe);
	fx_init(&f);
	fx_set(&f, &s);
	fx_full(&f, NULL);
	/* ClientIP affinity on: its chain is written before the element that jumps to it */
	s.affinity = true;
	fx_set(&f, &s);
	fx_partial(&f);
	snprintf(line, sizeof(line), "\nwrite chain %s\n", chain);
	ck_assert_msg(strstr(f.text, line), "%s", f.text);
	snprintf(line, sizeof(line),
		 "\n+ service-ips element 10.96.0.20 . tcp . 80 -> %s (ns/sticky:http)\n", chain);
	ck_assert_msg(strstr(f.text, line), "%s", f.text);
	HAS(&f, "- service-ips element 10.96.0.20 . tcp . 80 -> dnat-n2");
	LINES(&f, "- backends ", 2);	/* the affinity chain picks the endpoint itself */
	LINES(&f, "+ backends ", 0);
	LINES(&f, "- hairpin ", 0);
	ck_assert_int_eq(f.pl.fam[0].nchains, 1);
	ck_assert_int_eq(f.pl.fam[0].chains[0].aff.n, 2);
	/* an endpoint goes: the chain is rewritten and that endpoint's client set deleted */
	s.neps = 1;
	fx_set(&f, &s);
	fx_partial(&f);
	snprintf(line, sizeof(line), "\nwrite chain %s\n", chain);
	ck_assert_msg(strstr(f.text, line), "%s", f.text);
	LINES(&f, "delete set affinity-", 1);
	HAS(&f, "- hairpin element 10.1.0.2 . 10.1.0.2");
	LINES(&f, "+ service-ips", 0);
	/* affinity off: the chain and its remaining set go after the elements */
	s.affinity = false;
	fx_set(&f, &s);
	fx_partial(&f);
	snprintf(line, sizeof(line), "\ndelete chain %s\n", chain);
	ck_assert_msg(strstr(f.text, line), "%s", f.text);
	LINES(&f, "delete set affinity-", 1);
	HAS(&f, "+ service-ips element 10.96.0.20 . tcp . 80 -> dnat-n1 (ns/sticky:http)");
	HAS(&f, "+ backends element 10.96.0.20 . tcp . 80 . 0 : 10.1.0.1 . 8080");
	LINES(&f, "write chain ", 0);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_removed_udp_port_flows_stale)
{
	struct spec s = { "ns/dns", "dns", "10.96.0.53", NULL, 53, IPPROTO_UDP, 3, 1, false };
	struct fx f;

	fx_init(&f);
	fx_set(&f, &s);
	fx_full(&f, NULL);
	ck_assert_int_eq(f.pl.stale.n, 1);	/* un-NATed flows to the ClusterIP */
	ck_assert(!f.pl.stale.v[0].endpoint);
	fx_del(&f, "ns/dns:dns/UDP/IPv4");
	fx_partial(&f);
	LINES(&f, "- ", 3 + 1 + 1 + 3);	/* backends, service-ips, cluster-ips, hairpins */
	ck_assert_int_eq(f.pl.stale.n, 3);	/* NATed flows to each endpoint */
	for (size_t i = 0; i < f.pl.stale.n; i++)
		ck_assert(f.pl.stale.v[i].endpoint && f.pl.stale.v[i].port == 8080);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_conflict_first_claim_stays)
{
	struct spec a = { "ns/a", "p", "10.96.0.1", "192.0.2.1", 80, 0, 2, 1, false };
	struct spec b = { "ns/b", "p", "10.96.0.2", "192.0.2.1", 80, 0, 3, 11, false };
	struct fx f;

	fx_init(&f);
	fx_set(&f, &a);
	fx_full(&f, NULL);
	fx_set(&f, &b);
	fx_partial(&f);
	/* b's claim on the shared external IP loses: logged, not written */
	ck_assert_ptr_nonnull(strstr(captured_log_text(&f.log), "ns/b:p/TCP/IPv4 claims it too"));
	HASNT(&f, "+ service-ips element 192.0.2.1");
	HAS(&f, "+ service-ips element 10.96.0.2 . tcp . 80 -> dnat-n3 (ns/b:p)");
	/* a goes: the element goes with it (b's claim is not revived before a full sync) */
	fx_del(&f, "ns/a:p/TCP/IPv4");
	fx_partial(&f);
	HAS(&f, "- service-ips element 192.0.2.1 . tcp . 80 -> dnat-n2");
	/* b goes: its lost claim deletes nothing a second time */
	fx_del(&f, "ns/b:p/TCP/IPv4");
	fx_partial(&f);
	HASNT(&f, "- service-ips element 192.0.2.1");
	HAS(&f, "- masq-vips element 192.0.2.1 . tcp . 80");	/* no value: both held it */
	HAS(&f, "- service-ips element 10.96.0.2 . tcp . 80 -> dnat-n3");
	ck_assert_int_eq(f.mir[0].elems.n, 0);
	ck_assert_int_eq(f.mir[0].lost.n, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(test_plan_full_after_failure_replaces_table)
{
	struct sp_hmap *chains = sp_hmap_new(), *sets = sp_hmap_new();
	struct nft_plan_kernel k[2] = { { .chains = chains, .sets = sets } };
	struct fx f;

	sp_hmap_put(chains, "services", (void *)1, NULL);
	sp_hmap_put(sets, "affinity-ABCDEFGH-ns/gone/tcp/http__10.1.0.9/80", (void *)1, NULL);
	fx_init(&f);
	fx_set(&f, &web_http);
	fx_full(&f, k);
	ck_assert(!f.pl.fam[0].drop_table);
	HAS(&f, "delete set affinity-ABCDEFGH-ns/gone/tcp/http__10.1.0.9/80");
	k[0].rebuild = true;
	fx_full(&f, k);
	ck_assert(f.pl.fam[0].drop_table && !f.pl.fam[1].drop_table);
	LINES(&f, "delete set ", 0);	/* nothing is left to delete in a new table */
	sp_hmap_free(chains);
	sp_hmap_free(sets);
	fx_fini(&f);
}
END_TEST

/* --- partial syncs leave what a full sync builds ------------------------------------ */

/* A table as the kernel would hold it: element key → its line, chains. */
struct sim {
	struct sp_hmap *elems, *chains;
};

static void sim_fini(struct sim *s)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(s->elems, &it))
		free(sp_hmap_del(s->elems, it.key));
	sp_hmap_free(s->elems);
	sp_hmap_free(s->chains);
}

static void elem_key(const struct nft_elem *e, int family, char *buf, size_t sz)
{
	struct nft_elem k = *e;

	k.comment = NULL;
	nft_elem_describe(&k, family, buf, sz);
}

/* Apply @pl as the kernel would, failing where it would refuse. */
static void sim_apply(struct sim *s, const struct nft_plan *pl)
{
	for (int f = 0; f < 1; f++) {	/* the ports here are IPv4 */
		const struct nft_fam_plan *fp = &pl->fam[f];
		char key[512];

		if (fp->skeleton) {
			sim_fini(s);
			s->elems = sp_hmap_new();
			s->chains = sp_hmap_new();
		}
		for (size_t i = 0; i < fp->nchains; i++)
			if (fp->chains[i].kind == NFT_CHAIN_WRITE)
				sp_hmap_put(s->chains, fp->chains[i].name, (void *)1, NULL);
		for (size_t i = 0; i < fp->del.n; i++) {
			elem_key(&fp->del.v[i], fp->family, key, sizeof(key));
			ck_assert_msg(sp_hmap_get(s->elems, key), "delete of a missing %s", key);
			free(sp_hmap_del(s->elems, key));
		}
		for (size_t i = 0; i < fp->add.n; i++) {
			char *buf = NULL;
			size_t len = 0;
			FILE *out = open_memstream(&buf, &len);

			elem_key(&fp->add.v[i], fp->family, key, sizeof(key));
			ck_assert_msg(!sp_hmap_get(s->elems, key), "add of an existing %s", key);
			if (fp->add.v[i].chain)
				ck_assert_msg(sp_hmap_get(s->chains, fp->add.v[i].chain) ||
						      !strcmp(fp->add.v[i].chain, "reject-chain"),
					      "%s jumps to a missing chain", key);
			elem_line(out, '+', &fp->add.v[i], fp->family);
			fclose(out);
			sp_hmap_put(s->elems, key, buf, NULL);
		}
		for (size_t i = 0; i < fp->nchains; i++)
			if (fp->chains[i].kind == NFT_CHAIN_DELETE) {
				struct sp_hmap_iter it = {0};
				char jump[300];

				ck_assert_ptr_nonnull(sp_hmap_del(s->chains, fp->chains[i].name));
				/* no element may jump to it any more */
				snprintf(jump, sizeof(jump), "-> %s (", fp->chains[i].name);
				while (sp_hmap_next(s->elems, &it))
					ck_assert_msg(!strstr(it.value, jump), "%s",
						      (char *)it.value);
			}
	}
}

static void sim_same(const struct sim *a, const struct sim *b)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(a->elems, &it)) {
		const char *other = sp_hmap_get(b->elems, it.key);

		ck_assert_msg(other, "only after partial syncs: %s", (char *)it.value);
		ck_assert_str_eq(it.value, other);
	}
	ck_assert_int_eq(sp_hmap_len(a->elems), sp_hmap_len(b->elems));
}

START_TEST(test_plan_partials_equal_full)
{
	struct sim live = { sp_hmap_new(), sp_hmap_new() };
	uint32_t rnd = 12345;
	struct fx f;

	fx_init(&f);
	fx_full(&f, NULL);
	sim_apply(&live, &f.pl);
	for (int step = 0; step < 300; step++) {
		char svc[32], name[8], key[64], cip[32];
		int i, pn;

		rnd = rnd * 1103515245u + 12345u;
		i = (int)(rnd >> 16) % 6;
		pn = (int)(rnd >> 20) % 2;
		snprintf(svc, sizeof(svc), "ns/s%d", i);
		snprintf(name, sizeof(name), "p%d", pn);
		snprintf(key, sizeof(key), "%s:%s/TCP/IPv4", svc, name);
		snprintf(cip, sizeof(cip), "10.96.0.%d", i + 1);
		if ((rnd >> 8) % 4 == 0 && sp_hmap_get(f.m.ports, key)) {
			fx_del(&f, key);
		} else {
			/* 0..10 endpoints (groups beyond the pinned ones), overlapping
			 * across services; ClientIP affinity now and then */
			struct spec s = { svc, name, cip, NULL, (uint16_t)(80 + pn), 0,
					  (int)(rnd >> 4) % 11, (int)(rnd >> 12) % 5 + 1,
					  (rnd >> 24) % 3 == 0 };

			if (sp_hmap_get(f.m.ports, key) && (rnd >> 2) % 2)
				fx_del(&f, key);	/* removed and added in one sync */
			fx_set(&f, &s);
		}
		if ((rnd >> 28) % 3)	/* several changes in one sync, sometimes */
			continue;
		fx_partial(&f);
		sim_apply(&live, &f.pl);
	}
	fx_partial(&f);
	sim_apply(&live, &f.pl);
	{
		struct fx g;
		struct sim fresh = { sp_hmap_new(), sp_hmap_new() };
		struct sp_hmap_iter it = {0};

		/* the same model from nothing */
		fx_init(&g);
		while (sp_hmap_next(f.m.ports, &it)) {
			const struct sp_svc_port *p = it.value;
			struct spec s = { p->service, p->port_name, "", NULL, p->port,
					  0, 0, 0, false };
			char cip[SP_ADDRSTRLEN];

			s.cip = sp_addr_str(&p->cluster_ips.v[0], cip);
			s.neps = (int)p->n_eps;
			s.ep0 = p->n_eps ? p->eps[0].addr.bytes[3] : 0;
			s.affinity = p->affinity_client_ip;
			fx_set(&g, &s);
		}
		fx_full(&g, NULL);
		sim_apply(&fresh, &g.pl);
		sim_same(&live, &fresh);
		sim_same(&fresh, &live);
		sim_fini(&fresh);
		fx_fini(&g);
	}
	sim_fini(&live);
	fx_fini(&f);
}
END_TEST

Suite *suite_nft_plan(void)
{
	Suite *s = suite_create("nft_plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plan_full_then_no_change);
	tcase_add_test(tc, test_plan_shared_cluster_ip_stays_until_last_port);
	tcase_add_test(tc, test_plan_hairpin_shared_between_services);
	tcase_add_test(tc, test_plan_port_moves_between_dnat_groups);
	tcase_add_test(tc, test_plan_affinity_chain_comes_and_goes);
	tcase_add_test(tc, test_plan_removed_udp_port_flows_stale);
	tcase_add_test(tc, test_plan_conflict_first_claim_stays);
	tcase_add_test(tc, test_plan_full_after_failure_replaces_table);
	tcase_add_test(tc, test_plan_partials_equal_full);
	suite_add_tcase(s, tc);
	return s;
}
