/* kube_transfer.c - the API source's HTTP transfers. All transfers run on one
 * curl multi handle driven from an epoll fd that also holds a timerfd, so the
 * agent's loop polls a single descriptor; the timerfd also wakes the slots'
 * retries. One call of run reads a bounded amount (TURN_BYTES or
 * TURN_SECONDS): then the transfer is paused and goes on at the loop's next
 * turn, so a gzip bomb never holds the thread; gzip is decoded here
 * (gunzip.c), not by curl, which would go on decoding a paused transfer into
 * its own buffer. Also owned here: each request's curl handle (headers, HTTP
 * version, timeouts, TLS from the kubeconfig). What the bodies mean is the
 * owner's (source_kube.c). */
#define _GNU_SOURCE
#include "kube_transfer.h"
#include "gunzip.h"
#include "kubeconfig.h"
#include "../common/clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* What one run call reads, decoded, before the transfers pause until the
 * next (the agent's loop answers /healthz in between): ~10 ms of white space
 * in a list page. A piece begun is read whole, so a turn may pass this by
 * one piece: 16 KiB, or ~16.5 MB gzip-decoded (deflate's ratio is 1032:1). */
#define TURN_BYTES (8u << 20)
#define TURN_SECONDS 0.02

/* One request at a time, and what is known of its response so far. */
struct sp_kube_slot {
	struct sp_kube_transfers *xs;
	void *ctx;			/* the owner's, for its callbacks */
	CURL *h;			/* the transfer in flight, or NULL */
	struct curl_slist *hdrs;
	bool paused;			/* at the turn's budget: go on at the next turn */
	bool gzip;			/* the body is gzip-encoded: decoded by gz */
	bool gzip_failed;		/* it is not gzip after all, or corrupt */
	struct sp_gunzip *gz;
	char encoding[64];		/* an encoding refused ("" when none was) */
	double retry_at;		/* monotonic; 0 when no retry is pending */
};

struct sp_kube_transfers {
	const struct sp_kube_conn *conn;	/* borrowed: TLS settings */
	const struct sp_kube_transfer_ops *ops;	/* borrowed */
	CURLM *multi;
	int epfd, tfd;
	double curl_deadline;		/* curl's timer; 0 when unset */
	double turn_start;		/* monotonic: when this run call began */
	size_t turn_bytes;		/* decoded bytes handed to ops->body in it */
	unsigned turns;			/* run calls: which paused transfer goes first */
	struct sp_kube_slot *slot;	/* n of them, in the order paused ones resume */
	size_t n;
};

/* --- timers ------------------------------------------------------------------ */

/* The timerfd fires at the earliest of curl's timeout and any pending retry. */
static void arm(struct sp_kube_transfers *xs)
{
	struct itimerspec its = {0};
	double at = xs->curl_deadline;

	for (size_t i = 0; i < xs->n; i++) {
		if (xs->slot[i].retry_at && (!at || xs->slot[i].retry_at < at))
			at = xs->slot[i].retry_at;
		if (xs->slot[i].paused)
			at = 1e-9;	/* (absolute: long past) the next turn resumes it */
	}
	if (at) {
		its.it_value.tv_sec = (time_t)at;
		its.it_value.tv_nsec = (long)((at - floor(at)) * 1e9);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(xs->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int on_curl_timer(CURLM *m, long ms, void *userp)
{
	struct sp_kube_transfers *xs = userp;

	(void)m;
	xs->curl_deadline = ms < 0 ? 0 : sp_now_mono() + (double)ms / 1000.0;
	arm(xs);
	return 0;
}

static int on_curl_socket(CURL *h, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sp_kube_transfers *xs = userp;
	struct epoll_event ev = { .data.fd = fd };

	(void)h;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(xs->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(xs->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(xs->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

void sp_kube_slot_retry_at(struct sp_kube_slot *x, double at)
{
	x->retry_at = at;
}

/* --- response bodies --------------------------------------------------------------- */

/* Body bytes, decoded: counted against the turn, handed to the owner. */
static int decoded(void *ctx, const char *p, size_t n)
{
	struct sp_kube_slot *x = ctx;
	long code = 0;

	x->xs->turn_bytes += n;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	return x->xs->ops->body(x->ctx, code, p, n);
}

/* The body as it arrives, gzip-encoded or not (curl decodes nothing: see
 * on_header). Past the turn's budget the transfer is paused before anything
 * of @p is read: curl hands the same bytes again (raw, so it holds no more
 * than what it had read) when resume() lets it go on at the next turn. Once
 * begun, a piece is read whole: at most 16 KiB, ~16.5 MB decoded. */
static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sp_kube_slot *x = ud;
	struct sp_kube_transfers *xs = x->xs;
	size_t n = size * nmemb;
	int e;

	if (n && (xs->turn_bytes >= TURN_BYTES || sp_now_mono() - xs->turn_start >= TURN_SECONDS)) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!x->gzip)
		return decoded(x, p, n) ? 0 : n;
	if ((e = sp_gunzip_feed(x->gz, p, n, decoded, x)) < 0)
		x->gzip_failed = true;	/* (not JSON-level: the stream itself) */
	return e ? 0 : n;
}

/* An encoding header's value (@p, @n bytes): white space trimmed, and
 * whether it is one of the comma-free names in @ok ("a\0b\0"). */
static bool encoding_is(const char *p, size_t n, const char *ok, const char **v, size_t *len)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && strchr(" \t\r\n", p[n - 1]))
		n--;
	*v = p;
	*len = n;
	for (; *ok; ok += strlen(ok) + 1)
		if (strlen(ok) == n && !strncasecmp(p, ok, n))
			return true;
	return false;
}

/* Response headers. Bodies are decoded here, not by curl, which decodes any
 * Content-Encoding it knows, asked or not, stacked ones (gzip, gzip: a
 * million to one) and any Transfer-Encoding; and it goes on decoding a
 * paused transfer into its own buffer. So only gzip (what the API server
 * sends when asked) or none is read, and only chunked transfers; anything
 * else refuses the response before its body. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	static const char ce[] = "content-encoding:", te[] = "transfer-encoding:";
	struct sp_kube_slot *x = ud;
	size_t n = size * nmemb, len;
	const char *v;
	bool gzip;

	if (n > sizeof(ce) - 1 && !strncasecmp(p, ce, sizeof(ce) - 1)) {
		if (encoding_is(p + sizeof(ce) - 1, n - (sizeof(ce) - 1), "identity\0\0", &v, &len) || !len)
			return n;
		gzip = encoding_is(v, len, "gzip\0x-gzip\0", &v, &len);
		if (gzip && !x->gzip) {
			x->gzip = true;
			return n;
		}
	} else if (n > sizeof(te) - 1 && !strncasecmp(p, te, sizeof(te) - 1)) {
		if (encoding_is(p + sizeof(te) - 1, n - (sizeof(te) - 1), "chunked\0identity\0", &v, &len))
			return n;
	} else {
		return n;
	}
	snprintf(x->encoding, sizeof(x->encoding), "%.*s%s", (int)(len < 40 ? len : 40), v,
		 p[0] == 't' || p[0] == 'T' ? " (Transfer-Encoding)" : x->gzip ? " (after gzip)" : "");
	for (char *c = x->encoding; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';	/* (for the log line) */
	return 0;
}

/* --- requests ------------------------------------------------------------------ */

static int pem_opts(CURL *h, const struct sp_pem *p, CURLoption file, CURLoption blob)
{
	if (p->data) {
		struct curl_blob b = { .data = p->data, .len = p->len, .flags = CURL_BLOB_COPY };

		return curl_easy_setopt(h, blob, &b) == CURLE_OK ? 0 : -EINVAL;
	}
	if (p->path)
		return curl_easy_setopt(h, file, p->path) == CURLE_OK ? 0 : -EINVAL;
	return 0;
}

/* The request's headers: JSON, gzip (as client-go), the bearer token. NULL
 * when out of memory. */
static struct curl_slist *headers(const char *token)
{
	struct curl_slist *hdrs;
	char *auth = NULL;

	hdrs = curl_slist_append(NULL, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "User-Agent: svcplane");
	hdrs = curl_slist_append(hdrs, "Accept-Encoding: gzip");	/* (as client-go) */
	if (token && asprintf(&auth, "Authorization: Bearer %s", token) > 0) {
		hdrs = curl_slist_append(hdrs, auth);
		memset(auth, 0, strlen(auth));
	}
	free(auth);
	return hdrs;
}

int sp_kube_slot_start(struct sp_kube_slot *x, const struct sp_kube_request *req)
{
	const struct sp_kube_conn *conn = x->xs->conn;
	int err;

	x->hdrs = headers(req->token);
	x->paused = x->gzip = x->gzip_failed = false;
	x->encoding[0] = '\0';
	sp_gunzip_reset(x->gz);
	if (!(x->h = curl_easy_init()) || !x->hdrs) {
		err = -ENOMEM;
		goto err_cleanup;
	}
	curl_easy_setopt(x->h, CURLOPT_URL, req->url);
	/* HTTP/1.1: pausing and resuming an HTTP/2 stream, as a long page is
	 * read, can leave it stuck in this libcurl (7.88; curl issue 10988). */
	curl_easy_setopt(x->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, 10L);
	if (req->timeout)
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT, req->timeout);
	if (req->stall_after) {
		curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(x->h, CURLOPT_LOW_SPEED_TIME, req->stall_after);
	}
	if (conn->insecure) {
		curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (pem_opts(x->h, &conn->ca, CURLOPT_CAINFO, CURLOPT_CAINFO_BLOB) ||
	    pem_opts(x->h, &conn->cert, CURLOPT_SSLCERT, CURLOPT_SSLCERT_BLOB) ||
	    pem_opts(x->h, &conn->key, CURLOPT_SSLKEY, CURLOPT_SSLKEY_BLOB)) {
		err = -EINVAL;
		goto err_cleanup;
	}
	if (curl_multi_add_handle(x->xs->multi, x->h) != CURLM_OK) {
		err = -EIO;
		goto err_cleanup;
	}
	return 0;

err_cleanup:
	if (x->h)
		curl_easy_cleanup(x->h);
	x->h = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	return err;
}

/* --- ended and paused transfers ------------------------------------------------ */

/* @x's transfer has ended with @rc: its handle goes, the owner is told. */
static void transfer_done(struct sp_kube_slot *x, CURLcode rc)
{
	struct sp_kube_transfers *xs = x->xs;
	struct sp_kube_response resp = { .rc = rc };

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &resp.code);
	curl_multi_remove_handle(xs->multi, x->h);
	curl_easy_cleanup(x->h);
	x->h = NULL;
	x->paused = false;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	resp.encoding = x->encoding;
	resp.gzip_failed = x->gzip_failed;
	resp.gzip_error = sp_gunzip_error(x->gz);
	resp.gzip_cut = x->gzip && !sp_gunzip_ended(x->gz);
	xs->ops->done(x->ctx, &resp);
}

static void finished_transfers(struct sp_kube_transfers *xs)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(xs->multi, &left))) {
		struct sp_kube_slot *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x) {
			transfer_done(x, m->data.result);
		} else {
			curl_multi_remove_handle(xs->multi, m->easy_handle);
			curl_easy_cleanup(m->easy_handle);
		}
	}
}

