/* helpers.c - see helpers.h. */
#define _GNU_SOURCE
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"
#include "../../control/source_dir.h"

#include <ftw.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void captured_log_open(struct captured_log *c)
{
	memset(c, 0, sizeof(*c));
	c->log.out = open_memstream(&c->buf, &c->len);
	c->log.level = SP_LOG_DEBUG;
	ck_assert_ptr_nonnull(c->log.out);
}

const char *captured_log_text(struct captured_log *c)
{
	fflush(c->log.out);
	return c->buf ? c->buf : "";
}

int captured_log_lines(struct captured_log *c)
{
	const char *t = captured_log_text(c);
	int n = 0;

	for (; *t; t++)
		n += *t == '\n';
	return n;
}

void captured_log_close(struct captured_log *c)
{
	fclose(c->log.out);
	free(c->buf);
}

size_t load_dir_model(const char *dir, const char *node, struct sp_store *st, struct sp_model *m,
		      const struct sp_log *lg)
{
	struct sp_dir_source *src;
	size_t errors;

	ck_assert_int_eq(sp_store_init(st, node), 0);
	ck_assert_int_eq(sp_model_init(m), 0);
	src = sp_dir_source_new(dir, st, lg);
	ck_assert_ptr_nonnull(src);
	ck_assert_int_eq(sp_dir_source_load_all(src), 0);
	ck_assert_int_eq(sp_model_build(m, st), 0);
	errors = sp_dir_source_errors(src);
	sp_dir_source_free(src);
	return errors;
}

char *describe_port(const struct sp_svc_port *p)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	char buf[SP_ADDRSTRLEN];

	fprintf(f, "%s ->", p->key);
	for (size_t i = 0; i < p->n_eps; i++)
		fprintf(f, "%s%s:%u", i ? "," : " ", sp_addr_str(&p->eps[i].addr, buf), p->eps[i].port);
	fclose(f);
	return out;
}

void make_temp_dir(char *buf, size_t sz)
{
	snprintf(buf, sz, "/tmp/svcplane-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

struct sp_svc_port *svc_port_eps(const char *svc, const char *cip, uint16_t port, int neps)
{
	struct sp_svc_port *p = sp_svc_port_new(svc, "http", IPPROTO_TCP, AF_INET);
	struct sp_addr a;

	sp_addr_parse(cip, &a);
	sp_addr_list_add(&p->cluster_ips, &a);
	p->port = port;
	p->eps = calloc((size_t)neps + 1, sizeof(*p->eps));
	for (int i = 0; i < neps; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.%d.%d", i % 2 + 1, 10 + i);
		sp_addr_parse(ip, &p->eps[i].addr);
		p->eps[i].port = 8080;
		p->eps[i].ready = p->eps[i].serving = true;
		p->eps[i].local = i % 2 == 0;
		p->n_eps++;
	}
	return p;
}
