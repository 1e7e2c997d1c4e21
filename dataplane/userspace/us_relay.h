/* us_relay.h - how bytes cross a relayed connection, one direction at a
 * time: a "mover" fills a direction's holding place from its source socket
 * and drains it into the other socket. TCP moves bytes with splice()
 * through a pipe (us_splice.c), SCTP moves whole messages with their stream
 * ids (us_sctp.c); the connection's life (accept, connect, retries,
 * interest, close) is us_conn.c's and the same for both. */
#ifndef SP_DATAPLANE_US_RELAY_H
#define SP_DATAPLANE_US_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct us_fwd;
struct us_msg;

/* One direction of a connection. Its holding place exists only while it
 * holds bytes (a pipe from the pool, a buffer when no pipe can be had, or
 * one message buffer). */
struct us_half {
	int pipe[2];	    /* TCP: -1 when none */
	uint8_t *buf;	    /* TCP without a pipe to be had: the bytes (malloc), NULL when none */
	size_t off;	    /* of buf: bytes already written */
	struct us_msg *msg; /* SCTP: NULL when none */
	size_t held;	    /* bytes waiting to be written to the other side */
	bool eof;	    /* the reading side ended */
	bool shut;	    /* shutdown(SHUT_WR) passed on to the writing side */
};

struct us_mover {
	/* Write what @h holds to @dst. Returns bytes written (h->held lowered),
	 * or -1 with errno (EAGAIN: @dst is full). */
	ssize_t (*drain)(struct us_fwd *f, int dst, struct us_half *h);
	/* Read from @src into @h (empty). Returns bytes now held, 0 at end of
	 * stream, or -1 with errno (EAGAIN: nothing to read). */
	ssize_t (*fill)(struct us_fwd *f, int src, struct us_half *h);
	/* Give back @h's holding place (empty, or the connection ends). */
	void (*release)(struct us_fwd *f, struct us_half *h);
	/* Socket options @fd needs before it carries a connection. */
	void (*setup)(int fd);
};

extern const struct us_mover us_splice_mover;
extern const struct us_mover us_sctp_mover;

/* Free the idle pipe pool. */
void us_pipes_fini(struct us_fwd *f);
/* Close one idle pipe of the pool (descriptors for something else).
 * Returns false when the pool is empty. */
bool us_pipes_drop_idle(struct us_fwd *f);

#endif
