/* source_kube.c - list + watch against the API server, as kube-proxy's
 * informers do: paginated lists, then a watch from the list's
 * resourceVersion with bookmarks; 410 Gone → a fresh list whose result is
 * diffed into the store (nothing is flushed meanwhile); transport errors →
 * exponential backoff with jitter, then a watch from the last resourceVersion.
 * All transfers run on one curl multi handle driven from an epoll fd that
 * also holds a timerfd, so the agent's loop polls a single descriptor. */
#define _GNU_SOURCE
#include "source_kube.h"
#include "json_lines.h"
#include "k8s.h"
#include "k8s_field.h"
#include "kubeconfig.h"
#include "store.h"
#include "../common/hmap.h"
#include "../common/log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum kind { K_SERVICES, K_SLICES, K_NODE, K_COUNT };

static const char *const kind_path[K_COUNT] = {
	"/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/nodes",
};
static const char *const kind_name[K_COUNT] = { "services", "endpointslices", "nodes" };

/* kube-proxy's informers skip services another proxy owns and headless ones
 * (both labels, for Services and EndpointSlices alike). */
#define PROXY_SELECTOR "labelSelector=%21service.kubernetes.io%2Fservice-proxy-name%2C%21service.kubernetes.io%2Fheadless"

#define BACKOFF_FIRST 0.8
#define BACKOFF_MAX 30.0

enum phase { P_LIST, P_WATCH };

