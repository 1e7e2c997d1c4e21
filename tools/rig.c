/* rig.c - builds and removes throw-away topologies of network namespaces with
 * iproute2 (ip -batch per namespace); sysctls are set from inside each node
 * namespace, never in the machine's own. Addresses follow docs/architecture.md: pods of
 * node N in 198.18.N.0/24 and fd00:10:0:N::/64, nodes on the fabric at
 * 198.19.0.N and fd00:19::N, clients from .100, the router at .254 / ::fe. */
#define _GNU_SOURCE
#include "rig.h"
#include "rig_cgroup.h"
#include "../control/k8s.h"
#include "../control/yaml.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NETNS_DIR "/run/netns"

void rig_ns_name(const char *rig, const char *member, char *buf, size_t sz)
{
	snprintf(buf, sz, "sp-%s-%s", rig, member);
}

bool rig_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= RIG_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int perr(char *err, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Every member name must be unique: they become namespace names. */
static bool taken(const struct rig *r, const char *name)
{
	if (!strcmp(name, "fabric"))
		return true;
	for (int i = 0; i < r->nnodes; i++)
		if (!strcmp(r->nodes[i], name))
			return true;
	for (int i = 0; i < r->npods; i++)
		if (!strcmp(r->pods[i].name, name))
			return true;
	for (int i = 0; i < r->nclients; i++)
		if (!strcmp(r->clients[i], name))
			return true;
	return false;
}

static int parse_pod(const char *path, const cJSON *p, int node, int index, struct rig *r,
		     char *err, size_t sz)
{
	struct rig_pod *pod = &r->pods[r->npods];
	const cJSON *name = cJSON_IsString(p) ? p : cJSON_GetObjectItem(p, "name");
	const cJSON *ports = cJSON_IsObject(p) ? cJSON_GetObjectItem(p, "ports") : NULL, *it;

	if (r->npods == RIG_MAX_PODS)
		return perr(err, sz, "%s: more than %d pods", path, RIG_MAX_PODS);
	if (!cJSON_IsString(name) || !rig_name_ok(name->valuestring) || taken(r, name->valuestring))
		return perr(err, sz, "%s: nodes[%d].pods[%d].name: missing, invalid or not unique",
			    path, node - 1, index);
	snprintf(pod->name, sizeof(pod->name), "%s", name->valuestring);
	pod->node = node;
	pod->index = index;
	if (!ports) {
		pod->ports[pod->nports++] = 8080;
	} else {
		cJSON_ArrayForEach(it, ports) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 65535 ||
			    pod->nports == 8)
				return perr(err, sz, "%s: pod %s: ports: want up to 8 numbers in 1-65535",
					    path, pod->name);
			pod->ports[pod->nports++] = (unsigned)it->valuedouble;
		}
	}
	r->npods++;
	return 0;
}

