/* us_conn.c - relayed connections (TCP, and SCTP where the kernel has it):
 * non-blocking accept, connect to an endpoint with a timeout (the next
 * endpoint on refusal or timeout), then both directions through the
 * protocol's mover (us_relay.h: splice through a pipe for TCP, whole
 * messages for SCTP), whose holding place exists only while bytes are in
 * flight. Half-close is passed on with shutdown(); a reset on either side
 * becomes a reset on the other (SO_LINGER 0). Every socket is
 * level-triggered with exactly the interest its state needs: a direction
 * reads only while it holds nothing and writes only while it holds
 * something, so a slow reader holds at most one pipe (64 KiB) plus the
 * kernel's socket buffers per direction, and nothing spins; a socket with
 * nothing to wait for is not in the loop at all. */
#define _GNU_SOURCE
#include "us_fwd.h"
#include "us_relay.h"
#include "../../common/clock.h"
#include "../../common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_CHUNKS 16 /* reads per direction per event: fairness between connections */
#define ACCEPTS_PER_EVENT 64

/* What a connection needs only until an endpoint answers (freed then, so
 * that an idle connection costs as little as it can). */
struct dial {
	struct us_ep tried[US_MAX_TRIES];
	int ntried;
	double deadline;	       /* of the connect attempt */
	struct us_conn *qnext, *qprev; /* connecting queue */
};

struct us_conn {
	struct us_fwd *f;
	struct us_svc *svc;	   /* one reference */
	struct us_pool *pool;	   /* svc's pool this client draws from */
	const struct us_mover *mv; /* TCP or SCTP */
	uint8_t proto;
	int cfd, ufd;	   /* client, upstream (-1 between attempts) */
	uint32_t cev, uev; /* interest registered */
	bool creg, ureg;   /* registered with the loop */
	struct us_half c2u, u2c;
	struct sp_addr client;
	uint16_t cport;
	struct dial *dial;	     /* until connected (NULL once relaying) */
	struct us_ep ep;	     /* the endpoint relayed to, once connected */
	bool connecting;	     /* in the connecting queue */
	bool counted;		     /* in pool's open count for ep */
	struct us_conn *next, *prev; /* every connection */
};

/* --- accept pausing --------------------------------------------------------- */

void us_conn_pause(struct us_fwd *f, bool pause)
{
	for (size_t i = 0; i < f->nlis; i++) {
		struct us_lis *l = f->lis[i];

		if (l->proto == IPPROTO_UDP || l->paused == pause)
			continue;
		if (!f->loop->mod_fd(f->loop->loop, l->fd, pause ? 0 : EPOLLIN))
			l->paused = pause;
	}
}

/* Room for one more connection: a slot under max_conns and its two
 * descriptors. */
static bool conn_room(struct us_fwd *f)
{
	return f->n_conns < f->max_conns && us_fwd_room(f, 2);
}

/* Accepting paused for the limits: resume once there is room. (Not paused
 * for them: nothing to do, and nothing walked.) */
static void maybe_resume(struct us_fwd *f)
{
	if (!f->full || f->accept_paused || !conn_room(f))
		return;
	f->full = false;
	us_conn_pause(f, false);
}

/* The EMFILE pause is over: resume unless paused for the limits too. */
static void retry_resume(struct us_fwd *f)
{
	f->accept_paused = false;
	if (f->full)
		maybe_resume(f);
	else
		us_conn_pause(f, false);
}

void us_conn_resume(struct us_fwd *f)
{
	maybe_resume(f);
}

static void on_accept_retry(void *ctx)
{
	struct us_fwd *f = ctx;

	f->accept_timer = 0;
	retry_resume(f);
}

/* Out of file descriptors or memory: stop accepting for a moment (the
 * kernel keeps the backlog), never spin on a listener we cannot serve. */
