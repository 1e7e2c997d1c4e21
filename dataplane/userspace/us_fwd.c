/* us_fwd.c - the forwarder's listeners (bound only while their pool has
 * endpoints), which pool a client draws from, service-port references, and
 * set-up and tear-down. */
#include "us_fwd.h"
#include "us_flows.h"
#include "us_relay.h"
#include "../../common/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

socklen_t us_sockaddr(const struct sp_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = a->v6;
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr = a->v4;
		return sizeof(*s4);
	}
}

void us_from_sockaddr(const struct sockaddr_storage *ss, struct sp_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->family = AF_INET6;
		a->prefix_len = 128;
		a->v6 = s6->sin6_addr;
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = AF_INET;
		a->prefix_len = 32;
		a->v4 = s4->sin_addr;
		*port = ntohs(s4->sin_port);
	}
}

size_t us_fwd_max_conns(size_t nofile)
{
	size_t n = nofile > US_FDS_OWN + 2 ? (nofile - US_FDS_OWN) / 2 : 1;

	return n < US_MAX_CONNS_CAP ? n : US_MAX_CONNS_CAP;
}

size_t us_fwd_fds(const struct us_fwd *f)
{
	return 2 * f->n_conns + (f->flows ? us_flows_len(f->flows) : 0) + f->nlis +
	       2 * (size_t)(f->pipes_in_use + f->npipes);
}

size_t us_fwd_conns_max_now(const struct us_fwd *f)
{
	/* idle pipes are not counted: room is made by closing them */
	size_t other = us_fwd_fds(f) - 2 * f->n_conns - 2 * f->npipes, n;

	n = f->nofile > other + US_FDS_OWN ? (f->nofile - other - US_FDS_OWN) / 2 : 0;
	return n < f->max_conns ? n : f->max_conns;
}

bool us_fwd_room(struct us_fwd *f, size_t n)
{
	while (us_fwd_fds(f) + n + US_FDS_OWN > f->nofile) {
		if (!us_pipes_drop_idle(f))
			return false;
	}
	return true;
}

bool us_fwd_pipe_room(struct us_fwd *f)
{
	size_t slots = f->max_conns > f->n_conns ? f->max_conns - f->n_conns : 0;

	if (slots > US_PIPE_HEADROOM)
		slots = US_PIPE_HEADROOM;
	return us_fwd_room(f, 2 + 2 * slots);
}

int us_fwd_init(struct us_fwd *f, const struct sp_log *lg, const struct sp_loop_hooks *loop,
		size_t nofile, const struct sp_cidrs *cluster_cidrs)
{
	memset(f, 0, sizeof(*f));
	f->cluster_cidrs = cluster_cidrs;
	f->log = lg;
	f->loop = loop;
	f->nofile = nofile;
	f->max_conns = us_fwd_max_conns(nofile);
	if (!(f->dgram = malloc(65536)))
		return -ENOMEM;
	/* A flow holds one descriptor: as many as two connections would. */
	if (!(f->flows = us_flows_new(2 * f->max_conns))) {
		free(f->dgram);
		return -ENOMEM;
	}
	return 0;
}

static void lis_close(struct us_lis *l);

/* Is @client one of this node's (a pod, or the node itself)? */
static bool client_local(const struct us_lis *l, const struct sp_addr *client)
{
	const struct sp_cidrs *cc = l->fwd->cluster_cidrs;

	if (!sp_addr_cmp(client, &l->addr))
		return true;
	for (int i = 0; cc && i < cc->n; i++)
		if (cc->v[i].family == client->family && sp_cidr_contains(&cc->v[i], client))
			return true;
	return false;
}

struct us_pool *us_client_pool(const struct us_lis *l, const struct sp_addr *client)
{
	if (!l->external)
		return &l->svc->internal;
	if (l->svc->ext_local && client_local(l, client))
		return &l->svc->shortcut;
	return &l->svc->external;
}

bool us_client_allowed(const struct us_lis *l, const struct sp_addr *client)
{
	const struct us_svc *s = l->svc;

	if (!l->lb || !s->nranges)
		return true;
	for (size_t i = 0; i < s->nranges; i++)
		if (s->ranges[i].family == client->family &&
		    sp_cidr_contains(&s->ranges[i], client))
			return true;
	return false;
}