/* One resource's list/watch state. */
struct res {
	struct sp_kube_source *src;
	enum kind kind;
	enum phase phase;
	CURL *h;			/* the transfer in flight, or NULL */
	struct curl_slist *hdrs;
	char *rv;			/* resourceVersion to watch from */
	char *cont;			/* continue token of the list in progress */
	struct sp_hmap *seen;		/* keys the list in progress returned */
	bool listed;			/* the first list completed */
	bool relist;			/* the watch said 410: list again */
	bool too_big;			/* the list page exceeded max_list_bytes */
	char *body;			/* list page, or an error's Status */
	size_t len, cap;
	struct sp_json_lines lines;	/* the watch stream */
	double retry_at;		/* monotonic; 0 when no retry is pending */
	unsigned failures;
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
	struct res r[K_COUNT];
	size_t errors;
	unsigned seed;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- timers ------------------------------------------------------------------ */

/* The timerfd fires at the earliest of curl's timeout and any pending retry. */
static void arm(struct sp_kube_source *s)
{
	struct itimerspec its = {0};
	double at = s->curl_deadline;

	for (int k = 0; k < K_COUNT; k++)
		if (s->r[k].retry_at && (!at || s->r[k].retry_at < at))
			at = s->r[k].retry_at;
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
	s->curl_deadline = ms < 0 ? 0 : now_mono() + (double)ms / 1000.0;
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
	r->retry_at = now_mono() + d;
	sp_log_debug(s->lg, "API source: %s: retry in %.1f s", kind_name[r->kind], d);
}

static void fail(struct sp_kube_source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct sp_kube_source *s, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->errors++;
	sp_log_err(s->lg, "API source: %s", msg);
}

/* --- applying objects --------------------------------------------------------- */

/* "ns/name" (or "name") of @obj's metadata into @key; false when absent. */
static bool object_key(const cJSON *obj, bool namespaced, char *key, size_t sz)
{
	const cJSON *md = sp_field(obj, "metadata");
	const char *ns = cJSON_GetStringValue(sp_field(md, "namespace")),
		   *name = cJSON_GetStringValue(sp_field(md, "name"));

	if (!name || !*name || (namespaced && (!ns || !*ns)))
		return false;
	if (namespaced)
		snprintf(key, sz, "%s/%s", ns, name);
	else
		snprintf(key, sz, "%s", name);
	return true;
}

static void set_rv(struct res *r, const cJSON *obj)
{
	const char *rv = cJSON_GetStringValue(sp_field(sp_field(obj, "metadata"), "resourceVersion"));
	char *c;

	if (!rv || !*rv || !(c = strdup(rv)))
		return;
	free(r->rv);
	r->rv = c;
}

/* An object added, changed (@deleted false) or removed. Bad objects are one
 * error line each and are skipped; the store keeps their last good version. */
static void apply(struct res *r, const cJSON *obj, bool deleted, const char *where)
{
	struct sp_kube_source *s = r->src;
	struct sp_perr perr = {0};
	char key[320];
	void *parsed = NULL;
	int e = 0;

	if (!object_key(obj, r->kind != K_NODE, key, sizeof(key))) {
		fail(s, "%s %s: an object without metadata.name%s: skipped", kind_name[r->kind], where,
		     r->kind != K_NODE ? " and metadata.namespace" : "");
		return;
	}
	if (r->kind == K_NODE && strcmp(key, s->node_name))
		return;		/* not this node (a server that ignores fieldSelector) */
	if (r->seen)
		sp_hmap_put(r->seen, key, (void *)1, NULL);
	if (deleted) {
		if (r->kind == K_SERVICES)
			sp_store_del_service(s->st, key);
		else if (r->kind == K_SLICES)
			sp_store_del_slice(s->st, key);
		else
			sp_store_del_node(s->st, key);
		return;
	}
	if (r->kind == K_SERVICES && !(e = sp_service_parse(obj, (struct sp_service **)&parsed, &perr)))
		e = sp_store_set_service(s->st, parsed);
	else if (r->kind == K_SLICES && !(e = sp_slice_parse(obj, (struct sp_slice **)&parsed, &perr)))
		e = sp_store_set_slice(s->st, parsed);
	else if (r->kind == K_NODE && !(e = sp_node_parse(obj, (struct sp_node **)&parsed, &perr)))
		e = sp_store_set_node(s->st, parsed);
	if (e == -EINVAL)
		fail(s, "%s %s %s: %s%s%s; this version is skipped", kind_name[r->kind], where, key,
		     perr.field, perr.field[0] ? ": " : "", perr.msg);
	else if (e)
		fail(s, "%s %s %s: %s", kind_name[r->kind], where, key, strerror(-e));
}

/* After the last page: what the store holds that the list did not return
 * is gone. Only those objects change; the rest stay as they are. */
static void drop_unseen(struct res *r)
{
	struct sp_store *st = r->src->st;
	struct sp_hmap *h = r->kind == K_SERVICES ? st->services : r->kind == K_SLICES ? st->slices : NULL;
	const char **keys;
	size_t n;

	if (r->kind == K_NODE) {
		if (st->node && !sp_hmap_get(r->seen, st->node->name))
			sp_store_del_node(st, st->node->name);
		return;
	}
	keys = sp_hmap_sorted_keys(h, &n);
	for (size_t i = 0; keys && i < n; i++) {
		if (sp_hmap_get(r->seen, keys[i]))
			continue;
		/* (the key points into the store: copy it before the delete frees it) */
		char *k = strdup(keys[i]);

		if (!k)
			continue;
		if (r->kind == K_SERVICES)
			sp_store_del_service(st, k);
		else
			sp_store_del_slice(st, k);
		free(k);
	}
	free(keys);
}

/* --- watch events ------------------------------------------------------------- */

static int on_event(void *ctx, char *line, size_t len)
{
	struct res *r = ctx;
	struct sp_kube_source *s = r->src;
	cJSON *ev = cJSON_ParseWithLength(line, len);
	const char *type = cJSON_GetStringValue(sp_field(ev, "type"));
	const cJSON *obj = sp_field(ev, "object");
	int stop = 0;

	if (!ev || !type || !cJSON_IsObject(obj)) {
		fail(s, "watch %s: an event that is not {\"type\", \"object\"} JSON (%zu bytes): skipped",
		     kind_name[r->kind], len);
	} else if (!strcmp(type, "BOOKMARK")) {
		set_rv(r, obj);
	} else if (!strcmp(type, "ERROR")) {
		double code = cJSON_GetNumberValue(sp_field(obj, "code"));

		if (code == 410) {
			sp_log_info(s->lg, "API source: watch %s: resourceVersion %s is too old (410 Gone): listing again",
				    kind_name[r->kind], r->rv ? r->rv : "");
			r->relist = true;
		} else {
			fail(s, "watch %s: error event: %s", kind_name[r->kind],
			     cJSON_GetStringValue(sp_field(obj, "message")) ?: "(no message)");
		}
		stop = 1;	/* this stream is over */
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		apply(r, obj, type[0] == 'D', "watch");
		set_rv(r, obj);
	} else {
		fail(s, "watch %s: unknown event type %.32s: skipped", kind_name[r->kind], type);
	}
	cJSON_Delete(ev);
	return stop;
}

static void on_oversize(void *ctx, size_t max)
{
	struct res *r = ctx;

	fail(r->src, "watch %s: an event larger than %zu bytes: refused", kind_name[r->kind], max);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct res *r = ud;
	size_t n = size * nmemb;
	long code = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (r->phase == P_WATCH && code == 200) {
		r->failures = 0;	/* connected: the next failure starts the backoff anew */
		return sp_json_lines_feed(&r->lines, p, n, on_event, on_oversize, r) ? 0 : n;
	}
	if (r->len + n > r->src->o.max_list_bytes) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (!(b = realloc(r->body, cap)))
			return 0;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	return n;
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

	if (r->kind == K_NODE) {
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
		char *rv = curl_easy_escape(NULL, r->rv ? r->rv : "", 0);
		double t = s->o.watch_timeout ? s->o.watch_timeout
					      : 300.0 * (1.0 + (double)rand_r(&s->seed) / RAND_MAX);

		snprintf(extra, sizeof(extra), "watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
			 rv ? rv : "", (int)t);
		curl_free(rv);
	}
	snprintf(url, sz, "%s%s?%s&%s", s->conn.server, kind_path[r->kind], sel, extra);
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
		fail(s, "%s: token file %s: %s", kind_name[r->kind], s->conn.token_file, strerror(-e));
		backoff(r);
		return;
	}
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "User-Agent: svcplane");
	if (token && asprintf(&auth, "Authorization: Bearer %s", token) > 0) {
		r->hdrs = curl_slist_append(r->hdrs, auth);
		memset(auth, 0, strlen(auth));
	}
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	free(auth);
	r->len = 0;
	r->too_big = r->relist = false;
	sp_json_lines_reset(&r->lines);
	if (!(r->h = curl_easy_init()) || !r->hdrs) {
		fail(s, "%s: cannot set up a request (out of memory)", kind_name[r->kind]);
		goto fail;
	}
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_ACCEPT_ENCODING, "");
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
		fail(s, "%s: this libcurl cannot take the kubeconfig's certificates", kind_name[r->kind]);
		goto fail;
	}
	if (curl_multi_add_handle(s->multi, r->h) != CURLM_OK) {
		fail(s, "%s: cannot start a request", kind_name[r->kind]);
		goto fail;
	}
	sp_log_debug(s->lg, "API source: %s %s", r->phase == P_LIST ? "list" : "watch", url);
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
	sp_hmap_free(r->seen);
	r->seen = sp_hmap_new();
	r->phase = P_LIST;
}

