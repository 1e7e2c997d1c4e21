/* kube_transfer.h - the API source's HTTP transfers (libcurl): one multi
 * handle driven from an epoll fd that also holds a timerfd, so the agent's
 * loop polls a single descriptor; a fixed set of slots, each with at most one
 * request in flight and a retry time; response bodies decoded here (gzip or
 * none) and read in bounded turns. What the bytes mean is the owner's
 * (source_kube.c: lists and watches). */
#ifndef SP_CONTROL_KUBE_TRANSFER_H
#define SP_CONTROL_KUBE_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct sp_kube_conn;
struct sp_kube_transfers;	/* opaque: the multi handle, its descriptors, the slots */
struct sp_kube_slot;		/* opaque: one request at a time */

/* One request of a slot. */
struct sp_kube_request {
	const char *url;
	const char *token;	/* bearer token, or NULL */
	long timeout;		/* seconds for the whole transfer; 0: none */
	long stall_after;	/* seconds without a byte that end it; 0: none */
};

/* How a transfer ended, for ops->done. The strings are valid until the
 * slot's next request starts. */
struct sp_kube_response {
	CURLcode rc;		/* curl's result; CURLE_WRITE_ERROR when ops->body refused */
	long code;		/* HTTP status; 0 when none came */
	const char *encoding;	/* an encoding refused before the body ("" when none was) */
	bool gzip_failed;	/* the body was not gzip after all, or corrupt */
	const char *gzip_error;	/* then what was wrong (zlib's message); "" otherwise */
	bool gzip_cut;		/* a gzip body that did not end with its member's CRC
				 * and length (unchecked: what it held is not trusted) */
};

/* What a slot's owner is told; @ctx is the one given to sp_kube_transfers_slot. */
struct sp_kube_transfer_ops {
	/* Body bytes of a response with HTTP status @code, decoded, a piece at a
	 * time. Non-zero ends the transfer (its rc: CURLE_WRITE_ERROR). */
	int (*body)(void *ctx, long code, const char *p, size_t n);
	/* The slot's transfer has ended; its handle is gone, so this may start
	 * the slot's next request. */
	void (*done)(void *ctx, const struct sp_kube_response *resp);
	/* The time set by sp_kube_slot_retry_at has come, with no transfer in
	 * flight: start the next request. */
	void (*retry)(void *ctx);
};

/* @n slots, none bound yet. @conn (the TLS settings) and @ops are borrowed.
 * NULL + errno on failure. */
struct sp_kube_transfers *sp_kube_transfers_new(const struct sp_kube_conn *conn,
						const struct sp_kube_transfer_ops *ops, size_t n);
/* Ends every transfer in flight; no callback is called. */
void sp_kube_transfers_free(struct sp_kube_transfers *xs);
/* Poll this for readability; then call run. */
int sp_kube_transfers_fd(const struct sp_kube_transfers *xs);
/* Slot @i (below n), whose callbacks get @ctx. Transfers paused at a turn's
 * budget go on in slot order, each slot first in turn. */
struct sp_kube_slot *sp_kube_transfers_slot(struct sp_kube_transfers *xs, size_t i, void *ctx);
/* Move transfers on for one turn (a bounded amount read: the rest waits for
 * the next), calling body, done and retry as they come. Never blocks. */
void sp_kube_transfers_run(struct sp_kube_transfers *xs);

/* Start @x's next request (@x has none in flight). Returns 0, -ENOMEM (it
 * could not be set up), -EINVAL (this libcurl cannot take the connection's
 * certificates) or -EIO (it could not be started); then nothing is in
 * flight and done is not called. */
int sp_kube_slot_start(struct sp_kube_slot *x, const struct sp_kube_request *req);
/* Call retry for @x at @at (monotonic seconds), or at the first turn after
 * it with no transfer in flight. */
void sp_kube_slot_retry_at(struct sp_kube_slot *x, double at);

#endif
