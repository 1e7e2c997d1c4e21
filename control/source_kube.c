/* source_kube.c - list + watch against the API server, as kube-proxy's
 * informers do: paginated lists, then a watch from the list's
 * resourceVersion with bookmarks; 410 Gone → a fresh list whose result is
 * diffed into the store (nothing is flushed meanwhile); transport errors →
 * exponential backoff with jitter, then a watch from the last resourceVersion.
 * A watch that ends without having delivered a useful event (one that moved
 * the resourceVersion) backs off too, and so does a second 410 before such an
 * event: the backoff is reset only by progress, never by bytes arriving. Each
 * kind of restart is one log line per interval, with a count, and a metric.
 * All transfers run on one curl multi handle driven from an epoll fd that
 * also holds a timerfd, so the agent's loop polls a single descriptor.
 * One call of process reads a bounded amount (TURN_BYTES or TURN_SECONDS):
 * then the transfer is paused and goes on at the loop's next turn, so a
 * gzip bomb never holds the thread; gzip is decoded here (gunzip.c), not by
 * curl, which would go on decoding a paused transfer into its own buffer. */
#define _GNU_SOURCE
#include "source_kube.h"
#include "gunzip.h"
#include "json_lines.h"
#include "k8s_field.h"
#include "kube_events.h"
#include "kubeconfig.h"
#include "../common/clock.h"
#include "../common/log.h"
#include "../common/ratelimit.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define K_COUNT SP_KUBE_KINDS

/* kube-proxy's informers skip services another proxy owns and headless ones
 * (both labels, for Services and EndpointSlices alike). */
#define PROXY_SELECTOR "labelSelector=%21service.kubernetes.io%2Fservice-proxy-name%2C%21service.kubernetes.io%2Fheadless"

#define BACKOFF_FIRST 0.8
#define BACKOFF_MAX 30.0
#define LOOP_LOG_INTERVAL 30.0	/* restarts: one line per kind per this many seconds */
#define TRIM_AFTER (1u << 20)	/* after a larger page, the heap is trimmed */
#define STATUS_MAX (64u << 10)	/* an error's body read for its message; a longer one is cut */
/* What one process call reads, decoded, before the transfers pause until the
 * next (the agent's loop answers /healthz in between): ~10 ms of white space
 * in a list page. A piece begun is read whole, so a turn may pass this by
 * one piece: 16 KiB, or ~16.5 MB gzip-decoded (deflate's ratio is 1032:1). */
#define TURN_BYTES (8u << 20)
#define TURN_SECONDS 0.02

enum phase { P_LIST, P_WATCH };

/* One resource's list/watch state. */
struct res {
	struct sp_kube_source *src;
	struct sp_kube_events ev;	/* kind, resourceVersion, what a list saw */
	enum phase phase;
	CURL *h;			/* the transfer in flight, or NULL */
	struct curl_slist *hdrs;
	char *cont;			/* continue token of the list in progress */
	bool listed;			/* the first list completed */
	bool too_big;			/* the list page exceeded max_list_bytes */
	bool page_failed;		/* the page was refused as it arrived (logged) */
	size_t page_bytes;		/* of the list page arriving (read as it comes,
					 * kube_events.h: never buffered whole) */
	char *body;			/* an error's Status: its first STATUS_MAX bytes */
	size_t len;
	bool status_cut;		/* a longer one: the transfer was ended there */
	bool paused;			/* at the turn's budget: go on at the next turn */
	bool gzip;			/* the body is gzip-encoded: decoded by gz */
	bool gzip_failed;		/* it is not gzip after all, or corrupt */
	struct sp_gunzip *gz;
	char encoding[64];		/* an encoding refused ("" when none was) */
	struct sp_json_lines lines;	/* the watch stream */
	double retry_at;		/* monotonic; 0 when no retry is pending */
	unsigned failures;		/* since the last progress (a useful event, a first list) */
	bool useful;			/* this watch moved the resourceVersion */
	struct sp_ratelimit expired_rl, empty_rl;	/* restart lines (410, empty watch) */
};