int rig_parse_file(const char *path, struct rig *r, char *err, size_t sz)
{
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t n;
	struct sp_perr pe = {0};
	cJSON *docs, *root, *it;
	const cJSON *name, *nodes, *clients;
	int e = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!f)
		return perr(err, sz, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	docs = sp_yaml_load(buf, n, &pe);
	if (!docs)
		return perr(err, sz, "%s: %s", path, pe.msg);
	root = cJSON_GetArrayItem(docs, 0);
	name = cJSON_GetObjectItem(root, "name");
	nodes = cJSON_GetObjectItem(root, "nodes");
	clients = cJSON_GetObjectItem(root, "clients");
	if (!cJSON_IsString(name) || !rig_name_ok(name->valuestring) || strlen(name->valuestring) > 8) {
		perr(err, sz, "%s: name: want 1-8 characters of [a-z0-9-]", path);
		goto out;
	}
	snprintf(r->name, sizeof(r->name), "%s", name->valuestring);
	if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) < 1 ||
	    cJSON_GetArraySize(nodes) > RIG_MAX_NODES) {
		perr(err, sz, "%s: nodes: want a list of 1-%d nodes", path, RIG_MAX_NODES);
		goto out;
	}
	cJSON_ArrayForEach(it, nodes) {
		const cJSON *nn = cJSON_GetObjectItem(it, "name"), *pods = cJSON_GetObjectItem(it, "pods"), *p;
		int idx = 0;

		/* "clients" is the cgroup of clients and the fabric (rig_cgroup.h). */
		if (!cJSON_IsString(nn) || !rig_name_ok(nn->valuestring) || taken(r, nn->valuestring) ||
		    !strcmp(nn->valuestring, RIG_CG_CLIENTS)) {
			perr(err, sz, "%s: nodes[%d].name: missing, invalid, \"" RIG_CG_CLIENTS
				      "\" or not unique", path, r->nnodes);
			goto out;
		}
		snprintf(r->nodes[r->nnodes++], RIG_NAME_MAX, "%s", nn->valuestring);
		cJSON_ArrayForEach(p, pods) {
			if (idx == 200) {
				perr(err, sz, "%s: node %s: too many pods", path, nn->valuestring);
				goto out;
			}
			if ((e = parse_pod(path, p, r->nnodes, idx++, r, err, sz)))
				goto out;
		}
		e = -EINVAL;
	}
	cJSON_ArrayForEach(it, clients) {
		if (!cJSON_IsString(it) || !rig_name_ok(it->valuestring) || taken(r, it->valuestring) ||
		    r->nclients == RIG_MAX_CLIENTS) {
			perr(err, sz, "%s: clients[%d]: invalid or not unique", path, r->nclients);
			goto out;
		}
		snprintf(r->clients[r->nclients++], RIG_NAME_MAX, "%s", it->valuestring);
	}
	e = 0;
out:
	cJSON_Delete(docs);
	return e;
}