static void pause_for_fds(struct us_fwd *f, int err)
{
	if (!f->accept_paused)
		sp_log_warn(f->log, "userspace: accept: %s; accepting paused for %.0f ms",
			    strerror(err), US_ACCEPT_RETRY * 1000);
	f->accept_paused = true;
	us_conn_pause(f, true);
	if (!f->accept_timer)
		f->accept_timer =
		    f->loop->add_timer(f->loop->loop, US_ACCEPT_RETRY, on_accept_retry, f);
	if (!f->accept_timer) /* no timer: do not stay paused forever */
		retry_resume(f);
}

/* --- connection life -------------------------------------------------------- */

static void q_remove(struct us_fwd *f, struct us_conn *c)
{
	struct dial *d = c->dial;

	if (!c->connecting)
		return;
	if (d->qprev)
		d->qprev->dial->qnext = d->qnext;
	else
		f->connecting = d->qnext;
	if (d->qnext)
		d->qnext->dial->qprev = d->qprev;
	else
		f->connecting_tail = d->qprev;
	d->qnext = d->qprev = NULL;
	c->connecting = false;
}

static void on_connect_timer(void *ctx);

static void arm_connect_timer(struct us_fwd *f)
{
	double wait;

	if (f->connect_timer || !f->connecting)
		return;
	wait = f->connecting->dial->deadline - sp_now_mono();
	f->connect_timer =
	    f->loop->add_timer(f->loop->loop, wait > 0 ? wait : 0, on_connect_timer, f);
}

static void q_push(struct us_fwd *f, struct us_conn *c)
{
	c->dial->deadline = sp_now_mono() + US_CONNECT_TIMEOUT;
	c->connecting = true;
	c->dial->qnext = NULL;
	c->dial->qprev = f->connecting_tail;
	if (f->connecting_tail)
		f->connecting_tail->dial->qnext = c;
	else
		f->connecting = c;
	f->connecting_tail = c;
	arm_connect_timer(f);
}

static void drop_fd(struct us_conn *c, int *fd, bool *reg, bool rst)
{
	if (*fd < 0)
		return;
	if (*reg)
		c->f->loop->del_fd(c->f->loop->loop, *fd);
	if (rst) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(*fd);
	*fd = -1;
	*reg = false;
}

/* End @c: with a reset on both sides when @rst (a reset or failure to pass
 * on), else after both directions finished. */
static void conn_free(struct us_conn *c, bool rst)
{
	struct us_fwd *f = c->f;

	q_remove(f, c);
	free(c->dial);
	drop_fd(c, &c->cfd, &c->creg, rst);
	drop_fd(c, &c->ufd, &c->ureg, rst);
	c->mv->release(f, &c->c2u);
	c->mv->release(f, &c->u2c);
	if (c->counted)
		us_pool_count(c->pool, &c->ep, -1);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	f->n_conns--;
	c->svc->st.active--;
	us_svc_put(c->svc);
	free(c);
	maybe_resume(f);
}

void us_conn_close_all(struct us_fwd *f)
{
	while (f->conns)
		conn_free(f->conns, true);
}

static void on_conn(void *ctx, int fd, uint32_t events);

/* Watch @fd for @want (registering it when it was not). With nothing to
 * wait for, @fd leaves the loop: epoll reports EPOLLHUP whatever the
 * interest, and a socket whose peer finished while its bytes wait in our
 * pipe would wake us in a loop. Returns 0 or -errno. */
static int set_interest(struct us_conn *c, int fd, bool *reg, uint32_t *cur, uint32_t want)
{
	const struct sp_loop_hooks *h = c->f->loop;
	int e;

	if (!want) {
		if (*reg)
			h->del_fd(h->loop, fd);
		*reg = false;
		return 0;
	}
	if (*reg && *cur == want)
		return 0;
	if (!*reg) {
		if ((e = h->add_fd(h->loop, fd, want, on_conn, c)))
			return e;
		*reg = true;
	} else if ((e = h->mod_fd(h->loop, fd, want))) {
		return e;
	}
	*cur = want;
	return 0;
}

