/* metrics.c - kube-proxy's metric names, histogram buckets and process metrics. */
#define _GNU_SOURCE
#include "metrics.h"
#include "../control/store.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* kube-proxy: metrics.ExponentialBuckets(0.001, 2, 15) */
static const double sync_bounds[] = {
	0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048,
	4.096, 8.192, 16.384,
};

/* kube-proxy: LinearBuckets(0.25,0.25,2) + LinearBuckets(1,1,59) +
 * LinearBuckets(60,5,12) + LinearBuckets(120,30,7) */
static const double netprog_bounds[] = {
	0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
	45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85, 90,
	95, 100, 105, 110, 115, 120, 150, 180, 210, 240, 270, 300,
};

static void hist_init(struct sp_histogram *h, const double *b, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->bounds = b;
	h->n_bounds = n;
}

void sp_metrics_init(struct sp_metrics *m, double start_time)
{
	memset(m, 0, sizeof(*m));
	hist_init(&m->sync, sync_bounds, sizeof(sync_bounds) / sizeof(sync_bounds[0]));
	hist_init(&m->sync_full, sync_bounds, sizeof(sync_bounds) / sizeof(sync_bounds[0]));
	hist_init(&m->sync_partial, sync_bounds, sizeof(sync_bounds) / sizeof(sync_bounds[0]));
	hist_init(&m->netprog, netprog_bounds, sizeof(netprog_bounds) / sizeof(netprog_bounds[0]));
	m->start_time = start_time;
}

void sp_histogram_observe(struct sp_histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void out(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void histogram(struct buf *b, const char *name, const char *help,
		      const struct sp_histogram *h)
{
	uint64_t cum = 0;

	out(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < h->n_bounds; i++) {
		cum += h->counts[i];
		out(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
	}
	cum += h->counts[h->n_bounds];
	out(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	out(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}

static void scalar(struct buf *b, const char *name, const char *type, const char *help,
		   double v)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the DIR's own descriptor */
}

static void process_metrics(struct buf *b, double start_time)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long vsz = 0, rss_pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &vsz, &rss_pages) != 2)
			vsz = rss_pages = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	scalar(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6);
	scalar(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       (double)rss_pages * (double)sysconf(_SC_PAGESIZE));
	scalar(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
	       (double)vsz * (double)sysconf(_SC_PAGESIZE));
	scalar(b, "process_open_fds", "gauge", "Number of open file descriptors.", count_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		scalar(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
		       (double)rl.rlim_cur);
	scalar(b, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.", start_time);
}

char *sp_metrics_render(const struct sp_metrics *m, const struct sp_store *st, const char *mode)
{
	struct buf b = { .cap = 16384 };

	b.p = malloc(b.cap);
	if (!b.p) {
		errno = ENOMEM;
		return NULL;
	}
	b.p[0] = '\0';
	histogram(&b, "kubeproxy_sync_proxy_rules_duration_seconds",
		  "SyncProxyRules latency in seconds", &m->sync);
	histogram(&b, "kubeproxy_sync_full_proxy_rules_duration_seconds",
		  "SyncProxyRules latency in seconds for full resyncs", &m->sync_full);
	histogram(&b, "kubeproxy_sync_partial_proxy_rules_duration_seconds",
		  "SyncProxyRules latency in seconds for partial resyncs", &m->sync_partial);
	histogram(&b, "kubeproxy_network_programming_duration_seconds",
		  "In Cluster Network Programming Latency in seconds", &m->netprog);
	scalar(&b, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "gauge",
	       "The last time proxy rules were successfully synced", m->last_sync_ts);
	scalar(&b, "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", "gauge",
	       "The last time a sync of proxy rules was queued", m->last_queued_ts);
	scalar(&b, "kubeproxy_sync_proxy_rules_endpoint_changes_pending", "gauge",
	       "Pending proxy rules Endpoint changes", (double)st->endpoint_changes_pending);
	scalar(&b, "kubeproxy_sync_proxy_rules_endpoint_changes_total", "counter",
	       "Cumulative proxy rules Endpoint changes", (double)st->endpoint_changes_total);
	scalar(&b, "kubeproxy_sync_proxy_rules_service_changes_pending", "gauge",
	       "Pending proxy rules Service changes", (double)st->service_changes_pending);
	scalar(&b, "kubeproxy_sync_proxy_rules_service_changes_total", "counter",
	       "Cumulative proxy rules Service changes", (double)st->service_changes_total);
	out(&b, "# HELP kubeproxy_sync_proxy_rules_no_local_endpoints_total Number of services with a Local traffic policy and no endpoints\n"
		"# TYPE kubeproxy_sync_proxy_rules_no_local_endpoints_total gauge\n"
		"kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"internal\"} %llu\n"
		"kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy=\"external\"} %llu\n",
	    (unsigned long long)m->no_local_internal, (unsigned long long)m->no_local_external);
	out(&b, "# HELP kubeproxy_proxy_healthz_total Cumulative proxy healthz HTTP status\n"
		"# TYPE kubeproxy_proxy_healthz_total counter\n"
		"kubeproxy_proxy_healthz_total{code=\"200\"} %llu\n"
		"kubeproxy_proxy_healthz_total{code=\"503\"} %llu\n",
	    (unsigned long long)m->healthz_200, (unsigned long long)m->healthz_503);
	out(&b, "# HELP kubeproxy_proxy_livez_total Cumulative proxy livez HTTP status\n"
		"# TYPE kubeproxy_proxy_livez_total counter\n"
		"kubeproxy_proxy_livez_total{code=\"200\"} %llu\n"
		"kubeproxy_proxy_livez_total{code=\"503\"} %llu\n",
	    (unsigned long long)m->livez_200, (unsigned long long)m->livez_503);
	if (!strcmp(mode, "nftables")) {
		scalar(&b, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total", "counter",
		       "Total number of nftables sync failures", (double)m->sync_failures);
		scalar(&b, "kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total", "counter",
		       "Total number of nftables cleanup failures", (double)m->cleanup_failures);
	} else {
		scalar(&b, "svcplane_sync_failures_total", "counter",
		       "Total number of backend sync failures", (double)m->sync_failures);
	}
	scalar(&b, "svcplane_source_errors_total", "counter",
	       "Objects and files the source refused", (double)m->source_errors);
	scalar(&b, "svcplane_source_watch_restarts_total", "counter",
	       "API watches that ended without a useful event, or expired (410), and were started again",
	       (double)m->source_restarts);
	process_metrics(&b, m->start_time);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}
