/* us_splice.c - TCP's mover: bytes cross with splice() through a pipe taken
 * from a small pool only while they are in flight, so an idle connection
 * holds no pipe and a slow reader holds at most one (64 KiB) per direction.
 * When no pipe can be had (no descriptors to spare: us_fwd_pipe_room), that
 * direction moves its bytes through a buffer instead (read and write, at
 * most BUF_CHUNK held): short of descriptors, a connection costs memory,
 * never a reset. */
#define _GNU_SOURCE
#include "us_relay.h"
#include "us_fwd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)     /* bytes asked of one splice */
#define BUF_CHUNK (16 * 1024) /* bytes a direction without a pipe holds at most */

/* A pipe for @h: an idle one from the pool, else a new one while the
 * forwarder has descriptors to spare beside room for new connections.
 * Returns 0, or -1 (none to be had). */
static int pipe_get(struct us_fwd *f, struct us_half *h)
{
	if (h->pipe[0] >= 0)
		return 0;
	if (f->npipes) {
		f->npipes--;
		h->pipe[0] = f->pipes[f->npipes][0];
		h->pipe[1] = f->pipes[f->npipes][1];
	} else if (!us_fwd_pipe_room(f) || pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		h->pipe[0] = h->pipe[1] = -1;
		return -1;
	}
	f->pipes_in_use++;
	return 0;
}

/* Give @h's holding place back: a buffer is freed; a pipe goes to the pool
 * when empty and the pool has room, else it is closed. */
static void pipe_put(struct us_fwd *f, struct us_half *h)
{
	if (h->buf) {
		free(h->buf);
		h->buf = NULL;
		h->held = h->off = 0;
		f->bufs_in_use--;
		return;
	}
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
	us_conn_resume(f); /* descriptors freed, or a pooled pipe to reclaim */
}

bool us_pipes_drop_idle(struct us_fwd *f)
{
	if (!f->npipes)
		return false;
	f->npipes--;
	close(f->pipes[f->npipes][0]);
	close(f->pipes[f->npipes][1]);
	return true;
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
	ssize_t n;

	(void)f;
	if (h->buf) {
		n = send(dst, h->buf + h->off, h->held, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			h->held -= (size_t)n;
			h->off += (size_t)n;
		}
		return n;
	}
	n = splice(h->pipe[0], NULL, dst, NULL, h->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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

	if (!h->buf && pipe_get(f, h)) {
		if (!(h->buf = malloc(BUF_CHUNK)))
			return -1; /* ENOMEM: the connection is reset */
		f->bufs_in_use++;
	}
	if (h->buf) {
		n = recv(src, h->buf, BUF_CHUNK, MSG_DONTWAIT);
		if (n > 0) {
			h->held = (size_t)n;
			h->off = 0;
		}
		return n;
	}
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