size_t us_lis_endpoints(const struct us_lis *l)
{
	if (!l->external)
		return l->svc->internal.n;
	return l->svc->external.n + (l->svc->ext_local ? l->svc->shortcut.n : 0);
}

void us_fwd_fini(struct us_fwd *f)
{
	/* Listener structs are their service ports' (freed by the backend
	 * first); any socket still open is closed here. Nothing resumes
	 * accepting meanwhile. */
	f->full = false;
	while (f->nlis)
		lis_close(f->lis[0]); /* drops its flows too */
	us_conn_close_all(f);
	free(f->lis);
	us_pipes_fini(f);
	us_flows_free(f->flows);
	if (f->accept_timer)
		f->loop->cancel_timer(f->loop->loop, f->accept_timer);
	if (f->connect_timer)
		f->loop->cancel_timer(f->loop->loop, f->connect_timer);
	if (f->flow_timer)
		f->loop->cancel_timer(f->loop->loop, f->flow_timer);
	free(f->dgram);
	memset(f, 0, sizeof(*f));
}

void us_svc_put(struct us_svc *s)
{
	if (--s->refs > 0)
		return;
	us_pool_fini(&s->internal);
	us_pool_fini(&s->external);
	us_pool_fini(&s->shortcut);
	free(s->ranges);
	us_affinity_free(s->aff);
	free(s->lis);
	free(s->key);
	free(s);
}

static void on_lis(void *ctx, int fd, uint32_t events)
{
	struct us_lis *l = ctx;

	(void)fd;
	(void)events;
	if (l->proto != IPPROTO_UDP)
		us_conn_accept(l);
	else
		us_udp_read(l);
}

static int lis_open(struct us_lis *l)
{
	struct us_fwd *f = l->fwd;
	struct sockaddr_storage ss;
	socklen_t len = us_sockaddr(&l->addr, l->port, &ss);
	int type = l->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM, one = 1, fd, e;

	if (f->nlis == f->caplis) {
		size_t cap = f->caplis ? 2 * f->caplis : 32;
		struct us_lis **v = realloc(f->lis, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->lis = v;
		f->caplis = cap;
	}
	fd = socket(l->addr.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, l->proto);
	if (fd == -1)
		return -errno;
	if (l->proto == IPPROTO_SCTP)
		us_sctp_mover.setup(fd); /* before listen: the association's streams */
	/* SO_REUSEADDR: bind again at once although connections of an
	 * earlier listener of this address are in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 4096) == -1)) {
		e = -errno;
		close(fd);
		return e;
	}
	/* Paused listeners are registered without EPOLLIN. */
	if (l->proto != IPPROTO_UDP && (f->accept_paused || f->full))
		l->paused = true;
	if ((e = f->loop->add_fd(f->loop->loop, fd, l->paused ? 0 : EPOLLIN, on_lis, l))) {
		close(fd);
		return e;
	}
	l->fd = fd;
	f->lis[f->nlis++] = l;
	return 0;
}

static void lis_close(struct us_lis *l)
{
	struct us_fwd *f = l->fwd;

	if (l->fd < 0)
		return;
	if (l->proto == IPPROTO_UDP)
		us_udp_drop_lis(f, l);
	f->loop->del_fd(f->loop->loop, l->fd);
	close(l->fd);
	l->fd = -1;
	l->paused = false;
	for (size_t i = 0; i < f->nlis; i++) {
		if (f->lis[i] == l) {
			f->lis[i] = f->lis[--f->nlis];
			break;
		}
	}
	us_conn_resume(f);
}

int us_lis_update(struct us_lis *l)
{
	bool want = us_lis_endpoints(l) > 0;
	int e;

	if (want == (l->fd >= 0))
		return 0;
	if (!want) {
		lis_close(l);
		return 0;
	}
	e = lis_open(l);
	if (e && e != l->bind_err)
		sp_log_err(l->fwd->log, "userspace: listening on %s for %s: %s", l->name,
			   l->svc->key, strerror(-e));
	l->bind_err = e;
	return e;
}

void us_lis_free(struct us_lis *l)
{
	lis_close(l);
	free(l);
}
