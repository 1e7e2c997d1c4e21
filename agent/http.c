/* http.c - libmicrohttpd servers in external-epoll mode: one thread, the agent's.
 * The listening socket is ours: we accept, apply the limits of http_conns.h
 * and hand each socket to libmicrohttpd (MHD_add_connection), which does all
 * of HTTP. Its connection notifications keep the table in step; a connection
 * to be closed is shut down, and libmicrohttpd drops it on the next read. */
#define _GNU_SOURCE
#include "http.h"
#include "http_conns.h"
#include "../common/addr.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define MAX_CONNS 4096		/* well above a node's probes plus a flood */
#define PER_CLIENT 32		/* connections one address may hold */
#define HEAD_DEADLINE 5.0	/* seconds to send a whole request head */
#define ACCEPT_BATCH 256	/* accepts per round, so one flood cannot hold the loop */
#define LOG_INTERVAL 10.0	/* one line per kind of warning per this many seconds */
#define LOG_KINDS 8

struct sp_http {
	struct MHD_Daemon *d;
	int lfd, epfd;		/* our listening socket; epoll over it and MHD's */
	struct sp_conns conns;
	struct sp_conn *adding;	/* the connection MHD_add_connection is taking */
	sp_http_handler fn;
	void *ctx;
	const struct sp_log *log;
	char bind[64];
	struct {
		const char *fmt;	/* libmicrohttpd's format string: the kind */
		struct sp_ratelimit rl;
	} kinds[LOG_KINDS];
	struct sp_ratelimit refused_rl;
};

int sp_http_parse_bind(const char *bind, void *ss, unsigned *len)
{
	char host[64];
	const char *colon;
	struct sp_addr a;
	char *end;
	long port;

	if (bind[0] == '[') {
		const char *close = strchr(bind, ']');

		if (!close || close[1] != ':' || (size_t)(close - bind - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(close - bind - 1), bind + 1);
		colon = close + 1;
	} else {
		colon = strrchr(bind, ':');
		if (!colon || (size_t)(colon - bind) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - bind), bind);
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535 || sp_addr_parse(host, &a))
		return -EINVAL;
	memset(ss, 0, sizeof(struct sockaddr_storage));
	if (a.family == AF_INET) {
		struct sockaddr_in *s4 = ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr = a.v4;
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = a.v6;
		*len = sizeof(*s6);
	}
	return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct sp_http *h = cls;
	struct sp_http_reply r = { .code = 200, .ctype = "text/plain; charset=utf-8" };
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int e;

	(void)version;
	(void)upload;
	(void)url;
	if (!*con_cls) {
		/* First call: headers only. Answer on the second. */
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;	/* GET-only servers: ignore a body */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		r.code = 405;
		r.body = strdup("method not allowed\n");
	} else if ((e = h->fn(h->ctx, url, &r))) {
		free(r.body);
		r.code = 500;
		r.body = strdup("internal error\n");
		sp_log_err(h->log, "http: %s: %s", url, strerror(-e));
	}
	if (!r.body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(r.body), r.body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r.body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r.ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r.header_name[0])
		MHD_add_response_header(resp, r.header_name, r.header_value);
	ret = MHD_queue_response(conn, (unsigned)r.code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* libmicrohttpd's warnings, one line per kind (its format string) per
 * LOG_INTERVAL: malformed requests from a flood must not flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sp_http *h = cls;
	struct sp_ratelimit *rl = NULL;
	unsigned long skipped = 0;
	char msg[512];

	for (int i = 0; i < LOG_KINDS && !rl; i++) {
		if (!h->kinds[i].fmt) {
			h->kinds[i].fmt = fmt;
			h->kinds[i].rl.interval = LOG_INTERVAL;
		}
		if (h->kinds[i].fmt == fmt)
			rl = &h->kinds[i].rl;
	}
	if (!rl)
		rl = &h->kinds[LOG_KINDS - 1].rl;	/* (more kinds than slots: they share) */
	if (!sp_ratelimit_pass(rl, sp_now_mono(), &skipped))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (skipped)
		sp_log_warn(h->log, "http %s: %s (and %lu more like it in %.0f s)", h->bind, msg, skipped,
			    LOG_INTERVAL);
	else
		sp_log_warn(h->log, "http %s: %s", h->bind, msg);
}

/* Close @c: shut it down; libmicrohttpd reads the end and drops it. */
static void close_conn(struct sp_http *h, struct sp_conn *c)
{
	sp_conns_closing(&h->conns, c);
	shutdown(c->fd, SHUT_RDWR);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct sp_http *h = cls;

	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = h->adding;	/* (called from inside MHD_add_connection) */
		h->adding = NULL;
	} else if (*socket_context) {
		sp_conns_remove(&h->conns, *socket_context);
		*socket_context = NULL;
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct sp_http *h = cls;
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)con_cls;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && i && i->socket_context)
		sp_conns_answered(&h->conns, i->socket_context, sp_now_mono());
}

