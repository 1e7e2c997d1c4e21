/* source_kube.c - list + watch against the API server, as kube-proxy's
 * informers do: paginated lists, then a watch from the list's
 * resourceVersion with bookmarks; 410 Gone → a fresh list whose result is
 * diffed into the store (nothing is flushed meanwhile); transport errors →
 * exponential backoff with jitter, then a watch from the last resourceVersion.
 * A watch that ends without having delivered a useful event (one that moved
 * the resourceVersion) backs off too, and so does a second 410 before such an
 * event: the backoff is reset only by progress, never by bytes arriving. Each
 * kind of restart is one log line per interval, with a count, and a metric.
 * The bytes move through kube_transfer.c, one slot per kind: it owns the curl
 * handles, the one pollable fd, the turn's budget (pausing) and gzip; this
 * file says what each request is and what its answer means. */
#include "source_kube.h"
#include "json_lines.h"
#include "k8s_field.h"
#include "kube_events.h"
#include "kube_transfer.h"
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

enum phase { P_LIST, P_WATCH };

/* One resource's list/watch state. */
struct res {
	struct sp_kube_source *src;
	struct sp_kube_events ev;	/* kind, resourceVersion, what a list saw */
	enum phase phase;
	struct sp_kube_slot *x;		/* its requests, one in flight at most */
	char *cont;			/* continue token of the list in progress */
	bool listed;			/* the first list completed */
	bool too_big;			/* the list page exceeded max_list_bytes */
	bool page_failed;		/* the page was refused as it arrived (logged) */
	size_t page_bytes;		/* of the list page arriving (read as it comes,
					 * kube_events.h: never buffered whole) */
	char *body;			/* an error's Status: its first STATUS_MAX bytes */
	size_t len;
	bool status_cut;		/* a longer one: the transfer was ended there */
	struct sp_json_lines lines;	/* the watch stream */
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
	struct sp_kube_transfers *xs;	/* the HTTP transfers: slot k is r[k]'s */
	struct res r[K_COUNT];
	size_t errors;
	size_t restarts;		/* watches that ended without progress, and 410s */
	char server_shown[1024];	/* the server URL without credentials, for logs */
	unsigned seed;
};

/* --- backoff ------------------------------------------------------------------ */

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
	sp_kube_slot_retry_at(r->x, sp_now_mono() + d);
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

/* Body bytes, decoded, of a response with HTTP status @code. Returns 0, or 1
 * when the transfer must end: a list page refused (noted for list_done), a
 * watch stream that must stop, an error's body read as far as it is kept. */
