/* us_udp.c - the UDP relay: a datagram from a client opens (or finds) its
 * flow, a socket connected to the flow's endpoint; replies are sent back
 * from the listener's socket, so they leave from the Service address and
 * port the client sent to. Flows end after US_UDP_IDLE seconds without a
 * datagram (one timer, for the oldest flow), and move to a live endpoint
 * when theirs leaves the pool. */
#include "us_fwd.h"
#include "us_flows.h"
#include "../../common/clock.h"
#include "../../common/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define DGRAMS_PER_EVENT 64

static void on_flow(void *ctx, int fd, uint32_t events);

/* Close @fl's upstream socket (a repointed flow gets a new one), passing on
 * first the replies already queued on it: the sync that repoints a flow may
 * run between a datagram's forwarding and its reply's event. */
static void flow_close_fd(struct us_fwd *f, struct us_flow *fl)
{
	if (fl->fd < 0)
		return;
	on_flow(fl, fl->fd, 0);
	f->loop->del_fd(f->loop->loop, fl->fd);
	close(fl->fd);
	fl->fd = -1;
}

static void flow_free(struct us_fwd *f, struct us_flow *fl)
{
	struct us_lis *l = fl->owner;

	flow_close_fd(f, fl);
	us_pool_count(fl->pool, &fl->ep, -1); /* (none while it has no endpoint) */
	l->svc->st.flows--;
	us_flows_del(f->flows, fl);
	us_conn_resume(f); /* its descriptor may make room for a connection */
}

static void on_flow_timer(void *ctx);

static void arm_flow_timer(struct us_fwd *f)
{
	struct us_flow *old = us_flows_oldest(f->flows);
	double wait;

	if (f->flow_timer || !old)
		return;
	wait = old->last + US_UDP_IDLE - sp_now_mono();
	f->flow_timer = f->loop->add_timer(f->loop->loop, wait > 0 ? wait : 0, on_flow_timer, f);
}

static void on_flow_timer(void *ctx)
{
	struct us_fwd *f = ctx;
	double now = sp_now_mono();
	struct us_flow *fl;

	f->flow_timer = 0;
	while ((fl = us_flows_oldest(f->flows)) && now - fl->last >= US_UDP_IDLE - 0.001)
		flow_free(f, fl);
	arm_flow_timer(f);
}

/* Replies from the endpoint go back to the client from the listener. */
static void on_flow(void *ctx, int fd, uint32_t events)
{
	struct us_flow *fl = ctx;
	struct us_lis *l = fl->owner;
	struct us_fwd *f = l->fwd;
	struct sockaddr_storage ss;
	socklen_t len = us_sockaddr(&fl->key.client, fl->key.cport, &ss);

	(void)events;
	for (int i = 0; i < DGRAMS_PER_EVENT; i++) {
		ssize_t n = recv(fd, f->dgram, 65536, 0);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* ICMP port unreachable from the endpoint: it has
			 * no server (yet); the next datagram tries again. */
			if (errno == ECONNREFUSED) {
				l->svc->st.connect_fail++;
				continue;
			}
			break;
		}
		if (l->fd < 0)
			continue;
		if (sendto(l->fd, f->dgram, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&ss, len) >=
		    0)
			l->svc->st.bytes_out += (uint64_t)n;
		us_flows_touch(f->flows, fl, sp_now_mono());
	}
}

/* Point @fl at an endpoint of its pool (a new flow, or one whose endpoint
 * left) through a new socket: one connected before may keep a source
 * address chosen for the old endpoint's route. Returns 0 or -errno
 * (-ENOENT: no endpoint). */
static int flow_connect(struct us_fwd *f, struct us_flow *fl, double now)
{
	struct us_lis *l = fl->owner;
	struct sockaddr_storage ss;
	struct us_ep ep;
	socklen_t len;
	int e;

	if ((e = us_pick(fl->pool, l->svc->aff, &fl->key.client, now, NULL, 0, &ep)))
		return e;
	flow_close_fd(f, fl);
	fl->fd = socket(ep.addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fl->fd == -1)
		return -errno;
	if ((e = f->loop->add_fd(f->loop->loop, fl->fd, EPOLLIN, on_flow, fl))) {
		close(fl->fd);
		fl->fd = -1;
		return e;
	}
	len = us_sockaddr(&ep.addr, ep.port, &ss);
	if (connect(fl->fd, (struct sockaddr *)&ss, len) == -1)
		return -errno;
	/* A flow counts as a connection of its endpoint (least connections,
	 * explain); one repointed has left its endpoint, which left the pool. */
	us_pool_count(fl->pool, &fl->ep, -1);
	us_pool_count(fl->pool, &ep, 1);
	fl->ep = ep;
	if (l->svc->aff)
		us_affinity_put(l->svc->aff, &fl->key.client, &ep, now);
	return 0;
}

void us_udp_read(struct us_lis *l)
{
	struct us_fwd *f = l->fwd;
	double now = sp_now_mono();

	for (int i = 0; i < DGRAMS_PER_EVENT && l->fd >= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct us_flow_key k = {.lis = l->id};
		struct us_flow *fl;
		ssize_t n = recvfrom(l->fd, f->dgram, 65536, 0, (struct sockaddr *)&ss, &len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or an error queued by ICMP */
		}
		us_from_sockaddr(&ss, &k.client, &k.cport);
		if (!us_client_allowed(l, &k.client)) {
			f->udp_dropped++; /* not in loadBalancerSourceRanges */
			continue;
		}
		if (!(fl = us_flows_get(f->flows, &k))) {
			/* A new flow's socket: only with a descriptor to spare. */
			if (!us_fwd_room(f, 1) || !(fl = us_flows_add(f->flows, &k, now))) {
				f->udp_dropped++;
				continue;
			}
			fl->owner = l;
			fl->pool = us_client_pool(l, &k.client);
			l->svc->st.flows++;
			if (flow_connect(f, fl, now)) {
				f->udp_dropped++;
				flow_free(f, fl);
				continue;
			}
		}
		if (send(fl->fd, f->dgram, (size_t)n, MSG_DONTWAIT) >= 0)
			l->svc->st.bytes_in += (uint64_t)n;
		us_flows_touch(f->flows, fl, now);
	}
	arm_flow_timer(f);
}

void us_udp_drop_lis(struct us_fwd *f, const struct us_lis *l)
{
	struct us_flow *fl = us_flows_oldest(f->flows), *next;

	for (; fl; fl = next) {
		next = fl->newer;
		if (fl->owner == l)
			flow_free(f, fl);
	}
}

void us_udp_repoint(struct us_fwd *f, const struct us_svc *s)
{
	struct us_flow *fl = us_flows_oldest(f->flows), *next;
	double now = sp_now_mono();

	for (; fl; fl = next) {
		struct us_lis *l = fl->owner;

		next = fl->newer;
		if (l->svc != s || us_pool_has(fl->pool, &fl->ep))
			continue;
		if (flow_connect(f, fl, now))
			flow_free(f, fl);
	}
}
