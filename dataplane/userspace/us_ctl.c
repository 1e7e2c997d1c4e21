/* us_ctl.c - the control socket: bound by the agent beside its state file,
 * asked by svcplanectl from an autobound address, one datagram each way. */
#include "us_ctl.h"
#include "us_state.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define QUERIES_PER_EVENT 16

static int sock_addr(struct sockaddr_un *sa)
{
	char p[256];
	int e;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((e = us_state_path(p, sizeof(p), ".sock")))
		return e;
	if (strlen(p) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, p, strlen(p) + 1);
	return 0;
}

/* Answer the queued queries (a bounded number per event: the loop serves
 * traffic first). A query too long, or from an unnamed socket (nowhere to
 * answer), is dropped; so is an answer the asker's queue cannot take. */
static void on_query(void *ctx, int fd, uint32_t events)
{
	struct us_ctl *c = ctx;
	char *q = malloc(c->max_query + 1);

	(void)events;
	for (int i = 0; q && i < QUERIES_PER_EVENT; i++) {
		struct sockaddr_un peer;
		socklen_t plen = sizeof(peer);
		ssize_t n =
		    recvfrom(fd, q, c->max_query + 1, MSG_TRUNC, (struct sockaddr *)&peer, &plen);
		char *a;

		if (n == -1) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: all answered */
		}
		if ((size_t)n > c->max_query || plen <= sizeof(sa_family_t))
			continue;
		if (!(a = c->fn(c->ctx, q, (size_t)n)))
			continue;
		sendto(fd, a, strlen(a), MSG_DONTWAIT, (struct sockaddr *)&peer, plen);
		free(a);
	}
	free(q);
}

int us_ctl_open(struct us_ctl *c, const struct sp_loop_hooks *loop, size_t max_query, us_ctl_fn fn,
		void *ctx)
{
	struct sockaddr_un sa;
	mode_t mask;
	int e;

	*c = (struct us_ctl){.fd = -1, .loop = loop, .fn = fn, .ctx = ctx, .max_query = max_query};
	if ((e = sock_addr(&sa)))
		return e;
	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -errno;
	/* One left by an agent that is gone (the caller holds the lock now). */
	if (unlink(sa.sun_path) == -1 && errno != ENOENT) {
		e = -errno;
		goto err_close;
	}
	/* Created 0600 (umask for the bind alone), never wider for a moment. */
	mask = umask(0177);
	e = bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ? -errno : 0;
	umask(mask);
	if (e || chmod(sa.sun_path, 0600) == -1) {
		e = e ? e : -errno;
		goto err_unlink;
	}
	if ((e = loop->add_fd(loop->loop, c->fd, EPOLLIN, on_query, c)))
		goto err_unlink;
	return 0;

err_unlink:
	unlink(sa.sun_path);
err_close:
	close(c->fd);
	c->fd = -1;
	return e;
}

void us_ctl_close(struct us_ctl *c)
{
	struct sockaddr_un sa;

	if (c->fd < 0)
		return;
	c->loop->del_fd(c->loop->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (!sock_addr(&sa))
		unlink(sa.sun_path);
}

int us_ctl_ask(const char *query, size_t qlen, size_t max, double timeout, char **out, size_t *len)
{
	struct sockaddr_un sa;
	sa_family_t autobind = AF_UNIX;
	struct pollfd pfd;
	char *buf = NULL;
	ssize_t n;
	int fd, e;

	if ((e = sock_addr(&sa)))
		return e;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	/* An abstract name of our own for the answer to come back to. */
	if (bind(fd, (struct sockaddr *)&autobind, sizeof(autobind)) == -1 ||
	    sendto(fd, query, qlen, 0, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = -errno;
		goto out;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	do
		n = poll(&pfd, 1, (int)(timeout * 1000));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		e = n ? -errno : -ETIMEDOUT;
		goto out;
	}
	if (!(buf = malloc(max + 1))) {
		e = -ENOMEM;
		goto out;
	}
	n = recv(fd, buf, max + 1, MSG_TRUNC);
	if (n == -1 || (size_t)n > max) {
		e = n == -1 ? -errno : -EMSGSIZE;
		free(buf);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	e = 0;
out:
	close(fd);
	return e;
}