static int body(void *ctx, long code, const char *p, size_t n)
{
	struct res *r = ctx;

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

/* --- requests ------------------------------------------------------------------ */

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

/* Why sp_kube_slot_start refused, for the error line. */
static const char *start_error(int e)
{
	if (e == -ENOMEM)
		return "cannot set up a request (out of memory)";
	if (e == -EINVAL)
		return "this libcurl cannot take the kubeconfig's certificates";
	return "cannot start a request";
}

/* Start @r's next request (list page or watch). */
static void start(struct res *r)
{
	struct sp_kube_source *s = r->src;
	struct sp_kube_request req = {0};
	char url[2048], *token;
	int e = 0;

	url_for(r, url, sizeof(url));
	token = sp_kube_token(&s->conn, &e);
	if (e) {
		fail(s, "%s: token file %s: %s", sp_kube_kind_name(r->ev.kind), s->conn.token_file,
		     e == -EILSEQ ? "the token holds control characters: refused" : strerror(-e));
		backoff(r);
		return;
	}
	r->len = r->page_bytes = 0;
	r->too_big = r->page_failed = r->status_cut = r->ev.relist = r->useful = false;
	if (r->phase == P_LIST)
		sp_kube_page_begin(&r->ev);
	sp_json_lines_reset(&r->lines);
	req.url = url;
	req.token = token;
	if (r->phase == P_LIST) {
		req.timeout = 120;
	} else {
		/* A watch that goes quiet (no event, no bookmark) for longer than
		 * the server should have kept it open is a stalled one. */
		double t = s->o.watch_timeout ? s->o.watch_timeout : 600;

		req.stall_after = (long)(t + (t < 30 ? t : 30)) + 1L;
	}
	e = sp_kube_slot_start(r->x, &req);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	if (e) {
		fail(s, "%s: %s", sp_kube_kind_name(r->ev.kind), start_error(e));
		backoff(r);
		return;
	}
	if (s->lg && s->lg->level >= SP_LOG_DEBUG) {
		sp_kube_url_redact(url, url, sizeof(url));
		sp_log_debug(s->lg, "API source: %s %s", r->phase == P_LIST ? "list" : "watch", url);
	}
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

static void list_done(struct res *r, const struct sp_kube_response *resp)
{
	struct sp_kube_source *s = r->src;
	CURLcode rc = resp->rc;
	long code = resp->code;
	bool answered = rc == CURLE_OK || r->status_cut;	/* the server said why */
	bool gzip_failed = resp->gzip_failed;
	char why[256];

	/* A gzip body must end with its member's CRC and length: cut short,
	 * what it held is not trusted even when it reads as JSON. */
	if (rc == CURLE_OK && code == 200 && resp->gzip_cut)
		gzip_failed = true;
	if (rc == CURLE_OK && code == 200 && !gzip_failed && !list_page(r)) {
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
	} else if (resp->encoding[0]) {
		fail(s, "list %s: encoding %s: refused (gzip or none)", sp_kube_kind_name(r->ev.kind), resp->encoding);
	} else if (gzip_failed) {
		fail(s, "list %s: gzip: %s: refused", sp_kube_kind_name(r->ev.kind),
		     *resp->gzip_error ? resp->gzip_error : "cut short (no CRC and length at its end)");
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

static void watch_done(struct res *r, const struct sp_kube_response *resp)
{
	struct sp_kube_source *s = r->src;
	CURLcode rc = resp->rc;
	long code = resp->code;
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
	if (resp->encoding[0]) {
		fail(s, "watch %s: encoding %s: refused (gzip or none)", sp_kube_kind_name(r->ev.kind), resp->encoding);
	} else if (resp->gzip_failed) {
		fail(s, "watch %s: gzip: %s: refused", sp_kube_kind_name(r->ev.kind), resp->gzip_error);
	} else if (answered) {
		status_text(r, why, sizeof(why));
		fail(s, "watch %s: HTTP %ld: %s", sp_kube_kind_name(r->ev.kind), code, why);
	} else if (rc != CURLE_WRITE_ERROR) {	/* (write errors were logged as they happened) */
		sp_log_warn(s->lg, "API source: watch %s: %s; watching again from resourceVersion %s",
			    sp_kube_kind_name(r->ev.kind), curl_easy_strerror(rc), r->ev.rv ? r->ev.rv : "");
	}
	backoff(r);
}

/* @r's transfer has ended (its handle is gone): what it got is used. */
static void transfer_done(void *ctx, const struct sp_kube_response *resp)
{
	struct res *r = ctx;

	if (r->phase == P_LIST)
		list_done(r, resp);
	else
		watch_done(r, resp);
}

/* @r's backoff is over: list or watch again. */
static void retry(void *ctx)
{
	start(ctx);
}

static const struct sp_kube_transfer_ops res_ops = {
	.body	= body,
	.done	= transfer_done,
	.retry	= retry,
};

/* --- the source ------------------------------------------------------------------ */

struct sp_kube_source *sp_kube_source_new(struct sp_kube_conn *conn, struct sp_store *st,
					  const struct sp_log *lg, const struct sp_kube_opts *o)
{
	struct sp_kube_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
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
	if (!(s->xs = sp_kube_transfers_new(&s->conn, &res_ops, K_COUNT)))
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
		r->x = sp_kube_transfers_slot(s->xs, (size_t)k, r);
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
	sp_kube_transfers_free(s->xs);
	for (int k = 0; k < K_COUNT; k++) {
		struct res *r = &s->r[k];

		sp_kube_events_fini(&r->ev);
		sp_json_lines_fini(&r->lines);
		free(r->cont);
		free(r->body);
	}
	sp_kube_conn_fini(&s->conn);
	free(s->node_name);
	free(s);
}

int sp_kube_source_fd(const struct sp_kube_source *s)
{
	return sp_kube_transfers_fd(s->xs);
}

void sp_kube_source_process(struct sp_kube_source *s)
{
	sp_kube_transfers_run(s->xs);
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