/* "reason: message" of a Status body, for the error line. */
static void status_text(const struct res *r, char *out, size_t sz)
{
	cJSON *st = r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *msg = cJSON_GetStringValue(sp_field(st, "message"));

	snprintf(out, sz, "%s", msg ? msg : r->len ? "(a body that is not a Status)" : "(no body)");
	cJSON_Delete(st);
}

/* One list page arrived whole. Returns 0, or -EINVAL (logged). */
static int list_page(struct res *r)
{
	struct sp_kube_source *s = r->src;
	cJSON *list = cJSON_ParseWithLength(r->body, r->len);
	const cJSON *items = sp_field(list, "items"), *it;
	const char *cont, *rv;

	if (!list || !cJSON_IsArray(items)) {
		fail(s, "list %s: the response is not a list (%zu bytes)", kind_name[r->kind], r->len);
		cJSON_Delete(list);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, items)
		apply(r, it, false, "list");
	cont = cJSON_GetStringValue(sp_field(sp_field(list, "metadata"), "continue"));
	rv = cJSON_GetStringValue(sp_field(sp_field(list, "metadata"), "resourceVersion"));
	free(r->cont);
	r->cont = cont && *cont ? strdup(cont) : NULL;
	if (!r->cont && rv) {
		free(r->rv);
		r->rv = strdup(rv);
	}
	cJSON_Delete(list);
	return 0;
}

