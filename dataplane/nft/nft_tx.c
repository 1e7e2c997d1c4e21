/* nft_tx.c - nf_tables batches over libmnl, with per-message error mapping. */
#include "nft_tx.h"
#include "nft_layout.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#define PAGE_BYTES (32 * 4096)			/* nft's batch page size */
#define OVERRUN_BYTES (65536 + 4096)		/* one message may use up to 64 KiB */
#define SOCK_BUF (64 << 20)

struct mnl_socket *nft_socket_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int one = 1, buf = SOCK_BUF;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	/* Large buffers: a full sync is one sendmsg of many pages, and every
	 * message's ACK must fit in the receive queue. FORCE needs CAP_NET_ADMIN,
	 * which the agent has; the plain option is the fallback. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

int nft_tx_begin(struct nft_tx *tx, struct mnl_socket *nl, const struct sp_log *lg)
{
	uint32_t seq = (uint32_t)time(NULL) << 8;	/* distinct from an earlier run's */

	memset(tx, 0, sizeof(*tx));
	tx->nl = nl;
	tx->log = lg;
	tx->batch = nftnl_batch_alloc(PAGE_BYTES, OVERRUN_BYTES);
	if (!tx->batch)
		return -ENOMEM;
	nftnl_batch_begin(nftnl_batch_buffer(tx->batch), seq++);
	nftnl_batch_update(tx->batch);
	tx->first_seq = tx->next_seq = seq;
	return 0;
}

static void note(struct nft_tx *tx, const char *what)
{
	if (tx->nwhat == tx->cap) {
		size_t cap = tx->cap ? tx->cap * 2 : 256;
		char **v = realloc(tx->what, cap * sizeof(*v));

		if (!v) {
			tx->oom = 1;
			return;
		}
		tx->what = v;
		tx->cap = cap;
	}
	tx->what[tx->nwhat] = strdup(what);
	if (!tx->what[tx->nwhat])
		tx->oom = 1;
	tx->nwhat++;
}

struct nlmsghdr *nft_tx_msg(struct nft_tx *tx, int family, uint16_t type, uint16_t flags,
			    const char *what)
{
	struct nlmsghdr *nlh;
	char buf[512];

	/* The error line names the table too: "ip6 svcplane: create set …". */
	snprintf(buf, sizeof(buf), "%s %s: %s", family == NFPROTO_IPV6 ? "ip6" : "ip",
		 tx->table ? tx->table : SP_NFT_TABLE, what);
	note(tx, buf);
	nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(tx->batch), type, (uint16_t)family,
				    flags | NLM_F_ACK, tx->next_seq++);
	tx->msgs++;
	return nlh;
}

void nft_tx_next(struct nft_tx *tx)
{
	nftnl_batch_update(tx->batch);
}

static void free_notes(struct nft_tx *tx)
{
	for (size_t i = 0; i < tx->nwhat; i++)
		free(tx->what[i]);
	free(tx->what);
	tx->what = NULL;
	tx->nwhat = tx->cap = 0;
}

void nft_tx_abort(struct nft_tx *tx)
{
	if (tx->batch)
		nftnl_batch_free(tx->batch);
	tx->batch = NULL;
	free_notes(tx);
}

/* The extended-ack text of an error message, or "". */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const void *payload;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	payload = (const char *)err + off;
	mnl_attr_for_each_payload(payload, mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
			return mnl_attr_get_str(attr);
	}
	return "";
}