/* Transfers paused at the last turn's budget go on, each first in turn (one
 * large page does not starve the other kinds). curl hands what it held to
 * on_data before curl_easy_pause returns (within this turn's budget: it may
 * pause again). A refusal there is returned by curl_easy_pause but does not
 * end the transfer in libcurl 7.88, so it is ended here. */
static void resume(struct sp_kube_transfers *xs)
{
	xs->turns++;
	for (unsigned i = 0; i < xs->n; i++) {
		struct sp_kube_slot *x = &xs->slot[(xs->turns + i) % xs->n];
		CURLcode rc;

		if (!x->paused)
			continue;
		x->paused = false;
		if ((rc = curl_easy_pause(x->h, CURLPAUSE_CONT)) != CURLE_OK)
			transfer_done(x, rc);
	}
}

/* --- the transfers ------------------------------------------------------------- */

struct sp_kube_transfers *sp_kube_transfers_new(const struct sp_kube_conn *conn,
						const struct sp_kube_transfer_ops *ops, size_t n)
{
	struct sp_kube_transfers *xs = calloc(1, sizeof(*xs));
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!xs)
		return NULL;
	xs->epfd = xs->tfd = -1;
	xs->conn = conn;
	xs->ops = ops;
	if (!(xs->slot = calloc(n, sizeof(*xs->slot))))
		goto err_free;
	xs->n = n;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(xs->multi = curl_multi_init()))
		goto err_free;
	xs->epfd = epoll_create1(EPOLL_CLOEXEC);
	xs->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ev.data.fd = xs->tfd;
	if (xs->epfd < 0 || xs->tfd < 0 || epoll_ctl(xs->epfd, EPOLL_CTL_ADD, xs->tfd, &ev))
		goto err_free;
	curl_multi_setopt(xs->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(xs->multi, CURLMOPT_SOCKETDATA, xs);
	curl_multi_setopt(xs->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(xs->multi, CURLMOPT_TIMERDATA, xs);
	for (size_t i = 0; i < n; i++) {
		xs->slot[i].xs = xs;
		if (!(xs->slot[i].gz = sp_gunzip_new()))
			goto err_free;
	}
	return xs;

err_free:
	err = errno;
	sp_kube_transfers_free(xs);
	errno = err;
	return NULL;
}

void sp_kube_transfers_free(struct sp_kube_transfers *xs)
{
	if (!xs)
		return;
	for (size_t i = 0; i < xs->n; i++) {
		struct sp_kube_slot *x = &xs->slot[i];

		if (x->h) {
			curl_multi_remove_handle(xs->multi, x->h);
			curl_easy_cleanup(x->h);
		}
		curl_slist_free_all(x->hdrs);
		sp_gunzip_free(x->gz);
	}
	if (xs->multi)
		curl_multi_cleanup(xs->multi);
	if (xs->epfd >= 0)
		close(xs->epfd);
	if (xs->tfd >= 0)
		close(xs->tfd);
	free(xs->slot);
	free(xs);
}

int sp_kube_transfers_fd(const struct sp_kube_transfers *xs)
{
	return xs->epfd;
}

struct sp_kube_slot *sp_kube_transfers_slot(struct sp_kube_transfers *xs, size_t i, void *ctx)
{
	xs->slot[i].ctx = ctx;
	return &xs->slot[i];
}

void sp_kube_transfers_run(struct sp_kube_transfers *xs)
{
	struct epoll_event evs[16];
	int n = epoll_wait(xs->epfd, evs, 16, 0), running;
	double now;

	xs->turn_start = sp_now_mono();
	xs->turn_bytes = 0;
	resume(xs);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, flags = 0;
		uint64_t ticks;

		if (fd == xs->tfd) {
			(void)!read(xs->tfd, &ticks, sizeof(ticks));
			continue;
		}
		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(xs->multi, fd, flags, &running);
	}
	now = sp_now_mono();
	if (xs->curl_deadline && now >= xs->curl_deadline) {
		xs->curl_deadline = 0;
		curl_multi_socket_action(xs->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	finished_transfers(xs);
	for (size_t i = 0; i < xs->n; i++) {
		struct sp_kube_slot *x = &xs->slot[i];

		if (!x->h && x->retry_at && now >= x->retry_at) {
			x->retry_at = 0;
			xs->ops->retry(x->ctx);
		}
	}
	finished_transfers(xs);
	arm(xs);
}