struct sp_kube_source {
	struct sp_kube_conn conn;
	struct sp_store *st;
	const struct sp_log *lg;
	struct sp_kube_opts o;
	char *node_name;
	CURLM *multi;
	int epfd, tfd;
	double curl_deadline;		/* curl's timer; 0 when unset */
	double turn_start;		/* monotonic: when this process call began */
	size_t turn_bytes;		/* decoded bytes handed to on_data in it */
	unsigned turns;			/* process calls: which paused transfer goes first */
	struct res r[K_COUNT];
	size_t errors;
	size_t restarts;		/* watches that ended without progress, and 410s */
	char server_shown[1024];	/* the server URL without credentials, for logs */
	unsigned seed;
};

/* --- timers ------------------------------------------------------------------ */

/* The timerfd fires at the earliest of curl's timeout and any pending retry. */
static void arm(struct sp_kube_source *s)
{
	struct itimerspec its = {0};
	double at = s->curl_deadline;

	for (int k = 0; k < K_COUNT; k++) {
		if (s->r[k].retry_at && (!at || s->r[k].retry_at < at))
			at = s->r[k].retry_at;
		if (s->r[k].paused)
			at = 1e-9;	/* (absolute: long past) the next turn resumes it */
	}
	if (at) {
		its.it_value.tv_sec = (time_t)at;
		its.it_value.tv_nsec = (long)((at - floor(at)) * 1e9);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int on_curl_timer(CURLM *m, long ms, void *userp)
{
	struct sp_kube_source *s = userp;

	(void)m;
	s->curl_deadline = ms < 0 ? 0 : sp_now_mono() + (double)ms / 1000.0;
	arm(s);
	return 0;
}

static int on_curl_socket(CURL *h, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sp_kube_source *s = userp;
	struct epoll_event ev = { .data.fd = fd };

	(void)h;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* Retry @r after the next backoff step: 0.8 s doubling to 30 s, each delay
 * stretched by up to 25 % at random so that nodes do not retry in step. */
static void backoff(struct res *r)
{
	struct sp_kube_source *s = r->src;
	double d = BACKOFF_FIRST * pow(2, r->failures < 16 ? r->failures : 16);

	if (d > BACKOFF_MAX)
		d = BACKOFF_MAX;
	d *= 1.0 + 0.25 * ((double)rand_r(&s->seed) / RAND_MAX);
	r->failures++;
	r->retry_at = sp_now_mono() + d;
	sp_log_debug(s->lg, "API source: %s: retry in %.1f s", sp_kube_kind_name(r->ev.kind), d);
}

#define fail(s, ...) sp_kube_log_error((s)->lg, &(s)->errors, __VA_ARGS__)

/* --- watch stream --------------------------------------------------------------- */

static int on_event(void *ctx, char *line, size_t len)
{
	struct res *r = ctx;
	const char *rv = r->ev.rv;
	char before[128];
	int stop;

	snprintf(before, sizeof(before), "%s", rv ? rv : "");
	stop = sp_kube_watch_event(&r->ev, line, len);
	if (r->ev.rv && strcmp(before, r->ev.rv)) {
		r->useful = true;
		r->failures = 0;	/* progress: the next failure starts the backoff anew */
	}
	return stop;
}

static void on_oversize(void *ctx, enum sp_json_lines_limit what, size_t max)
{
	struct res *r = ctx;

	if (what == SP_JSON_LINES_VALUES)
		fail(r->src, "watch %s: an event of more than %zu JSON values: refused",
		     sp_kube_kind_name(r->ev.kind), max);
	else
		fail(r->src, "watch %s: an event larger than %zu bytes: refused", sp_kube_kind_name(r->ev.kind),
		     max);
}

/* Body bytes, decoded. Returns 0, or 1 when the transfer must end: a list
 * page refused (noted for list_done), a watch stream that must stop, an
 * error's body read as far as it is kept. */
static int body(void *ctx, const char *p, size_t n)
{
	struct res *r = ctx;
	long code = 0;

	r->src->turn_bytes += n;
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (r->phase == P_WATCH && code == 200)
		return sp_json_lines_feed(&r->lines, p, n, on_event, on_oversize, r) ? 1 : 0;
	if (code == 200) {	/* a list page: bounded by bytes, held one item at a time */
		if (n > r->src->o.max_list_bytes - r->page_bytes) {
			r->too_big = true;
			return 1;
		}
		r->page_bytes += n;
		if (sp_kube_page_feed(&r->ev, p, n)) {
			r->page_failed = true;
			return 1;
		}
		return 0;
	}
	if (!r->body && !(r->body = malloc(STATUS_MAX + 1)))
		return 1;
	if (n > STATUS_MAX - r->len) {
		memcpy(r->body + r->len, p, STATUS_MAX - r->len);
		r->len = STATUS_MAX;
		r->status_cut = true;	/* enough to say why; the rest is not read */
		return 1;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	return 0;
}

/* The body as it arrives, gzip-encoded or not (curl decodes nothing: see
 * on_header). Past the turn's budget the transfer is paused before anything
 * of @p is read: curl hands the same bytes again (raw, so it holds no more
 * than what it had read) when resume() lets it go on at the next turn. Once
 * begun, a piece is read whole: at most 16 KiB, ~16.5 MB decoded. */
static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct res *r = ud;
	struct sp_kube_source *s = r->src;
	size_t n = size * nmemb;
	int e;

	if (n && (s->turn_bytes >= TURN_BYTES || sp_now_mono() - s->turn_start >= TURN_SECONDS)) {
		r->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!r->gzip)
		return body(r, p, n) ? 0 : n;
	if ((e = sp_gunzip_feed(r->gz, p, n, body, r)) < 0)
		r->gzip_failed = true;	/* (not JSON-level: the stream itself) */
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
	struct res *r = ud;
	size_t n = size * nmemb, len;
	const char *v;
	bool gzip;

	if (n > sizeof(ce) - 1 && !strncasecmp(p, ce, sizeof(ce) - 1)) {
		if (encoding_is(p + sizeof(ce) - 1, n - (sizeof(ce) - 1), "identity\0\0", &v, &len) || !len)
			return n;
		gzip = encoding_is(v, len, "gzip\0x-gzip\0", &v, &len);
		if (gzip && !r->gzip) {
			r->gzip = true;
			return n;
		}
	} else if (n > sizeof(te) - 1 && !strncasecmp(p, te, sizeof(te) - 1)) {
		if (encoding_is(p + sizeof(te) - 1, n - (sizeof(te) - 1), "chunked\0identity\0", &v, &len))
			return n;
	} else {
		return n;
	}
	snprintf(r->encoding, sizeof(r->encoding), "%.*s%s", (int)(len < 40 ? len : 40), v,
		 p[0] == 't' || p[0] == 'T' ? " (Transfer-Encoding)" : r->gzip ? " (after gzip)" : "");
	for (char *c = r->encoding; *c; c++)
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

static void url_for(struct res *r, char *url, size_t sz)
{
	struct sp_kube_source *s = r->src;
	char sel[512] = PROXY_SELECTOR, extra[1024] = "";

	if (r->ev.kind == SP_KUBE_NODE) {
		char *name = curl_easy_escape(NULL, s->node_name, 0);

		snprintf(sel, sizeof(sel), "fieldSelector=metadata.name%%3D%s", name ? name : "");
		curl_free(name);
	}
	if (r->phase == P_LIST) {
		char *cont = r->cont ? curl_easy_escape(NULL, r->cont, 0) : NULL;

		snprintf(extra, sizeof(extra), "limit=%u%s%s", s->o.page_size, cont ? "&continue=" : "",
			 cont ? cont : "");
		curl_free(cont);
	} else {
		char *rv = curl_easy_escape(NULL, r->ev.rv ? r->ev.rv : "", 0);
		double t = s->o.watch_timeout ? s->o.watch_timeout
					      : 300.0 * (1.0 + (double)rand_r(&s->seed) / RAND_MAX);

		snprintf(extra, sizeof(extra), "watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
			 rv ? rv : "", (int)t);
		curl_free(rv);
	}
	snprintf(url, sz, "%s%s?%s&%s", s->conn.server, sp_kube_kind_path(r->ev.kind), sel, extra);
}

/* Start @r's next request (list page or watch). */
static void start(struct res *r)
{
	struct sp_kube_source *s = r->src;
	char url[2048], *token, *auth = NULL;
	int e = 0;

	url_for(r, url, sizeof(url));
	token = sp_kube_token(&s->conn, &e);
	if (e) {
		fail(s, "%s: token file %s: %s", sp_kube_kind_name(r->ev.kind), s->conn.token_file,
		     e == -EILSEQ ? "the token holds control characters: refused" : strerror(-e));
		backoff(r);
		return;
	}
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "User-Agent: svcplane");
	r->hdrs = curl_slist_append(r->hdrs, "Accept-Encoding: gzip");	/* (as client-go) */
	if (token && asprintf(&auth, "Authorization: Bearer %s", token) > 0) {
		r->hdrs = curl_slist_append(r->hdrs, auth);
		memset(auth, 0, strlen(auth));
	}
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	free(auth);
	r->len = r->page_bytes = 0;
	r->too_big = r->page_failed = r->status_cut = r->ev.relist = r->useful = r->paused = false;
	r->gzip = r->gzip_failed = false;
	r->encoding[0] = '\0';
	sp_gunzip_reset(r->gz);
	if (r->phase == P_LIST)
		sp_kube_page_begin(&r->ev);
	sp_json_lines_reset(&r->lines);
	if (!(r->h = curl_easy_init()) || !r->hdrs) {
		fail(s, "%s: cannot set up a request (out of memory)", sp_kube_kind_name(r->ev.kind));
		goto fail;
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	/* HTTP/1.1: pausing and resuming an HTTP/2 stream, as a long page is
	 * read, can leave it stuck in this libcurl (7.88; curl issue 10988). */
	curl_easy_setopt(r->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 10L);
	if (r->phase == P_LIST) {
		curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 120L);
	} else {
		/* A watch that goes quiet (no event, no bookmark) for longer than
		 * the server should have kept it open is a stalled one. */
		curl_easy_setopt(r->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		double t = s->o.watch_timeout ? s->o.watch_timeout : 600;

		curl_easy_setopt(r->h, CURLOPT_LOW_SPEED_TIME, (long)(t + (t < 30 ? t : 30)) + 1L);
	}
	if (s->conn.insecure) {
		curl_easy_setopt(r->h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(r->h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (pem_opts(r->h, &s->conn.ca, CURLOPT_CAINFO, CURLOPT_CAINFO_BLOB) ||
	    pem_opts(r->h, &s->conn.cert, CURLOPT_SSLCERT, CURLOPT_SSLCERT_BLOB) ||
	    pem_opts(r->h, &s->conn.key, CURLOPT_SSLKEY, CURLOPT_SSLKEY_BLOB)) {
		fail(s, "%s: this libcurl cannot take the kubeconfig's certificates", sp_kube_kind_name(r->ev.kind));
		goto fail;
	}
	if (curl_multi_add_handle(s->multi, r->h) != CURLM_OK) {
		fail(s, "%s: cannot start a request", sp_kube_kind_name(r->ev.kind));
		goto fail;
	}
	if (s->lg && s->lg->level >= SP_LOG_DEBUG) {
		sp_kube_url_redact(url, url, sizeof(url));
		sp_log_debug(s->lg, "API source: %s %s", r->phase == P_LIST ? "list" : "watch", url);
	}
	return;
fail:
	if (r->h)
		curl_easy_cleanup(r->h);
	r->h = NULL;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	backoff(r);
}

static void begin_list(struct res *r)
{
	free(r->cont);
	r->cont = NULL;
	if (sp_kube_list_begin(&r->ev))
		fail(r->src, "list %s: out of memory", sp_kube_kind_name(r->ev.kind));
	r->phase = P_LIST;
}

/* "reason: message" of a Status body, for the error line. */
static void status_text(const struct res *r, char *out, size_t sz)
{
	cJSON *st = r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *msg = cJSON_GetStringValue(sp_field(st, "message"));

	snprintf(out, sz, "%s", msg ? msg : r->status_cut ? "(a body over 64 KiB: not read)" :
				       r->len ? "(a body that is not a Status)" : "(no body)");
	cJSON_Delete(st);
}

/* After a large page (a 200 MB one, a refused gzip bomb), give the heap
 * back: its items came and went one at a time, but their buffers and parses
 * leave free memory glibc would keep. */
static void trim_after_page(struct res *r)
{
	if (r->page_bytes > TRIM_AFTER)
		malloc_trim(0);
}

/* The list page has ended: store what it held. Returns 0, or an error (logged). */
static int list_page(struct res *r)
{
	int e;

	free(r->cont);
	e = sp_kube_page_end(&r->ev, &r->cont);
	trim_after_page(r);
	return e;
}

/* A restart without progress: one line per kind per interval, with a count. */
static void note_restart(struct res *r, struct sp_ratelimit *rl, const char *what)
{
	unsigned long skipped = 0;

	r->src->restarts++;
	if (sp_ratelimit_pass(rl, sp_now_mono(), &skipped))
		sp_log_warn(r->src->lg, "API source: watch %s: %s (%lu more in the last %.0f s)",
			    sp_kube_kind_name(r->ev.kind), what, skipped, LOOP_LOG_INTERVAL);
}

static void list_done(struct res *r, CURLcode rc, long code)
{
	struct sp_kube_source *s = r->src;
	bool answered = rc == CURLE_OK || r->status_cut;	/* the server said why */
	char why[256];

	/* A gzip body must end with its member's CRC and length: cut short,
	 * what it held is not trusted even when it reads as JSON. */
	if (rc == CURLE_OK && code == 200 && r->gzip && !sp_gunzip_ended(r->gz))
		r->gzip_failed = true;
	if (rc == CURLE_OK && code == 200 && !r->gzip_failed && !list_page(r)) {
		if (!r->listed)
			r->failures = 0;	/* (a relist is no progress: a 410 loop backs off) */
		if (r->cont) {
			start(r);	/* next page */
			return;
		}
		sp_kube_list_end(&r->ev);
		if (!r->listed)
			sp_log_info(s->lg, "API source: %s listed (resourceVersion %s)", sp_kube_kind_name(r->ev.kind),
				    r->ev.rv ? r->ev.rv : "");
		r->listed = true;
		r->phase = P_WATCH;
		start(r);
		return;
	}
	if (answered && code == 410 && r->cont && !r->failures++) {
		/* (once at once; a server that keeps expiring it gets the backoff) */
		sp_log_info(s->lg, "API source: list %s: continue token expired: listing from the start",
			    sp_kube_kind_name(r->ev.kind));
		begin_list(r);
		start(r);
		return;
	}
	sp_kube_page_abort(&r->ev);	/* nothing of a refused page is stored */
	trim_after_page(r);
	if (r->too_big) {
		fail(s, "list %s: a page larger than %zu bytes: refused", sp_kube_kind_name(r->ev.kind), s->o.max_list_bytes);
	} else if (r->encoding[0]) {
		fail(s, "list %s: encoding %s: refused (gzip or none)", sp_kube_kind_name(r->ev.kind), r->encoding);
	} else if (r->gzip_failed) {
		fail(s, "list %s: gzip: %s: refused", sp_kube_kind_name(r->ev.kind),
		     *sp_gunzip_error(r->gz) ? sp_gunzip_error(r->gz) : "cut short (no CRC and length at its end)");
	} else if (r->page_failed) {
		;	/* (logged as it was refused) */
	} else if (answered && code != 200) {
		status_text(r, why, sizeof(why));
		fail(s, "list %s: HTTP %ld: %s", sp_kube_kind_name(r->ev.kind), code, why);
	} else if (rc != CURLE_OK) {
		fail(s, "list %s: %s", sp_kube_kind_name(r->ev.kind), curl_easy_strerror(rc));
	}
	begin_list(r);	/* a failed list starts over (its pages may be stale) */
	backoff(r);
}

static void watch_done(struct res *r, CURLcode rc, long code)
{
	struct sp_kube_source *s = r->src;
	bool answered = rc == CURLE_OK || r->status_cut;	/* the server said why */
	bool useful = r->useful;
	char why[256];

	r->useful = false;
	if (r->ev.relist || (answered && code == 410)) {
		begin_list(r);
		note_restart(r, &r->expired_rl, "resource version expired (410): listing again");
		if (useful || !r->failures) {
			r->failures++;	/* at once, once; again before progress backs off */
			start(r);
		} else {
			backoff(r);
		}
		return;
	}
	if (rc == CURLE_OK && code == 200) {
		if (sp_json_lines_pending(&r->lines))
			sp_log_warn(s->lg, "API source: watch %s: the stream ended inside an event; watching again from %s",
				    sp_kube_kind_name(r->ev.kind), r->ev.rv ? r->ev.rv : "");
		if (useful) {
			start(r);	/* the server's timeout: watch on */
			return;
		}
		note_restart(r, &r->empty_rl, "the watch ended without an event: backing off");
		backoff(r);
		return;
	}
	if (r->encoding[0]) {
		fail(s, "watch %s: encoding %s: refused (gzip or none)", sp_kube_kind_name(r->ev.kind), r->encoding);
	} else if (r->gzip_failed) {
		fail(s, "watch %s: gzip: %s: refused", sp_kube_kind_name(r->ev.kind), sp_gunzip_error(r->gz));
	} else if (answered) {
		status_text(r, why, sizeof(why));
		fail(s, "watch %s: HTTP %ld: %s", sp_kube_kind_name(r->ev.kind), code, why);
	} else if (rc != CURLE_WRITE_ERROR) {	/* (write errors were logged as they happened) */
		sp_log_warn(s->lg, "API source: watch %s: %s; watching again from resourceVersion %s",
			    sp_kube_kind_name(r->ev.kind), curl_easy_strerror(rc), r->ev.rv ? r->ev.rv : "");
	}
	backoff(r);
}

/* @r's transfer has ended with @rc: its handle goes, what it got is used. */
static void transfer_done(struct res *r, CURLcode rc)
{
	long code = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(r->src->multi, r->h);
	curl_easy_cleanup(r->h);
	r->h = NULL;
	r->paused = false;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	if (r->phase == P_LIST)
		list_done(r, rc, code);
	else
		watch_done(r, rc, code);
}

static void finished_transfers(struct sp_kube_source *s)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct res *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r) {
			transfer_done(r, m->data.result);
		} else {
			curl_multi_remove_handle(s->multi, m->easy_handle);
			curl_easy_cleanup(m->easy_handle);
		}
	}
}

/* Transfers paused at the last turn's budget go on, each first in turn (one
 * large page does not starve the other kinds). curl hands what it held to
 * on_data before curl_easy_pause returns (within this turn's budget: it may
 * pause again). A refusal there is returned by curl_easy_pause but does not
 * end the transfer in libcurl 7.88, so it is ended here. */
static void resume(struct sp_kube_source *s)
{
	s->turns++;
	for (int i = 0; i < K_COUNT; i++) {
		struct res *r = &s->r[(s->turns + (unsigned)i) % K_COUNT];
		CURLcode rc;

		if (!r->paused)
			continue;
		r->paused = false;
		if ((rc = curl_easy_pause(r->h, CURLPAUSE_CONT)) != CURLE_OK)
			transfer_done(r, rc);
	}
}

/* --- the source ------------------------------------------------------------------ */

struct sp_kube_source *sp_kube_source_new(struct sp_kube_conn *conn, struct sp_store *st,
					  const struct sp_log *lg, const struct sp_kube_opts *o)
{
	struct sp_kube_source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!s)
		return NULL;
	s->epfd = s->tfd = -1;
	s->st = st;
	s->lg = lg;
	s->o = *o;
	if (!s->o.page_size)
		s->o.page_size = 500;
	if (!s->o.max_event_bytes)
		s->o.max_event_bytes = 16u << 20;
	if (!s->o.max_list_bytes)
		s->o.max_list_bytes = 1u << 30;
	s->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	s->conn = *conn;	/* moved: the caller's struct is cleared on success */
	if (!(s->node_name = strdup(o->node_name ? o->node_name : "")))
		goto err;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(s->multi = curl_multi_init()))
		goto err;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ev.data.fd = s->tfd;
	if (s->epfd < 0 || s->tfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev))
		goto err;
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	for (int k = 0; k < K_COUNT; k++)
		if (!(s->r[k].gz = sp_gunzip_new()))
			goto err;
	sp_kube_url_redact(s->conn.server, s->server_shown, sizeof(s->server_shown));
	if (!strncmp(s->conn.server, "http://", 7) && (s->conn.token || s->conn.token_file))
		sp_log_warn(lg, "API source: %s: the bearer token is sent over plain http://, unencrypted",
			    s->server_shown);
	if (s->conn.insecure)
		sp_log_warn(lg, "API source: %s: insecure-skip-tls-verify is set: the API server's certificate is NOT checked",
			    s->conn.source ? s->conn.source : "kubeconfig");
	for (int k = 0; k < K_COUNT; k++) {
		struct res *r = &s->r[k];

		r->src = s;
		r->expired_rl.interval = r->empty_rl.interval = LOOP_LOG_INTERVAL;
		sp_kube_events_init(&r->ev, (enum sp_kube_kind)k, st, lg, s->node_name);
		r->ev.max_item = s->o.max_event_bytes;	/* an object is bounded alike in lists and watches */
		sp_json_lines_init(&r->lines, s->o.max_event_bytes);
		r->lines.max_values = r->ev.max_values;	/* (SP_KUBE_MAX_VALUES, as list items) */
		begin_list(r);
		start(r);
	}
	sp_log_info(lg, "API source: %s (%s), node %s", s->server_shown, s->conn.source ? s->conn.source : "",
		    s->node_name);
	memset(conn, 0, sizeof(*conn));
	return s;
err:
	fail(s, "cannot start: %s", strerror(errno ? errno : ENOMEM));
	memset(&s->conn, 0, sizeof(s->conn));	/* still the caller's */
	sp_kube_source_free(s);
	errno = ENOMEM;
	return NULL;
}

void sp_kube_source_free(struct sp_kube_source *s)
{
	if (!s)
		return;
	for (int k = 0; k < K_COUNT; k++) {
		struct res *r = &s->r[k];

		if (r->h) {
			curl_multi_remove_handle(s->multi, r->h);
			curl_easy_cleanup(r->h);
		}
		curl_slist_free_all(r->hdrs);
		sp_kube_events_fini(&r->ev);
		sp_json_lines_fini(&r->lines);
		sp_gunzip_free(r->gz);
		free(r->cont);
		free(r->body);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->tfd >= 0)
		close(s->tfd);
	sp_kube_conn_fini(&s->conn);
	free(s->node_name);
	free(s);
}

int sp_kube_source_fd(const struct sp_kube_source *s)
{
	return s->epfd;
}

void sp_kube_source_process(struct sp_kube_source *s)
{
	struct epoll_event evs[16];
	int n = epoll_wait(s->epfd, evs, 16, 0), running;
	double now;

	s->turn_start = sp_now_mono();
	s->turn_bytes = 0;
	resume(s);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, flags = 0;
		uint64_t ticks;

		if (fd == s->tfd) {
			(void)!read(s->tfd, &ticks, sizeof(ticks));
			continue;
		}
		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(s->multi, fd, flags, &running);
	}
	now = sp_now_mono();
	if (s->curl_deadline && now >= s->curl_deadline) {
		s->curl_deadline = 0;
		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	finished_transfers(s);
	for (int k = 0; k < K_COUNT; k++) {
		struct res *r = &s->r[k];

		if (!r->h && r->retry_at && now >= r->retry_at) {
			r->retry_at = 0;
			start(r);
		}
	}
	finished_transfers(s);
	arm(s);
}

bool sp_kube_source_synced(const struct sp_kube_source *s)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!s->r[k].listed)
			return false;
	return true;
}

size_t sp_kube_source_restarts(const struct sp_kube_source *s)
{
	return s->restarts;
}

size_t sp_kube_source_errors(const struct sp_kube_source *s)
{
	size_t n = s->errors;

	for (int k = 0; k < K_COUNT; k++)
		n += s->r[k].ev.errors;
	return n;
}
