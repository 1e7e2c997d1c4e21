/* us_sctp.c - SCTP's mover: one-to-one style sockets (SOCK_STREAM,
 * IPPROTO_SCTP) relayed a message at a time, so message boundaries hold,
 * with each message's stream id, payload protocol id and unordered flag
 * carried over in its sctp_sndrcvinfo. A message larger than the buffer
 * crosses in pieces that stay one message on the far side (explicit EOR:
 * MSG_EOR only on the piece that ended it). One buffer per direction and
 * only while a message is in flight. SCTP has no half-close: a peer's
 * SHUTDOWN is passed on as shutdown(SHUT_WR), which ends the association
 * once its queued data is delivered. */
#include "us_relay.h"
#include "us_fwd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sctp.h>

#ifndef SCTP_EXPLICIT_EOR
#define SCTP_EXPLICIT_EOR 127 /* Linux 5.1+; older UAPI headers lack it */
#endif

#define MSG_BUF (64 * 1024) /* bytes of one message (or piece) in flight */
#define STREAMS 64 /* streams offered each way: a stream id above is refused by the kernel */

struct us_msg {
	struct sctp_sndrcvinfo info; /* stream, ppid, flags as received */
	bool eor;		     /* this piece ends its message */
	uint8_t data[MSG_BUF];
};

static ssize_t sctp_drain(struct us_fwd *f, int dst, struct us_half *h)
{
	char cbuf[CMSG_SPACE(sizeof(struct sctp_sndrcvinfo))] = {0};
	struct iovec iov = {h->msg->data, h->held};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct sctp_sndrcvinfo *si = (struct sctp_sndrcvinfo *)CMSG_DATA(cm);
	ssize_t n;

	(void)f;
	cm->cmsg_level = IPPROTO_SCTP;
	cm->cmsg_type = SCTP_SNDRCV;
	cm->cmsg_len = CMSG_LEN(sizeof(*si));
	si->sinfo_stream = h->msg->info.sinfo_stream;
	si->sinfo_ppid = h->msg->info.sinfo_ppid;
	si->sinfo_flags = h->msg->info.sinfo_flags & SCTP_UNORDERED;
	/* SCTP takes a message whole or not at all. */
	n = sendmsg(dst, &mh, MSG_DONTWAIT | MSG_NOSIGNAL | (h->msg->eor ? MSG_EOR : 0));
	if (n >= 0)
		h->held = 0;
	return n;
}

static ssize_t sctp_fill(struct us_fwd *f, int src, struct us_half *h)
{
	char cbuf[CMSG_SPACE(sizeof(struct sctp_sndrcvinfo))];
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	(void)f;
	if (!h->msg && !(h->msg = malloc(sizeof(*h->msg)))) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		iov = (struct iovec){h->msg->data, MSG_BUF};
		mh = (struct msghdr){.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf)};
		n = recvmsg(src, &mh, MSG_DONTWAIT);
		if (n <= 0)
			return n;
		if (!(mh.msg_flags & MSG_NOTIFICATION))
			break; /* none subscribed; never relayed */
	}
	memset(&h->msg->info, 0, sizeof(h->msg->info));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == IPPROTO_SCTP && cm->cmsg_type == SCTP_SNDRCV)
			memcpy(&h->msg->info, CMSG_DATA(cm), sizeof(h->msg->info));
	h->msg->eor = mh.msg_flags & MSG_EOR;
	h->held = (size_t)n;
	return n;
}

static void sctp_release(struct us_fwd *f, struct us_half *h)
{
	(void)f;
	free(h->msg);
	h->msg = NULL;
	h->held = 0;
}

/* Every message comes with its sctp_sndrcvinfo; pieces of a large one are
 * sent open-ended; both ways offer STREAMS streams. Set on listeners (before
 * listen), accepted sockets and upstream sockets (before connect). */
static void sctp_setup(int fd)
{
	struct sctp_event_subscribe ev = {.sctp_data_io_event = 1};
	struct sctp_initmsg im = {.sinit_num_ostreams = STREAMS, .sinit_max_instreams = STREAMS};
	int one = 1;

	setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &ev, sizeof(ev));
	setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im));
	setsockopt(fd, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
}

const struct us_mover us_sctp_mover = {
    .drain = sctp_drain,
    .fill = sctp_fill,
    .release = sctp_release,
    .setup = sctp_setup,
};
