/* hcserver.c - healthCheckNodePort servers on libmicrohttpd, one per port,
 * all polled through one epoll set owned here. */
#include "hcserver.h"
#include "http.h"
#include "../common/hmap.h"
#include "../common/log.h"
#include "../control/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cjson/cJSON.h>

struct hc {
	struct sp_http *http;
	char ns[256], name[256];
	int local;		/* local ready endpoints */
	bool healthy;		/* the proxy's own health */
	bool seen;		/* still wanted in this update */
};

struct sp_hcservers {
	struct sp_hmap *ports;	/* "port" → struct hc */
	int epfd;
	const struct sp_log *log;
};

struct sp_hcservers *sp_hcservers_new(const struct sp_log *lg)
{
	struct sp_hcservers *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->log = lg;
	h->ports = sp_hmap_new();
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!h->ports || h->epfd == -1) {
		int e = h->epfd == -1 ? errno : ENOMEM;

		sp_hcservers_free(h);
		errno = e;
		return NULL;
	}
	return h;
}

static void hc_free(struct sp_hcservers *h, struct hc *c)
{
	if (!c)
		return;
	if (c->http)
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, sp_http_fd(c->http), NULL);
	sp_http_free(c->http);
	free(c);
}

void sp_hcservers_free(struct sp_hcservers *h)
{
	struct sp_hmap_iter it = {0};

	if (!h)
		return;
	while (h->ports && sp_hmap_next(h->ports, &it))
		hc_free(h, sp_hmap_del(h->ports, it.key));
	sp_hmap_free(h->ports);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

static int answer(void *ctx, const char *path, struct sp_http_reply *r)
{
	struct hc *c = ctx;
	cJSON *o = cJSON_CreateObject(), *svc;

	(void)path;
	if (!o)
		return -ENOMEM;
	svc = cJSON_AddObjectToObject(o, "service");
	cJSON_AddStringToObject(svc, "namespace", c->ns);
	cJSON_AddStringToObject(svc, "name", c->name);
	cJSON_AddNumberToObject(o, "localEndpoints", c->local);
	cJSON_AddBoolToObject(o, "serviceProxyHealthy", c->healthy);
	r->body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!r->body)
		return -ENOMEM;
	r->ctype = "application/json";
	r->code = c->local > 0 && c->healthy ? 200 : 503;
	snprintf(r->header_name, sizeof(r->header_name), "X-Load-Balancing-Endpoint-Weight");
	snprintf(r->header_value, sizeof(r->header_value), "%d", c->local);
	return 0;
}

/* Local ready endpoints of port @p as the Local policy sees them. */
static int local_ready(const struct sp_svc_port *p)
{
	int n = 0;

	for (size_t i = 0; i < p->n_eps; i++)
		n += p->eps[i].for_local && p->eps[i].ready;
	return n;
}

void sp_hcservers_update(struct sp_hcservers *h, const struct sp_model *m, bool proxy_healthy)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(h->ports, &it))
		((struct hc *)it.value)->seen = false;
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(m->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		char key[8], bind[32];
		struct hc *c;
		const char *slash = strchr(p->service, '/');

		if (!p->health_check_node_port || p->etp != SP_POLICY_LOCAL || !slash)
			continue;
		snprintf(key, sizeof(key), "%u", p->health_check_node_port);
		c = sp_hmap_get(h->ports, key);
		if (!c) {
			c = calloc(1, sizeof(*c));
			if (!c || sp_hmap_put(h->ports, key, c, NULL)) {
				free(c);
				continue;
			}
			snprintf(c->ns, sizeof(c->ns), "%.*s", (int)(slash - p->service), p->service);
			snprintf(c->name, sizeof(c->name), "%s", slash + 1);
			c->local = 0;
			snprintf(bind, sizeof(bind), "0.0.0.0:%u", p->health_check_node_port);
			c->http = sp_http_new(bind, answer, c, h->log);
			if (!c->http) {
				sp_log_err(h->log, "health check node port %u of service %s: %s",
					   p->health_check_node_port, p->service, strerror(errno));
			} else {
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

				epoll_ctl(h->epfd, EPOLL_CTL_ADD, sp_http_fd(c->http), &ev);
				sp_log_info(h->log, "health check node port %u serves %s",
					    p->health_check_node_port, p->service);
			}
		}
		if (!c->seen)
			c->local = 0;	/* dual-stack: the families' counts add up */
		c->seen = true;
		c->local += local_ready(p);
		c->healthy = proxy_healthy;
	}
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(h->ports, &it))
		if (!((struct hc *)it.value)->seen)
			hc_free(h, sp_hmap_del(h->ports, it.key));
}

int sp_hcservers_fd(const struct sp_hcservers *h)
{
	return h->epfd;
}

void sp_hcservers_run(struct sp_hcservers *h)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(h->ports, &it)) {
		struct hc *c = it.value;

		if (c->http)
			sp_http_run(c->http);
	}
}
