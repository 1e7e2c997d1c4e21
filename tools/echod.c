/* echod.c - svcplanectl echod: answers on TCP and UDP, IPv4 and IPv6, with
 * "<name> <peer-ip>:<peer-port>\n": over HTTP when the client speaks HTTP
 * (curl, wrk), as a plain line otherwise (nc, socat). Tests read which pod
 * answered and which source address it saw. */
#define _GNU_SOURCE
#include "echod.h"
#include "../common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
#define MAX_CONNS 4096
#define PLAIN_WAIT_MS 150	/* a client that says nothing this long gets a plain line */

enum kind { K_TCP_LISTEN, K_UDP, K_CONN };

struct conn {
	enum kind kind;
	int fd;
	char peer[80];
	double since;
	char req[1024];
	size_t len;
};

static double now_ms(void)
{
	return sp_now_mono() * 1e3;
}

static void peer_text(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(buf, sz, "%s:%u", ip, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(buf, sz, "[%s]:%u", ip, ntohs(s6->sin6_port));
		}
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, sz, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

static int listen_on(int type, unsigned port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, on = 1;

	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 1024) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool is_http(const struct conn *c)
{
	return !strncmp(c->req, "GET ", 4) || !strncmp(c->req, "HEAD ", 5) ||
	       !strncmp(c->req, "POST ", 5) || !strncmp(c->req, "PUT ", 4);
}

static bool request_complete(const struct conn *c)
{
	if (is_http(c))
		return strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL;
	return strchr(c->req, '\n') != NULL;
}

static void reply_tcp(struct conn *c, const char *name)
{
	char body[256], out[512];
	int n;
	bool http = is_http(c);

	snprintf(body, sizeof(body), "%s %s\n", name, c->peer);
	if (http)
		n = snprintf(out, sizeof(out),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s", strlen(body), body);
	else
		n = snprintf(out, sizeof(out), "%s", body);
	if (write(c->fd, out, (size_t)n) < 0) {
		/* the client left; nothing to do */
	}
}

static void close_conn(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	shutdown(c->fd, SHUT_WR);
	close(c->fd);
	free(c);
}

int cmd_echod(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "echod";
	unsigned ports[MAX_PORTS];
	int nports = 0, opt, ep, ready_fd = -1;
	struct conn *pending[MAX_CONNS];
	int npending = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			printf("usage: svcplanectl echod [--name NAME] [--port PORT]... [--ready-fd FD]\n"
			       "  a TCP and UDP echo server on each PORT (default 8080), both families: answers\n"
			       "  \"NAME PEER-ADDRESS\" (over HTTP when spoken to in HTTP); --ready-fd FD is\n"
			       "  closed once every socket listens\n");
			return 0;
		} else if (opt == 'n') {
			name = optarg;
		} else if (opt == 'r') {
			ready_fd = atoi(optarg);
		} else if (opt == 'p' && nports < MAX_PORTS) {
			ports[nports++] = (unsigned)strtoul(optarg, NULL, 10);
		} else {
			fprintf(stderr, "usage: svcplanectl echod --name NAME --port PORT [--port PORT]\n");
			return 2;
		}
	}
	if (!nports)
		ports[nports++] = 8080;
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < nports; i++) {
		for (int t = 0; t < 2; t++) {
			struct conn *c = calloc(1, sizeof(*c));
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

			c->kind = t ? K_UDP : K_TCP_LISTEN;
			c->fd = listen_on(t ? SOCK_DGRAM : SOCK_STREAM, ports[i]);
			if (c->fd == -1) {
				fprintf(stderr, "echod %s: port %u/%s: %s\n", name, ports[i],
					t ? "udp" : "tcp", strerror(errno));
				return 1;
			}
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		}
	}
	/* Tell whoever started us (svcplanectl rig up) that every port is bound. */
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			return 1;
		close(ready_fd);
	}
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, npending ? 20 : -1);
		double t = now_ms();

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);

			if (c->kind == K_UDP) {
				char buf[2048], out[256];
				ssize_t r = recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
				char peer[80];

				if (r < 0)
					continue;
				peer_text(&ss, peer, sizeof(peer));
				snprintf(out, sizeof(out), "%s %s\n", name, peer);
				sendto(c->fd, out, strlen(out), 0, (struct sockaddr *)&ss, sl);
			} else if (c->kind == K_TCP_LISTEN) {
				int fd;

				while ((fd = accept4(c->fd, (struct sockaddr *)&ss, &sl,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *nc = calloc(1, sizeof(*nc));
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc };

					nc->kind = K_CONN;
					nc->fd = fd;
					nc->since = t;
					peer_text(&ss, nc->peer, sizeof(nc->peer));
					if (npending == MAX_CONNS) {
						close(fd);
						free(nc);
						continue;
					}
					pending[npending++] = nc;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					sl = sizeof(ss);
				}
			} else {
				ssize_t r = read(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len);

				if (r > 0)
					c->len += (size_t)r;
				c->req[c->len] = '\0';
				/* Answer once the HTTP request head, or a line, is in: all
				 * of it read, so closing sends FIN, not RST. */
				if (r <= 0 || request_complete(c) || c->len == sizeof(c->req) - 1) {
					reply_tcp(c, name);
					for (int j = 0; j < npending; j++)
						if (pending[j] == c)
							pending[j] = pending[--npending];
					close_conn(ep, c);
				}
			}
		}
		/* Clients that send nothing (nc -z style, or a plain connect) get the line. */
		for (int j = 0; j < npending;) {
			struct conn *c = pending[j];

			if (t - c->since >= PLAIN_WAIT_MS && c->len == 0) {
				reply_tcp(c, name);
				pending[j] = pending[--npending];
				close_conn(ep, c);
			} else {
				j++;
			}
		}
	}
}
