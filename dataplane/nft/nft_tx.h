/* nft_tx.h - one nf_tables transaction: messages appended to a batch, each with
 * its own family (a batch may mix "ip" and "ip6": the kernel applies the
 * whole batch or none of it), sequence number, NLM_F_ACK and a note of the
 * object it concerns; sent with one sendmsg; every ACK drained; each kernel
 * error (with its extended-ack text) logged against its object. */
#ifndef SP_DATAPLANE_NFT_TX_H
#define SP_DATAPLANE_NFT_TX_H

#include <stdint.h>
#include <stddef.h>

struct mnl_socket;
struct nlmsghdr;
struct nftnl_batch;
struct sp_hmap;
struct sp_log;

struct nft_tx {
	struct mnl_socket *nl;		/* borrowed */
	const struct sp_log *log;	/* borrowed */
	struct nftnl_batch *batch;
	uint32_t first_seq;		/* seq of the first object message */
	uint32_t next_seq;
	char **what;			/* [seq - first_seq]: "set service-ips element ..." */
	size_t nwhat, cap;
	size_t msgs;			/* object messages appended */
	int oom;			/* a note could not be recorded */
	const char *table;		/* named in error lines; NULL: svcplane's own */
};

/* Open a socket for nf_tables with large buffers and extended acks. NULL + errno. */
struct mnl_socket *nft_socket_open(void);
/* Does table @name of @family exist? 1 yes, 0 no, -errno when the kernel
 * would not say (EPERM without CAP_NET_ADMIN). */
int nft_table_exists(struct mnl_socket *nl, int family, const char *name);

/* Names of the chains (@type NFT_MSG_GETCHAIN) or sets (NFT_MSG_GETSET) in
 * table @table of @family now, as keys of a new map; empty when there is no
 * such table. NULL + errno on failure. */
struct sp_hmap *nft_list_names(struct mnl_socket *nl, int family, const char *table, uint16_t type);

/* Start a transaction. Returns 0 or -ENOMEM. */
int nft_tx_begin(struct nft_tx *tx, struct mnl_socket *nl, const struct sp_log *lg);

/* Append the header of one message of @family (NFPROTO_IPV4 or _IPV6; type
 * NFT_MSG_*, flags besides NLM_F_ACK and NLM_F_REQUEST). @what names the
 * object for error lines ("chain services", "service ns/name:port"); the
 * family is added to it. Returns the header to fill, then call nft_tx_next. */
struct nlmsghdr *nft_tx_msg(struct nft_tx *tx, int family, uint16_t type, uint16_t flags,
			    const char *what);
/* Close the message just filled (moves the batch to its next slot). */
void nft_tx_next(struct nft_tx *tx);

/* Send everything as one batch (all or nothing in the kernel) and drain every
 * ACK. Returns 0, or the first error as -errno after logging each failed
 * message against its object. The transaction is finished either way. */
int nft_tx_commit(struct nft_tx *tx);

/* Drop an uncommitted transaction. */
void nft_tx_abort(struct nft_tx *tx);

#endif
