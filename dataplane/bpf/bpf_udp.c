/* bpf_udp.c - the UDP socket iterator: load, and run it in every network
 * namespace that has a process in the socket hooks' cgroup (an iterator sees
 * the namespace it is created in; setns there and back, on this thread). */
#define _GNU_SOURCE
#include "bpf_udp.h"
#include "udp_destroy.skel.h"
#include "../../bpf/maps.h"
#include "../../common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct sp_bpf_udp {
	struct udp_destroy *skel;
	struct bpf_link *link;
	char cgroup[4096];
	const struct sp_log *log;
	struct sp_gone_key *gone;
	size_t n, cap;
};

struct sp_bpf_udp *sp_bpf_udp_new(const char *cgroup_path, const struct sp_log *log)
{
	struct sp_bpf_udp *u = calloc(1, sizeof(*u));
	int e;

	if (!u)
		return NULL;
	u->log = log;
	snprintf(u->cgroup, sizeof(u->cgroup), "%s", cgroup_path);
	if (!(u->skel = udp_destroy__open_and_load())) {
		e = errno;
		free(u);
		errno = e;
		return NULL;
	}
	if (!(u->link = bpf_program__attach_iter(u->skel->progs.sp_udp_destroy, NULL))) {
		e = errno;
		udp_destroy__destroy(u->skel);
		free(u);
		errno = e;
		return NULL;
	}
	return u;
}

void sp_bpf_udp_free(struct sp_bpf_udp *u)
{
	if (!u)
		return;
	bpf_link__destroy(u->link);
	udp_destroy__destroy(u->skel);
	free(u->gone);
	free(u);
}

static bool serves(const struct sp_endpoint *ep)
{
	return ep->for_cluster || ep->for_local;
}

static bool still_served(const struct sp_svc_port *p, const struct sp_endpoint *ep)
{
	for (size_t i = 0; p && i < p->n_eps; i++)
		if (serves(&p->eps[i]) && p->eps[i].port == ep->port &&
		    !sp_addr_cmp(&p->eps[i].addr, &ep->addr))
			return true;
	return false;
}

int sp_bpf_udp_note(struct sp_bpf_udp *u, const struct sp_svc_port *old,
		    const struct sp_svc_port *new)
{
	if (!old || old->protocol != IPPROTO_UDP)
		return 0;
	for (size_t i = 0; i < old->n_eps; i++) {
		const struct sp_endpoint *ep = &old->eps[i];
		struct sp_gone_key k = {.port_be = htons(ep->port),
					.family = ep->addr.family == AF_INET6 ? 6 : 4};

		if (!serves(ep) || still_served(new, ep))
			continue;
		if (u->n == u->cap) {
			size_t cap = u->cap ? u->cap * 2 : 64;
			struct sp_gone_key *v = realloc(u->gone, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			u->gone = v;
			u->cap = cap;
		}
		memcpy(k.addr, ep->addr.bytes, ep->addr.family == AF_INET6 ? 16 : 4);
		u->gone[u->n++] = k;
	}
	return 0;
}

/* Read the iterator once in the current network namespace. */
static int run_here(struct sp_bpf_udp *u)
{
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(u->link));
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

/* One network namespace to visit, held open from the moment it is found. */
struct netns {
	ino_t ino;
	int fd;
};

/* The network namespaces of the processes in cgroup @dir and below, each
 * once, opened (a process may exit before the visit: its fd keeps the
 * namespace). */
static void collect_netns(const char *dir, struct netns *v, size_t *n, size_t max, int depth,
			  int *denied)
{
	char p[4400];
	FILE *f;
	DIR *d;
	struct dirent *de;
	long pid;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if ((f = fopen(p, "re"))) {
		while (*n < max && fscanf(f, "%ld", &pid) == 1) {
			struct stat st;
			size_t i;

			snprintf(p, sizeof(p), "/proc/%ld/ns/net", pid);
			if (stat(p, &st))
				continue;
			for (i = 0; i < *n && v[i].ino != st.st_ino; i++)
				;
			if (i < *n)
				continue;
			if ((v[*n].fd = open(p, O_RDONLY | O_CLOEXEC)) < 0) {
				*denied += errno == EACCES || errno == EPERM;
				continue;
			}
			v[(*n)++].ino = st.st_ino;
		}
		fclose(f);
	}
	if (depth > 16 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			collect_netns(p, v, n, max, depth + 1, denied);
		}
	closedir(d);
}

/* The iterator once in each network namespace of @v, then back. */
static int run_all(struct sp_bpf_udp *u, const struct netns *v, size_t n, int *visited,
		   int *denied)
{
	int self, e = 0;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		if (!setns(v[i].fd, CLONE_NEWNET)) {
			int r = run_here(u);

			if (r && !e)
				e = r;
			(*visited)++;
		} else {
			*denied += errno == EPERM;
		}
	}
	if (setns(self, CLONE_NEWNET)) {
		/* Cannot happen for our own namespace; if it did, every later
		 * netlink call would go to the wrong place: say so loudly. */
		sp_log_err(u->log, "bpf: back to the agent's network namespace: %s",
			   strerror(errno));
		e = -errno;
	}
	close(self);
	return e;
}

int sp_bpf_udp_flush(struct sp_bpf_udp *u)
{
	int map = bpf_map__fd(u->skel->maps.sp_gone), e = 0, visited = 0, denied = 0;
	uint8_t one = 1;
	struct netns seen[1024];
	size_t n = 0;

	if (!u->n)
		return 0;
	collect_netns(u->cgroup, seen, &n, 1024, 0, &denied);
	/* The gone map holds 4096 endpoints: larger lists go in batches. */
	for (size_t b = 0; b < u->n && !e; b += 4096) {
		size_t end = u->n - b > 4096 ? b + 4096 : u->n;

		for (size_t i = b; i < end; i++)
			if (bpf_map_update_elem(map, &u->gone[i], &one, BPF_ANY))
				e = -errno;
		if (!e)
			e = run_all(u, seen, n, &visited, &denied);
		for (size_t i = b; i < end; i++)
			bpf_map_delete_elem(map, &u->gone[i]);
	}
	for (size_t i = 0; i < n; i++)
		close(seen[i].fd);
	u->n = 0;
	if (denied)
		sp_log_warn(u->log,
			    "bpf: %d pod network namespaces could not be entered (permission "
			    "denied: the agent needs CAP_SYS_ADMIN for setns and CAP_SYS_PTRACE "
			    "for other users' /proc/PID/ns/net): their connected UDP sockets to "
			    "removed endpoints are not disconnected",
			    denied);
	return e ? e : visited;
}