static void client_text(const struct sockaddr_storage *ss, char *out, size_t sz)
{
	const void *a = ss->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, out, (socklen_t)sz))
		snprintf(out, sz, "?");
}

/* Accept what waits, up to ACCEPT_BATCH, each within the limits. */
static void accept_some(struct sp_http *h, double now)
{
	for (int n = 0; n < ACCEPT_BATCH; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char client[48];
		unsigned long skipped = 0;
		struct sp_conn *c, *victim;
		int fd = accept4(h->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: make room rather than spin. */
				if ((victim = h->conns.head) && !victim->closing)
					close_conn(h, victim);
			}
			return;
		}
		client_text(&ss, client, sizeof(client));
		if (!sp_conns_admit(&h->conns, client)) {
			close(fd);
			if (sp_ratelimit_pass(&h->refused_rl, now, &skipped))
				sp_log_warn(h->log, "http %s: client %s holds %d connections already: refused (%lu more refusals in %.0f s)",
					    h->bind, client, PER_CLIENT, skipped, LOG_INTERVAL);
			continue;
		}
		if ((victim = sp_conns_victim(&h->conns)))
			close_conn(h, victim);	/* full: the oldest goes */
		if (!(c = sp_conns_add(&h->conns, fd, client, now))) {
			close(fd);
			continue;
		}
		h->adding = c;
		if (MHD_add_connection(h->d, fd, (struct sockaddr *)&ss, sl) != MHD_YES) {
			/* (MHD closed the socket) */
			if (h->adding)
				sp_conns_remove(&h->conns, c);
			h->adding = NULL;
		}
	}
}

/* Our listening socket on @ss. Returns the fd, or -1 with errno. */
static int listen_on(const struct sockaddr_storage *ss, unsigned len)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 1024)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct sp_http *sp_http_new(const char *bind, sp_http_handler fn, void *ctx,
			    const struct sp_log *lg)
{
	struct sockaddr_storage ss;
	unsigned len;
	struct sp_http *h;
	const union MHD_DaemonInfo *i;
	struct epoll_event ev = { .events = EPOLLIN };
	int e;

	if (sp_http_parse_bind(bind, &ss, &len)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->lfd = h->epfd = -1;
	h->fn = fn;
	h->ctx = ctx;
	h->log = lg;
	h->refused_rl.interval = LOG_INTERVAL;
	snprintf(h->bind, sizeof(h->bind), "%s", bind);
	if (sp_conns_init(&h->conns, MAX_CONNS, PER_CLIENT, HEAD_DEADLINE)) {
		e = ENOMEM;
		goto err_free;
	}
	if ((h->lfd = listen_on(&ss, len)) == -1) {
		e = errno;
		goto err_free;
	}
	/* (MHD's own limit sits above ours: a closing connection still counts
	 * until MHD drops it, and the timeout is a backstop to our deadline.) */
	h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0, NULL,
				NULL, answer, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)(MAX_CONNS + ACCEPT_BATCH),
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
				MHD_OPTION_END);
	i = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!i || h->epfd == -1) {
		e = h->epfd == -1 ? errno : ENOMEM;
		goto err_free;
	}
	ev.data.fd = h->lfd;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev)) {
		e = errno;
		goto err_free;
	}
	ev.data.fd = i->epoll_fd;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, i->epoll_fd, &ev)) {
		e = errno;
		goto err_free;
	}
	return h;

err_free:
	sp_http_free(h);
	errno = e;
	return NULL;
}

void sp_http_free(struct sp_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);	/* (closes its connections: the table empties) */
	sp_conns_fini(&h->conns);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

int sp_http_fd(const struct sp_http *h)
{
	return h->epfd;
}

void sp_http_run(struct sp_http *h)
{
	double now = sp_now_mono();
	struct sp_conn *c;

	accept_some(h, now);
	MHD_run(h->d);
	while ((c = sp_conns_expired(&h->conns, now)))
		close_conn(h, c);
}
