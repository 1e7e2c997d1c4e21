/* loop.c - epoll fds with callbacks (found by fd in O(1): the userspace
 * forwarder registers thousands), and one-shot timers in a small array (an
 * agent has few: a backend keeps its own deadline queues behind one timer). */
#include "loop.h"
#include "../common/clock.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct watch {
	int fd; /* -1: slot free; -2: removed this round (an event
		 * for it may still be pending: not reused yet) */
	sp_loop_fd_fn fn;
	void *ctx;
};

struct timer {
	uint64_t id;
	double at; /* monotonic seconds */
	sp_loop_timer_fn fn;
	void *ctx;
};

/* A growable array of watch pointers. */
struct wvec {
	struct watch **v;
	size_t n, cap;
};

struct sp_loop {
	int epfd;
	struct watch **w; /* every slot allocated; epoll's data.ptr points at one */
	size_t nw;
	struct watch **byfd; /* fd → its live slot, or NULL */
	size_t nbyfd;
	struct wvec free;    /* slots with fd -1, reusable */
	struct wvec removed; /* slots with fd -2: freed at the end of the round */
	struct timer *t;
	size_t nt, capt;
	uint64_t next_id;
};

struct sp_loop *sp_loop_new(void)
{
	struct sp_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd == -1) {
		int e = errno;

		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void sp_loop_free(struct sp_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nw; i++)
		free(l->w[i]);
	free(l->w);
	free(l->byfd);
	free(l->free.v);
	free(l->removed.v);
	free(l->t);
	close(l->epfd);
	free(l);
}

static struct watch *find(const struct sp_loop *l, int fd)
{
	return fd >= 0 && (size_t)fd < l->nbyfd ? l->byfd[fd] : NULL;
}

static int wvec_push(struct wvec *v, struct watch *w)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		struct watch **n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->n++] = w;
	return 0;
}

/* Make room for byfd[@fd]. Returns 0 or -ENOMEM. */
static int byfd_grow(struct sp_loop *l, int fd)
{
	size_t n = l->nbyfd ? l->nbyfd : 64;
	struct watch **v;

	if ((size_t)fd < l->nbyfd)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	if (!(v = realloc(l->byfd, n * sizeof(*v))))
		return -ENOMEM;
	memset(v + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*v));
	l->byfd = v;
	l->nbyfd = n;
	return 0;
}

int sp_loop_add_fd(struct sp_loop *l, int fd, uint32_t events, sp_loop_fd_fn fn, void *ctx)
{
	struct epoll_event ev = {.events = events};
	struct watch *w = NULL, **v;

	if (fd < 0)
		return -EBADF;
	if (find(l, fd))
		return -EEXIST;
	if (byfd_grow(l, fd))
		return -ENOMEM;
	/* Reuse a slot freed in an earlier round, else grow. */
	if (l->free.n) {
		w = l->free.v[--l->free.n];
	} else {
		if (!(w = calloc(1, sizeof(*w))))
			return -ENOMEM;
		if (!(v = realloc(l->w, (l->nw + 1) * sizeof(*v)))) {
			free(w);
			return -ENOMEM;
		}
		l->w = v;
		l->w[l->nw++] = w;
		w->fd = -1;
	}
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		int e = -errno;

		wvec_push(&l->free, w); /* on failure the slot is only not reused */
		return e;
	}
	*w = (struct watch){.fd = fd, .fn = fn, .ctx = ctx};
	l->byfd[fd] = w;
	return 0;
}

int sp_loop_mod_fd(struct sp_loop *l, int fd, uint32_t events)
{
	struct watch *w = find(l, fd);
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (!w)
		return -ENOENT;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == -1 ? -errno : 0;
}

void sp_loop_del_fd(struct sp_loop *l, int fd)
{
	struct watch *w = find(l, fd);

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->byfd[fd] = NULL;
	w->fd = -2; /* a pending event for it this round is skipped */
	if (wvec_push(&l->removed, w))
		w->fd = -3; /* out of memory: the slot is leaked to the loop, never reused */
}

uint64_t sp_loop_add_timer(struct sp_loop *l, double after, sp_loop_timer_fn fn, void *ctx)
{
	if (l->nt == l->capt) {
		size_t cap = l->capt ? l->capt * 2 : 8;
		struct timer *v = realloc(l->t, cap * sizeof(*v));

		if (!v)
			return 0;
		l->t = v;
		l->capt = cap;
	}
	l->t[l->nt++] =
	    (struct timer){.id = ++l->next_id, .at = sp_now_mono() + after, .fn = fn, .ctx = ctx};
	return l->next_id;
}

void sp_loop_cancel_timer(struct sp_loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->nt; i++) {
		if (l->t[i].id == id) {
			l->t[i] = l->t[--l->nt];
			return;
		}
	}
}

/* Run the timers due at @now, one at a time: a callback may add or cancel. */
static void run_timers(struct sp_loop *l, double now)
{
	for (size_t i = 0; i < l->nt;) {
		struct timer t = l->t[i];

		if (t.at > now) {
			i++;
			continue;
		}
		l->t[i] = l->t[--l->nt];
		t.fn(t.ctx);
		i = 0; /* the array may have changed under us */
	}
}

int sp_loop_run_once(struct sp_loop *l, double max_wait)
{
	struct epoll_event evs[32];
	double now = sp_now_mono(), wait = max_wait;
	int n;

	for (size_t i = 0; i < l->nt; i++)
		wait = fmin(wait, l->t[i].at - now);
	wait = fmax(wait, 0);
	n = epoll_wait(l->epfd, evs, 32, (int)ceil(wait * 1000));
	if (n == -1)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;

		if (w->fd >= 0)
			w->fn(w->ctx, w->fd, evs[i].events);
	}
	for (size_t i = 0; i < l->removed.n; i++) {
		l->removed.v[i]->fd = -1;
		if (wvec_push(&l->free, l->removed.v[i]))
			l->removed.v[i]->fd = -3; /* not reused; freed with the loop */
	}
	l->removed.n = 0;
	run_timers(l, sp_now_mono());
	return 0;
}

static int hook_add_fd(void *loop, int fd, uint32_t events, sp_loop_fd_fn fn, void *ctx)
{
	return sp_loop_add_fd(loop, fd, events, fn, ctx);
}

static int hook_mod_fd(void *loop, int fd, uint32_t events)
{
	return sp_loop_mod_fd(loop, fd, events);
}

static void hook_del_fd(void *loop, int fd)
{
	sp_loop_del_fd(loop, fd);
}

static uint64_t hook_add_timer(void *loop, double after, sp_loop_timer_fn fn, void *ctx)
{
	return sp_loop_add_timer(loop, after, fn, ctx);
}

static void hook_cancel_timer(void *loop, uint64_t id)
{
	sp_loop_cancel_timer(loop, id);
}

void sp_loop_hooks_init(struct sp_loop_hooks *h, struct sp_loop *l)
{
	*h = (struct sp_loop_hooks){
	    .loop = l,
	    .add_fd = hook_add_fd,
	    .mod_fd = hook_mod_fd,
	    .del_fd = hook_del_fd,
	    .add_timer = hook_add_timer,
	    .cancel_timer = hook_cancel_timer,
	};
}
