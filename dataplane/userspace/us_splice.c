/* us_splice.c - TCP's mover: bytes cross with splice() through a pipe taken
 * from a small pool only while they are in flight, so an idle connection
 * holds no pipe and a slow reader holds at most one (64 KiB) per direction. */
#define _GNU_SOURCE
#include "us_relay.h"
#include "us_fwd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024) /* bytes asked of one splice */

static int pipe_get(struct us_fwd *f, struct us_half *h)
{
	if (h->pipe[0] >= 0)
		return 0;
	if (f->npipes) {
		f->npipes--;
		h->pipe[0] = f->pipes[f->npipes][0];
		h->pipe[1] = f->pipes[f->npipes][1];
	} else if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		h->pipe[0] = h->pipe[1] = -1;
		return -1;
	}
	f->pipes_in_use++;
	return 0;
}

/* Give @h's pipe back: to the pool when empty and the pool has room. */
static void pipe_put(struct us_fwd *f, struct us_half *h)
{
	if (h->pipe[0] < 0)
		return;
	if (!h->held && f->npipes < US_PIPE_POOL) {
		f->pipes[f->npipes][0] = h->pipe[0];
		f->pipes[f->npipes][1] = h->pipe[1];
		f->npipes++;
	} else {
		close(h->pipe[0]);
		close(h->pipe[1]);
	}
	h->pipe[0] = h->pipe[1] = -1;
	h->held = 0;
	f->pipes_in_use--;
}

void us_pipes_fini(struct us_fwd *f)
{
	while (f->npipes) {
		f->npipes--;
		close(f->pipes[f->npipes][0]);
		close(f->pipes[f->npipes][1]);
	}
}

static ssize_t splice_drain(struct us_fwd *f, int dst, struct us_half *h)
{
	ssize_t n = splice(h->pipe[0], NULL, dst, NULL, h->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

	(void)f;
	if (n == 0) { /* a pipe with bytes held never reads 0: the peer is gone */
		errno = EPIPE;
		return -1;
	}
	if (n > 0)
		h->held -= (size_t)n;
	return n;
}

static ssize_t splice_fill(struct us_fwd *f, int src, struct us_half *h)
{
	ssize_t n;

	if (pipe_get(f, h))
		return -1; /* EMFILE/ENFILE: the connection is reset */
	n = splice(src, NULL, h->pipe[1], NULL, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		h->held = (size_t)n;
	return n;
}

static void splice_setup(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

const struct us_mover us_splice_mover = {
    .drain = splice_drain,
    .fill = splice_fill,
    .release = pipe_put,
    .setup = splice_setup,
};