/* Watch both sockets for what their state needs now (see the file
 * comment). Returns 0 or -errno (the connection cannot go on). */
static int rearm(struct us_conn *c)
{
	uint32_t cev = (!c->c2u.eof && !c->c2u.held ? EPOLLIN : 0) | (c->u2c.held ? EPOLLOUT : 0);
	uint32_t uev = (!c->u2c.eof && !c->u2c.held ? EPOLLIN : 0) | (c->c2u.held ? EPOLLOUT : 0);
	int e = set_interest(c, c->cfd, &c->creg, &c->cev, cev);

	return e ? e : set_interest(c, c->ufd, &c->ureg, &c->uev, uev);
}

static void start_connect(struct us_conn *c);

/* The connection is up: relay. */
static void connected(struct us_conn *c)
{
	q_remove(c->f, c);
	c->ep = c->dial->tried[c->dial->ntried - 1];
	free(c->dial);
	c->dial = NULL;
	if (c->svc->aff)
		us_affinity_put(c->svc->aff, &c->client, &c->ep, sp_now_mono());
	us_pool_count(c->pool, &c->ep, 1);
	c->counted = true;
	if (rearm(c)) /* cannot watch the sockets: give up */
		conn_free(c, true);
}

/* The current attempt failed: count it and try the next endpoint. */
static void attempt_failed(struct us_conn *c)
{
	c->svc->st.connect_fail++;
	q_remove(c->f, c);
	drop_fd(c, &c->ufd, &c->ureg, false);
	start_connect(c);
}

static void start_connect(struct us_conn *c)
{
	const struct sp_loop_hooks *h = c->f->loop;
	struct sockaddr_storage ss;
	struct us_ep ep;
	socklen_t len;

	struct dial *d = c->dial;

	while (d->ntried < US_MAX_TRIES && !us_pick(c->pool, c->svc->aff, &c->client, sp_now_mono(),
						    d->tried, (size_t)d->ntried, &ep)) {
		if (d->ntried)
			c->svc->st.retries++;
		d->tried[d->ntried++] = ep;
		c->ufd =
		    socket(ep.addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, c->proto);
		if (c->ufd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				pause_for_fds(c->f, errno);
			break;
		}
		c->mv->setup(c->ufd);
		len = us_sockaddr(&ep.addr, ep.port, &ss);
		if (connect(c->ufd, (struct sockaddr *)&ss, len) == 0) {
			connected(c);
			return;
		}
		if (errno == EINPROGRESS) {
			if (h->add_fd(h->loop, c->ufd, EPOLLOUT, on_conn, c))
				break;
			c->ureg = true;
			c->uev = EPOLLOUT;
			q_push(c->f, c);
			return;
		}
		c->svc->st.connect_fail++;
		drop_fd(c, &c->ufd, &c->ureg, false);
	}
	/* No endpoint answered: the client gets a reset, as from a closed port. */
	c->svc->st.refused++;
	conn_free(c, true);
}

static void on_connect_timer(void *ctx)
{
	struct us_fwd *f = ctx;
	double now = sp_now_mono();

	f->connect_timer = 0;
	/* A retried connection goes to the tail with a later deadline. */
	while (f->connecting && f->connecting->dial->deadline <= now + 0.001)
		attempt_failed(f->connecting);
	arm_connect_timer(f);
}

/* Move what can be moved from @src to @dst through @h (at most MAX_CHUNKS
 * reads). Returns 1 when something moved or ended, 0 when nothing could,
 * -errno when a side failed (the connection is reset). */