int nft_tx_commit(struct nft_tx *tx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4] __attribute__((aligned(8)));
	struct msghdr msg = {0};
	struct iovec *iov;
	int niov, fd = mnl_socket_get_fd(tx->nl), first_err = 0;
	size_t acked = 0;
	ssize_t n;

	nftnl_batch_end(nftnl_batch_buffer(tx->batch), tx->next_seq++);
	nftnl_batch_update(tx->batch);
	niov = nftnl_batch_iovec_len(tx->batch);
	iov = calloc((size_t)niov, sizeof(*iov));
	if (!iov || tx->oom) {
		free(iov);
		nft_tx_abort(tx);
		return -ENOMEM;
	}
	nftnl_batch_iovec(tx->batch, iov, (uint32_t)niov);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)niov;
	msg.msg_name = &(struct sockaddr_nl){ .nl_family = AF_NETLINK };
	msg.msg_namelen = sizeof(struct sockaddr_nl);
	n = sendmsg(fd, &msg, 0);
	free(iov);
	if (n == -1) {
		first_err = -errno;
		sp_log_err(tx->log, "nftables: sending the batch (%zu messages): %s", tx->msgs,
			   strerror(errno));
		nft_tx_abort(tx);
		return first_err;
	}
	/* The kernel runs the whole batch inside sendmsg: every ACK is queued now. */
	while (acked < tx->msgs) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && !first_err)
				first_err = -errno;
			break;
		}
		int left = (int)n;

		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *err;
			uint32_t i;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			acked++;
			err = mnl_nlmsg_get_payload(nlh);
			if (!err->error)
				continue;
			i = nlh->nlmsg_seq - tx->first_seq;
			sp_log_err(tx->log, "nftables: %s: %s%s%s",
				   i < tx->nwhat ? tx->what[i] : "(batch)", strerror(-err->error),
				   *extack_msg(nlh) ? ": " : "", extack_msg(nlh));
			if (!first_err)
				first_err = err->error;
		}
	}
	nft_tx_abort(tx);
	return first_err;
}

int nft_table_exists(struct mnl_socket *nl, int family, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)family, NLM_F_ACK, seq);
	ssize_t n;
	int ret;

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, name);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL);
		if (ret == -1)
			return errno == ENOENT ? 0 : -errno;
		if (ret <= MNL_CB_STOP)
			return 1;
	}
	return n < 0 ? -errno : -EIO;
}

struct names {
	struct sp_hmap *map;
	const char *table;
	uint16_t name_attr;	/* NFTA_CHAIN_NAME or NFTA_SET_NAME (both after _TABLE) */
	int err;
};

_Static_assert((int)NFTA_SET_TABLE == (int)NFTA_CHAIN_TABLE &&
		       (int)NFTA_SET_NAME < (int)NFTA_CHAIN_NAME,
	       "chain and set dumps share the table attribute");

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t <= NFTA_CHAIN_NAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		tb[t] = a;
	return MNL_CB_OK;
}

/* One chain or set of the dump: its table and name attributes are read
 * directly (libnftnl's parsers exit the process on an attribute they find
 * malformed; a listing must not). */
static int cb_name(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_NAME + 1] = {0};
	struct names *n = data;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		n->err = -EINVAL;
	else if (tb[NFTA_CHAIN_TABLE] && tb[n->name_attr] &&
		 !strcmp(mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]), n->table) &&
		 sp_hmap_put(n->map, mnl_attr_get_str(tb[n->name_attr]), (void *)1, NULL))
		n->err = -ENOMEM;
	return MNL_CB_OK;
}

struct sp_hmap *nft_list_names(struct mnl_socket *nl, int family, const char *table, uint16_t type)
{
	/* A dump's messages come in buffers of up to 32 KiB once this socket
	 * has received that much (the kernel sizes them by the largest read):
	 * a smaller buffer truncates one, and what follows it would answer the
	 * next request. */
	char buf[MNL_SOCKET_BUFFER_SIZE * 4] __attribute__((aligned(8)));
	struct names n = { sp_hmap_new(), table,
			   type == NFT_MSG_GETCHAIN ? NFTA_CHAIN_NAME : NFTA_SET_NAME, 0 };
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh;
	ssize_t got;
	int ret = MNL_CB_OK;

	if (!n.map)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, NLM_F_DUMP, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		n.err = -errno;
		goto out;
	}
	while (ret > MNL_CB_STOP) {
		got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (got <= 0) {
			n.err = got < 0 ? -errno : -EIO;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)got, seq, mnl_socket_get_portid(nl), cb_name, &n);
	}
	/* No table of this family (ENOENT): no names. */
	if (ret == MNL_CB_ERROR && errno != ENOENT)
		n.err = -errno;
out:
	if (n.err) {
		sp_hmap_free(n.map);
		errno = -n.err;
		return NULL;
	}
	return n.map;
}