static void list_done(struct res *r, CURLcode rc, long code)
{
	struct sp_kube_source *s = r->src;
	char why[256];

	if (rc == CURLE_OK && code == 200 && !list_page(r)) {
		r->failures = 0;
		if (r->cont) {
			start(r);	/* next page */
			return;
		}
		drop_unseen(r);
		sp_hmap_free(r->seen);
		r->seen = NULL;
		if (!r->listed)
			sp_log_info(s->lg, "API source: %s listed (resourceVersion %s)", kind_name[r->kind],
				    r->rv ? r->rv : "");
		r->listed = true;
		r->phase = P_WATCH;
		start(r);
		return;
	}
	if (rc == CURLE_OK && code == 410 && r->cont && !r->failures++) {
		/* (once at once; a server that keeps expiring it gets the backoff) */
		sp_log_info(s->lg, "API source: list %s: continue token expired: listing from the start",
			    kind_name[r->kind]);
		begin_list(r);
		start(r);
		return;
	}
	if (r->too_big)
		fail(s, "list %s: a page larger than %zu bytes: refused", kind_name[r->kind], s->o.max_list_bytes);
	else if (rc != CURLE_OK)
		fail(s, "list %s: %s", kind_name[r->kind], curl_easy_strerror(rc));
	else if (code != 200) {
		status_text(r, why, sizeof(why));
		fail(s, "list %s: HTTP %ld: %s", kind_name[r->kind], code, why);
	}
	begin_list(r);	/* a failed list starts over (its pages may be stale) */
	backoff(r);
}

static void watch_done(struct res *r, CURLcode rc, long code)
{
	struct sp_kube_source *s = r->src;
	char why[256];

	if (r->relist || (rc == CURLE_OK && code == 410)) {
		begin_list(r);
		start(r);
		return;
	}
	if (rc == CURLE_OK && code == 200) {
		if (sp_json_lines_pending(&r->lines))
			sp_log_warn(s->lg, "API source: watch %s: the stream ended inside an event; watching again from %s",
				    kind_name[r->kind], r->rv ? r->rv : "");
		start(r);	/* the server's timeout: watch on */
		return;
	}
	if (rc == CURLE_OK) {
		status_text(r, why, sizeof(why));
		fail(s, "watch %s: HTTP %ld: %s", kind_name[r->kind], code, why);
	} else if (rc != CURLE_WRITE_ERROR) {	/* (write errors were logged as they happened) */
		sp_log_warn(s->lg, "API source: watch %s: %s; watching again from resourceVersion %s",
			    kind_name[r->kind], curl_easy_strerror(rc), r->rv ? r->rv : "");
	}
	backoff(r);
}

static void finished_transfers(struct sp_kube_source *s)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct res *r = NULL;
		CURLcode rc = m->data.result;
		long code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(s->multi, m->easy_handle);
		curl_easy_cleanup(m->easy_handle);
		if (!r)
			continue;
		r->h = NULL;
		curl_slist_free_all(r->hdrs);
		r->hdrs = NULL;
		if (r->phase == P_LIST)
			list_done(r, rc, code);
		else
			watch_done(r, rc, code);
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
	if (s->conn.insecure)
		sp_log_warn(lg, "API source: %s: insecure-skip-tls-verify is set: the API server's certificate is NOT checked",
			    s->conn.source ? s->conn.source : "kubeconfig");
	for (int k = 0; k < K_COUNT; k++) {
		struct res *r = &s->r[k];

		r->src = s;
		r->kind = (enum kind)k;
		sp_json_lines_init(&r->lines, s->o.max_event_bytes);
		begin_list(r);
		start(r);
	}
	sp_log_info(lg, "API source: %s (%s), node %s", s->conn.server, s->conn.source ? s->conn.source : "",
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
		sp_hmap_free(r->seen);
		sp_json_lines_fini(&r->lines);
		free(r->rv);
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
	now = now_mono();
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

size_t sp_kube_source_errors(const struct sp_kube_source *s)
{
	return s->errors;
}