static int pump(struct us_conn *c, int src, int dst, struct us_half *h, uint64_t *bytes)
{
	int progress = 0, chunks = 0;
	ssize_t n;

	for (;;) {
		if (h->held) {
			size_t before = h->held;

			n = c->mv->drain(c->f, dst, h);
			if (n >= 0) {
				*bytes += (uint64_t)(before - h->held);
				progress = 1;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break; /* dst full: wait for EPOLLOUT */
			return -errno;
		}
		if (h->eof || chunks++ == MAX_CHUNKS)
			break;
		n = c->mv->fill(c->f, src, h);
		if (n > 0) {
			progress = 1;
			continue;
		}
		if (n == 0) {
			h->eof = true;
			progress = 1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break; /* src empty (h was): wait for EPOLLIN */
		return -errno;
	}
	if (!h->held)
		c->mv->release(c->f, h);
	if (h->eof && !h->held && !h->shut) {
		shutdown(dst, SHUT_WR); /* half-close passed on */
		h->shut = true;
	}
	return progress;
}

static void on_conn(void *ctx, int fd, uint32_t events)
{
	struct us_conn *c = ctx;
	int a, b, err = 0;
	socklen_t len = sizeof(err);

	if (c->connecting) {
		if (fd != c->ufd)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err || (events & (EPOLLERR | EPOLLHUP)))
			attempt_failed(c);
		else
			connected(c);
		return;
	}
	if ((events & EPOLLERR) &&
	    (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err)) {
		conn_free(c, true); /* a reset on one side is a reset on the other */
		return;
	}
	a = pump(c, c->cfd, c->ufd, &c->c2u, &c->svc->st.bytes_in);
	b = a < 0 ? 0 : pump(c, c->ufd, c->cfd, &c->u2c, &c->svc->st.bytes_out);
	if (a < 0 || b < 0) {
		conn_free(c, true);
		return;
	}
	if (c->c2u.shut && c->u2c.shut) {
		conn_free(c, false); /* both directions finished */
		return;
	}
	/* A hung-up socket with nothing left to move would be reported again
	 * and again: it is dead. */
	if (!a && !b && (events & (EPOLLHUP | EPOLLERR))) {
		conn_free(c, true);
		return;
	}
	if (rearm(c))
		conn_free(c, true);
}

void us_conn_accept(struct us_lis *l)
{
	struct us_fwd *f = l->fwd;

	for (int i = 0; i < ACCEPTS_PER_EVENT && l->fd >= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct us_conn *c = NULL;
		struct dial *d = NULL;
		struct sp_addr client;
		uint16_t cport;
		bool allowed;
		int fd;

		if (!conn_room(f)) {
			/* resumed when a connection, flow or pipe gives room back */
			f->full = true;
			us_conn_pause(f, true);
			return;
		}
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_for_fds(f, errno);
			return; /* EAGAIN: the backlog is empty */
		}
		us_from_sockaddr(&ss, &client, &cport);
		allowed = us_client_allowed(l, &client);
		if (!allowed || !(c = calloc(1, sizeof(*c))) || !(d = calloc(1, sizeof(*d)))) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			free(c);
			if (allowed) {
				pause_for_fds(f, ENOMEM);
				return;
			}
			l->svc->st.refused++; /* not in loadBalancerSourceRanges */
			continue;
		}
		*c = (struct us_conn){.f = f,
				      .svc = l->svc,
				      .proto = l->proto,
				      .cfd = fd,
				      .ufd = -1,
				      .mv = l->proto == IPPROTO_SCTP ? &us_sctp_mover
								     : &us_splice_mover,
				      .dial = d,
				      .c2u.pipe = {-1, -1},
				      .u2c.pipe = {-1, -1}};
		c->mv->setup(fd);
		c->client = client;
		c->cport = cport;
		c->pool = us_client_pool(l, &c->client);
		l->svc->refs++;
		l->svc->st.total++;
		l->svc->st.active++;
		f->n_conns++;
		c->next = f->conns;
		if (f->conns)
			f->conns->prev = c;
		f->conns = c;
		start_connect(c);
	}
}
