/* http_conns.h - the HTTP servers' connection table: who holds how many
 * connections, since when, and which to close. Bookkeeping only (no sockets):
 * http.c accepts, hands the sockets to libmicrohttpd and closes what this
 * table names. The limits, which libmicrohttpd 0.9 lacks or applies too late:
 *   - a client (one address) holds at most per_client connections;
 *   - every connection must send a whole request head within deadline
 *     seconds of being accepted or answered (slowloris, idle keep-alive);
 *   - at max connections the oldest idle one is closed for a new one. */
#ifndef SP_AGENT_HTTP_CONNS_H
#define SP_AGENT_HTTP_CONNS_H

#include <stdbool.h>
#include <stddef.h>

struct sp_conn {
	int fd;
	char client[48];	/* the peer's address, as text */
	double since;		/* accepted, or last answered (monotonic) */
	bool closing;		/* shut down; waiting for the server to drop it */
	struct sp_conn *prev, *next;	/* oldest first */
};

struct sp_conns {
	size_t max, per_client;
	double deadline;
	size_t n;
	struct sp_conn *head, *tail;
	struct sp_hmap *clients;	/* client → (uintptr_t) connections it holds */
};

/* Returns 0 or -ENOMEM. */
int sp_conns_init(struct sp_conns *t, size_t max, size_t per_client, double deadline);
/* Frees the records; the sockets are the server's. */
void sp_conns_fini(struct sp_conns *t);

/* May @client open one more? False when it holds per_client already. */
bool sp_conns_admit(const struct sp_conns *t, const char *client);
/* When the table is full: the oldest connection not closing yet, to close for
 * a new one (mark it with sp_conns_closing); else NULL. */
struct sp_conn *sp_conns_victim(const struct sp_conns *t);
/* Record a new connection. NULL + errno ENOMEM. */
struct sp_conn *sp_conns_add(struct sp_conns *t, int fd, const char *client, double now);
/* A request was answered on @c: its deadline starts again. */
void sp_conns_answered(struct sp_conns *t, struct sp_conn *c, double now);
void sp_conns_closing(struct sp_conns *t, struct sp_conn *c);
/* The server dropped @c: forget and free it. */
void sp_conns_remove(struct sp_conns *t, struct sp_conn *c);
/* The oldest connection past its deadline and not closing yet, or NULL. */
struct sp_conn *sp_conns_expired(const struct sp_conns *t, double now);

#endif
