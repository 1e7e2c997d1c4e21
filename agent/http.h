/* http.h - small GET-only HTTP servers (healthz, metrics, health-check node
 * ports) on libmicrohttpd, driven from the agent's epoll loop. */
#ifndef SP_AGENT_HTTP_H
#define SP_AGENT_HTTP_H

struct sp_http;
struct sp_log;

struct sp_http_reply {
	int code;		/* HTTP status */
	char *body;		/* malloc'd; the server frees it */
	const char *ctype;	/* Content-Type */
	char header_name[64];	/* one extra header, or "" */
	char header_value[128];
};

/* Fill @r for a GET of @path. Returns 0, or -errno (the server answers 500). */
typedef int (*sp_http_handler)(void *ctx, const char *path, struct sp_http_reply *r);

/* Listen on @bind ("ip:port" or "[ip6]:port"). NULL + errno on failure. */
struct sp_http *sp_http_new(const char *bind, sp_http_handler fn, void *ctx,
			    const struct sp_log *lg);
void sp_http_free(struct sp_http *h);
/* A descriptor that becomes readable when the server has work (poll it). */
int sp_http_fd(const struct sp_http *h);
/* Do the pending work, without blocking. */
void sp_http_run(struct sp_http *h);
/* Parse "ip:port" or "[ip6]:port" into a socket address. Returns 0 or -EINVAL. */
int sp_http_parse_bind(const char *bind, void *sockaddr_storage, unsigned *len);

#endif
