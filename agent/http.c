/* http.c - libmicrohttpd servers in external-epoll mode: one thread, the agent's. */
#include "http.h"
#include "../common/addr.h"
#include "../common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct sp_http {
	struct MHD_Daemon *d;
	sp_http_handler fn;
	void *ctx;
	const struct sp_log *log;
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sp_http *h = cls;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	sp_log_warn(h->log, "http: %s", msg);
}

struct sp_http *sp_http_new(const char *bind, sp_http_handler fn, void *ctx,
			    const struct sp_log *lg)
{
	struct sockaddr_storage ss;
	unsigned len;
	struct sp_http *h;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (sp_http_parse_bind(bind, &ss, &len)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fn = fn;
	h->ctx = ctx;
	h->log = lg;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_END);
	if (!h->d) {
		free(h);
		errno = EADDRINUSE;	/* MHD does not say why; binding is the usual cause */
		return NULL;
	}
	return h;
}

void sp_http_free(struct sp_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

int sp_http_fd(const struct sp_http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void sp_http_run(struct sp_http *h)
{
	MHD_run(h->d);
}