/* Run "ip [-n NS] -batch -" with @cmds on its standard input. */
static int ip_batch(const char *ns, const char *cmds)
{
	int p[2], status;
	pid_t pid;
	size_t len = strlen(cmds), off = 0;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -errno;
	pid = fork();
	if (pid == -1)
		return -errno;
	if (pid == 0) {
		dup2(p[0], 0);
		if (ns)
			execlp("ip", "ip", "-n", ns, "-batch", "-", (char *)NULL);
		else
			execlp("ip", "ip", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	while (off < len) {
		ssize_t w = write(p[1], cmds + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(p[1]);
	if (waitpid(pid, &status, 0) == -1)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "rig: ip%s%s -batch failed\n", ns ? " -n " : "", ns ? ns : "");
		return -EIO;
	}
	return 0;
}

/* A growing command text for one ip -batch run. */
struct cmds {
	char *buf;
	size_t len;
	FILE *f;
};

static void cmds_open(struct cmds *c)
{
	c->buf = NULL;
	c->f = open_memstream(&c->buf, &c->len);
}

static int cmds_run(struct cmds *c, const char *ns)
{
	int e;

	fclose(c->f);
	e = ip_batch(ns, c->buf ? c->buf : "");
	free(c->buf);
	return e;
}

/* Write sysctls (path=value pairs, NULL-terminated) inside namespace @ns. */
static int ns_sysctls(const char *ns, const char *const *kv)
{
	char path[256];
	pid_t pid;
	int status, fd;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	pid = fork();
	if (pid == -1)
		return -errno;
	if (pid == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || setns(fd, CLONE_NEWNET) == -1)
			_exit(1);
		for (int i = 0; kv[i]; i += 2) {
			char p[256];
			int sfd;

			snprintf(p, sizeof(p), "/proc/sys/%s", kv[i]);
			sfd = open(p, O_WRONLY | O_CLOEXEC);
			if (sfd == -1 || write(sfd, kv[i + 1], strlen(kv[i + 1])) == -1) {
				fprintf(stderr, "rig: %s: %s: %s\n", ns, p, strerror(errno));
				_exit(1);
			}
			close(sfd);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Start echod in pod @p's namespace; wait until its ports are bound. */
static int start_echod(const struct rig *r, const struct rig_pod *p)
{
	char ns[64], nspath[128], logp[256], fdtxt[16], portv[8][8], cg[256], pin[256];
	char *argv[4 + 2 * 8 + 4];
	int pipefd[2], argc = 0, err;
	struct pollfd pfd;
	char c;
	pid_t pid;

	if ((err = rig_cg_member(r->name, p->name, cg, sizeof(cg), pin, sizeof(pin)))) {
		fprintf(stderr, "rig: no cgroup for pod %s: %s\n", p->name, strerror(-err));
		return err;
	}
	rig_ns_name(r->name, p->name, ns, sizeof(ns));
	snprintf(nspath, sizeof(nspath), NETNS_DIR "/%s", ns);
	rig_state_path(r->name, p->name, logp, sizeof(logp));
	strncat(logp, ".log", sizeof(logp) - strlen(logp) - 1);
	if (pipe(pipefd) == -1)
		return -errno;
	snprintf(fdtxt, sizeof(fdtxt), "%d", pipefd[1]);
	argv[argc++] = "svcplanectl";
	argv[argc++] = "echod";
	argv[argc++] = "--name";
	argv[argc++] = (char *)p->name;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdtxt;
	for (int i = 0; i < p->nports; i++) {
		snprintf(portv[i], sizeof(portv[i]), "%u", p->ports[i]);
		argv[argc++] = "--port";
		argv[argc++] = portv[i];
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid == -1)
		return -errno;
	if (pid == 0) {
		int fd = open(nspath, O_RDONLY | O_CLOEXEC), lf;

		close(pipefd[0]);
		/* Its node's cgroup before exec: the node's socket hooks see it. */
		if (rig_cg_join(cg) || fd == -1 || setns(fd, CLONE_NEWNET) == -1)
			_exit(1);
		setsid();
		lf = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (lf >= 0) {
			dup2(lf, 1);
			dup2(lf, 2);
		}
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		/* Nothing else of ours goes along: an inherited lock (a test run
		 * under flock) held by a long-lived echod would wedge the next run. */
		close_range(3, (unsigned)pipefd[1] - 1, 0);
		close_range((unsigned)pipefd[1] + 1, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(pipefd[0], &c, 1) != 1) {
		close(pipefd[0]);
		fprintf(stderr, "rig: echod in %s did not start (see %s)\n", p->name, logp);
		return -EIO;
	}
	close(pipefd[0]);
	return 0;
}

static bool ns_exists(const char *ns)
{
	char p[128];

	snprintf(p, sizeof(p), NETNS_DIR "/%s", ns);
	return access(p, F_OK) == 0;
}

static int build_fabric(const struct rig *r)
{
	char fab[64], ns[64];
	struct cmds c;

	rig_ns_name(r->name, "fabric", fab, sizeof(fab));
	cmds_open(&c);
	fprintf(c.f, "link set lo up\nlink add br0 type bridge\n"
		     "addr add 198.19.0.254/24 dev br0\naddr add fd00:19::fe/64 dev br0 nodad\n"
		     "link set br0 up\n");
	for (int n = 1; n <= r->nnodes; n++) {
		rig_ns_name(r->name, r->nodes[n - 1], ns, sizeof(ns));
		fprintf(c.f, "link add n%d type veth peer name eth0 netns %s\n"
			     "link set n%d master br0\nlink set n%d up\n", n, ns, n, n);
	}
	for (int i = 0; i < r->nclients; i++) {
		rig_ns_name(r->name, r->clients[i], ns, sizeof(ns));
		fprintf(c.f, "link add c%d type veth peer name eth0 netns %s\n"
			     "link set c%d master br0\nlink set c%d up\n", i, ns, i, i);
	}
	for (int n = 1; n <= r->nnodes; n++)
		fprintf(c.f, "route add 198.18.%d.0/24 via 198.19.0.%d\n"
			     "route add fd00:10:0:%d::/64 via fd00:19::%d\n", n, n, n, n);
	/* Service, external and load-balancer ranges go to node 1. */
	fprintf(c.f, "route add 198.19.128.0/20 via 198.19.0.1\nroute add 198.19.200.0/24 via 198.19.0.1\n"
		     "route add 198.19.201.0/24 via 198.19.0.1\nroute add fd00:96::/108 via fd00:19::1\n"
		     "route add fd00:200::/64 via fd00:19::1\nroute add fd00:201::/64 via fd00:19::1\n");
	return cmds_run(&c, fab);
}

static int build_node(const struct rig *r, int n)
{
	char ns[64], pns[64];
	struct cmds c;
	static const char *const sysctls[] = {
		"net/ipv4/ip_forward", "1",
		"net/ipv6/conf/all/forwarding", "1",
		"net/bridge/bridge-nf-call-iptables", "1",
		"net/bridge/bridge-nf-call-ip6tables", "1",
		"net/ipv4/conf/all/rp_filter", "0",
		"net/ipv4/conf/default/rp_filter", "0",
		/* Service, external and LB ranges reach node 1 through the fabric
		 * and may leave the way they came: an ICMP redirect for those would
		 * use up the ICMP rate budget the node's rejections need. */
		"net/ipv4/conf/all/send_redirects", "0",
		"net/ipv4/conf/default/send_redirects", "0",
		"net/ipv4/conf/eth0/send_redirects", "0",
		NULL,
	};
	int e;

	rig_ns_name(r->name, r->nodes[n - 1], ns, sizeof(ns));
	cmds_open(&c);
	fprintf(c.f, "link set lo up\n"
		     "addr add 198.19.0.%d/24 dev eth0\naddr add fd00:19::%d/64 dev eth0 nodad\n"
		     "link set eth0 up\n"
		     "route add default via 198.19.0.254\nroute add default via fd00:19::fe\n"
		     "link add cbr0 type bridge\n"
		     "addr add 198.18.%d.1/24 dev cbr0\naddr add fd00:10:0:%d::1/64 dev cbr0 nodad\n"
		     "link set cbr0 up\n", n, n, n, n);
	for (int i = 0; i < r->npods; i++) {
		const struct rig_pod *p = &r->pods[i];

		if (p->node != n)
			continue;
		rig_ns_name(r->name, p->name, pns, sizeof(pns));
		/* Hairpin on, as kubelet's bridge CNI sets it: a pod can reach
		 * itself through its own service. */
		fprintf(c.f, "link add vp%d type veth peer name eth0 netns %s\n"
			     "link set vp%d master cbr0\nlink set dev vp%d type bridge_slave hairpin on\n"
			     "link set vp%d up\n", p->index, pns, p->index, p->index, p->index);
	}
	if ((e = cmds_run(&c, ns)))
		return e;
	/* The fabric router forwards too; its namespace is ours as well. */
	return ns_sysctls(ns, sysctls);
}

static int build_leaf(const char *ns, const char *v4, const char *gw4, const char *v6,
		      const char *gw6, int plen4, int plen6)
{
	struct cmds c;

	cmds_open(&c);
	fprintf(c.f, "link set lo up\naddr add %s/%d dev eth0\naddr add %s/%d dev eth0 nodad\n"
		     "link set eth0 up\nroute add default via %s\nroute add default via %s\n",
		v4, plen4, v6, plen6, gw4, gw6);
	return cmds_run(&c, ns);
}

static int write_hosts(const struct rig *r)
{
	char p[256];
	FILE *f;

	rig_state_path(r->name, "hosts", p, sizeof(p));
	f = fopen(p, "w");
	if (!f)
		return -errno;
	fprintf(f, "# member namespace ipv4 ipv6\n");
	fprintf(f, "fabric sp-%s-fabric 198.19.0.254 fd00:19::fe\n", r->name);
	for (int n = 1; n <= r->nnodes; n++)
		fprintf(f, "%s sp-%s-%s 198.19.0.%d fd00:19::%d\n", r->nodes[n - 1], r->name,
			r->nodes[n - 1], n, n);
	for (int i = 0; i < r->npods; i++)
		fprintf(f, "%s sp-%s-%s 198.18.%d.%d fd00:10:0:%d::%d\n", r->pods[i].name, r->name,
			r->pods[i].name, r->pods[i].node, 10 + r->pods[i].index, r->pods[i].node,
			10 + r->pods[i].index);
	for (int i = 0; i < r->nclients; i++)
		fprintf(f, "%s sp-%s-%s 198.19.0.%d fd00:19::%d\n", r->clients[i], r->name,
			r->clients[i], 100 + i, 100 + i);
	fclose(f);
	return 0;
}

/* No duplicate address detection in any rig namespace, set before the first
 * link exists: a tentative link-local address would delay neighbour discovery
 * and make the first IPv6 packets after `rig up` vanish. */
static int no_dad_everywhere(const struct rig *r)
{
	static const char *const kv[] = {
		"net/ipv6/conf/all/accept_dad", "0", "net/ipv6/conf/default/accept_dad", "0",
		"net/ipv6/conf/all/dad_transmits", "0", "net/ipv6/conf/default/dad_transmits", "0",
		NULL,
	};
	char ns[64];
	int e;

	rig_ns_name(r->name, "fabric", ns, sizeof(ns));
	if ((e = ns_sysctls(ns, kv)))
		return e;
	for (int i = 0; i < r->nnodes; i++) {
		rig_ns_name(r->name, r->nodes[i], ns, sizeof(ns));
		if ((e = ns_sysctls(ns, kv)))
			return e;
	}
	for (int i = 0; i < r->npods; i++) {
		rig_ns_name(r->name, r->pods[i].name, ns, sizeof(ns));
		if ((e = ns_sysctls(ns, kv)))
			return e;
	}
	for (int i = 0; i < r->nclients; i++) {
		rig_ns_name(r->name, r->clients[i], ns, sizeof(ns));
		if ((e = ns_sysctls(ns, kv)))
			return e;
	}
	return 0;
}

int rig_up(const struct rig *r)
{
	static const char *const router_sysctls[] = {
		"net/ipv4/ip_forward", "1", "net/ipv6/conf/all/forwarding", "1", NULL,
	};
	char ns[64], dir[256], v4[32], v6[48], gw4[32], gw6[48];
	struct cmds c;
	int e;

	rig_ns_name(r->name, "fabric", ns, sizeof(ns));
	rig_state_path(r->name, NULL, dir, sizeof(dir));
	if (ns_exists(ns) || rig_cg_present(r->name)) {
		fprintf(stderr, "rig %s is already up ('svcplanectl rig down %s' first)\n", r->name, r->name);
		return -EEXIST;
	}
	mkdir("/run/svcplane", 0755);
	mkdir(RIG_STATE_DIR, 0755);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -errno;
	/* cgroups and bpffs before any process or namespace that would use them */
	if ((e = rig_cg_setup(r)))
		goto err_down;

	cmds_open(&c);
	fprintf(c.f, "netns add %s\n", ns);
	for (int i = 0; i < r->nnodes; i++) {
		rig_ns_name(r->name, r->nodes[i], ns, sizeof(ns));
		fprintf(c.f, "netns add %s\n", ns);
	}
	for (int i = 0; i < r->npods; i++) {
		rig_ns_name(r->name, r->pods[i].name, ns, sizeof(ns));
		fprintf(c.f, "netns add %s\n", ns);
	}
	for (int i = 0; i < r->nclients; i++) {
		rig_ns_name(r->name, r->clients[i], ns, sizeof(ns));
		fprintf(c.f, "netns add %s\n", ns);
	}
	if ((e = cmds_run(&c, NULL)) || (e = no_dad_everywhere(r)))
		goto err_down;
	if ((e = build_fabric(r)))
		goto err_down;
	rig_ns_name(r->name, "fabric", ns, sizeof(ns));
	if ((e = ns_sysctls(ns, router_sysctls)))
		goto err_down;
	for (int n = 1; n <= r->nnodes; n++)
		if ((e = build_node(r, n)))
			goto err_down;
	for (int i = 0; i < r->npods; i++) {
		const struct rig_pod *p = &r->pods[i];

		rig_ns_name(r->name, p->name, ns, sizeof(ns));
		snprintf(v4, sizeof(v4), "198.18.%d.%d", p->node, 10 + p->index);
		snprintf(v6, sizeof(v6), "fd00:10:0:%d::%d", p->node, 10 + p->index);
		snprintf(gw4, sizeof(gw4), "198.18.%d.1", p->node);
		snprintf(gw6, sizeof(gw6), "fd00:10:0:%d::1", p->node);
		if ((e = build_leaf(ns, v4, gw4, v6, gw6, 24, 64)))
			goto err_down;
	}
	for (int i = 0; i < r->nclients; i++) {
		rig_ns_name(r->name, r->clients[i], ns, sizeof(ns));
		snprintf(v4, sizeof(v4), "198.19.0.%d", 100 + i);
		snprintf(v6, sizeof(v6), "fd00:19::%d", 100 + i);
		if ((e = build_leaf(ns, v4, "198.19.0.254", v6, "fd00:19::fe", 24, 64)))
			goto err_down;
	}
	if ((e = write_hosts(r)))
		goto err_down;
	for (int i = 0; i < r->npods; i++)
		if (r->pods[i].nports && (e = start_echod(r, &r->pods[i])))
			goto err_down;
	return 0;

err_down:
	rig_down(r->name);
	return e;
}

/* Kill every process whose network namespace is @ns (inode match). */
static int kill_in_ns(const char *ns, int sig)
{
	char p[128];
	struct stat nst;
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), NETNS_DIR "/%s", ns);
	if (stat(p, &nst) == -1)
		return 0;
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char np[300];
		struct stat st;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(np, sizeof(np), "/proc/%d/ns/net", pid);
		if (stat(np, &st) == -1 || st.st_ino != nst.st_ino || st.st_dev != nst.st_dev)
			continue;
		kill(pid, sig);
		n++;
	}
	closedir(d);
	return n;
}

int rig_down(const char *name)
{
	char prefix[64];
	struct cmds c;
	DIR *d;
	struct dirent *de;
	char list[256][64];
	int n = 0, e = 0, ce, ve;

	/* An empty or odd name would make the state dir every rig's. */
	if (!rig_name_ok(name)) {
		fprintf(stderr, "rig: bad rig name '%s'\n", name);
		return -EINVAL;
	}
	snprintf(prefix, sizeof(prefix), "sp-%s-", name);
	d = opendir(NETNS_DIR);
	if (d) {
		while ((de = readdir(d)) && n < 256)
			if (!strncmp(de->d_name, prefix, strlen(prefix)))
				snprintf(list[n++], sizeof(list[0]), "%s", de->d_name);
		closedir(d);
	}
	/* The rig's cgroups are seen through its view; after a crash that may
	 * be gone: mount it again (teardown removes it). */
	if ((ce = ve = rig_cg_view(name)))
		fprintf(stderr, "rig: %s: no cgroup view (%s); its cgroups are not checked\n", name,
			strerror(-ce));
	/* Processes first (echod, agents, servers a test started there, anything
	 * in the rig's cgroups), so no namespace or cgroup is kept alive by one. */
	for (int i = 0; i < n; i++)
		kill_in_ns(list[i], SIGTERM);
	if (!ce)
		rig_cg_kill(name, SIGTERM);
	for (int tries = 0; tries < 20; tries++) {
		int left = 0;
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		for (int i = 0; i < n; i++)
			left += kill_in_ns(list[i], 0);
		if (!ce)
			left += rig_cg_kill(name, 0);
		if (!left)
			break;
		if (tries == 10) {
			for (int i = 0; i < n; i++)
				kill_in_ns(list[i], SIGKILL);
			if (!ce)
				rig_cg_kill(name, SIGKILL);
		}
		nanosleep(&ts, NULL);
	}
	if (n) {
		cmds_open(&c);
		for (int i = 0; i < n; i++)
			fprintf(c.f, "netns del %s\n", list[i]);
		e = cmds_run(&c, NULL);
	}
	/* cgroups, mounts, state files and dirs */
	ce = rig_cg_teardown(name);
	return e ? e : ce ? ce : ve;
}
